#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "agent/checks/postgres_check.h"
#include "tests/agent/checks/support/check_test_support.h"
#include "tests/agent/checks/support/db_servers.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using ::testing::IsSubstring;
using vitals::agent::testing::SampleValue;
using vitals::agent::testing::ScopedEnv;
using vitals::testing::FirstCheckEntry;
using vitals::testing::kCutOffSlack;
using vitals::testing::HungTcpListener;
using vitals::testing::PostgresServer;
using vitals::testing::RunCheck;
using vitals::testing::ScratchDir;

constexpr auto kTimeout = 5s;

CheckSpec Spec() {
  CheckSpec spec;
  spec.name = "orders-db";
  spec.kind = "postgres";
  spec.service = "orders";
  return spec;
}

// The check configured by one `checks:` entry whose DSN is in `dsn_file`,
// plus `extra` (more keys, indented as entry lines).
Result<std::unique_ptr<Check>> Create(const std::string& dsn_file, const std::string& extra = "") {
  ASSIGN_OR_RETURN(ConfigMap fields, FirstCheckEntry("checks:\n"
                                                     "  - name: orders-db\n"
                                                     "    kind: postgres\n"
                                                     "    dsn_file: " +
                                                     dsn_file + "\n" + extra));
  return CreatePostgresCheck(Spec(), fields);
}

// A server per test: stopping it is part of some tests.
class PostgresCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << error;
  }

  // A check of server_ using `dsn`, or nullptr after reporting a failure.
  std::unique_ptr<Check> MustCreate(const std::string& dsn, const std::string& extra = "") {
    auto check = Create(server_.dir().WriteFile("dsn", dsn), extra);
    if (!check.ok()) {
      ADD_FAILURE() << check.status().ToString();
      return nullptr;
    }
    return std::move(check).value();
  }

  // How many sessions are running pg_sleep, or -1 if the server cannot say.
  int SleepingSessions() {
    PGconn* conn = PQconnectdb(server_.Dsn().c_str());
    int count = -1;
    PGresult* result = PQexec(conn,
                              "SELECT count(*) FROM pg_stat_activity "
                              "WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%'");
    if (PQresultStatus(result) == PGRES_TUPLES_OK) count = std::atoi(PQgetvalue(result, 0, 0));
    PQclear(result);
    PQfinish(conn);
    return count;
  }

  PostgresServer server_;
};

TEST_F(PostgresCheckTest, ReportsOkWithTimingsWhileServerAnswers) {
  auto check = MustCreate(server_.Dsn());
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(outcome.message, "");
  EXPECT_GT(SampleValue(outcome.samples, "vitals_check_connect_duration_seconds").value_or(-1), 0);
  EXPECT_GT(SampleValue(outcome.samples, "vitals_check_query_duration_seconds").value_or(-1), 0);
  const auto& metadata = outcome.samples.metadata();
  ASSERT_TRUE(metadata.contains("vitals_check_query_duration_seconds"));
  EXPECT_EQ(metadata.at("vitals_check_query_duration_seconds").type, MetricType::kGauge);
  EXPECT_FALSE(metadata.at("vitals_check_query_duration_seconds").help.empty());
}

TEST_F(PostgresCheckTest, ReportsOkWhenFirstValueIsExpected) {
  auto check = MustCreate(server_.Dsn(),
                          "    query: SELECT CASE WHEN pg_is_in_recovery() THEN 'replica' "
                          "ELSE 'primary' END\n"
                          "    expect: primary\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(PostgresCheckTest, ReportsBothValuesWhenFirstValueIsNotExpected) {
  auto check = MustCreate(server_.Dsn(), "    query: SELECT 2\n    expect: \"1\"\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "query returned \"2\", expected \"1\"");
}

TEST_F(PostgresCheckTest, ReportsConnectionRefusedOnceServerIsStopped) {
  auto check = MustCreate(server_.Dsn());
  ASSERT_NE(check, nullptr);
  ASSERT_EQ(RunCheck(*check, kTimeout).outcome.status, CheckStatus::kOk);

  server_.Stop();
  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message.find("connect: "), 0u) << outcome.message;
  EXPECT_PRED_FORMAT2(IsSubstring, "Connection refused", outcome.message);
  EXPECT_EQ(outcome.message.find('\n'), std::string::npos) << outcome.message;
  EXPECT_FALSE(SampleValue(outcome.samples, "vitals_check_connect_duration_seconds"));
}

