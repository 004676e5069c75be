#include "agent/checks/check_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/agent/checks/support/check_test_support.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using testing::LoadYaml;
using ::testing::StartsWith;

const std::string kPlugin = std::string(VITALS_FIXTURES_DIR) + "/plugins/check_fixture.sh";

Result<std::vector<ConfiguredCheck>> Parse(const std::string& yaml) {
  ConfigMap root = LoadYaml(yaml);
  return ParseChecks(root);
}

// The error message of parsing `yaml`, or "" if it parses.
std::string ErrorOf(const std::string& yaml) {
  auto checks = Parse(yaml);
  return checks.ok() ? "" : checks.status().message();
}

TEST(ParseChecksTest, ReadsCommonFieldsAndDefaults) {
  auto checks = Parse(
      "checks:\n"
      "  - name: payments-db\n"
      "    kind: tcp\n"
      "    service: payments\n"
      "    address: 127.0.0.1:5432\n"
      "  - name: payments-api\n"
      "    kind: http\n"
      "    service: payments\n"
      "    module: checkout\n"
      "    interval: 10s\n"
      "    timeout: 2s\n"
      "    retries: 2\n"
      "    url: http://127.0.0.1:8080/health\n");
  ASSERT_TRUE(checks.ok()) << checks.status().ToString();
  ASSERT_EQ(checks->size(), 2u);
  const CheckSpec& db = (*checks)[0].spec;
  EXPECT_EQ(db.name, "payments-db");
  EXPECT_EQ(db.kind, "tcp");
  EXPECT_EQ(db.service, "payments");
  EXPECT_EQ(db.module, "");
  EXPECT_EQ(db.interval, 30s);
  EXPECT_EQ(db.timeout, 5s);
  EXPECT_EQ(db.retries, 0);
  const CheckSpec& api = (*checks)[1].spec;
  EXPECT_EQ(api.module, "checkout");
  EXPECT_EQ(api.interval, 10s);
  EXPECT_EQ(api.timeout, 2s);
  EXPECT_EQ(api.retries, 2);
  EXPECT_NE((*checks)[1].check, nullptr);
}

TEST(ParseChecksTest, NoChecksKeyMeansNoChecks) {
  auto checks = Parse("interval: 5s\n");
  ASSERT_TRUE(checks.ok());
  EXPECT_TRUE(checks->empty());
}

TEST(ParseChecksTest, BuildsEveryKindOfThisFramework) {
  auto checks = Parse(
      "checks:\n"
      "  - {name: t, kind: tcp, service: s, address: 'localhost:22'}\n"
      "  - {name: h, kind: http, service: s, url: 'https://api.example/health'}\n"
      "  - {name: d, kind: dns, service: s, query_name: example.com}\n"
      "  - {name: e, kind: exec, service: s, command: [" +
      kPlugin + ", ok]}\n");
  ASSERT_TRUE(checks.ok()) << checks.status().ToString();
  EXPECT_EQ(checks->size(), 4u);
}

TEST(ParseChecksTest, UnknownKindNamesTheKindKey) {
  EXPECT_EQ(ErrorOf("checks:\n"
                    "  - name: a\n"
                    "    service: s\n"
                    "    kind: smtp\n"),
            "agent.yml:4: checks[0].kind: unknown check kind \"smtp\" (expected one of tcp, "
            "http, dns, exec, postgres, mysql, redis)");
}

TEST(ParseChecksTest, MissingRequiredFieldNamesTheEntry) {
  EXPECT_EQ(ErrorOf("checks:\n"
                    "  - name: a\n"
                    "    kind: tcp\n"
                    "    address: localhost:22\n"),
            "agent.yml:2: checks[0].service: missing required key");
}

TEST(ParseChecksTest, MissingKindFieldIsAnError) {
  EXPECT_EQ(ErrorOf("checks:\n"
                    "  - name: a\n"
                    "    kind: tcp\n"
                    "    service: s\n"),
            "agent.yml:2: checks[0].address: missing required key");
}

