#include "ctl/api_client.h"

#include <cstdio>

#include <httplib.h>

namespace vitals::ctl {

const nlohmann::json& ApiReply::data() const {
  static const nlohmann::json kNull;
  return json.is_object() && json.contains("data") ? json["data"] : kNull;
}

std::string ApiReply::error() const {
  auto text = [this](const char* key, const std::string& fallback) {
    auto it = json.find(key);
    return it != json.end() && it->is_string() ? it->get<std::string>() : fallback;
  };
  return text("errorType", "error") + ": " + text("error", body);
}

Result<ApiReply> ApiClient::Call(std::string_view method, const std::string& path,
                                 const ApiParams& params) const {
  httplib::Client client(options_.collector_url);
  client.set_read_timeout(options_.read_timeout.count(), 0);
  httplib::Headers headers;
  if (!options_.token.empty()) headers.emplace("Authorization", "Bearer " + options_.token);
  httplib::Params form(params.begin(), params.end());
  const std::string target =
      method == "POST" || params.empty() ? path : httplib::append_query_params(path, form);
  httplib::Result res = method == "POST"     ? client.Post(target, headers, form)
                        : method == "DELETE" ? client.Delete(target, headers)
                                             : client.Get(target, headers);
  if (!res) {
    return Status::Unavailable("cannot reach " + options_.collector_url + ": " +
                               httplib::to_string(res.error()));
  }
  ApiReply reply{res->status, res->body, nlohmann::json::parse(res->body, nullptr, false)};
  if (reply.json.is_discarded() || !reply.json.is_object()) {
    return Status::Internal("unexpected answer from " + options_.collector_url + " (HTTP " +
                            std::to_string(res->status) + "): " + res->body);
  }
  return reply;
}

void PrintApiError(const ApiReply& reply) {
  std::fprintf(stderr, "%s\n", reply.error().c_str());
  if (reply.http_status == 401) {
    std::fprintf(stderr,
                 "hint: pass --token-file FILE (or set VITALS_TOKEN_FILE) naming a file that "
                 "holds a token of the collector's control.token_file\n");
  }
}

}  // namespace vitals::ctl
