#pragma once

// What the demo programs share: the --listen address, serving until a
// termination signal, one log line per request, and JSON answers.

#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/status.h"

namespace vitals::demo {

struct ListenAddress {
  std::string host;  // An IP address or host name, e.g. "127.0.0.1".
  int port = 0;      // 1..65535.
};

// Parses "HOST:PORT" ("127.0.0.1:8080"). InvalidArgument otherwise.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// Logs one answered request on one line to stderr: method, path, status,
// body size and client. Fits httplib::Server::set_logger.
void LogRequest(const httplib::Request& req, const httplib::Response& res);

// Binds `server` to `address` and serves until SIGINT or SIGTERM arrives.
// Returns the process exit code: 0 after such a signal, 1 if the address
// cannot be bound or serving fails.
// REQUIRES: BlockTerminationSignals() was called before any thread started.
int ServeUntilSignal(httplib::Server& server, const ListenAddress& address,
                     std::string_view program);

// Sets `status` and `body` as the JSON answer.
void ReplyJson(httplib::Response& res, int status, const nlohmann::json& body);

// `text` with &, <, >, " and ' escaped for HTML.
std::string HtmlEscape(std::string_view text);

}  // namespace vitals::demo
