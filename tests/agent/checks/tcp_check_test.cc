#include "agent/checks/tcp_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/agent/checks/support/check_test_support.h"
#include "tests/agent/checks/support/tcp_test_server.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using testing::DeadlineAfter;
using ::testing::HasSubstr;
using testing::MustMakeCheck;
using testing::SampleValue;
using ::testing::StartsWith;
using testing::Steady;
using testing::TcpTestServer;

TEST(TcpCheckTest, ConnectsToListeningPort) {
  TcpTestServer server(TcpTestServer::Mode::kSilent);
  auto check = MustMakeCheck("tcp", "address: " + server.address());
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  auto connect = SampleValue(outcome.samples, "vitals_check_connect_duration_seconds");
  ASSERT_TRUE(connect.has_value());
  EXPECT_GE(*connect, 0);
  EXPECT_LT(*connect, 2);
}

TEST(TcpCheckTest, ResolvesHostNames) {
  TcpTestServer server(TcpTestServer::Mode::kSilent);
  auto check = MustMakeCheck("tcp", "address: localhost:" + std::to_string(server.port()));
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST(TcpCheckTest, ClosedPortIsCriticalAndSaysRefused) {
  const std::string address = "127.0.0.1:" + std::to_string(testing::ClosedPort());
  auto check = MustMakeCheck("tcp", "address: " + address);
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "connect to " + address + ": connection refused");
  EXPECT_FALSE(SampleValue(outcome.samples, "vitals_check_connect_duration_seconds").has_value());
}

TEST(TcpCheckTest, SilentPeerWithExpectTimesOutAtTheDeadline) {
  TcpTestServer server(TcpTestServer::Mode::kSilent);
  auto check =
      MustMakeCheck("tcp", "address: " + server.address() + "\nsend: \"PING\\r\\n\"\nexpect: PONG");
  ASSERT_NE(check, nullptr);
  const auto start = Steady::now();
  CheckOutcome outcome = check->Run(DeadlineAfter(300ms));
  const auto elapsed = Steady::now() - start;
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, HasSubstr("timed out after 300ms waiting for \"PONG\""));
  EXPECT_GE(elapsed, 290ms);
  EXPECT_LT(elapsed, 300ms + 150ms);
}

TEST(TcpCheckTest, SendsAndFindsExpectedReply) {
  TcpTestServer server(TcpTestServer::Mode::kReplyToLine, "+PONG\r\n");
  auto check =
      MustMakeCheck("tcp", "address: " + server.address() + "\nsend: \"PING\\r\\n\"\nexpect: PONG");
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(server.last_request(), "PING\r\n");
}

TEST(TcpCheckTest, PeerClosingBeforeExpectedReplyIsCritical) {
  TcpTestServer server(TcpTestServer::Mode::kGreetAndClose, "220 wrong service\r\n");
  auto check = MustMakeCheck("tcp", "address: " + server.address() + "\nexpect: SSH-2.0");
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, server.address() +
                                 ": connection closed before \"SSH-2.0\" was received (received "
                                 "\"220 wrong service\\r\\n\")");
}

TEST(TcpCheckTest, UnresolvableHostIsCriticalByTheDeadline) {
  auto check = MustMakeCheck("tcp", "address: no-such-host.invalid:80");
  ASSERT_NE(check, nullptr);
  const auto start = Steady::now();
  CheckOutcome outcome = check->Run(DeadlineAfter(500ms));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, StartsWith("resolve no-such-host.invalid: "));
  EXPECT_LT(Steady::now() - start, 500ms + 150ms);
}

TEST(TcpCheckTest, SplitsHostAndPort) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(SplitHostPort("db.internal:5432", &host, &port).ok());
  EXPECT_EQ(host, "db.internal");
  EXPECT_EQ(port, 5432);
  ASSERT_TRUE(SplitHostPort("[::1]:22", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 22);
}

TEST(TcpCheckTest, RejectsAddressWithoutValidPort) {
  for (const char* address :
       {"db.internal", "db.internal:0", "db.internal:65536", ":80", "::1:22", "db:http"}) {
    std::string host;
    uint16_t port = 0;
    EXPECT_FALSE(SplitHostPort(address, &host, &port).ok()) << address;
  }
}

TEST(TcpCheckTest, ConfigErrorNamesAddressKey) {
  auto check = testing::MakeCheck("tcp", "address: db.internal");
  ASSERT_FALSE(check.ok());
  EXPECT_THAT(check.status().message(),
              StartsWith("agent.yml:5: checks[0].address: expected host:port"));
}

}  // namespace
}  // namespace vitals::agent
