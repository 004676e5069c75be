#include "agent/checks/http_check.h"

// The checks call libcurl through a table of function pointers (below); its
// type-checking macros would turn `api.curl_easy_setopt(...)` into garbage.
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <re2/re2.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/checks/secret.h"
#include "agent/checks/shared_library.h"
#include "agent/checks/tcp_check.h"
#include "common/units.h"

namespace vitals::agent {
namespace {

using Steady = std::chrono::steady_clock;

const MetricDesc kStatusCode{"vitals_check_http_status_code", MetricType::kGauge,
                             "HTTP status code of the last response of an http check."};
const MetricDesc kHttpDuration{"vitals_check_http_duration_seconds", MetricType::kGauge,
                               "Total time of the last request of an http check (name lookup, "
                               "connect, TLS, transfer), in seconds."};
const MetricDesc kCertExpiry{"vitals_check_tls_cert_expiry_timestamp_seconds", MetricType::kGauge,
                             "When the server's leaf certificate expires (notAfter), in Unix "
                             "seconds."};

constexpr size_t kMaxBodyBytes = 1024 * 1024;  // Kept for body assertions; the rest is dropped.
constexpr long kMaxRedirects = 10;

// The libcurl functions the check uses, loaded with the first check that
// needs libcurl (an https:// URL or follow_redirects).
// clang-format off
#define VITALS_LIBCURL_FUNCTIONS(F)                                                    \
  F(curl_easy_cleanup) F(curl_easy_getinfo) F(curl_easy_init) F(curl_easy_perform)   \
  F(curl_easy_setopt) F(curl_easy_strerror) F(curl_global_init) F(curl_slist_append) \
  F(curl_slist_free_all)
// clang-format on

VITALS_LIBRARY_API(LibcurlApi, VITALS_LIBCURL_FUNCTIONS);

// curl_global_init is not thread-safe, so it runs once, when the library is
// loaded, before any check can run.
Status InitLibcurl(const LibcurlApi& api, const SharedLibrary& library) {
  if (api.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return Status::Unavailable(library.soname() + ": curl_global_init failed");
  }
  return Status::Ok();
}

// Loads and initialises libcurl on the first call; later calls return the
// same outcome.
Result<const LibcurlApi*> LoadLibcurl() {
  return LoadLibraryOnce<LibcurlApi>(kLibcurlSoname, InitLibcurl);
}

// REQUIRES: LoadLibcurl succeeded, which NewHttpCheck makes sure of for every
// check that uses libcurl.
const LibcurlApi& Curl() { return **LoadLibcurl(); }

struct CurlDeleter {
  void operator()(CURL* curl) const { Curl().curl_easy_cleanup(curl); }
  void operator()(curl_slist* list) const { Curl().curl_slist_free_all(list); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlDeleter>;

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// "200", "204" or a class such as "2xx".
Result<std::pair<int, int>> ParseStatusRange(const std::string& text) {
  if (text.size() == 3 && text[0] >= '1' && text[0] <= '5' && text.substr(1) == "xx") {
    int base = (text[0] - '0') * 100;
    return std::pair<int, int>{base, base + 99};
  }
  int code = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
  if (ec != std::errc() || end != text.data() + text.size() || code < 100 || code > 599) {
    return Status::InvalidArgument("expected status codes (100..599) or classes like 2xx, got \"" +
                                   text + "\"");
  }
  return std::pair<int, int>{code, code};
}

std::string DescribeExpected(const std::vector<std::pair<int, int>>& ranges) {
  std::string out;
  for (const auto& [lo, hi] : ranges) {
    if (!out.empty()) out += ", ";
    out += lo == hi        ? std::to_string(lo)
           : hi - lo == 99 ? std::to_string(lo / 100) + "xx"
                           : std::to_string(lo) + ".." + std::to_string(hi);
  }
  return out;
}

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t n = size * count;
  if (body->size() < kMaxBodyBytes) body->append(data, std::min(n, kMaxBodyBytes - body->size()));
  return n;
}

size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

// The leaf certificate's notAfter from CURLINFO_CERTINFO, if libcurl has it.
std::optional<int64_t> LeafCertificateExpiry(CURL* curl) {
  curl_certinfo* info = nullptr;
  if (Curl().curl_easy_getinfo(curl, CURLINFO_CERTINFO, &info) != CURLE_OK || info == nullptr ||
      info->num_of_certs < 1) {
    return std::nullopt;
  }
  constexpr std::string_view kField = "Expire date:";
  for (curl_slist* item = info->certinfo[0]; item != nullptr; item = item->next) {
    std::string_view entry(item->data);
    if (entry.starts_with(kField)) return ParseCertificateTime(entry.substr(kField.size()));
  }
  return std::nullopt;
}

// The JSON text of `value` compared with the configured `equals`.
bool JsonEquals(const nlohmann::json& value, const std::string& equals) {
  if (value.is_string()) return value.get<std::string>() == equals;
  if (value.is_number()) {
    double want = 0;
    auto [end, ec] = std::from_chars(equals.data(), equals.data() + equals.size(), want);
    if (ec == std::errc() && end == equals.data() + equals.size()) {
      return value.get<double>() == want;
    }
  }
  return value.dump() == equals;
}

// Checks the body against the JSON assertions; a message for the first that
// fails.
std::optional<std::string> CheckJson(const std::string& body,
                                     const std::vector<JsonAssertion>& assertions) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return "body is not valid JSON";
  for (const JsonAssertion& a : assertions) {
    const nlohmann::json* value = nullptr;
    try {
      value = &doc.at(nlohmann::json::json_pointer(a.pointer));
    } catch (const nlohmann::json::exception&) {
      return "JSON " + a.pointer + " not found";
    }
    if (a.equals && !JsonEquals(*value, *a.equals)) {
      std::string got = value->dump();
      if (got.size() > 80) got = got.substr(0, 80) + "...";
      return "JSON " + a.pointer + " is " + got + ", expected \"" + *a.equals + "\"";
    }
  }
  return std::nullopt;
}

// True if the environment names a proxy that libcurl would use for an
// http:// URL (it reads http_proxy only in lower case).
bool ProxyConfigured() {
  for (const char* variable : {"http_proxy", "all_proxy", "ALL_PROXY"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && *value != '\0') return true;
  }
  return false;
}

// What one request brought back, from either client.
struct Exchange {
  int code = 0;
  std::string body;  // Kept only when an assertion needs it.
  double seconds = 0;
};

class HttpCheck final : public Check {
 public:
  HttpCheck(HttpCheckOptions options, HttpUrl url, bool use_curl, std::unique_ptr<RE2> body_regex,
            const Clock& clock)
      : options_(std::move(options)),
        url_(std::move(url)),
        what_(options_.method + " " + url_.Display()),
        https_(url_.scheme == "https"),
        use_curl_(use_curl),
        body_regex_(std::move(body_regex)),
        clock_(clock) {}

