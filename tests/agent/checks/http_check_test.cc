#include "agent/checks/http_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/agent/checks/support/check_test_support.h"
#include "tests/agent/checks/support/http_test_server.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using testing::DeadlineAfter;
using ::testing::HasSubstr;
using testing::HttpTestServer;
using testing::MakeCheck;
using ::testing::Not;
using testing::SampleValue;
using testing::ScopedEnv;
using ::testing::StartsWith;
using testing::Steady;
using vitals::testing::TempDir;

// An HTTP server with the endpoints these tests use.
class HttpCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    httplib::Server& s = server_.server();
    s.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("all systems go", "text/plain");
    });
    s.Get("/unavailable", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("down for maintenance", "text/plain");
    });
    s.Get("/health.json", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status": "ok", "checks": [{"name": "db", "ok": true}], "replicas": 3})",
                      "application/json");
    });
    s.Get("/moved",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ok"); });
    s.Get("/auth", [](const httplib::Request& req, httplib::Response& res) {
      res.status = req.get_header_value("Authorization") == "Bearer s3cret" ? 200 : 401;
    });
    s.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, "text/plain");
    });
    s.Get("/hang", [this](const httplib::Request&, httplib::Response&) { server_.Hang(); });
    server_.Start();
  }

  // Runs an http check with `fields` (YAML lines) once.
  CheckOutcome Run(const std::string& fields, std::chrono::milliseconds timeout = 5s) {
    auto check = testing::MustMakeCheck("http", fields);
    if (check == nullptr) return CheckOutcome();
    return check->Run(DeadlineAfter(timeout));
  }

  std::string UrlField(const std::string& path) { return "url: " + server_.Url(path); }

  HttpTestServer server_;
};

TEST_F(HttpCheckTest, SuccessfulRequestIsOkWithStatusAndDurationSamples) {
  CheckOutcome outcome = Run(UrlField("/ok"));
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(outcome.message, "HTTP 200");
  EXPECT_EQ(SampleValue(outcome.samples, "vitals_check_http_status_code"), 200);
  auto duration = SampleValue(outcome.samples, "vitals_check_http_duration_seconds");
  ASSERT_TRUE(duration.has_value());
  EXPECT_GT(*duration, 0);
  EXPECT_LT(*duration, 5);
  EXPECT_FALSE(SampleValue(outcome.samples, "vitals_check_tls_cert_expiry_timestamp_seconds"));
}

TEST_F(HttpCheckTest, Non2xxStatusIsCriticalByDefault) {
  CheckOutcome outcome = Run(UrlField("/unavailable"));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "GET " + server_.Url("/unavailable") + ": status 503, expected 2xx");
  EXPECT_EQ(SampleValue(outcome.samples, "vitals_check_http_status_code"), 503);
}

TEST_F(HttpCheckTest, ExpectedStatusAcceptsListedCodesAndClasses) {
  EXPECT_EQ(Run(UrlField("/unavailable") + "\nexpected_status: [200, 503]").status,
            CheckStatus::kOk);
  EXPECT_EQ(Run(UrlField("/unavailable") + "\nexpected_status: [5xx]").status, CheckStatus::kOk);
  CheckOutcome outcome = Run(UrlField("/ok") + "\nexpected_status: [204, 3xx]");
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, HasSubstr("status 200, expected 204, 3xx"));
}

TEST_F(HttpCheckTest, BodyRegexMatchingPartOfTheBodyIsOk) {
  EXPECT_EQ(Run(UrlField("/ok") + "\nbody_regex: 'systems\\s+go'").status, CheckStatus::kOk);
}

TEST_F(HttpCheckTest, BodyRegexNotMatchingIsCritical) {
  CheckOutcome outcome = Run(UrlField("/ok") + "\nbody_regex: '^degraded'");
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, HasSubstr(": body does not match body_regex \"^degraded\""));
}

