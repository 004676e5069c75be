#include "agent/checks/tcp_check.h"

#include "agent/checks/check_common.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <variant>
#include <vector>

#include "common/units.h"

namespace vitals::agent {

using Steady = std::chrono::steady_clock;

// --- Shared helpers.

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) Reset(other.Release());
  return *this;
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::optional<SocketAddress> ParseIpLiteral(const std::string& host, uint16_t port) {
  SocketAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.len = sizeof(sockaddr_in);
    return address;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.addr);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.len = sizeof(sockaddr_in6);
    return address;
  }
  return std::nullopt;
}

std::string ErrnoMessage(int err) {
  std::string text = std::generic_category().message(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z')
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

RunDeadline::RunDeadline(Steady::time_point deadline)
    : start_(Steady::now()), deadline_(deadline) {}

bool RunDeadline::Expired() const { return Steady::now() >= deadline_; }

int RunDeadline::PollMillis() const {
  auto left = deadline_ - Steady::now();
  if (left <= Steady::duration::zero()) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

std::string RunDeadline::TimedOutMessage() const {
  auto budget = std::chrono::round<std::chrono::milliseconds>(deadline_ - start_);
  // A budget of 4999ms is a 5s timeout minus scheduling noise; say 5s.
  if (budget >= std::chrono::seconds(1)) {
    budget = std::chrono::milliseconds((budget.count() + 50) / 100 * 100);
  }
  if (budget < std::chrono::milliseconds::zero()) budget = std::chrono::milliseconds::zero();
  return "timed out after " + FormatDuration(budget);
}

Status SplitHostPort(const std::string& address, std::string* host, uint16_t* port) {
  std::string_view port_text;
  if (address.starts_with('[')) {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Status::InvalidArgument("expected [ipv6-address]:port, got \"" + address + "\"");
    }
    *host = address.substr(1, close - 1);
    port_text = std::string_view(address).substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) {
      return Status::InvalidArgument("expected host:port (an IPv6 address in brackets), got \"" +
                                     address + "\"");
    }
    *host = address.substr(0, colon);
    port_text = std::string_view(address).substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (host->empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      value == 0 || value > 65535) {
    return Status::InvalidArgument("expected host:port with a port in 1..65535, got \"" + address +
                                   "\"");
  }
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

namespace {

// The same help text as the database checks, which share this metric.
// How much of the reply is kept while looking for `expect`.
constexpr size_t kMaxReplyBytes = 64 * 1024;

// getaddrinfo has no timeout, so it runs on a detached thread that shares
// this state with the caller. At the deadline the caller gives up and
// returns; the thread finishes when the system resolver gives up (its own
// timeouts from resolv.conf bound that) and the last owner frees the state.
struct ResolveState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;                     // GUARDED_BY(mu)
  int error = 0;                         // GUARDED_BY(mu): getaddrinfo's result.
  std::vector<SocketAddress> endpoints;  // GUARDED_BY(mu)
};

// The addresses of `host`, or an error message.
std::variant<std::vector<SocketAddress>, std::string> Resolve(const std::string& host,
                                                              uint16_t port,
                                                              const RunDeadline& deadline) {
  if (auto literal = ParseIpLiteral(host, port)) return std::vector<SocketAddress>{*literal};
  auto state = std::make_shared<ResolveState>();
  try {
    std::thread([state, host, port] {
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_flags = AI_NUMERICSERV;
      addrinfo* list = nullptr;
      int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
      std::vector<SocketAddress> endpoints;
      for (addrinfo* ai = list; rc == 0 && ai != nullptr; ai = ai->ai_next) {
        SocketAddress ep;
        std::memcpy(&ep.addr, ai->ai_addr, ai->ai_addrlen);
        ep.len = ai->ai_addrlen;
        endpoints.push_back(ep);
      }
      if (list != nullptr) freeaddrinfo(list);
      std::lock_guard lock(state->mu);
      state->done = true;
      state->error = rc;
      state->endpoints = std::move(endpoints);
      state->cv.notify_all();
    }).detach();
  } catch (const std::system_error& e) {
    return "resolve " + host + ": cannot start resolver thread: " + e.what();
  }
  std::unique_lock lock(state->mu);
  if (!state->cv.wait_until(lock, deadline.deadline(), [&] { return state->done; })) {
    return "resolve " + host + ": " + deadline.TimedOutMessage();
  }
  if (state->error != 0) return "resolve " + host + ": " + gai_strerror(state->error);
  if (state->endpoints.empty()) return "resolve " + host + ": no addresses";
  return std::move(state->endpoints);
}

// Connects to `ep` by the deadline; an error message otherwise.
std::variant<UniqueFd, std::string> Connect(const SocketAddress& ep, const RunDeadline& deadline) {
  UniqueFd fd(::socket(ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoMessage(errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) == 0) return fd;
  if (errno != EINPROGRESS) return ErrnoMessage(errno);
  pollfd p{fd.get(), POLLOUT, 0};
  int n;
  do {
    n = ::poll(&p, 1, deadline.PollMillis());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoMessage(errno);
  if (n == 0) return deadline.TimedOutMessage();
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return ErrnoMessage(errno);
  if (err != 0) return ErrnoMessage(err);
  return fd;
}

// Waits for `events` on `fd`; false (with *error set) on timeout or failure.
bool WaitFor(int fd, short events, const RunDeadline& deadline, std::string* error) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, deadline.PollMillis());
  } while (n < 0 && errno == EINTR);
  if (n > 0) return true;
  *error = n == 0 ? deadline.TimedOutMessage() : ErrnoMessage(errno);
  return false;
}

// Writes all of `data`; an error message on failure.
std::optional<std::string> SendAll(int fd, std::string_view data, const RunDeadline& deadline) {
  while (!data.empty()) {
    std::string error;
    if (!WaitFor(fd, POLLOUT, deadline, &error)) return error;
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return ErrnoMessage(errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return std::nullopt;
}

// A short, printable excerpt of what the peer sent, for messages.
std::string Excerpt(std::string_view data) {
  std::string out;
  for (char c : data.substr(0, 60)) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      out += '?';
    else
      out += c;
  }
  if (data.size() > 60) out += "...";
  return out;
}

class TcpCheck final : public Check {
 public:
  explicit TcpCheck(TcpCheckOptions options)
      : options_(std::move(options)),
        target_(options_.host.find(':') != std::string::npos
                    ? "[" + options_.host + "]:" + std::to_string(options_.port)
                    : options_.host + ":" + std::to_string(options_.port)) {}

  CheckOutcome Run(Steady::time_point deadline_point) override {
    RunDeadline deadline(deadline_point);
    CheckOutcome outcome;
    outcome.status = CheckStatus::kCritical;
    auto resolved = Resolve(options_.host, options_.port, deadline);
    if (auto* error = std::get_if<std::string>(&resolved)) {
      outcome.message = *error;
      return outcome;
    }
    UniqueFd fd;
    std::string error;
    for (const SocketAddress& ep : std::get<std::vector<SocketAddress>>(resolved)) {
      const auto started = Steady::now();
      auto connected = Connect(ep, deadline);
      if (auto* message = std::get_if<std::string>(&connected)) {
        error = *message;
        if (deadline.Expired()) break;
        continue;
      }
      fd = std::move(std::get<UniqueFd>(connected));
      outcome.samples.Add(kConnectDurationDesc, {},
                          std::chrono::duration<double>(Steady::now() - started).count());
      break;
    }
    if (!fd.valid()) {
      outcome.message = "connect to " + target_ + ": " + error;
      return outcome;
    }
    if (options_.send) {
      if (auto send_error = SendAll(fd.get(), *options_.send, deadline)) {
        outcome.message = "send to " + target_ + ": " + *send_error;
        return outcome;
      }
    }
    if (options_.expect) {
      if (auto expect_error = ReadUntilExpected(fd.get(), deadline)) {
        outcome.message = target_ + ": " + *expect_error;
        return outcome;
      }
    }
    outcome.status = CheckStatus::kOk;
    return outcome;
  }

 private:
  // Reads until `expect` is seen; a message saying why not otherwise.
  std::optional<std::string> ReadUntilExpected(int fd, const RunDeadline& deadline) {
    const std::string& expect = *options_.expect;
    const std::string quoted = "\"" + Excerpt(expect) + "\"";
    std::string reply;
    char buf[4096];
    while (reply.find(expect) == std::string::npos) {
      if (reply.size() >= kMaxReplyBytes) {
        return quoted + " not found in the first " + std::to_string(kMaxReplyBytes) +
               " bytes of the reply";
      }
      std::string error;
      if (!WaitFor(fd, POLLIN, deadline, &error)) {
        return error + " waiting for " + quoted + " (received \"" + Excerpt(reply) + "\")";
      }
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return "receive: " + ErrnoMessage(errno);
      }
      if (n == 0) {
        return "connection closed before " + quoted + " was received (received \"" +
               Excerpt(reply) + "\")";
      }
      reply.append(buf, static_cast<size_t>(n));
    }
    return std::nullopt;
  }

  const TcpCheckOptions options_;
  const std::string target_;  // host:port for messages.
};

}  // namespace

std::unique_ptr<Check> NewTcpCheck(TcpCheckOptions options) {
  return std::make_unique<TcpCheck>(std::move(options));
}

Result<std::unique_ptr<Check>> CreateTcpCheck(const CheckSpec& spec, ConfigMap& fields) {
  TcpCheckOptions options;
  std::string address;
  RETURN_IF_ERROR(fields.ReadString("address", &address, Presence::kRequired));
  Status split = SplitHostPort(address, &options.host, &options.port);
  if (!split.ok()) return fields.Error("address", split.message());
  std::string send, expect;
  RETURN_IF_ERROR(fields.ReadString("send", &send));
  RETURN_IF_ERROR(fields.ReadString("expect", &expect));
  if (fields.Has("send")) options.send = send;
  if (fields.Has("expect")) {
    if (expect.empty()) return fields.Error("expect", "must not be empty");
    options.expect = expect;
  }
  return NewTcpCheck(std::move(options));
}

}  // namespace vitals::agent
