#include "agent/checks/dns_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/agent/checks/support/check_test_support.h"
#include "tests/agent/checks/support/fake_dns_server.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using testing::DeadlineAfter;
using testing::FakeDnsServer;
using ::testing::HasSubstr;
using testing::MakeCheck;
using testing::MustMakeCheck;
using testing::SampleValue;
using ::testing::StartsWith;
using testing::Steady;
using vitals::testing::TempDir;

TEST(DnsCheckTest, LocalhostResolvesToLoopbackWithoutAQuery) {
  auto check = MustMakeCheck("dns", "query_name: localhost\nexpect: [127.0.0.1]");
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(outcome.message, "127.0.0.1");
  EXPECT_EQ(SampleValue(outcome.samples, "vitals_check_dns_answers"), 1);
}

TEST(DnsCheckTest, LocalhostAaaaIsIpv6Loopback) {
  auto check = MustMakeCheck("dns", "query_name: localhost\nrecord_type: AAAA\nexpect: [\"::1\"]");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->Run(DeadlineAfter(2s)).status, CheckStatus::kOk);
}

TEST(DnsCheckTest, AnswerWithExpectedAddressesIsOk) {
  FakeDnsServer server;
  server.SetAnswer("api.example.com", FakeDnsServer::kTypeA, {"10.0.0.1", "10.0.0.2"});
  auto check = MustMakeCheck(
      "dns", "query_name: api.example.com\nserver: " + server.address() + "\nexpect: [10.0.0.2]");
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
  EXPECT_EQ(outcome.message, "10.0.0.1, 10.0.0.2");
  EXPECT_EQ(SampleValue(outcome.samples, "vitals_check_dns_answers"), 2);
  auto duration = SampleValue(outcome.samples, "vitals_check_dns_duration_seconds");
  ASSERT_TRUE(duration.has_value());
  EXPECT_GE(*duration, 0);
}

TEST(DnsCheckTest, AaaaRecordsAreComparedInCanonicalForm) {
  FakeDnsServer server;
  server.SetAnswer("v6.example.com", FakeDnsServer::kTypeAaaa, {"2001:db8::1"});
  auto check = MustMakeCheck("dns", "query_name: v6.example.com\nrecord_type: AAAA\nserver: " +
                                        server.address() + "\nexpect: [\"2001:0db8:0:0::1\"]");
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kOk) << outcome.message;
}

TEST(DnsCheckTest, MissingExpectedAddressIsCritical) {
  FakeDnsServer server;
  server.SetAnswer("api.example.com", FakeDnsServer::kTypeA, {"10.0.0.1"});
  auto check = MustMakeCheck(
      "dns", "query_name: api.example.com\nserver: " + server.address() + "\nexpect: [10.0.0.9]");
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "A api.example.com from " + server.address() +
                                 ": answer 10.0.0.1 does not include 10.0.0.9");
}

TEST(DnsCheckTest, NxdomainIsCritical) {
  FakeDnsServer server;
  auto check = MustMakeCheck("dns", "query_name: gone.example.com\nserver: " + server.address());
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "A gone.example.com from " + server.address() + ": NXDOMAIN");
}

TEST(DnsCheckTest, NameWithoutRecordsOfTheTypeIsCritical) {
  FakeDnsServer server;
  server.SetAnswer("v4only.example.com", FakeDnsServer::kTypeA, {"10.0.0.1"});
  auto check = MustMakeCheck(
      "dns", "query_name: v4only.example.com\nrecord_type: AAAA\nserver: " + server.address());
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, HasSubstr(": no AAAA records"));
}

TEST(DnsCheckTest, ServfailIsCritical) {
  FakeDnsServer server;
  server.SetRcode(2);
  auto check = MustMakeCheck("dns", "query_name: api.example.com\nserver: " + server.address());
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(2s));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, HasSubstr("SERVFAIL"));
}

TEST(DnsCheckTest, SilentServerTimesOutAtTheDeadline) {
  FakeDnsServer server;
  server.SetSilent(true);
  auto check = MustMakeCheck("dns", "query_name: api.example.com\nserver: " + server.address());
  ASSERT_NE(check, nullptr);
  const auto start = Steady::now();
  CheckOutcome outcome = check->Run(DeadlineAfter(300ms));
  const auto elapsed = Steady::now() - start;
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "A api.example.com: " + server.address() + ": timed out after 300ms");
  EXPECT_LT(elapsed, 300ms + 150ms);
}

TEST(DnsCheckTest, AsksTheServerOncePerRun) {
  FakeDnsServer server;
  server.SetAnswer("api.example.com", FakeDnsServer::kTypeA, {"10.0.0.1"});
  DnsCheckOptions options;
  options.name = "api.example.com";
  options.server = server.address();
  auto check = NewDnsCheck(options);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ((*check)->Run(DeadlineAfter(2s)).status, CheckStatus::kOk);
  EXPECT_EQ(server.queries(), 1);
}

TEST(DnsCheckTest, ResolvConfWithUnreachableServerIsCriticalByTheDeadline) {
  TempDir dir;
  DnsCheckOptions options;
  options.name = "api.example.com";
  // 192.0.2.0/24 (TEST-NET-1) is never routed; a query there goes unanswered.
  options.resolv_conf_path =
      dir.WriteFile("resolv.conf", "search example.com\nnameserver 192.0.2.53\n");
  auto check = NewDnsCheck(options);
  ASSERT_TRUE(check.ok());
  const auto start = Steady::now();
  CheckOutcome outcome = (*check)->Run(DeadlineAfter(300ms));
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_THAT(outcome.message, StartsWith("A api.example.com: 192.0.2.53:53: "));
  EXPECT_LT(Steady::now() - start, 300ms + 150ms);
}

TEST(DnsCheckTest, RejectsUnknownRecordType) {
  auto check = MakeCheck("dns", "query_name: example.com\nrecord_type: MX");
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:6: checks[0].record_type: expected A or AAAA, got \"MX\"");
}

TEST(DnsCheckTest, RejectsExpectedAddressOfTheWrongFamily) {
  auto check = MakeCheck("dns", "query_name: example.com\nexpect: [\"::1\"]");
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:6: checks[0].expect: \"::1\" is not an IPv4 address");
}

TEST(DnsCheckTest, RejectsMalformedNameAndServer) {
  EXPECT_THAT(MakeCheck("dns", "query_name: a..b").status().message(),
              StartsWith("agent.yml:5: checks[0].query_name: not a valid DNS name"));
  EXPECT_THAT(
      MakeCheck("dns", "query_name: example.com\nserver: dns.example.com").status().message(),
      StartsWith("agent.yml:6: checks[0].server: "));
}

}  // namespace
}  // namespace vitals::agent
