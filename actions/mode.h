#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vitals::actions {

// The limited-service modes, in increasing severity: when several apply to
// one service or module, the most severe wins.
enum class Mode {
  kNormal = 0,       // Everything serves.
  kDegraded = 1,     // The module is switched off; the rest of the service serves.
  kReadOnly = 2,     // Reads serve, writes are refused.
  kMaintenance = 3,  // Nothing serves but a maintenance page.
};

// "normal", "degraded", "read_only", "maintenance".
std::string_view ModeName(Mode mode);
// The inverse of ModeName; nullopt for anything else.
std::optional<Mode> ParseMode(std::string_view name);

// Who put a service into its mode. A higher source beats a lower one
// whatever the severity: an operator's override beats a scheduled
// maintenance window, which beats what the actions decided.
enum class ModeSource { kNone = 0, kAutomatic = 1, kMaintenance = 2, kManual = 3 };

// "", "automatic", "maintenance", "manual".
std::string_view ModeSourceName(ModeSource source);

// Names one service or one module of it ("" = the whole service).
struct ModeKey {
  std::string service;
  std::string module;
  auto operator<=>(const ModeKey&) const = default;
  bool operator==(const ModeKey&) const = default;
};

// The mode one service or module is in, and why.
struct ModeState {
  ModeKey key;
  Mode mode = Mode::kNormal;
  ModeSource source = ModeSource::kNone;
  std::string reason;       // From the alert's summary, the window or the operator.
  int64_t since_ms = 0;     // When this mode began (Unix ms).
  int64_t eta_ms = 0;       // Expected end (Unix ms); 0 when unknown.
  std::string incident_id;  // "" when no incident is behind it.
  bool operator==(const ModeState&) const = default;
};

// A maintenance window that has not started yet, as the modes API announces it.
struct UpcomingMaintenance {
  std::string window_id;
  ModeKey key;
  Mode mode = Mode::kMaintenance;
  std::string reason;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

// Everything the modes API and the agents see at one moment.
struct ModesSnapshot {
  // Grows by one with every change of any effective mode; a watcher that
  // saw generation N waits for N+1.
  uint64_t generation = 0;
  // Every service or module whose effective mode is not normal, sorted by key.
  std::vector<ModeState> modes;
  // Windows starting within the announcement horizon, by start time.
  std::vector<UpcomingMaintenance> upcoming;
};

}  // namespace vitals::actions
