#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/checks/socket_io.h"
#include "common/status.h"

// The http check's own HTTP/1.1 client for plain http:// URLs. Health
// endpoints inside a network are mostly plain HTTP, and serving them without
// libcurl means an agent whose http checks need no TLS never loads libcurl
// and the TLS, Kerberos and LDAP libraries it brings (about 8 MiB resident).
// https:// URLs, and checks that follow redirects, use libcurl (http_check.cc).

namespace vitals::agent {

// An absolute http:// or https:// URL, split.
struct HttpUrl {
  std::string scheme;    // "http" or "https", lower case.
  std::string userinfo;  // "user:password" as written (percent-encoded); empty for none.
  std::string host;      // A name or an IP literal; IPv6 without brackets.
  uint16_t port = 0;     // As written, or the scheme's default (80, 443).
  bool port_given = false;
  std::string path;   // Starts with "/"; "/" when the URL has no path.
  std::string query;  // Without the "?"; empty for none.

  // scheme://host[:port]/path: no credentials, query or fragment, for
  // messages (a token in the query must not reach the logs).
  std::string Display() const;
  // host[:port] as the Host header carries it, IPv6 in brackets.
  std::string Authority() const;
};

// Splits `url`. InvalidArgument for anything but an absolute http:// or
// https:// URL with a host, a port in 1..65535 and no spaces or control
// characters.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

struct HttpHeader {
  std::string name;
  std::string value;  // Already read from the environment or a file at start-up.
};

struct HttpRequest {
  std::string method = "GET";
  // Sent after the defaults (Host, User-Agent: vitals-agent, Accept: */*,
  // Authorization from the URL's credentials); a header named like a default
  // replaces it.
  std::vector<HttpHeader> headers;
  // Sent with Content-Length when not empty or when the method is POST, as
  // application/x-www-form-urlencoded unless a Content-Type header is given
  // (what libcurl does with the same settings).
  std::string body;
  // Response body bytes kept; the rest is read and dropped.
  size_t max_body_bytes = 0;
};

struct HttpResponse {
  int status = 0;
  std::string body;  // The first max_body_bytes of the body.
};

// Sends `request` to `url` over one connection ("Connection: close") and
// reads the whole response: Content-Length, chunked or until close; nothing
// for HEAD, 1xx, 204 and 304. Each address of the host is tried in turn.
// Unavailable with a one-line reason: "connect to api:80: connection refused",
// "timed out after 5s", "malformed status line \"...\"".
// REQUIRES: url.scheme == "http".
Result<HttpResponse> SendHttpRequest(const HttpUrl& url, const HttpRequest& request,
                                     const RunDeadline& deadline);

}  // namespace vitals::agent
