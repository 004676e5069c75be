#include "agent/checks/http_client.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "tests/agent/checks/support/check_test_support.h"
#include "tests/agent/checks/support/tcp_test_server.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using testing::ClosedPort;
using testing::DeadlineAfter;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::Steady;

// An HTTP server on 127.0.0.1 that reads each request (head, and a body of
// Content-Length bytes), answers it with the same scripted bytes and closes
// the connection, or holds it open if told to. Remembers the last request.
class ScriptedHttpServer {
 public:
  explicit ScriptedHttpServer(std::string reply, bool hold_open = false)
      : reply_(std::move(reply)), hold_open_(hold_open) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        ::listen(listen_fd_, 4) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    port_ = ntohs(addr.sin_port);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { Serve(); });
  }

  ~ScriptedHttpServer() {
    uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof(one)) != sizeof(one)) ADD_FAILURE() << "eventfd write";
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_fd_);
  }

  HttpUrl Url(const std::string& path = "/") const {
    auto url = ParseHttpUrl("http://127.0.0.1:" + std::to_string(port_) + path);
    EXPECT_TRUE(url.ok()) << url.status().ToString();
    return url.ok() ? *url : HttpUrl();
  }

  std::string last_request() const {
    std::lock_guard lock(mu_);
    return last_request_;
  }

 private:
  // Waits until `fd` is readable; false once the server is stopping.
  bool WaitReadable(int fd) const {
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0) {
    }
    return (fds[1].revents & POLLIN) == 0;
  }

  // The request's head and body, as far as the client sent them.
  std::string ReadRequest(int conn) const {
    std::string request;
    char buf[4096];
    size_t wanted = std::string::npos;
    while (request.size() < wanted && WaitReadable(conn)) {
      const ssize_t n = ::read(conn, buf, sizeof(buf));
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
      const size_t head_end = request.find("\r\n\r\n");
      if (wanted == std::string::npos && head_end != std::string::npos) {
        size_t length = 0;
        if (size_t at = request.find("Content-Length: ");
            at != std::string::npos && at < head_end) {
          length = std::stoul(request.substr(at + 16));
        }
        wanted = head_end + 4 + length;
      }
    }
    return request;
  }

  void Serve() {
    while (WaitReadable(listen_fd_)) {
      const int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      std::string request = ReadRequest(conn);
      {
        std::lock_guard lock(mu_);
        last_request_ = std::move(request);
      }
      // A client that gives up early (a head too long) resets the connection,
      // so a failed send is not the test's failure.
      [[maybe_unused]] ssize_t sent = ::send(conn, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      // Closing with unread input would reset the connection; the client
      // closes first instead, after it has read everything.
      if (!hold_open_) ::shutdown(conn, SHUT_WR);
      char buf[256];
      while (WaitReadable(conn) && ::read(conn, buf, sizeof(buf)) > 0) {
      }
      ::close(conn);
    }
  }

  const std::string reply_;
  const bool hold_open_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: written to stop the thread.
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::string last_request_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

Result<HttpResponse> Send(const HttpUrl& url, HttpRequest request = {},
                          std::chrono::milliseconds timeout = 5s) {
  const RunDeadline deadline(DeadlineAfter(timeout));
  return SendHttpRequest(url, request, deadline);
}

HttpRequest KeepingBody(size_t max_body_bytes = 1024) {
  HttpRequest request;
  request.max_body_bytes = max_body_bytes;
  return request;
}

// --- URLs.

TEST(HttpUrlTest, SplitsSchemeCredentialsHostPortPathAndQuery) {
  auto url = ParseHttpUrl("HTTP://user:pw@api.example:8080/v1/health?token=s3cret#top");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->userinfo, "user:pw");
  EXPECT_EQ(url->host, "api.example");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path, "/v1/health");
  EXPECT_EQ(url->query, "token=s3cret");
}

TEST(HttpUrlTest, DisplayLeavesOutCredentialsQueryAndFragment) {
  EXPECT_EQ(ParseHttpUrl("http://user:pw@api:8080/health?token=s3cret#x")->Display(),
            "http://api:8080/health");
}

