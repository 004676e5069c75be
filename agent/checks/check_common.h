#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "agent/checks/tcp_check.h"
#include "common/samples.h"

// Small pieces several check kinds share: metric descriptions and the
// wording of their messages.
namespace vitals::agent {

// vitals_check_connect_duration_seconds (tcp, postgres, mysql, redis).
extern const MetricDesc kConnectDurationDesc;
// vitals_check_query_duration_seconds (postgres, mysql).
extern const MetricDesc kQueryDurationDesc;

// `d` in seconds.
double Seconds(std::chrono::steady_clock::duration d);

// "timed out after 2s during query".
std::string TimedOutDuring(const RunDeadline& deadline, std::string_view phase);

// A value for a one-line message: quoted, control characters blanked, cut at
// 80 bytes.
std::string QuoteForMessage(std::string_view value);

// Decodes %XX escapes (URL userinfo, paths, DSN parameters); nullopt on a
// malformed one.
std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace vitals::agent
