#include "actions/webhook_request.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "common/curl_handle.h"
#include "common/version.h"

namespace vitals::actions::internal {
namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxResponseBytes = 4096;

// The secret file's content, one trailing newline (\n or \r\n) dropped.
Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read secret file " + path);
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return Status::IOError("reading secret file " + path);
  std::string secret = content.str();
  if (secret.ends_with("\r\n")) {
    secret.resize(secret.size() - 2);
  } else if (secret.ends_with('\n')) {
    secret.pop_back();
  }
  return secret;
}

bool HasControlCharacters(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool IsReservedHeader(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "content-type" || lower == "user-agent" || lower.starts_with("x-vitals-");
}

Status ValidateHeader(const std::string& name, const std::string& value) {
  static constexpr std::string_view kTokenPunctuation = "!#$%&'*+-.^_`|~";
  bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           kTokenPunctuation.find(c) != std::string_view::npos;
  });
  if (!token) return Status::InvalidArgument("header name \"" + name + "\" is not an HTTP token");
  if (IsReservedHeader(name)) return Status::InvalidArgument("header " + name + " is reserved");
  if (HasControlCharacters(value)) {
    return Status::InvalidArgument("header " + name + " has control characters in its value");
  }
  return Status::Ok();
}

Status ValidateUrl(const std::string& url) {
  CurlUrlPtr handle(curl_url());
  if (!handle) return Status::Internal("curl_url failed");
  if (curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Status::InvalidArgument("url is not a valid URL");
  }
  char* scheme = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
    return Status::InvalidArgument("url has no scheme");
  }
  std::string scheme_text = scheme;
  curl_free(scheme);
  if (scheme_text != "http" && scheme_text != "https") {
    return Status::InvalidArgument("url must be http:// or https://, not " + scheme_text + "://");
  }
  char* host = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    return Status::InvalidArgument("url has no host");
  }
  curl_free(host);
  return Status::Ok();
}

}  // namespace

Status ValidateEndpoint(const WebhookEndpoint& e) {
  RETURN_IF_ERROR(ValidateUrl(e.url));
  if (e.timeout <= milliseconds::zero()) return Status::InvalidArgument("timeout must be > 0");
  if (e.max_retries < 0) return Status::InvalidArgument("max_retries must be >= 0");
  if (e.min_backoff < milliseconds::zero() || e.max_backoff < e.min_backoff) {
    return Status::InvalidArgument("need 0 <= min_backoff <= max_backoff");
  }
  if (!e.hmac_secret_file.empty()) RETURN_IF_ERROR(ReadSecretFile(e.hmac_secret_file).status());
  for (const auto& [name, value] : e.headers) RETURN_IF_ERROR(ValidateHeader(name, value));
  return Status::Ok();
}

Status ValidateDeliveryId(const std::string& id) {
  if (id.empty()) return Status::InvalidArgument("the delivery id is empty");
  if (HasControlCharacters(id)) {
    return Status::InvalidArgument("the delivery id has control characters");
  }
  return Status::Ok();
}

namespace {

size_t OnBody(char* data, size_t size, size_t n, void* body_ptr) {
  auto* body = static_cast<std::string*>(body_ptr);
  size_t room = kMaxResponseBytes - std::min(kMaxResponseBytes, body->size());
  body->append(data, std::min(room, size * n));
  return size * n;
}

int OnProgress(void* abort_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const AbortDeadline*>(abort_ptr)->Passed() ? 1 : 0;
}

// "HTTP 400: <the body's first line, cut at 200 bytes>".
std::string StatusError(int status, std::string_view body) {
  std::string text = "HTTP " + std::to_string(status);
  std::string_view line = body.substr(0, std::min(body.find('\n'), size_t{200}));
  if (!line.empty() && !HasControlCharacters(line)) text += ": " + std::string(line);
  return text;
}

}  // namespace

Attempt Post(CURL* curl, const WebhookEndpoint& endpoint, const std::string& body,
             const std::string& delivery_id, const AbortDeadline& abort) {
  Attempt attempt;
  std::vector<std::string> lines = {"Content-Type: application/json",
                                    "Expect:", "X-Vitals-Delivery: " + delivery_id};
  if (!endpoint.hmac_secret_file.empty()) {
    Result<std::string> secret = ReadSecretFile(endpoint.hmac_secret_file);
    if (!secret.ok()) {
      attempt.error = secret.status().message();
      return attempt;
    }
    lines.push_back("X-Vitals-Signature: sha256=" + HmacSha256Hex(*secret, body));
  }
  for (const auto& [name, value] : endpoint.headers) lines.push_back(name + ": " + value);
  CurlSlistPtr headers;
  for (const std::string& line : lines) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  }
  auto remaining = std::chrono::duration_cast<milliseconds>(abort.Get() - Steady::now());
  milliseconds budget = std::max(milliseconds(1), std::min(endpoint.timeout, remaining));
  static const std::string user_agent = std::string("vitals-collector/") + kVersion;

  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, endpoint.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(budget.count()));
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &attempt.body);
  // Lets Stop() abort a request in flight (checked about once a second
  // while the server is silent, more often while data moves).
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &abort);

  CURLcode rc = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    attempt.error = rc == CURLE_ABORTED_BY_CALLBACK ? "aborted: the sender is stopping"
                    : error[0] != '\0'              ? error
                                                    : curl_easy_strerror(rc);
    attempt.retryable = rc != CURLE_ABORTED_BY_CALLBACK;
    return attempt;
  }
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  attempt.http_status = static_cast<int>(code);
  attempt.ok = code / 100 == 2;
  if (!attempt.ok) attempt.error = StatusError(attempt.http_status, attempt.body);
  attempt.retryable = code / 100 == 5 || code == 429;
  return attempt;
}

}  // namespace vitals::actions::internal
