#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

// How vitalsctl talks to a collector's HTTP API (query, control commands).
namespace vitals::ctl {

// Request parameters, in order; a name may repeat.
using ApiParams = std::vector<std::pair<std::string, std::string>>;

// One JSON answer of the API, in Prometheus's envelope.
struct ApiReply {
  int http_status = 0;
  std::string body;     // As received.
  nlohmann::json json;  // `body` parsed: always an object.

  bool success() const { return json.value("status", "") == "success"; }
  // json["data"], or null.
  const nlohmann::json& data() const;
  // "<errorType>: <error>" of an error answer.
  std::string error() const;
};

struct ApiClientOptions {
  // Base URL of the collector's web server.
  std::string collector_url = "http://127.0.0.1:9740";
  // Sent as "Authorization: Bearer <token>" when not empty.
  std::string token;
  // How long to wait for an answer; long enough for the slowest query or a
  // modes watch (at most 5m).
  std::chrono::seconds read_timeout{330};
};

// Sends requests to one collector. Not thread-safe.
class ApiClient {
 public:
  explicit ApiClient(ApiClientOptions options) : options_(std::move(options)) {}

  // Sends `method` ("GET", "POST" or "DELETE") to `path`: POST with `params`
  // form-encoded in the body, the others with them in the URL query. Returns
  // any answer whose body is a JSON object, whatever its HTTP status.
  // Unavailable "cannot reach <url>: <why>" when no answer came; Internal
  // "unexpected answer from <url> (HTTP <n>): <body>" for any other body.
  Result<ApiReply> Call(std::string_view method, const std::string& path,
                        const ApiParams& params = {}) const;

  const std::string& url() const { return options_.collector_url; }

 private:
  const ApiClientOptions options_;
};

// Prints an error answer on stderr as "<errorType>: <error>", and for a 401
// a hint about --token-file.
void PrintApiError(const ApiReply& reply);

}  // namespace vitals::ctl
