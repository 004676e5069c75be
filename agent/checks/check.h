#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/samples.h"
#include "common/status.h"

namespace vitals::agent {

// Nagios plugin convention, also the value of vitals_check_status.
enum class CheckStatus { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };

std::string_view CheckStatusName(CheckStatus status);  // "ok", "warning", "critical", "unknown"

// What one run of a check found.
struct CheckOutcome {
  CheckStatus status = CheckStatus::kUnknown;
  // Why, in one line: empty or a short success note when OK, the failure reason
  // otherwise ("connect to 10.0.0.5:5432: connection refused").
  std::string message;
  // Kind-specific measurements, e.g. vitals_check_connect_duration_seconds,
  // vitals_check_http_status_code, vitals_check_tls_cert_expiry_timestamp_seconds,
  // or an exec check's performance data. Labels here exclude check, kind,
  // service and module: the scheduler adds those.
  SampleSet samples;
};

// One dependency check (a database, an HTTP API, a TCP port, ...), configured
// once and run many times by the CheckScheduler.
//
// Thread safety: Run is never called concurrently on one instance, but
// different instances run on different threads at the same time.
class Check {
 public:
  virtual ~Check() = default;

  // Runs the check once. Must return by `deadline` (give or take a few
  // milliseconds): every blocking step uses the remaining time as its timeout,
  // so a dependency that hangs is reported as CRITICAL "timed out after ..."
  // rather than stalling the caller. Never throws.
  virtual CheckOutcome Run(std::chrono::steady_clock::time_point deadline) = 0;
};

// The fields every check has, from one entry of `checks:` in agent.yml.
struct CheckSpec {
  std::string name;     // Unique per agent; the `check` label.
  std::string kind;     // tcp, http, postgres, mysql, redis, dns, exec.
  std::string service;  // Required; the `service` label.
  std::string module;   // Optional; the `module` label.
  std::chrono::milliseconds interval{std::chrono::seconds(30)};
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // Per attempt; < interval.
  int retries = 0;  // Extra attempts within the interval before reporting a failure.
};

// Builds the check of `spec.kind` from the kind-specific keys of its
// configuration entry. Reads (and so marks as known) only its own keys from
// `fields`; the caller checks for unknown keys afterwards. InvalidArgument
// naming file, line and key for a bad or missing field, an unreadable secret
// file, or an unknown kind.
Result<std::unique_ptr<Check>> CreateCheck(const CheckSpec& spec, ConfigMap& fields);

}  // namespace vitals::agent
