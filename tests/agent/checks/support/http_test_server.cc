#include "tests/agent/checks/support/http_test_server.h"

#include <gtest/gtest.h>

#include <chrono>

namespace vitals::agent::testing {

HttpTestServer::HttpTestServer() : https_(false), server_(std::make_unique<httplib::Server>()) {}

HttpTestServer::HttpTestServer(const std::string& cert_file, const std::string& key_file,
                               const std::string& client_ca_file)
    : https_(true),
      server_(std::make_unique<httplib::SSLServer>(
          cert_file.c_str(), key_file.c_str(),
          client_ca_file.empty() ? nullptr : client_ca_file.c_str())) {
  if (!server_->is_valid()) ADD_FAILURE() << "cannot load " << cert_file << " / " << key_file;
}

HttpTestServer::~HttpTestServer() {
  {
    std::lock_guard lock(mu_);
    releasing_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

void HttpTestServer::Start() {
  int port = server_->bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    ADD_FAILURE() << "cannot bind the HTTP test server";
    return;
  }
  port_ = static_cast<uint16_t>(port);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() only takes effect once the server loop runs; wait for it.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  if (!server_->is_running()) ADD_FAILURE() << "the HTTP test server did not start";
}

std::string HttpTestServer::Url(const std::string& path) const {
  return (https_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_) + path;
}

void HttpTestServer::Hang() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return releasing_; });
}

}  // namespace vitals::agent::testing