TEST_F(PostgresCheckTest, ReportsAuthenticationFailureForWrongPassword) {
  auto check = MustCreate(server_.DsnWithPassword("not-the-password"));
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_PRED_FORMAT2(IsSubstring, "password authentication failed for user \"postgres\"",
                      outcome.message);
}

TEST_F(PostgresCheckTest, ReportsQueryErrorOnOneLine) {
  auto check = MustCreate(server_.Dsn(), "    query: SELECT * FROM missing_table\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "query: relation \"missing_table\" does not exist");
}

TEST_F(PostgresCheckTest, CancelsQueryThatOutlivesDeadline) {
  auto check = MustCreate(server_.Dsn(), "    query: SELECT pg_sleep(60)\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, 1s);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "timed out after 1s during query");
  EXPECT_GE(elapsed, 990ms);
  EXPECT_LT(elapsed, 1s + kCutOffSlack);
  EXPECT_TRUE(SampleValue(outcome.samples, "vitals_check_connect_duration_seconds"));
  EXPECT_FALSE(SampleValue(outcome.samples, "vitals_check_query_duration_seconds"));
  // The cancel request runs in the background; without it the query would
  // sleep for a minute.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  int sleeping = SleepingSessions();
  while (sleeping != 0 && std::chrono::steady_clock::now() < deadline)
    sleeping = SleepingSessions();
  EXPECT_EQ(sleeping, 0);
}

TEST_F(PostgresCheckTest, ReadsDsnFromEnvironmentVariable) {
  ScopedEnv env("VITALS_TEST_POSTGRES_DSN", server_.Dsn());
  auto fields = FirstCheckEntry(
      "checks:\n  - name: orders-db\n    kind: postgres\n    dsn_env: VITALS_TEST_POSTGRES_DSN\n");
  ASSERT_TRUE(fields.ok()) << fields.status().ToString();
  auto check = CreatePostgresCheck(Spec(), *fields);
  ASSERT_TRUE(check.ok()) << check.status().ToString();

  auto [outcome, elapsed] = RunCheck(**check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST(PostgresCheckTimeoutTest, CutsOffHungServerAtDeadline) {
  HungTcpListener hung;
  ScratchDir dir("pg-hung");
  auto check = Create(dir.WriteFile("dsn", "host=127.0.0.1 port=" + std::to_string(hung.port()) +
                                               " user=postgres dbname=postgres"));
  ASSERT_TRUE(check.ok()) << check.status().ToString();

  auto [outcome, elapsed] = RunCheck(**check, 1s);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "timed out after 1s during connect");
  EXPECT_GE(elapsed, 990ms);
  EXPECT_LT(elapsed, 1s + kCutOffSlack);
}

TEST(PostgresCheckConfigTest, RejectsEntryWithoutDsnNamingFileAndLine) {
  auto fields = FirstCheckEntry("checks:\n  - name: orders-db\n    kind: postgres\n");
  ASSERT_TRUE(fields.ok()) << fields.status().ToString();

  auto check = CreatePostgresCheck(Spec(), *fields);

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(check.status().message(),
            "agent.yml:2: checks[0]: missing required key dsn_file or dsn_env");
}

TEST(PostgresCheckConfigTest, RejectsUnreadableDsnFileNamingKey) {
  auto check = Create("/nonexistent/vitals/dsn");

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:4: checks[0].dsn_file: cannot read secret file /nonexistent/vitals/dsn");
}

TEST(PostgresCheckConfigTest, RejectsMalformedDsnWithoutRepeatingIt) {
  ScratchDir dir("pg-config");

  auto check = Create(dir.WriteFile("dsn", "host=127.0.0.1 password=hunter2 sslmode"));

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message().find("agent.yml:4: checks[0].dsn_file: not a valid libpq"), 0u)
      << check.status().message();
  EXPECT_EQ(check.status().message().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace vitals::agent