  CheckOutcome Run(Steady::time_point deadline_point) override {
    CheckOutcome outcome;
    outcome.status = CheckStatus::kCritical;
    const RunDeadline deadline(deadline_point);
    if (deadline.PollMillis() <= 0) {  // CURLOPT_TIMEOUT_MS 0 would mean "no limit".
      outcome.message = what_ + ": timed out before the request started";
      return outcome;
    }
    std::optional<int64_t> cert_expiry;
    Result<Exchange> exchange =
        use_curl_ ? PerformWithCurl(deadline, &cert_expiry) : PerformWithOwnClient(deadline);
    if (cert_expiry) outcome.samples.Add(kCertExpiry, {}, static_cast<double>(*cert_expiry));
    if (!exchange.ok()) {
      outcome.message = what_ + ": " + exchange.status().message();
      return outcome;
    }
    outcome.samples.Add(kStatusCode, {}, static_cast<double>(exchange->code));
    outcome.samples.Add(kHttpDuration, {}, exchange->seconds);
    if (auto failure = CheckResponse(exchange->code, exchange->body)) {
      outcome.message = what_ + ": " + *failure;
      return outcome;
    }
    outcome.status = CheckStatus::kOk;
    outcome.message = "HTTP " + std::to_string(exchange->code);
    if (https_ && options_.tls_expiry_warning.count() > 0 && cert_expiry) {
      const int64_t left_s = *cert_expiry - clock_.NowMillis() / 1000;
      if (left_s < options_.tls_expiry_warning.count() / 1000) {
        outcome.status = CheckStatus::kWarning;
        outcome.message =
            left_s <= 0
                ? "certificate expired " + FormatDuration(std::chrono::seconds(-left_s)) + " ago"
                : "certificate expires in " + FormatDuration(std::chrono::seconds(left_s));
      }
    }
    return outcome;
  }

