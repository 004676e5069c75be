#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/checks/check.h"
#include "agent/checks/http_client.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

// Asserts on the JSON response body: the value at `pointer` (RFC 6901, "/a/0/b")
// exists and, if `equals` is set, equals it: strings compare as text,
// numbers numerically, anything else as its JSON text ("true", "null").
struct JsonAssertion {
  std::string pointer;
  std::optional<std::string> equals;
};

struct HttpTlsOptions {
  bool insecure_skip_verify = false;  // Accept any certificate and host name.
  std::string ca_file;                // PEM bundle to verify the server with; empty: system CAs.
  std::string cert_file;              // PEM client certificate for mutual TLS.
  std::string key_file;               // Its private key; empty: the key is in cert_file.
};

// What a `kind: http` check does: one request bounded by the deadline, and
// assertions on the response. Plain http:// requests go through the agent's
// own client (http_client.h); https://, redirect-following ones, and all of
// them when the environment names a proxy (http_proxy, all_proxy) through
// libcurl, which the first such check loads.
struct HttpCheckOptions {
  std::string url;  // http:// or https://.
  std::string method = "GET";
  std::vector<HttpHeader> headers;
  std::string body;  // Sent when non-empty (and with POST, always).
  // Inclusive ranges of acceptable status codes; empty means 200..299.
  std::vector<std::pair<int, int>> expected_status;
  std::string body_regex;  // RE2, partial match; empty: no body check.
  std::vector<JsonAssertion> json;
  bool follow_redirects = false;  // Up to 10, http and https only.
  HttpTlsOptions tls;
  // WARNING when the server certificate expires within this; zero: never.
  std::chrono::milliseconds tls_expiry_warning{0};
};

// Returns a check that is OK when the request completes with an expected
// status and every body assertion holds, WARNING when only the certificate
// expiry warning fires, CRITICAL otherwise ("GET https://api/health: status
// 503, expected 2xx", "... timed out after 5s"). Samples:
// vitals_check_http_status_code, vitals_check_http_duration_seconds and, for
// https, vitals_check_tls_cert_expiry_timestamp_seconds (the leaf
// certificate's notAfter). `clock` (borrowed, must outlive the check) is only
// used to compare that expiry with now. InvalidArgument for a bad URL,
// method, regex or JSON pointer; Unavailable if the check needs libcurl and it
// cannot be loaded.
Result<std::unique_ptr<Check>> NewHttpCheck(HttpCheckOptions options,
                                            const Clock& clock = Clock::Real());

// Reads url (required), method, headers, body, expected_status, body_regex,
// json, follow_redirects, tls and tls_expiry_warning from `fields`. A header
// is `{name: X, value: ...}`, or takes its value from `value_env: VAR` or
// `value_file: /path` (read now). InvalidArgument naming file, line and key.
Result<std::unique_ptr<Check>> CreateHttpCheck(const CheckSpec& spec, ConfigMap& fields);

// Parses a certificate time as libcurl's certinfo prints it ("Jan  2 03:04:05
// 2027 GMT", or "2027-01-02 03:04:05 GMT") to Unix seconds.
std::optional<int64_t> ParseCertificateTime(std::string_view text);

}  // namespace vitals::agent
