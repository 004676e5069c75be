#include "actions/mode.h"

namespace vitals::actions {

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kNormal:
      return "normal";
    case Mode::kDegraded:
      return "degraded";
    case Mode::kReadOnly:
      return "read_only";
    case Mode::kMaintenance:
      return "maintenance";
  }
  return "normal";
}

std::optional<Mode> ParseMode(std::string_view name) {
  for (Mode m : {Mode::kNormal, Mode::kDegraded, Mode::kReadOnly, Mode::kMaintenance}) {
    if (ModeName(m) == name) return m;
  }
  return std::nullopt;
}

std::string_view ModeSourceName(ModeSource source) {
  switch (source) {
    case ModeSource::kNone:
      return "";
    case ModeSource::kAutomatic:
      return "automatic";
    case ModeSource::kMaintenance:
      return "maintenance";
    case ModeSource::kManual:
      return "manual";
  }
  return "";
}

}  // namespace vitals::actions