 private:
  bool KeepBody() const { return body_regex_ != nullptr || !options_.json.empty(); }

  Result<Exchange> PerformWithOwnClient(const RunDeadline& deadline) const {
    HttpRequest request;
    request.method = options_.method;
    request.headers = options_.headers;
    request.body = options_.body;
    request.max_body_bytes = KeepBody() ? kMaxBodyBytes : 0;
    const auto start = Steady::now();
    ASSIGN_OR_RETURN(HttpResponse response, SendHttpRequest(url_, request, deadline));
    return Exchange{response.status, std::move(response.body),
                    std::chrono::duration<double>(Steady::now() - start).count()};
  }

  Result<Exchange> PerformWithCurl(const RunDeadline& deadline,
                                   std::optional<int64_t>* cert_expiry) const {
    const LibcurlApi& curl_api = Curl();
    CurlPtr curl(curl_api.curl_easy_init());
    if (!curl) return Status::Internal("curl_easy_init failed");
    Exchange exchange;
    char error[CURL_ERROR_SIZE] = {};
    CurlSlistPtr headers = Configure(curl.get(), std::chrono::milliseconds(deadline.PollMillis()),
                                     &exchange.body, error);
    const CURLcode rc = curl_api.curl_easy_perform(curl.get());
    if (https_) *cert_expiry = LeafCertificateExpiry(curl.get());
    if (rc != CURLE_OK) return Status::Unavailable(DescribeError(rc, error, deadline));
    long code = 0;
    curl_off_t total_us = 0;
    curl_api.curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
    curl_api.curl_easy_getinfo(curl.get(), CURLINFO_TOTAL_TIME_T, &total_us);
    exchange.code = static_cast<int>(code);
    exchange.seconds = static_cast<double>(total_us) / 1e6;
    return exchange;
  }

  // Sets every option of one request; returns the header list, which must
  // outlive the transfer.
  CurlSlistPtr Configure(CURL* curl, std::chrono::milliseconds budget, std::string* body,
                         char* error) const {
    const auto setopt = Curl().curl_easy_setopt;
    setopt(curl, CURLOPT_URL, options_.url.c_str());
    setopt(curl, CURLOPT_NOSIGNAL, 1L);
    setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(budget.count()));
    setopt(curl, CURLOPT_ERRORBUFFER, error);
    setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    setopt(curl, CURLOPT_USERAGENT, "vitals-agent");
    setopt(curl, CURLOPT_FOLLOWLOCATION, options_.follow_redirects ? 1L : 0L);
    setopt(curl, CURLOPT_MAXREDIRS, kMaxRedirects);
    if (options_.method == "HEAD") {
      setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (options_.method != "GET" || !options_.body.empty()) {
      if (options_.method != "POST") setopt(curl, CURLOPT_CUSTOMREQUEST, options_.method.c_str());
      if (!options_.body.empty() || options_.method == "POST") {
        setopt(curl, CURLOPT_POSTFIELDS, options_.body.c_str());
        setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(options_.body.size()));
      }
    }
    CurlSlistPtr headers;
    for (const HttpHeader& h : options_.headers) {
      std::string line = h.name + ": " + h.value;
      curl_slist* appended = Curl().curl_slist_append(headers.get(), line.c_str());
      if (appended != nullptr) {
        headers.release();
        headers.reset(appended);
      }
    }
    setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    setopt(curl, CURLOPT_WRITEFUNCTION, KeepBody() ? &WriteBody : &DiscardBody);
    setopt(curl, CURLOPT_WRITEDATA, body);
    if (https_) {
      setopt(curl, CURLOPT_CERTINFO, 1L);
      const HttpTlsOptions& tls = options_.tls;
      if (tls.insecure_skip_verify) {
        setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
      }
      if (!tls.ca_file.empty()) setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str());
      if (!tls.cert_file.empty()) setopt(curl, CURLOPT_SSLCERT, tls.cert_file.c_str());
      if (!tls.key_file.empty()) setopt(curl, CURLOPT_SSLKEY, tls.key_file.c_str());
    }
    return headers;
  }

