#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

// --- Helpers shared by the checks that do their own blocking I/O (tcp, dns,
// exec). They live here because the tcp check is the first user.

// Owns a file descriptor; closes it on destruction. Movable, not copyable.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A socket address, as getaddrinfo gives them.
struct SocketAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// The address of an IPv4 or IPv6 literal and a port; nullopt if `host` is not
// an IP literal.
std::optional<SocketAddress> ParseIpLiteral(const std::string& host, uint16_t port);

// strerror(err) with a lower-case first letter, for messages such as
// "connect to db:5432: connection refused". Thread-safe.
std::string ErrnoMessage(int err);

// The time budget of one run of a check, shared by the checks that do their
// own blocking I/O (tcp, dns, exec). Records when the run started so a
// timeout can say how long it waited. Not thread-safe (one per run).
class RunDeadline {
 public:
  explicit RunDeadline(std::chrono::steady_clock::time_point deadline);

  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  bool Expired() const;
  // Milliseconds left, rounded up, for poll(2); 0 once expired.
  int PollMillis() const;
  // "timed out after 5s": the budget this run was given, in Prometheus
  // duration notation.
  std::string TimedOutMessage() const;

 private:
  const std::chrono::steady_clock::time_point start_;
  const std::chrono::steady_clock::time_point deadline_;
};

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
