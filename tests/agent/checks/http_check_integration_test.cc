// The http check against an HTTPS server with a self-signed certificate made
// by the openssl command-line tool.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/checks/http_check.h"
#include "tests/agent/checks/support/check_test_support.h"
#include "tests/agent/checks/support/http_test_server.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using testing::DeadlineAfter;
using ::testing::HasSubstr;
using testing::HttpTestServer;
using ::testing::MatchesRegex;
using testing::RunShell;
using testing::SampleValue;
using ::testing::StartsWith;
using vitals::testing::TempDir;

class HttpsCheckTest : public ::testing::Test {
 protected:
  // One certificate for the suite: RSA key generation takes a while.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    cert_ = dir_->File("cert.pem");
    key_ = dir_->File("key.pem");
    RunShell(
        "openssl req -x509 -newkey rsa:2048 -days 30 -nodes -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        key_ + " -out " + cert_ + " 2>/dev/null");
    // "notAfter=Dec 21 22:09:47 2026 GMT"
    auto end = RunShell("openssl x509 -enddate -noout -in " + cert_);
    ASSERT_TRUE(end.has_value());
    ASSERT_TRUE(end->starts_with("notAfter="));
    std::string date = end->substr(9);
    while (!date.empty() && date.back() == '\n') date.pop_back();
    auto parsed = ParseCertificateTime(date);
    ASSERT_TRUE(parsed.has_value()) << date;
    not_after_ = *parsed;
  }

  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override { StartServer(""); }

  void StartServer(const std::string& client_ca) {
    server_ = std::make_unique<HttpTestServer>(cert_, key_, client_ca);
    server_->server().Get("/v1/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status": "ok"})", "application/json");
    });
    server_->Start();
  }

  CheckOutcome Run(const std::string& fields) {
    auto check =
        testing::MustMakeCheck("http", "url: " + server_->Url("/v1/health") + "\n" + fields);
    if (check == nullptr) return CheckOutcome();
    return check->Run(DeadlineAfter(10s));
  }

  static TempDir* dir_;
  static std::string cert_;
  static std::string key_;
  static int64_t not_after_;
  std::unique_ptr<HttpTestServer> server_;
};

TempDir* HttpsCheckTest::dir_ = nullptr;
std::string HttpsCheckTest::cert_;
std::string HttpsCheckTest::key_;
int64_t HttpsCheckTest::not_after_ = 0;

TEST_F(HttpsCheckTest, VerifiesServerWithCaFile) {
  CheckOutcome outcome =
      Run("tls: {ca_file: " + cert_ + "}\njson: [{pointer: /status, equals: ok}]");
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(SampleValue(outcome.samples, "vitals_check_http_status_code"), 200);
}

TEST_F(HttpsCheckTest, CertificateExpirySampleIsTheCertificatesNotAfter) {
  CheckOutcome outcome = Run("tls: {ca_file: " + cert_ + "}");
  auto expiry = SampleValue(outcome.samples, "vitals_check_tls_cert_expiry_timestamp_seconds");
  ASSERT_TRUE(expiry.has_value());
  EXPECT_EQ(*expiry, static_cast<double>(not_after_));
  EXPECT_EQ(outcome.samples.metadata().at("vitals_check_tls_cert_expiry_timestamp_seconds").type,
            MetricType::kGauge);
}

TEST_F(HttpsCheckTest, SelfSignedCertificateFailsVerificationByDefault) {
  CheckOutcome outcome = Run("");
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, StartsWith("GET " + server_->Url("/v1/health") + ": "));
  EXPECT_THAT(outcome.message, HasSubstr("certificate"));
}

TEST_F(HttpsCheckTest, InsecureSkipVerifyAcceptsSelfSignedCertificate) {
  CheckOutcome outcome = Run("tls: {insecure_skip_verify: true}");
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(SampleValue(outcome.samples, "vitals_check_tls_cert_expiry_timestamp_seconds"),
            static_cast<double>(not_after_));
}

TEST_F(HttpsCheckTest, WarnsWhenCertificateExpiresWithinTheWarningPeriod) {
  CheckOutcome outcome = Run("tls: {ca_file: " + cert_ + "}\ntls_expiry_warning: 60d");
  EXPECT_EQ(outcome.status, CheckStatus::kWarning);
  // The certificate was made for 30 days, moments ago.
  EXPECT_THAT(outcome.message, MatchesRegex("certificate expires in (30d|29d23h.*)"));
}

TEST_F(HttpsCheckTest, StaysOkWhenCertificateExpiresAfterTheWarningPeriod) {
  CheckOutcome outcome = Run("tls: {ca_file: " + cert_ + "}\ntls_expiry_warning: 14d");
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(HttpsCheckTest, PresentsClientCertificateForMutualTls) {
  StartServer(cert_);  // Now the server wants a client certificate signed by cert_.
  EXPECT_EQ(Run("tls: {ca_file: " + cert_ + "}").status, CheckStatus::kCritical);
  CheckOutcome outcome =
      Run("tls: {ca_file: " + cert_ + ", cert_file: " + cert_ + ", key_file: " + key_ + "}");
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

}  // namespace
}  // namespace vitals::agent
