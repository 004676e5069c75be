#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

// Blocking socket I/O bounded by a deadline, shared by the checks that do
// their own I/O (tcp, http over plain http://, dns, exec, the database
// checks' waits): every step takes the time left as its timeout, so a peer
// that hangs costs a check its timeout and no more.

namespace vitals::agent {

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

// The addresses of `host` (a name, or an IPv4/IPv6 literal) for `port`.
// Names go through the system resolver (getaddrinfo, so /etc/hosts applies)
// on a detached thread, because getaddrinfo has no timeout: at the deadline
// the caller returns and the thread finishes on its own. Unavailable
// "resolve <host>: <reason>" or "resolve <host>: timed out after 5s".
Result<std::vector<SocketAddress>> Resolve(const std::string& host, uint16_t port,
                                           const RunDeadline& deadline);

// A non-blocking TCP connection to `address`, connected by the deadline.
// Unavailable with the reason ("connection refused", "timed out after 5s").
Result<UniqueFd> ConnectTo(const SocketAddress& address, const RunDeadline& deadline);

// Waits until `fd` is ready for `events` (POLLIN, POLLOUT). Unavailable with
// the reason on timeout or failure.
Status WaitFor(int fd, short events, const RunDeadline& deadline);

// Writes all of `data` to the non-blocking socket `fd`. Unavailable with the
// reason on failure.
Status SendAll(int fd, std::string_view data, const RunDeadline& deadline);

}  // namespace vitals::agent
