#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vitals::agent::testing {

// A TCP server on 127.0.0.1 and a free port, serving connections one at a
// time on its own thread until destroyed.
class TcpTestServer {
 public:
  enum class Mode {
    kSilent,         // Accept and keep the connection open, never writing.
    kReplyToLine,    // Read up to a newline, write `reply`, close.
    kGreetAndClose,  // Write `reply` at once, close.
  };

  explicit TcpTestServer(Mode mode, std::string reply = "");
  ~TcpTestServer();
  TcpTestServer(const TcpTestServer&) = delete;
  TcpTestServer& operator=(const TcpTestServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // What the last kReplyToLine connection sent.
  std::string last_request() const;

 private:
  void Serve();
  // Waits until `fd` is readable or the server stops; false when stopping.
  bool WaitReadable(int fd) const;

  const Mode mode_;
  const std::string reply_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: written to stop the thread.
  uint16_t port_ = 0;
  std::vector<int> held_;  // kSilent connections; touched by the server thread only.
  mutable std::mutex mu_;
  std::string last_request_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// A loopback port nothing listens on (bound, then closed).
uint16_t ClosedPort();

}  // namespace vitals::agent::testing
