#include "agent/checks/check_config.h"

#include <map>

#include "common/units.h"

namespace vitals::agent {
namespace {

constexpr int64_t kMaxRetries = 10;

bool IsValidCheckName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Reads and validates the keys every check has.
Result<CheckSpec> ReadSpec(ConfigMap& entry) {
  CheckSpec spec;
  RETURN_IF_ERROR(entry.ReadString("name", &spec.name, Presence::kRequired));
  if (!IsValidCheckName(spec.name)) {
    return entry.Error("name", "\"" + spec.name + "\" is not a valid check name ([a-zA-Z0-9_.-]+)");
  }
  RETURN_IF_ERROR(entry.ReadString("kind", &spec.kind, Presence::kRequired));
  RETURN_IF_ERROR(entry.ReadString("service", &spec.service, Presence::kRequired));
  if (spec.service.empty()) return entry.Error("service", "must not be empty");
  RETURN_IF_ERROR(entry.ReadString("module", &spec.module));
  RETURN_IF_ERROR(entry.ReadDuration("interval", &spec.interval));
  if (spec.interval <= std::chrono::milliseconds::zero()) {
    return entry.Error("interval", "must be positive");
  }
  RETURN_IF_ERROR(entry.ReadDuration("timeout", &spec.timeout));
  if (spec.timeout <= std::chrono::milliseconds::zero()) {
    return entry.Error("timeout", "must be positive");
  }
  if (spec.timeout >= spec.interval) {
    return entry.Error("timeout", "must be shorter than interval (" + FormatDuration(spec.timeout) +
                                      " >= " + FormatDuration(spec.interval) + ")" +
                                      (entry.Has("timeout") ? "" : "; the default is 5s"));
  }
  int64_t retries = spec.retries;
  RETURN_IF_ERROR(entry.ReadInt("retries", &retries));
  if (retries < 0 || retries > kMaxRetries) {
    return entry.Error("retries", "must be between 0 and " + std::to_string(kMaxRetries));
  }
  spec.retries = static_cast<int>(retries);
  return spec;
}

}  // namespace

Result<std::vector<ConfiguredCheck>> ParseChecks(ConfigMap& root) {
  ASSIGN_OR_RETURN(std::vector<ConfigMap> entries, root.ReadMapList("checks"));
  std::vector<ConfiguredCheck> checks;
  std::map<std::string, size_t> index_by_name;
  for (size_t i = 0; i < entries.size(); ++i) {
    ConfigMap& entry = entries[i];
    ASSIGN_OR_RETURN(CheckSpec spec, ReadSpec(entry));
    if (auto [it, inserted] = index_by_name.emplace(spec.name, i); !inserted) {
      return entry.Error("name", "duplicate check name \"" + spec.name + "\" (also checks[" +
                                     std::to_string(it->second) + "])");
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Check> check, CreateCheck(spec, entry));
    RETURN_IF_ERROR(entry.CheckUnknownKeys());
    checks.push_back(ConfiguredCheck{std::move(spec), std::move(check)});
  }
  return checks;
}

}  // namespace vitals::agent
