#pragma once

#include <functional>
#include <string>

#include "collector/query_api.h"
#include "common/status.h"
#include "rules/manager.h"

namespace vitals::collector {

// Prometheus 2.42's rule endpoints over a RuleManager:
//   GET /api/v1/rules[?type=alert|record]   groups, rules, health, alerts
//   GET /api/v1/alerts                      pending and firing alerts
//   POST|PUT /-/reload                      re-reads collector.yml's rule files
// Thread-safe; the manager must outlive the API.
class RulesApi {
 public:
  // `reload` re-reads the rule files and returns what RuleManager::Load did.
  RulesApi(const rules::RuleManager& manager, std::function<Status()> reload);

  ApiResponse Rules(const Form& form) const;
  ApiResponse Alerts() const;
  // 200 with an empty body on success (as Prometheus); 500 with the error.
  ApiResponse Reload() const;

 private:
  const rules::RuleManager& manager_;
  const std::function<Status()> reload_;
};

// A Unix millisecond time as Go's time.Time marshals to JSON (RFC 3339 with
// up to nanosecond digits, trailing zeros trimmed, UTC): "2023-02-01T10:00:00.5Z".
// 0 is Go's zero time, "0001-01-01T00:00:00Z".
std::string FormatRfc3339(int64_t ms);

}  // namespace vitals::collector
