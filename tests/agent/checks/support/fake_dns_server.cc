#include "tests/agent/checks/support/fake_dns_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace vitals::agent::testing {
namespace {

void Put16(std::string* out, uint16_t v) {
  *out += static_cast<char>(v >> 8);
  *out += static_cast<char>(v & 0xff);
}

uint16_t Get16(const std::string& s, size_t at) {
  return static_cast<uint16_t>((static_cast<unsigned char>(s[at]) << 8) |
                               static_cast<unsigned char>(s[at + 1]));
}

}  // namespace

FakeDnsServer::FakeDnsServer() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot bind the fake DNS server";
  }
  port_ = ntohs(addr.sin_port);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { Serve(); });
}

FakeDnsServer::~FakeDnsServer() {
  uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof(one)) != sizeof(one)) ADD_FAILURE() << "eventfd write";
  thread_.join();
  ::close(fd_);
  ::close(wake_fd_);
}

void FakeDnsServer::SetAnswer(const std::string& name, uint16_t type,
                              std::vector<std::string> addresses) {
  std::lock_guard lock(mu_);
  answers_[{name, type}] = std::move(addresses);
}

void FakeDnsServer::SetRcode(int rcode) {
  std::lock_guard lock(mu_);
  rcode_ = rcode;
}

void FakeDnsServer::SetSilent(bool silent) {
  std::lock_guard lock(mu_);
  silent_ = silent;
}

void FakeDnsServer::Serve() {
  while (true) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents & POLLIN) return;
    char buf[512];
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    ssize_t n = ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n <= 0) continue;
    ++queries_;
    std::string response = Respond(std::string(buf, static_cast<size_t>(n)));
    if (response.empty()) continue;
    ::sendto(fd_, response.data(), response.size(), 0, reinterpret_cast<sockaddr*>(&from),
             from_len);
  }
}

std::string FakeDnsServer::Respond(const std::string& query) {
  if (query.size() < 17) return "";
  // The question: labels from offset 12, then type and class.
  std::string name;
  size_t at = 12;
  while (at < query.size() && query[at] != 0) {
    size_t len = static_cast<unsigned char>(query[at]);
    if (!name.empty()) name += '.';
    name += query.substr(at + 1, len);
    at += len + 1;
  }
  at += 1;
  if (at + 4 > query.size()) return "";
  const uint16_t type = Get16(query, at);
  const std::string question = query.substr(12, at + 4 - 12);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });

  std::lock_guard lock(mu_);
  if (silent_) return "";
  int rcode = rcode_;
  std::vector<std::string> addresses;
  if (rcode < 0) {
    auto it = answers_.find({name, type});
    bool known = it != answers_.end();
    for (const auto& [key, value] : answers_) known = known || key.first == name;
    rcode = known ? 0 : 3;  // NXDOMAIN for names not in the table.
    if (it != answers_.end()) addresses = it->second;
  }
  std::string out;
  Put16(&out, Get16(query, 0));                        // ID.
  Put16(&out, static_cast<uint16_t>(0x8180 | rcode));  // QR, RD, RA.
  Put16(&out, 1);
  Put16(&out, static_cast<uint16_t>(addresses.size()));
  Put16(&out, 0);
  Put16(&out, 0);
  out += question;
  for (const std::string& address : addresses) {
    unsigned char rdata[16];
    const int family = type == kTypeA ? AF_INET : AF_INET6;
    if (inet_pton(family, address.c_str(), rdata) != 1) ADD_FAILURE() << "bad address " << address;
    const uint16_t rdlen = type == kTypeA ? 4 : 16;
    Put16(&out, 0xC00C);  // Pointer to the question's name.
    Put16(&out, type);
    Put16(&out, 1);  // IN.
    Put16(&out, 0);
    Put16(&out, 60);  // TTL.
    Put16(&out, rdlen);
    out.append(reinterpret_cast<const char*>(rdata), rdlen);
  }
  return out;
}

}  // namespace vitals::agent::testing
