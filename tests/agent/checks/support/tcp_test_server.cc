#include "tests/agent/checks/support/tcp_test_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

namespace vitals::agent::testing {
namespace {

// Binds a loopback TCP socket to a free port; returns the fd and sets *port.
int BindLoopback(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot bind a loopback socket";
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

TcpTestServer::TcpTestServer(Mode mode, std::string reply) : mode_(mode), reply_(std::move(reply)) {
  listen_fd_ = BindLoopback(&port_);
  if (::listen(listen_fd_, 16) != 0) ADD_FAILURE() << "listen failed";
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { Serve(); });
}

TcpTestServer::~TcpTestServer() {
  uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof(one)) != sizeof(one)) ADD_FAILURE() << "eventfd write";
  thread_.join();
  for (int fd : held_) ::close(fd);
  ::close(listen_fd_);
  ::close(wake_fd_);
}

std::string TcpTestServer::last_request() const {
  std::lock_guard lock(mu_);
  return last_request_;
}

bool TcpTestServer::WaitReadable(int fd) const {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (::poll(fds, 2, -1) < 0) {
  }
  return (fds[1].revents & POLLIN) == 0;
}

void TcpTestServer::Serve() {
  while (WaitReadable(listen_fd_)) {
    int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    if (mode_ == Mode::kSilent) {
      held_.push_back(conn);
      continue;
    }
    if (mode_ == Mode::kReplyToLine) {
      std::string request;
      char c;
      while (WaitReadable(conn) && ::read(conn, &c, 1) == 1) {
        request += c;
        if (c == '\n') break;
      }
      std::lock_guard lock(mu_);
      last_request_ = request;
    }
    if (::send(conn, reply_.data(), reply_.size(), MSG_NOSIGNAL) < 0) {
      ADD_FAILURE() << "send failed";
    }
    ::close(conn);
  }
}

uint16_t ClosedPort() {
  uint16_t port = 0;
  ::close(BindLoopback(&port));
  return port;
}

}  // namespace vitals::agent::testing
