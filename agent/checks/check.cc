#include "agent/checks/check.h"

#include "agent/checks/dns_check.h"
#include "agent/checks/exec_check.h"
#include "agent/checks/http_check.h"
#include "agent/checks/mysql_check.h"
#include "agent/checks/postgres_check.h"
#include "agent/checks/redis_check.h"
#include "agent/checks/tcp_check.h"

namespace vitals::agent {

std::string_view CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kOk:
      return "ok";
    case CheckStatus::kWarning:
      return "warning";
    case CheckStatus::kCritical:
      return "critical";
    case CheckStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Result<std::unique_ptr<Check>> CreateCheck(const CheckSpec& spec, ConfigMap& fields) {
  using Factory = Result<std::unique_ptr<Check>> (*)(const CheckSpec&, ConfigMap&);
  static constexpr std::pair<std::string_view, Factory> kFactories[] = {
      {"tcp", &CreateTcpCheck},           {"http", &CreateHttpCheck},
      {"dns", &CreateDnsCheck},           {"exec", &CreateExecCheck},
      {"postgres", &CreatePostgresCheck}, {"mysql", &CreateMysqlCheck},
      {"redis", &CreateRedisCheck},
  };
  std::string kinds;
  for (const auto& [kind, factory] : kFactories) {
    if (kind == spec.kind) return factory(spec, fields);
    kinds += kinds.empty() ? "" : ", ";
    kinds += kind;
  }
  return fields.Error("kind",
                      "unknown check kind \"" + spec.kind + "\" (expected one of " + kinds + ")");
}

}  // namespace vitals::agent