TEST(HttpUrlTest, PortAndPathDefaultByScheme) {
  auto http = ParseHttpUrl("http://api.example");
  auto https = ParseHttpUrl("https://api.example?x=1");
  ASSERT_TRUE(http.ok() && https.ok());
  EXPECT_EQ(http->port, 80);
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(http->path, "/");
  EXPECT_EQ(https->path, "/");
  EXPECT_EQ(http->Display(), "http://api.example/");
}

TEST(HttpUrlTest, AuthorityNamesThePortOnlyWhenItIsNotTheDefault) {
  EXPECT_EQ(ParseHttpUrl("http://api:80/")->Authority(), "api");
  EXPECT_EQ(ParseHttpUrl("http://api:8080/")->Authority(), "api:8080");
  EXPECT_EQ(ParseHttpUrl("https://api:443/")->Authority(), "api");
}

TEST(HttpUrlTest, Ipv6LiteralsAreBracketedAgainInDisplayAndAuthority) {
  auto url = ParseHttpUrl("http://[::1]:9100/metrics");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->Display(), "http://[::1]:9100/metrics");
  EXPECT_EQ(url->Authority(), "[::1]:9100");
}

TEST(HttpUrlTest, OtherSchemesAreRefusedByName) {
  EXPECT_EQ(ParseHttpUrl("ftp://files.example/x").status().message(),
            "expected an http:// or https:// URL, got \"ftp://files.example/x\"");
}

TEST(HttpUrlTest, MalformedUrlsAreInvalid) {
  for (const char* url :
       {"api.example/health", "http://", "http:///path", "http://api:0/", "http://api:65536/",
        "http://api:80x/", "http://a pi/", "http://[::1/", "http://[not-v6]/", "://api/"}) {
    auto parsed = ParseHttpUrl(url);
    EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument) << url;
    EXPECT_THAT(parsed.status().message(), StartsWith("not a valid URL")) << url;
  }
}

// --- Requests.

TEST(HttpClientTest, SendsRequestLineHostAndDefaultHeaders) {
  ScriptedHttpServer server("HTTP/1.1 204 No Content\r\n\r\n");
  HttpUrl url = server.Url("/health?verbose=1");
  ASSERT_TRUE(Send(url).ok());
  EXPECT_EQ(server.last_request(),
            "GET /health?verbose=1 HTTP/1.1\r\n"
            "Host: " +
                url.Authority() +
                "\r\n"
                "User-Agent: vitals-agent\r\n"
                "Accept: */*\r\n"
                "Connection: close\r\n"
                "\r\n");
}

TEST(HttpClientTest, ConfiguredHeadersAreSentAndReplaceDefaultsOfTheSameName) {
  ScriptedHttpServer server("HTTP/1.1 204 No Content\r\n\r\n");
  HttpRequest request;
  request.headers = {{"user-agent", "probe/2"}, {"X-Token", "abc"}};
  ASSERT_TRUE(Send(server.Url(), request).ok());
  const std::string sent = server.last_request();
  EXPECT_THAT(sent, HasSubstr("\r\nuser-agent: probe/2\r\nX-Token: abc\r\n"));
  EXPECT_THAT(sent, ::testing::Not(HasSubstr("vitals-agent")));
}