TEST_F(HttpCheckTest, JsonPointerAssertionsThatHoldAreOk) {
  CheckOutcome outcome = Run(UrlField("/health.json") +
                             "\njson:\n"
                             "  - {pointer: /status, equals: ok}\n"
                             "  - {pointer: /checks/0/ok, equals: true}\n"
                             "  - {pointer: /replicas, equals: 3.0}\n"
                             "  - {pointer: /checks/0/name}");
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(HttpCheckTest, JsonPointerWithOtherValueIsCritical) {
  CheckOutcome outcome =
      Run(UrlField("/health.json") + "\njson: [{pointer: /replicas, equals: 5}]");
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, HasSubstr(": JSON /replicas is 3, expected \"5\""));
}

TEST_F(HttpCheckTest, MissingJsonPointerIsCritical) {
  CheckOutcome outcome = Run(UrlField("/health.json") + "\njson: [{pointer: /version}]");
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, HasSubstr(": JSON /version not found"));
}

TEST_F(HttpCheckTest, BodyThatIsNotJsonFailsJsonAssertions) {
  CheckOutcome outcome = Run(UrlField("/ok") + "\njson: [{pointer: /status}]");
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, HasSubstr(": body is not valid JSON"));
}

TEST_F(HttpCheckTest, RedirectsAreNotFollowedByDefault) {
  CheckOutcome outcome = Run(UrlField("/moved"));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, HasSubstr("status 302, expected 2xx"));
}

TEST_F(HttpCheckTest, FollowsRedirectsWhenAsked) {
  CheckOutcome outcome = Run(UrlField("/moved") + "\nfollow_redirects: true\nbody_regex: systems");
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(SampleValue(outcome.samples, "vitals_check_http_status_code"), 200);
}

TEST_F(HttpCheckTest, SendsHeaderValueFromEnvironment) {
  ScopedEnv env("VITALS_TEST_AUTH", "Bearer s3cret");
  EXPECT_EQ(
      Run(UrlField("/auth") + "\nheaders:\n  - {name: Authorization, value_env: VITALS_TEST_AUTH}")
          .status,
      CheckStatus::kOk);
}

TEST_F(HttpCheckTest, SendsHeaderValueFromFile) {
  TempDir dir;
  const std::string token = dir.WriteFile("token", "Bearer s3cret\n");
  EXPECT_EQ(
      Run(UrlField("/auth") + "\nheaders:\n  - {name: Authorization, value_file: " + token + "}")
          .status,
      CheckStatus::kOk);
}

TEST_F(HttpCheckTest, SendsLiteralHeaderValue) {
  EXPECT_EQ(
      Run(UrlField("/auth") + "\nheaders:\n  - {name: Authorization, value: Bearer s3cret}").status,
      CheckStatus::kOk);
  EXPECT_EQ(Run(UrlField("/auth")).status, CheckStatus::kCritical);
}

TEST_F(HttpCheckTest, PostsTheConfiguredBody) {
  CheckOutcome outcome =
      Run(UrlField("/echo") + "\nmethod: POST\nbody: '{\"ping\": 1}'\nbody_regex: '\"ping\": 1'");
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(HttpCheckTest, HungEndpointIsCutAtTheDeadline) {
  const auto start = Steady::now();
  CheckOutcome outcome = Run(UrlField("/hang"), 300ms);
  const auto elapsed = Steady::now() - start;
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "GET " + server_.Url("/hang") + ": timed out after 300ms");
  EXPECT_LT(elapsed, 300ms + 150ms);
}

TEST_F(HttpCheckTest, MessagesLeaveOutQueryAndCredentials) {
  const std::string url =
      "http://user:pw@127.0.0.1:" + std::to_string(server_.port()) + "/unavailable?token=s3cret";
  CheckOutcome outcome = Run("url: " + url);
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, Not(HasSubstr("s3cret")));
  EXPECT_THAT(outcome.message, Not(HasSubstr("pw")));
  EXPECT_THAT(outcome.message, StartsWith("GET " + server_.Url("/unavailable") + ": status 503"));
}

