#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vitals::agent::testing {

// A DNS server on UDP 127.0.0.1 and a free port that answers A and AAAA
// queries from a table, on its own thread until destroyed.
class FakeDnsServer {
 public:
  static constexpr uint16_t kTypeA = 1;
  static constexpr uint16_t kTypeAaaa = 28;

  FakeDnsServer();
  ~FakeDnsServer();
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  // Answers queries for (name, type) with these addresses (text form).
  // Unknown names get NXDOMAIN.
  void SetAnswer(const std::string& name, uint16_t type, std::vector<std::string> addresses);
  // Answers every query with this response code (2 SERVFAIL, 5 REFUSED, ...).
  void SetRcode(int rcode);
  // Reads queries but never answers.
  void SetSilent(bool silent);

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_; }

 private:
  void Serve();
  std::string Respond(const std::string& query);

  int fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> queries_{0};
  std::mutex mu_;
  std::map<std::pair<std::string, uint16_t>, std::vector<std::string>> answers_;  // GUARDED_BY(mu_)
  int rcode_ = -1;       // GUARDED_BY(mu_); -1: answer from the table.
  bool silent_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace vitals::agent::testing
