#pragma once

// The mode of a service as the Vitals agent publishes it: one JSON document
// per service in <mode_dir>/<service>.json, replaced by atomic rename:
//
//   {"service":"shop","mode":"normal","reason":"","since":"...","eta":null,
//    "incident_id":"","source":"",
//    "modules":{"payments":{"mode":"degraded","reason":"...","since":"...",
//                           "eta":null,"incident_id":"INC-3f9a2c","source":"automatic"}},
//    "generation":42,"updated_at":"2026-11-22T10:00:01.234Z"}
//
// A missing file means that no mode is known: the service serves normally.

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vitals::demo {

// How far a service, or one of its modules, is limited.
enum class Mode {
  kNormal,       // Everything works.
  kDegraded,     // Works with features switched off (for a module: it is off).
  kReadOnly,     // Reads work, writes are refused.
  kMaintenance,  // Nothing but liveness and metrics is served.
};

// "normal", "degraded", "read_only", "maintenance".
std::string_view ModeName(Mode mode);
// The inverse of ModeName; nullopt for any other text.
std::optional<Mode> ParseModeName(std::string_view name);

// The mode of the whole service or of one module, with its explanation.
struct ModeState {
  Mode mode = Mode::kNormal;
  std::string reason;              // Why the mode is in force; "" when normal.
  std::string since;               // RFC 3339 as the agent wrote it; "" if unknown.
  std::optional<std::string> eta;  // RFC 3339 expected end; nullopt when unknown.
  std::string incident_id;         // E.g. "INC-3f9a2c"; "" when none.
  std::string source;              // "automatic", "manual", ...; "" when none.
};

struct ServiceMode {
  bool known = false;  // False when there is no mode file: serve normally.
  ModeState service;
  std::map<std::string, ModeState> modules;  // Only modules that are not normal.
  int64_t generation = 0;                    // Grows with every change the agent writes.

  // True if `module` is listed with a mode other than normal, which for a
  // module means it is switched off.
  bool ModuleLimited(std::string_view module) const;
};

// Parses one mode document. InvalidArgument when it is not JSON, the
// service's "mode" is missing or unknown, a module has no "mode", or a field
// has the wrong type. A module mode other than the four above reads as
// degraded: whatever its name, a listed module is switched off. Absent
// optional fields keep their defaults.
Result<ServiceMode> ParseServiceMode(std::string_view json);

// Milliseconds since the Unix epoch of an RFC 3339 timestamp such as
// "2026-11-22T10:00:00.000Z" or "2026-11-22T11:00:00+01:00". InvalidArgument
// otherwise.
Result<int64_t> ParseRfc3339Millis(std::string_view text);

// Follows one mode file. Every Current() call looks at the file and re-reads
// it when it was replaced or changed (inode, size or mtime differ), so the
// mode returned is never older than the file at the time of the call. A file
// that cannot be read or parsed leaves the last good mode in force and is
// logged once per version of the file. Thread-safe.
class ModeFileReader {
 public:
  explicit ModeFileReader(std::string path);
  ModeFileReader(const ModeFileReader&) = delete;
  ModeFileReader& operator=(const ModeFileReader&) = delete;

  // The mode in force: the file's, the last good one if the file is broken,
  // or a default (known == false, normal) if the file does not exist.
  ServiceMode Current();

 private:
  // Identifies one version of the file.
  struct FileVersion {
    ino_t inode = 0;
    off_t size = 0;
    timespec mtime{};
    bool operator==(const FileVersion& other) const;
  };

  // Logs `problem` unless it is the one logged last. REQUIRES: mu_ held.
  void LogProblemOnce(const std::string& problem);

  const std::string path_;
  std::mutex mu_;
  ServiceMode current_;              // GUARDED_BY(mu_)
  std::optional<FileVersion> seen_;  // GUARDED_BY(mu_); the version last parsed.
  std::string logged_problem_;       // GUARDED_BY(mu_); "" after a good read.
};

}  // namespace vitals::demo
