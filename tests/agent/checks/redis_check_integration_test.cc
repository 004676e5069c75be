#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>

#include "agent/checks/redis_check.h"
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
using vitals::testing::RedisServer;
using vitals::testing::RunCheck;
using vitals::testing::ScratchDir;

constexpr auto kTimeout = 5s;

CheckSpec Spec() {
  CheckSpec spec;
  spec.name = "sessions-cache";
  spec.kind = "redis";
  spec.service = "sessions";
  return spec;
}

// The check configured by one `checks:` entry with `fields` (the kind's keys,
// indented as entry lines).
Result<std::unique_ptr<Check>> Create(const std::string& fields) {
  ASSIGN_OR_RETURN(ConfigMap entry, FirstCheckEntry("checks:\n"
                                                    "  - name: sessions-cache\n"
                                                    "    kind: redis\n" +
                                                    fields));
  return CreateRedisCheck(Spec(), entry);
}

// As Create, or nullptr after reporting a failure.
std::unique_ptr<Check> MustCreate(const std::string& fields) {
  auto check = Create(fields);
  if (!check.ok()) {
    ADD_FAILURE() << check.status().ToString();
    return nullptr;
  }
  return std::move(check).value();
}

RedisServer::Options RequirePass(const std::string& password) {
  RedisServer::Options options;
  options.password = password;
  return options;
}

RedisServer::Options AclUser(const std::string& user, const std::string& password) {
  RedisServer::Options options;
  options.acl_user = user;
  options.acl_password = password;
  return options;
}

class RedisCheckTest : public ::testing::Test {
 protected:
  // hiredis writes without MSG_NOSIGNAL; the agent ignores SIGPIPE too.
  void SetUp() override { std::signal(SIGPIPE, SIG_IGN); }

  void StartServer(const RedisServer::Options& options = {}) {
    std::string error;
    ASSERT_TRUE(server_.Start(options, &error)) << error;
  }

  // Indented `password_file:` with a file holding `password`.
  std::string PasswordFile(const std::string& password) {
    return "    password_file: " + server_.dir().WriteFile("password", password) + "\n";
  }

  RedisServer server_;
};

TEST_F(RedisCheckTest, ReportsOkWhenServerAnswersPing) {
  StartServer();
  auto check = MustCreate("    address: " + server_.address() + "\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(outcome.message, "");
  EXPECT_GT(SampleValue(outcome.samples, "vitals_check_connect_duration_seconds").value_or(-1), 0);
  EXPECT_EQ(outcome.samples.metadata().at("vitals_check_connect_duration_seconds").type,
            MetricType::kGauge);
}

TEST_F(RedisCheckTest, ConnectsThroughUnixSocket) {
  StartServer();
  auto check = MustCreate("    unix_socket: " + server_.socket_path() + "\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(RedisCheckTest, ReportsConnectionRefusedOnceServerIsStopped) {
  StartServer();
  auto check = MustCreate("    address: " + server_.address() + "\n");
  ASSERT_NE(check, nullptr);
  ASSERT_EQ(RunCheck(*check, kTimeout).outcome.status, CheckStatus::kOk);

  server_.Stop();
  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "connect to " + server_.address() + ": connection refused");
}

TEST_F(RedisCheckTest, AuthenticatesWithPassword) {
  StartServer(RequirePass("redis-test-secret"));
  auto check =
      MustCreate("    address: " + server_.address() + "\n" + PasswordFile("redis-test-secret"));
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(RedisCheckTest, ReportsAuthenticationFailureForWrongPassword) {
  StartServer(RequirePass("redis-test-secret"));
  auto check =
      MustCreate("    address: " + server_.address() + "\n" + PasswordFile("not-the-password"));
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message.find("authentication failed: WRONGPASS"), 0u) << outcome.message;
}

TEST_F(RedisCheckTest, ReportsPingRefusedWithoutPassword) {
  StartServer(RequirePass("redis-test-secret"));
  auto check = MustCreate("    address: " + server_.address() + "\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "PING: NOAUTH Authentication required.");
}

TEST_F(RedisCheckTest, AuthenticatesAclUserWithUsername) {
  StartServer(AclUser("monitor", "acl-test-secret"));
  auto check = MustCreate("    address: " + server_.address() + "\n" + "    username: monitor\n" +
                          PasswordFile("acl-test-secret"));
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST_F(RedisCheckTest, ReportsRoleWhenItIsExpected) {
  StartServer();
  auto check = MustCreate("    address: " + server_.address() + "\n    expect_role: master\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(SampleValue(outcome.samples, "vitals_check_redis_role", {{"role", "master"}}), 1);
}

TEST_F(RedisCheckTest, ReportsBothRolesWhenRoleIsNotExpected) {
  StartServer();
  auto check = MustCreate("    address: " + server_.address() + "\n    expect_role: replica\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, kTimeout);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "role is \"master\", expected \"replica\"");
  EXPECT_EQ(SampleValue(outcome.samples, "vitals_check_redis_role", {{"role", "master"}}), 1);
}

TEST(RedisCheckTimeoutTest, CutsOffHungServerAtDeadline) {
  std::signal(SIGPIPE, SIG_IGN);
  HungTcpListener hung;
  auto check = MustCreate("    address: " + hung.address() + "\n");
  ASSERT_NE(check, nullptr);

  auto [outcome, elapsed] = RunCheck(*check, 1s);

  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "timed out after 1s during PING");
  EXPECT_GE(elapsed, 990ms);
  EXPECT_LT(elapsed, 1s + kCutOffSlack);
}

TEST(RedisCheckConfigTest, RejectsEntryWithoutAddressNamingFileAndLine) {
  auto check = Create("");

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(check.status().message(),
            "agent.yml:2: checks[0]: give exactly one of address (host:port) and unix_socket");
}

TEST(RedisCheckConfigTest, RejectsMalformedAddress) {
  auto check = Create("    address: cache:port\n");

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:4: checks[0].address: expected host:port with a port in 1..65535, got "
            "\"cache:port\"");
}

TEST(RedisCheckConfigTest, RejectsUnknownRole) {
  auto check = Create("    address: cache:6379\n    expect_role: leader\n");

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:5: checks[0].expect_role: must be master, replica or slave, not \"leader\"");
}

TEST(RedisCheckConfigTest, RejectsUsernameWithoutPassword) {
  auto check = Create("    address: cache:6379\n    username: monitor\n");

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:5: checks[0].username: needs password_file or password_env");
}

TEST(RedisCheckConfigTest, RejectsUnreadablePasswordFileNamingKey) {
  auto check = Create("    address: cache:6379\n    password_file: /nonexistent/vitals/password\n");

  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:5: checks[0].password_file: cannot read secret file "
            "/nonexistent/vitals/password");
}

}  // namespace
}  // namespace vitals::agent
