#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace vitals::agent::testing {

// A cpp-httplib server on 127.0.0.1 and a free port, for the http check
// tests. Register handlers on server() before Start().
class HttpTestServer {
 public:
  // Plain HTTP, or HTTPS with this PEM certificate and key, requiring a
  // client certificate signed by `client_ca_file` if that is not empty.
  HttpTestServer();
  HttpTestServer(const std::string& cert_file, const std::string& key_file,
                 const std::string& client_ca_file = "");
  // Releases hung handlers and stops the server.
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  httplib::Server& server() { return *server_; }
  // Binds and starts serving; returns once the server accepts requests.
  void Start();
  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><path>", or "https://localhost:<port><path>"
  // (the name in the test certificate).
  std::string Url(const std::string& path) const;

  // For a handler: blocks until the server is being destroyed, as an
  // endpoint that never answers.
  void Hang();

 private:
  const bool https_;
  std::unique_ptr<httplib::Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool releasing_ = false;  // GUARDED_BY(mu_)
};

}  // namespace vitals::agent::testing
