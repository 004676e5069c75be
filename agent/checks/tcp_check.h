#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "agent/checks/check.h"
#include "agent/checks/socket_io.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

// --- The tcp check.

// What a `kind: tcp` check does: connect to host:port and, optionally, send a
// string and look for a substring in what comes back.
struct TcpCheckOptions {
  // A host name (resolved on every run through the system resolver, so
  // /etc/hosts applies) or an IPv4/IPv6 literal; `[::1]:22` in configuration.
  std::string host;
  uint16_t port = 0;
  // Written once the connection is up (YAML escapes such as "\r\n" apply).
  std::optional<std::string> send;
  // A substring that must appear in what the peer sends back before the
  // deadline or before it closes the connection.
  std::optional<std::string> expect;
};

// Returns a check that connects with a non-blocking connect bounded by the
// deadline. OK when connected (and `expect` seen); CRITICAL naming the
// failure ("connect to db:5432: connection refused", "... timed out after
// 5s") otherwise. Sample: vitals_check_connect_duration_seconds.
std::unique_ptr<Check> NewTcpCheck(TcpCheckOptions options);

// Reads `address` (required, host:port), `send` and `expect` from `fields`.
// InvalidArgument naming file, line and key for a malformed address.
Result<std::unique_ptr<Check>> CreateTcpCheck(const CheckSpec& spec, ConfigMap& fields);

// Splits "host:port" or "[v6-literal]:port". InvalidArgument without the
// file position (callers add it).
Status SplitHostPort(const std::string& address, std::string* host, uint16_t* port);

}  // namespace vitals::agent
