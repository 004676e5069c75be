#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "agent/checks/mysql_check.h"
#include "tests/agent/checks/support/check_test_support.h"
#include "tests/agent/checks/support/db_servers.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using ::testing::IsSubstring;
using vitals::agent::testing::SampleValue;
using vitals::testing::FirstCheckEntry;
using vitals::testing::kCutOffSlack;
using vitals::testing::HungTcpListener;
using vitals::testing::MariaDbServer;
using vitals::testing::RunCheck;
using vitals::testing::ScratchDir;

constexpr auto kTimeout = 5s;

CheckSpec Spec() {
  CheckSpec spec;
  spec.name = "billing-db";
  spec.kind = "mysql";
  spec.service = "billing";
  return spec;
}

// The check configured by one `checks:` entry whose DSN is in `dsn_file`,
// plus `extra` (more keys, indented as entry lines).
Result<std::unique_ptr<Check>> Create(const std::string& dsn_file, const std::string& extra = "") {
  ASSIGN_OR_RETURN(ConfigMap fields, FirstCheckEntry("checks:\n"
                                                     "  - name: billing-db\n"
                                                     "    kind: mysql\n"
                                                     "    dsn_file: " +
                                                     dsn_file + "\n" + extra));
  return CreateMysqlCheck(Spec(), fields);
}

// A server per test: stopping it is part of some tests.
class MysqlCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << error;
  }

  // A check of server_ using `url`, or nullptr after reporting a failure.
  std::unique_ptr<Check> MustCreate(const std::string& url, const std::string& extra = "") {
    auto check = Create(server_.dir().WriteFile("dsn", url), extra);
    if (!check.ok()) {
      ADD_FAILURE() << check.status().ToString();
      return nullptr;
    }
    return std::move(check).value();
  }

  MariaDbServer server_;
};

TEST_F(MysqlCheckTest, ReportsOkWithTimingsWhileServerAnswers) {
  auto check = MustCreate(server_.Url());
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(outcome.message, "");
  EXPECT_GT(SampleValue(outcome.samples, "vitals_check_connect_duration_seconds").value_or(-1), 0);
  EXPECT_GT(SampleValue(outcome.samples, "vitals_check_query_duration_seconds").value_or(-1), 0);
  const auto& metadata = outcome.samples.metadata();
  ASSERT_TRUE(metadata.contains("vitals_check_connect_duration_seconds"));
  EXPECT_EQ(metadata.at("vitals_check_connect_duration_seconds").type, MetricType::kGauge);
  EXPECT_FALSE(metadata.at("vitals_check_connect_duration_seconds").help.empty());
}

TEST_F(MysqlCheckTest, ReportsOkWhenFirstValueIsExpected) {
  auto check = MustCreate(server_.Url(),
                          "    query: SELECT IF(@@read_only, 'replica', 'primary')\n"
                          "    expect: primary\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(MysqlCheckTest, ReportsBothValuesWhenFirstValueIsNotExpected) {
  auto check = MustCreate(server_.Url(), "    query: SELECT 2\n    expect: \"1\"\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "query returned \"2\", expected \"1\"");
}

TEST_F(MysqlCheckTest, ReportsConnectErrorOnceServerIsStopped) {
  auto check = MustCreate(server_.Url());
  ASSERT_NE(check, nullptr);
  ASSERT_EQ(RunCheck(*check, kTimeout).outcome.status, CheckStatus::kOk);

  server_.Stop();
  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message,
            "connect: Can't connect to server on '127.0.0.1' (111: connection refused)");
  EXPECT_FALSE(SampleValue(outcome.samples, "vitals_check_connect_duration_seconds"));
}

TEST_F(MysqlCheckTest, ReportsAuthenticationFailureForWrongPassword) {
  auto check = MustCreate(server_.UrlWithPassword("not-the-password"));
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message.find("connect: authentication failed: Access denied for user 'vitals'"),
            0u)
      << outcome.message;
}