  static std::string DescribeError(CURLcode rc, const char* error, const RunDeadline& deadline) {
    if (rc == CURLE_OPERATION_TIMEDOUT) return deadline.TimedOutMessage();
    std::string text = error[0] != '\0' ? error : Curl().curl_easy_strerror(rc);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }

  // The first failed assertion on the response, if any.
  std::optional<std::string> CheckResponse(int code, const std::string& body) const {
    static const std::vector<std::pair<int, int>> kAny2xx = {{200, 299}};
    const auto& ranges = options_.expected_status.empty() ? kAny2xx : options_.expected_status;
    bool expected = false;
    for (const auto& [lo, hi] : ranges) expected = expected || (code >= lo && code <= hi);
    if (!expected) {
      return "status " + std::to_string(code) + ", expected " + DescribeExpected(ranges);
    }
    if (body_regex_ && !RE2::PartialMatch(body, *body_regex_)) {
      return "body does not match body_regex \"" + options_.body_regex + "\"";
    }
    if (!options_.json.empty()) return CheckJson(body, options_.json);
    return std::nullopt;
  }

  const HttpCheckOptions options_;
  const HttpUrl url_;
  const std::string what_;  // "GET https://host/path", for messages.
  const bool https_;
  const bool use_curl_;  // Else the agent's own client (plain http, no redirects).
  const std::unique_ptr<RE2> body_regex_;  // Null when there is no body_regex.
  const Clock& clock_;
};

Status CheckReadable(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read " + path);
  return Status::Ok();
}

Result<std::vector<HttpHeader>> ReadHeaders(ConfigMap& fields) {
  std::vector<HttpHeader> headers;
  ASSIGN_OR_RETURN(std::vector<ConfigMap> entries, fields.ReadMapList("headers"));
  for (ConfigMap& entry : entries) {
    HttpHeader header;
    RETURN_IF_ERROR(entry.ReadString("name", &header.name, Presence::kRequired));
    if (!IsToken(header.name)) return entry.Error("name", "not a valid header name");
    const bool literal = entry.Has("value");
    RETURN_IF_ERROR(entry.ReadString("value", &header.value));
    ASSIGN_OR_RETURN(std::optional<std::string> secret, ReadSecret(entry, "value"));
    if (literal && secret) {
      return entry.Error("value", "give one of value, value_env and value_file");
    }
    if (!literal && !secret) {
      return entry.Error("", "missing value, value_env or value_file");
    }
    if (secret) header.value = std::move(*secret);
    if (header.value.find_first_of("\r\n") != std::string::npos) {
      return entry.Error(literal                  ? "value"
                         : entry.Has("value_env") ? "value_env"
                                                  : "value_file",
                         "header values cannot contain line breaks");
    }
    RETURN_IF_ERROR(entry.CheckUnknownKeys());
    headers.push_back(std::move(header));
  }
  return headers;
}

Result<std::vector<JsonAssertion>> ReadJsonAssertions(ConfigMap& fields) {
  std::vector<JsonAssertion> assertions;
  ASSIGN_OR_RETURN(std::vector<ConfigMap> entries, fields.ReadMapList("json"));
  for (ConfigMap& entry : entries) {
    JsonAssertion a;
    RETURN_IF_ERROR(entry.ReadString("pointer", &a.pointer, Presence::kRequired));
    try {
      nlohmann::json::json_pointer pointer(a.pointer);
    } catch (const nlohmann::json::exception&) {
      return entry.Error("pointer", "not a valid JSON pointer (like /status or /checks/0/ok)");
    }
    if (entry.Has("equals")) {
      a.equals.emplace();
      RETURN_IF_ERROR(entry.ReadString("equals", &*a.equals));
    } else {
      std::string ignored;
      RETURN_IF_ERROR(entry.ReadString("equals", &ignored));
    }
    RETURN_IF_ERROR(entry.CheckUnknownKeys());
    assertions.push_back(std::move(a));
  }
  return assertions;
}