TEST_F(HttpCheckTest, ConnectionRefusedIsCritical) {
  CheckOutcome outcome = Run("url: http://127.0.0.1:1/");
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, StartsWith("GET http://127.0.0.1:1/: "));
}

TEST(HttpCheckConfigTest, RejectsUrlsThatAreNotHttp) {
  EXPECT_EQ(MakeCheck("http", "url: ftp://files.example/x").status().message(),
            "agent.yml:5: checks[0].url: expected an http:// or https:// URL, got "
            "\"ftp://files.example/x\"");
}

TEST(HttpCheckConfigTest, RejectsInvalidRegex) {
  EXPECT_THAT(MakeCheck("http", "url: http://x/\nbody_regex: '(unclosed'").status().message(),
              StartsWith("agent.yml:6: checks[0].body_regex: not a valid RE2 regular expression"));
}

TEST(HttpCheckConfigTest, RejectsInvalidJsonPointer) {
  EXPECT_THAT(MakeCheck("http", "url: http://x/\njson:\n  - pointer: status").status().message(),
              StartsWith("agent.yml:7: checks[0].json[0].pointer: not a valid JSON pointer"));
}

TEST(HttpCheckConfigTest, RejectsStatusOutOfRange) {
  EXPECT_THAT(MakeCheck("http", "url: http://x/\nexpected_status: [600]").status().message(),
              StartsWith("agent.yml:6: checks[0].expected_status: expected status codes"));
}

TEST(HttpCheckConfigTest, RejectsUnsetHeaderEnvironmentVariable) {
  unsetenv("VITALS_TEST_UNSET");
  EXPECT_EQ(MakeCheck("http",
                      "url: http://x/\nheaders:\n  - name: Authorization\n"
                      "    value_env: VITALS_TEST_UNSET")
                .status()
                .message(),
            "agent.yml:8: checks[0].headers[0].value_env: environment variable "
            "VITALS_TEST_UNSET is not set");
}

TEST(HttpCheckConfigTest, RejectsHeaderWithTwoValues) {
  ScopedEnv env("VITALS_TEST_AUTH", "x");
  EXPECT_THAT(MakeCheck("http",
                        "url: http://x/\nheaders:\n  - {name: A, value: x, value_env: "
                        "VITALS_TEST_AUTH}")
                  .status()
                  .message(),
              StartsWith("agent.yml:7: checks[0].headers[0].value: give one of value"));
}

TEST(HttpCheckConfigTest, RejectsUnknownTlsKey) {
  EXPECT_EQ(MakeCheck("http", "url: https://x/\ntls:\n  insecure: true").status().message(),
            "agent.yml:7: checks[0].tls.insecure: unknown key");
}

TEST(HttpCheckConfigTest, RejectsUnreadableCaFile) {
  EXPECT_EQ(
      MakeCheck("http", "url: https://x/\ntls: {ca_file: /nonexistent/ca.pem}").status().message(),
      "agent.yml:6: checks[0].tls.ca_file: cannot read /nonexistent/ca.pem");
}

TEST(CertificateTimeTest, ParsesOpenSslFormat) {
  EXPECT_EQ(ParseCertificateTime("Jan  2 03:04:05 2027 GMT"), 1798859045);
  EXPECT_EQ(ParseCertificateTime("Dec 21 22:09:47 2026 GMT"), 1797890987);
}

TEST(CertificateTimeTest, ParsesIsoFormat) {
  EXPECT_EQ(ParseCertificateTime("2027-01-02 03:04:05 GMT"), 1798859045);
}

TEST(CertificateTimeTest, RejectsOtherText) {
  EXPECT_EQ(ParseCertificateTime("soon"), std::nullopt);
  EXPECT_EQ(ParseCertificateTime("Jan  2 03:04:05 2027 PST"), std::nullopt);
}

}  // namespace
}  // namespace vitals::agent