TEST_F(MysqlCheckTest, ReportsQueryError) {
  auto check = MustCreate(server_.Url(), "    query: SELECT * FROM missing_table\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "query: Table 'mysql.missing_table' doesn't exist");
}

TEST_F(MysqlCheckTest, ConnectsThroughUnixSocket) {
  auto check = MustCreate("mysql://" + server_.user() + ":" + server_.password() +
                          "@localhost/mysql?socket=" + server_.socket_path());
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(MysqlCheckTest, DecodesPercentEscapesInUrl) {
  std::string escaped;
  for (char c : server_.password()) escaped += c == '-' ? std::string("%2D") : std::string(1, c);
  auto check = MustCreate("mysql://vitals:" + escaped +
                          "@127.0.0.1:" + std::to_string(server_.port()) + "/mysql");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(MysqlCheckTest, AbandonsQueryThatOutlivesDeadline) {
  auto check = MustCreate(server_.Url(), "    query: SELECT SLEEP(60)\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, 1s);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "timed out after 1s during query");
  EXPECT_GE(elapsed, 990ms);
  EXPECT_LT(elapsed, 1s + kCutOffSlack);
  EXPECT_TRUE(SampleValue(outcome.samples, "vitals_check_connect_duration_seconds"));
}

TEST(MysqlCheckTimeoutTest, CutsOffHungServerAtDeadline) {
  HungTcpListener hung;
  ScratchDir dir("mysql-hung");
  auto check = Create(dir.WriteFile("dsn", "mysql://vitals:secret@" + hung.address() + "/mysql"));
  ASSERT_TRUE(check.ok()) << check.status().ToString();

  auto [outcome, elapsed] = RunCheck(**check, 1s);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "timed out after 1s during connect");
  EXPECT_GE(elapsed, 990ms);
  EXPECT_LT(elapsed, 1s + kCutOffSlack);
}

TEST(MysqlCheckConfigTest, RejectsEntryWithoutDsnNamingFileAndLine) {
  auto fields = FirstCheckEntry("checks:\n  - name: billing-db\n    kind: mysql\n");
  ASSERT_TRUE(fields.ok()) << fields.status().ToString();

  auto check = CreateMysqlCheck(Spec(), *fields);

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(check.status().message(),
            "agent.yml:2: checks[0]: missing required key dsn_file or dsn_env");
}

TEST(MysqlCheckConfigTest, RejectsUnreadableDsnFileNamingKey) {
  auto check = Create("/nonexistent/vitals/dsn");

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:4: checks[0].dsn_file: cannot read secret file /nonexistent/vitals/dsn");
}

TEST(MysqlCheckConfigTest, RejectsOtherSchemeWithoutRepeatingDsn) {
  ScratchDir dir("mysql-config");

  auto check = Create(dir.WriteFile("dsn", "postgres://vitals:hunter2@db:5432/billing"));

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:4: checks[0].dsn_file: not a mysql:// URL (expected "
            "mysql://user:password@host:port/database)");
}

TEST(MysqlCheckConfigTest, RejectsUnknownUrlParameter) {
  ScratchDir dir("mysql-config");

  auto check = Create(dir.WriteFile("dsn", "mysql://vitals:hunter2@db/billing?sslmode=require"));

  ASSERT_FALSE(check.ok());
  EXPECT_PRED_FORMAT2(IsSubstring, "checks[0].dsn_file: unknown URL parameter \"sslmode\"",
                      check.status().message());
  EXPECT_EQ(check.status().message().find("hunter2"), std::string::npos);
}

TEST(MysqlCheckConfigTest, RejectsPortOutOfRange) {
  ScratchDir dir("mysql-config");

  auto check = Create(dir.WriteFile("dsn", "mysql://vitals:hunter2@db:70000/billing"));

  ASSERT_FALSE(check.ok());
  EXPECT_PRED_FORMAT2(IsSubstring, "the port is not a number from 1 to 65535",
                      check.status().message());
}

}  // namespace
}  // namespace vitals::agent
