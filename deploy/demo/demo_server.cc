#include "deploy/demo/demo_server.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <thread>

#include "common/log.h"
#include "common/signals.h"

namespace vitals::demo {

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  const Status bad =
      Status::InvalidArgument("--listen \"" + std::string(text) + "\": expected HOST:PORT");
  if (colon == std::string_view::npos || colon == 0) return bad;
  ListenAddress address;
  address.host = std::string(text.substr(0, colon));
  const std::string_view port = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
  if (ec != std::errc() || end != port.data() + port.size() || address.port < 1 ||
      address.port > 65535) {
    return bad;
  }
  return address;
}

void LogRequest(const httplib::Request& req, const httplib::Response& res) {
  LOG_INFO << req.method << " " << req.path << " " << res.status << " " << res.body.size()
           << "B from " << req.remote_addr;
}

int ServeUntilSignal(httplib::Server& server, const ListenAddress& address,
                     std::string_view program) {
  if (!server.bind_to_port(address.host, address.port)) {
    LOG_ERROR << program << ": cannot listen on " << address.host << ":" << address.port;
    return 1;
  }
  LOG_INFO << program << " listening on " << address.host << ":" << address.port;
  std::atomic<bool> stopping = false;
  std::atomic<bool> failed = false;
  std::thread serve([&] {
    if (!server.listen_after_bind() && !stopping) {
      LOG_ERROR << program << ": serving failed";
      failed = true;
      kill(getpid(), SIGTERM);  // Wakes the signal wait below.
    }
  });
  const int sig = WaitForTerminationSignal();
  stopping = true;
  if (!failed) LOG_INFO << program << ": signal " << sig << ", shutting down";
  server.stop();
  serve.join();
  return failed ? 1 : 0;
}

void ReplyJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace vitals::demo
