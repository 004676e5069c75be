#include "agent/checks/http_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <optional>

#include "agent/checks/check_common.h"

namespace vitals::agent {
namespace {

// Status line plus headers, or one chunk-size line; more is refused rather
// than buffered.
constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kReadChunk = 16 * 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// A short, printable excerpt of what the server sent, for messages.
std::string Quoted(std::string_view data) {
  std::string out = "\"";
  for (char c : data.substr(0, 60)) {
    out +=
        (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
  }
  return out + (data.size() > 60 ? "...\"" : "\"");
}

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < data.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<uint8_t>(data[i + 1]) << 8;
    if (i + 2 < data.size()) n |= static_cast<uint8_t>(data[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < data.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

uint16_t DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

std::string BracketedHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// The request's bytes: request line, headers, body.
std::string FormatRequest(const HttpUrl& url, const HttpRequest& request) {
  const bool has_body = !request.body.empty() || request.method == "POST";
  std::vector<HttpHeader> headers = {
      {"Host", url.Authority()}, {"User-Agent", "vitals-agent"}, {"Accept", "*/*"}};
  if (!url.userinfo.empty()) {
    const size_t colon = url.userinfo.find(':');
    const std::string user = PercentDecode(url.userinfo.substr(0, colon)).value_or("");
    const std::string password =
        colon == std::string::npos
            ? ""
            : PercentDecode(std::string_view(url.userinfo).substr(colon + 1)).value_or("");
    headers.push_back({"Authorization", "Basic " + Base64(user + ":" + password)});
  }
  if (has_body) headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  std::erase_if(headers, [&](const HttpHeader& fixed) {
    return std::any_of(request.headers.begin(), request.headers.end(),
                       [&](const HttpHeader& h) { return EqualsIgnoreCase(h.name, fixed.name); });
  });
  headers.insert(headers.end(), request.headers.begin(), request.headers.end());
  if (has_body) headers.push_back({"Content-Length", std::to_string(request.body.size())});
  headers.push_back({"Connection", "close"});

  std::string out = request.method + " " + url.path + (url.query.empty() ? "" : "?" + url.query) +
                    " HTTP/1.1\r\n";
  for (const HttpHeader& h : headers) out += h.name + ": " + h.value + "\r\n";
  out += "\r\n";
  if (has_body) out += request.body;
  return out;
}

// The receiving side of one connection: buffered reads bounded by the deadline.
class ResponseReader {
 public:
  ResponseReader(int fd, const RunDeadline& deadline) : fd_(fd), deadline_(deadline) {}

  // The next line without its line break, charged to *budget (bytes of
  // head or chunk framing still allowed); fails once that runs out.
  Result<std::string> Line(size_t* budget) {
    while (true) {
      const size_t newline = buffer_.find('\n', pos_);
      const size_t length = (newline == std::string::npos ? buffer_.size() : newline + 1) - pos_;
      if (length > *budget) {
        return Status::Unavailable("response head or chunk line longer than " +
                                   std::to_string(kMaxHeaderBytes) + " bytes");
      }
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(pos_, newline - pos_);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        *budget -= length;
        pos_ = newline + 1;
        return line;
      }
      RETURN_IF_ERROR(FillOrFail());
    }
  }

  // Reads `n` bytes, keeping what fits into *body.
  Status Read(uint64_t n, std::string* body, size_t max_body_bytes) {
    while (n > 0) {
      if (buffered() == 0) RETURN_IF_ERROR(FillOrFail());
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, buffered()));
      Keep(std::string_view(buffer_).substr(pos_, take), body, max_body_bytes);
      pos_ += take;
      n -= take;
    }
    return Status::Ok();
  }

  // Reads until the server closes the connection.
  Status ReadToEnd(std::string* body, size_t max_body_bytes) {
    while (true) {
      Keep(std::string_view(buffer_).substr(pos_), body, max_body_bytes);
      pos_ = buffer_.size();
      ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) return Status::Ok();
    }
  }

 private:
  size_t buffered() const { return buffer_.size() - pos_; }

  static void Keep(std::string_view data, std::string* body, size_t max_body_bytes) {
    if (body->size() < max_body_bytes) {
      body->append(data.substr(0, max_body_bytes - body->size()));
    }
  }

  // Receives more bytes; false once the server has closed the connection.
  Result<bool> Fill() {
    if (pos_ > 0 && pos_ == buffer_.size()) {
      buffer_.clear();
      pos_ = 0;
    }
    while (true) {
      RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline_));
      char chunk[kReadChunk];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n < 0) return Status::Unavailable("receive: " + ErrnoMessage(errno));
      if (n == 0) return false;
      received_ = true;
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  Status FillOrFail() {
    ASSIGN_OR_RETURN(bool more, Fill());
    if (more) return Status::Ok();
    return Status::Unavailable(received_ ? "connection closed before the response was complete"
                                         : "connection closed without a response");
  }

  const int fd_;
  const RunDeadline& deadline_;
  std::string buffer_;
  size_t pos_ = 0;  // Bytes of buffer_ already consumed.
  bool received_ = false;
};

// How the response's body is delimited.
struct Framing {
  bool chunked = false;
  std::optional<uint64_t> content_length;
};