Result<HttpTlsOptions> ReadTls(ConfigMap& fields) {
  HttpTlsOptions tls;
  ASSIGN_OR_RETURN(ConfigMap map, fields.ReadMap("tls"));
  RETURN_IF_ERROR(map.ReadBool("insecure_skip_verify", &tls.insecure_skip_verify));
  for (auto [key, out] :
       {std::pair{"ca_file", &tls.ca_file}, std::pair{"cert_file", &tls.cert_file},
        std::pair{"key_file", &tls.key_file}}) {
    RETURN_IF_ERROR(map.ReadString(key, out));
    if (!out->empty()) {
      if (Status st = CheckReadable(*out); !st.ok()) return map.Error(key, st.message());
    }
  }
  if (!tls.key_file.empty() && tls.cert_file.empty()) {
    return map.Error("key_file", "needs cert_file as well");
  }
  RETURN_IF_ERROR(map.CheckUnknownKeys());
  return tls;
}

}  // namespace

std::optional<int64_t> ParseCertificateTime(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  const std::string s(text);
  for (const char* format : {"%b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S"}) {
    tm parts{};
    const char* end = strptime(s.c_str(), format, &parts);
    if (end == nullptr) continue;
    std::string_view rest(end);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (!rest.empty() && rest != "GMT" && rest != "UTC" && rest != "Z") continue;
    return static_cast<int64_t>(timegm(&parts));
  }
  return std::nullopt;
}

Result<std::unique_ptr<Check>> NewHttpCheck(HttpCheckOptions options, const Clock& clock) {
  ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(options.url));
  if (!IsToken(options.method)) {
    return Status::InvalidArgument("not a valid HTTP method: \"" + options.method + "\"");
  }
  std::unique_ptr<RE2> regex;
  if (!options.body_regex.empty()) {
    regex = std::make_unique<RE2>(options.body_regex, RE2::Quiet);
    if (!regex->ok()) {
      return Status::InvalidArgument("not a valid RE2 regular expression: " + regex->error());
    }
  }
  // A redirect may lead to https://, which only libcurl speaks, and so do
  // proxies: libcurl takes them from the environment, the agent's client
  // does not (and leaves no_proxy to libcurl).
  const bool use_curl = url.scheme == "https" || options.follow_redirects || ProxyConfigured();
  if (use_curl) {
    if (auto loaded = LoadLibcurl(); !loaded.ok()) {
      return Status::Unavailable("https:// URLs and follow_redirects need libcurl: " +
                                 loaded.status().message());
    }
  }
  return std::unique_ptr<Check>(std::make_unique<HttpCheck>(std::move(options), std::move(url),
                                                            use_curl, std::move(regex), clock));
}

Result<std::unique_ptr<Check>> CreateHttpCheck(const CheckSpec& spec, ConfigMap& fields) {
  HttpCheckOptions options;
  RETURN_IF_ERROR(fields.ReadString("url", &options.url, Presence::kRequired));
  if (auto url = ParseHttpUrl(options.url); !url.ok()) {
    return fields.Error("url", url.status().message());
  }
  RETURN_IF_ERROR(fields.ReadString("method", &options.method));
  if (!IsToken(options.method) ||
      std::any_of(options.method.begin(), options.method.end(),
                  [](char c) { return std::islower(static_cast<unsigned char>(c)); })) {
    return fields.Error("method", "expected an upper-case HTTP method such as GET or POST");
  }
  ASSIGN_OR_RETURN(options.headers, ReadHeaders(fields));
  RETURN_IF_ERROR(fields.ReadString("body", &options.body));
  std::vector<std::string> statuses;
  RETURN_IF_ERROR(fields.ReadStringList("expected_status", &statuses));
  for (const std::string& status : statuses) {
    auto range = ParseStatusRange(status);
    if (!range.ok()) return fields.Error("expected_status", range.status().message());
    options.expected_status.push_back(*range);
  }
  RETURN_IF_ERROR(fields.ReadString("body_regex", &options.body_regex));
  if (!options.body_regex.empty()) {
    RE2 regex(options.body_regex, RE2::Quiet);
    if (!regex.ok()) {
      return fields.Error("body_regex", "not a valid RE2 regular expression: " + regex.error());
    }
  }
  ASSIGN_OR_RETURN(options.json, ReadJsonAssertions(fields));
  RETURN_IF_ERROR(fields.ReadBool("follow_redirects", &options.follow_redirects));
  ASSIGN_OR_RETURN(options.tls, ReadTls(fields));
  RETURN_IF_ERROR(fields.ReadDuration("tls_expiry_warning", &options.tls_expiry_warning));
  auto check = NewHttpCheck(std::move(options));
  if (!check.ok()) return fields.Error("url", check.status().message());
  return check;
}

}  // namespace vitals::agent
