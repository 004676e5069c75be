#include "agent/checks/socket_io.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/units.h"

namespace vitals::agent {

using Steady = std::chrono::steady_clock;

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

namespace {

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

}  // namespace

Result<std::vector<SocketAddress>> Resolve(const std::string& host, uint16_t port,
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
    return Status::Unavailable("resolve " + host + ": cannot start resolver thread: " + e.what());
  }
  std::unique_lock lock(state->mu);
  if (!state->cv.wait_until(lock, deadline.deadline(), [&] { return state->done; })) {
    return Status::Unavailable("resolve " + host + ": " + deadline.TimedOutMessage());
  }
  if (state->error != 0) {
    return Status::Unavailable("resolve " + host + ": " + gai_strerror(state->error));
  }
  if (state->endpoints.empty()) return Status::Unavailable("resolve " + host + ": no addresses");
  return std::move(state->endpoints);
}

Result<UniqueFd> ConnectTo(const SocketAddress& address, const RunDeadline& deadline) {
  UniqueFd fd(::socket(address.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::Unavailable(ErrnoMessage(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.addr), address.len) == 0) {
    return fd;
  }
  if (errno != EINPROGRESS) return Status::Unavailable(ErrnoMessage(errno));
  RETURN_IF_ERROR(WaitFor(fd.get(), POLLOUT, deadline));
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    return Status::Unavailable(ErrnoMessage(errno));
  }
  if (err != 0) return Status::Unavailable(ErrnoMessage(err));
  return fd;
}

Status WaitFor(int fd, short events, const RunDeadline& deadline) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, deadline.PollMillis());
  } while (n < 0 && errno == EINTR);
  if (n > 0) return Status::Ok();
  return Status::Unavailable(n == 0 ? deadline.TimedOutMessage() : ErrnoMessage(errno));
}

Status SendAll(int fd, std::string_view data, const RunDeadline& deadline) {
  while (!data.empty()) {
    RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline));
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::Unavailable(ErrnoMessage(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace vitals::agent