// Reads one response head; *status gets the code.
Result<Framing> ReadHead(ResponseReader& reader, int* status) {
  size_t budget = kMaxHeaderBytes;
  ASSIGN_OR_RETURN(std::string line, reader.Line(&budget));
  // "HTTP/1.1 200 OK"; the reason phrase may be empty or missing.
  const bool well_formed = line.size() >= 12 && line.starts_with("HTTP/") && line[8] == ' ' &&
                           std::all_of(line.begin() + 9, line.begin() + 12,
                                       [](char c) { return c >= '0' && c <= '9'; }) &&
                           (line.size() == 12 || line[12] == ' ');
  if (!well_formed) return Status::Unavailable("malformed status line " + Quoted(line));
  *status = std::stoi(line.substr(9, 3));
  Framing framing;
  while (true) {
    ASSIGN_OR_RETURN(std::string header, reader.Line(&budget));
    if (header.empty()) return framing;
    const size_t colon = header.find(':');
    if (colon == std::string::npos)
      return Status::Unavailable("malformed header " + Quoted(header));
    const std::string_view name = TrimSpaces(std::string_view(header).substr(0, colon));
    const std::string_view value = TrimSpaces(std::string_view(header).substr(colon + 1));
    if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      // Chunked is the last coding whenever it is there at all (RFC 9112 6.1).
      const size_t comma = value.rfind(',');
      framing.chunked = EqualsIgnoreCase(
          TrimSpaces(comma == std::string_view::npos ? value : value.substr(comma + 1)), "chunked");
    } else if (EqualsIgnoreCase(name, "Content-Length")) {
      uint64_t length = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return Status::Unavailable("malformed Content-Length " + Quoted(value));
      }
      framing.content_length = length;
    }
  }
}

Status ReadChunkedBody(ResponseReader& reader, std::string* body, size_t max_body_bytes) {
  while (true) {
    size_t budget = kMaxHeaderBytes;
    ASSIGN_OR_RETURN(std::string line, reader.Line(&budget));
    const std::string_view size_text = TrimSpaces(std::string_view(line).substr(0, line.find(';')));
    uint64_t size = 0;
    auto [end, ec] =
        std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (size_text.empty() || ec != std::errc() || end != size_text.data() + size_text.size()) {
      return Status::Unavailable("malformed chunk size " + Quoted(line));
    }
    if (size == 0) break;
    RETURN_IF_ERROR(reader.Read(size, body, max_body_bytes));
    ASSIGN_OR_RETURN(std::string crlf, reader.Line(&budget));
    if (!crlf.empty()) return Status::Unavailable("malformed chunk end " + Quoted(crlf));
  }
  size_t budget = kMaxHeaderBytes;
  while (true) {  // Trailer fields, which nobody needs.
    ASSIGN_OR_RETURN(std::string trailer, reader.Line(&budget));
    if (trailer.empty()) return Status::Ok();
  }
}

}  // namespace

std::string HttpUrl::Display() const {
  return scheme + "://" + BracketedHost(host) + (port_given ? ":" + std::to_string(port) : "") +
         path;
}

std::string HttpUrl::Authority() const {
  return BracketedHost(host) + (port != DefaultPort(scheme) ? ":" + std::to_string(port) : "");
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  const std::string quoted = "\"" + std::string(url) + "\"";
  auto invalid = [&] { return Status::InvalidArgument("not a valid URL: " + quoted); };
  if (std::any_of(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) == 0x7f;
      })) {
    return invalid();
  }
  const size_t separator = url.find("://");
  if (separator == std::string_view::npos || separator == 0) return invalid();
  HttpUrl out;
  for (char c : url.substr(0, separator)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return invalid();
    }
    out.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (out.scheme != "http" && out.scheme != "https") {
    return Status::InvalidArgument("expected an http:// or https:// URL, got " + quoted);
  }
  std::string_view rest = url.substr(separator + 3);
  rest = rest.substr(0, rest.find('#'));
  const size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = rest.substr(authority_end);
  const size_t question = target.find('?');
  out.path = std::string(target.substr(0, question));
  if (out.path.empty()) out.path = "/";
  if (question != std::string_view::npos) out.query = std::string(target.substr(question + 1));

  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid();
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return invalid();
    if (!after.empty()) port = after.substr(1);
    if (!ParseIpLiteral(out.host, 0) || out.host.find(':') == std::string::npos) return invalid();
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return invalid();
  out.port = DefaultPort(out.scheme);
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return invalid();
    }
    out.port = static_cast<uint16_t>(value);
    out.port_given = true;
  }
  return out;
}

Result<HttpResponse> SendHttpRequest(const HttpUrl& url, const HttpRequest& request,
                                     const RunDeadline& deadline) {
  ASSIGN_OR_RETURN(std::vector<SocketAddress> addresses, Resolve(url.host, url.port, deadline));
  UniqueFd fd;
  Status connect_error;
  for (const SocketAddress& address : addresses) {
    Result<UniqueFd> connected = ConnectTo(address, deadline);
    if (connected.ok()) {
      fd = std::move(connected).value();
      break;
    }
    connect_error = connected.status();
    if (deadline.Expired()) break;
  }
  if (!fd.valid()) {
    return Status::Unavailable("connect to " + BracketedHost(url.host) + ":" +
                               std::to_string(url.port) + ": " + connect_error.message());
  }
  RETURN_IF_ERROR(SendAll(fd.get(), FormatRequest(url, request), deadline));

  ResponseReader reader(fd.get(), deadline);
  HttpResponse response;
  Framing framing;
  do {  // Interim 1xx responses (103 Early Hints, ...) precede the real one.
    ASSIGN_OR_RETURN(framing, ReadHead(reader, &response.status));
  } while (response.status >= 100 && response.status < 200);
  if (request.method == "HEAD" || response.status == 204 || response.status == 304) {
    return response;
  }
  if (framing.chunked) {
    RETURN_IF_ERROR(ReadChunkedBody(reader, &response.body, request.max_body_bytes));
  } else if (framing.content_length) {
    RETURN_IF_ERROR(reader.Read(*framing.content_length, &response.body, request.max_body_bytes));
  } else {
    RETURN_IF_ERROR(reader.ReadToEnd(&response.body, request.max_body_bytes));
  }
  return response;
}

}  // namespace vitals::agent