TEST(ParseChecksTest, MissingExecCommandNamesTheCommandKey) {
  EXPECT_THAT(ErrorOf("checks:\n"
                      "  - name: a\n"
                      "    kind: exec\n"
                      "    service: s\n"
                      "    command: [/usr/lib/nagios/plugins/check_nothing_here]\n"),
              StartsWith("agent.yml:5: checks[0].command: cannot execute: "
                         "\"/usr/lib/nagios/plugins/check_nothing_here\" does not exist"));
}

TEST(ParseChecksTest, TimeoutNotShorterThanIntervalNamesTheTimeoutKey) {
  EXPECT_EQ(ErrorOf("checks:\n"
                    "  - name: a\n"
                    "    kind: tcp\n"
                    "    service: s\n"
                    "    address: localhost:22\n"
                    "  - name: b\n"
                    "    kind: tcp\n"
                    "    service: s\n"
                    "    address: localhost:22\n"
                    "  - name: c\n"
                    "    kind: tcp\n"
                    "    service: s\n"
                    "    address: localhost:22\n"
                    "    interval: 10s\n"
                    "    timeout: 10s\n"),
            "agent.yml:15: checks[2].timeout: must be shorter than interval (10s >= 10s)");
}

TEST(ParseChecksTest, DefaultTimeoutMustAlsoBeShorterThanInterval) {
  EXPECT_EQ(
      ErrorOf("checks:\n"
              "  - {name: a, kind: tcp, service: s, address: 'localhost:22', interval: 5s}\n"),
      "agent.yml:2: checks[0].timeout: must be shorter than interval (5s >= 5s); the "
      "default is 5s");
}

TEST(ParseChecksTest, RejectsDuplicateNames) {
  EXPECT_EQ(ErrorOf("checks:\n"
                    "  - {name: a, kind: tcp, service: s, address: 'localhost:22'}\n"
                    "  - {name: a, kind: tcp, service: s, address: 'localhost:23'}\n"),
            "agent.yml:3: checks[1].name: duplicate check name \"a\" (also checks[0])");
}

TEST(ParseChecksTest, RejectsInvalidNames) {
  EXPECT_EQ(ErrorOf("checks:\n"
                    "  - {name: 'payments db', kind: tcp, service: s, address: 'localhost:22'}\n"),
            "agent.yml:2: checks[0].name: \"payments db\" is not a valid check name "
            "([a-zA-Z0-9_.-]+)");
}

TEST(ParseChecksTest, RejectsRetriesOutOfRange) {
  EXPECT_EQ(ErrorOf("checks:\n"
                    "  - {name: a, kind: tcp, service: s, address: 'localhost:22', retries: 11}\n"),
            "agent.yml:2: checks[0].retries: must be between 0 and 10");
}

TEST(ParseChecksTest, RejectsUnknownKeys) {
  EXPECT_EQ(ErrorOf("checks:\n"
                    "  - name: a\n"
                    "    kind: tcp\n"
                    "    service: s\n"
                    "    address: localhost:22\n"
                    "    adress: localhost:23\n"),
            "agent.yml:6: checks[0].adress: unknown key");
}

TEST(ParseChecksTest, RejectsKeysOfAnotherKind) {
  EXPECT_EQ(ErrorOf("checks:\n"
                    "  - name: a\n"
                    "    kind: tcp\n"
                    "    service: s\n"
                    "    address: localhost:22\n"
                    "    url: http://localhost/\n"),
            "agent.yml:6: checks[0].url: unknown key");
}

TEST(ParseChecksTest, ChecksMustBeAList) {
  EXPECT_EQ(ErrorOf("checks:\n  name: a\n"), "agent.yml:2: checks: expected a list of mappings");
}

}  // namespace
}  // namespace vitals::agent