TEST(HttpClientTest, PostSendsTheBodyWithLengthAndFormContentTypeAsLibcurlDoes) {
  ScriptedHttpServer server("HTTP/1.1 204 No Content\r\n\r\n");
  HttpRequest request;
  request.method = "POST";
  request.body = R"({"ping": 1})";
  ASSERT_TRUE(Send(server.Url("/echo"), request).ok());
  const std::string sent = server.last_request();
  EXPECT_THAT(sent, StartsWith("POST /echo HTTP/1.1\r\n"));
  EXPECT_THAT(sent, HasSubstr("\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
  EXPECT_THAT(sent, HasSubstr("\r\nContent-Length: 11\r\n"));
  EXPECT_TRUE(sent.ends_with("\r\n\r\n{\"ping\": 1}")) << sent;
}

TEST(HttpClientTest, CredentialsInTheUrlBecomeBasicAuthorization) {
  ScriptedHttpServer server("HTTP/1.1 204 No Content\r\n\r\n");
  HttpUrl url = server.Url();
  url.userinfo = "al%40ice:open%20sesame";  // alice@... / "open sesame"
  ASSERT_TRUE(Send(url).ok());
  // base64("al@ice:open sesame")
  EXPECT_THAT(server.last_request(),
              HasSubstr("\r\nAuthorization: Basic YWxAaWNlOm9wZW4gc2VzYW1l\r\n"));
}

// --- Responses.

TEST(HttpClientTest, ReadsABodyDelimitedByContentLength) {
  ScriptedHttpServer server("HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nall systems go", true);
  auto response = Send(server.Url(), KeepingBody());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "all systems go");
}

TEST(HttpClientTest, ReadsAChunkedBody) {
  ScriptedHttpServer server(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nall \r\nA;ext=1\r\nsystems go\r\n0\r\nX-Trailer: 1\r\n\r\n",
      true);
  auto response = Send(server.Url(), KeepingBody());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "all systems go");
}

TEST(HttpClientTest, ReadsABodyUntilTheServerClosesWithoutLength) {
  ScriptedHttpServer server("HTTP/1.0 503 Service Unavailable\r\n\r\ndown for maintenance");
  auto response = Send(server.Url(), KeepingBody());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, "down for maintenance");
}

TEST(HttpClientTest, KeepsOnlyTheFirstMaxBodyBytes) {
  ScriptedHttpServer server("HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nall systems go");
  auto kept = Send(server.Url(), KeepingBody(3));
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->body, "all");
  auto none = Send(server.Url());
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->body, "");
}

TEST(HttpClientTest, InterimResponsesAreSkipped) {
  ScriptedHttpServer server(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  auto response = Send(server.Url(), KeepingBody());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
}

TEST(HttpClientTest, HeadResponsesHaveNoBodyWhateverTheirLength) {
  ScriptedHttpServer server("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true);
  HttpRequest request = KeepingBody();
  request.method = "HEAD";
  auto response = Send(server.Url(), request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(server.last_request(), StartsWith("HEAD / HTTP/1.1\r\n"));
}

TEST(HttpClientTest, MalformedStatusLineIsAnError) {
  ScriptedHttpServer server("SSH-2.0-OpenSSH_9.2\r\n");
  auto response = Send(server.Url());
  EXPECT_EQ(response.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(response.status().message(), "malformed status line \"SSH-2.0-OpenSSH_9.2\"");
}

TEST(HttpClientTest, ConnectionClosedInTheBodyIsAnError) {
  ScriptedHttpServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
  auto response = Send(server.Url());
  EXPECT_EQ(response.status().message(), "connection closed before the response was complete");
}

TEST(HttpClientTest, ConnectionClosedWithoutAnswerIsAnError) {
  ScriptedHttpServer server("");
  auto response = Send(server.Url());
  EXPECT_EQ(response.status().message(), "connection closed without a response");
}

TEST(HttpClientTest, StalledBodyIsCutAtTheDeadline) {
  ScriptedHttpServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome", true);
  const auto start = Steady::now();
  auto response = Send(server.Url(), {}, 300ms);
  EXPECT_EQ(response.status().message(), "timed out after 300ms");
  EXPECT_LT(Steady::now() - start, 300ms + 150ms);
}

TEST(HttpClientTest, EndlessHeadIsRefused) {
  ScriptedHttpServer server("HTTP/1.1 200 OK\r\nX-Padding: " + std::string(70 * 1024, 'x') +
                            "\r\n\r\n");
  auto response = Send(server.Url());
  EXPECT_THAT(response.status().message(), StartsWith("response head or chunk line longer than"));
}

TEST(HttpClientTest, ConnectionRefusedNamesTheAddress) {
  const uint16_t port = ClosedPort();
  auto url = ParseHttpUrl("http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_TRUE(url.ok());
  auto response = Send(*url);
  EXPECT_EQ(response.status().message(),
            "connect to 127.0.0.1:" + std::to_string(port) + ": connection refused");
}

}  // namespace
}  // namespace vitals::agent
