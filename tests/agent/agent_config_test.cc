#include "agent/agent_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;

// The smallest valid agent.yml.
constexpr char kMinimal[] = "collector:\n  endpoint: tcp://collector:4740\n";

// The error of parsing `yaml` as agent.yml, or "OK".
std::string ErrorOf(const std::string& yaml) {
  auto config = ParseAgentConfig(yaml, "agent.yml");
  return config.ok() ? "OK" : config.status().message();
}

TEST(AgentConfigTest, ShippedExampleParses) {
  auto config = LoadAgentConfig(VITALS_SOURCE_DIR "/deploy/examples/agent.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->labels, (std::map<std::string, std::string>{{"env", "demo"}}));
  EXPECT_EQ(config->interval, 5s);
  EXPECT_EQ(config->collector.endpoint, "tcp://127.0.0.1:4740");
  EXPECT_EQ(config->collector.ack_timeout, 5s);
  EXPECT_EQ(config->collector.max_retry_backoff, 30s);
  EXPECT_EQ(config->collector.max_pending_batches, 720);
  EXPECT_EQ(config->host.proc_path, "/proc");
  EXPECT_EQ(config->host.sys_path, "/sys");
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
}

TEST(AgentConfigTest, MissingFileIsNotFound) {
  auto config = LoadAgentConfig("/nonexistent/agent.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kNotFound);
}

TEST(AgentConfigTest, AppliesDefaultsToOmittedKeys) {
  auto config = ParseAgentConfig(kMinimal, "agent.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->labels.empty());
  EXPECT_EQ(config->interval, 15s);
  EXPECT_EQ(config->collector.endpoint, "tcp://collector:4740");
  EXPECT_EQ(config->collector.ack_timeout, 5s);
  EXPECT_EQ(config->collector.max_retry_backoff, 30s);
  EXPECT_EQ(config->collector.max_pending_batches, 720);
  EXPECT_EQ(config->host.proc_path, "/proc");
  EXPECT_EQ(config->host.sys_path, "/sys");
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
}

TEST(AgentConfigTest, AgentIdDefaultsToHostName) {
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  auto config = ParseAgentConfig(kMinimal, "agent.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->agent_id, host[0] == '\0' ? "localhost" : host);
}

TEST(AgentConfigTest, ReadsEveryKey) {
  auto config = ParseAgentConfig(
      "agent_id: web-01\n"
      "labels:\n"
      "  env: prod\n"
      "  team: infra\n"
      "interval: 1m\n"
      "collector:\n"
      "  endpoint: tcp://10.0.0.1:4740\n"
      "  ack_timeout: 2s\n"
      "  max_retry_backoff: 1m\n"
      "  max_pending_batches: 10\n"
      "host:\n"
      "  proc_path: /host/proc\n"
      "  sys_path: /host/sys\n"
      "log:\n"
      "  level: warn\n",
      "agent.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->agent_id, "web-01");
  EXPECT_EQ(config->labels,
            (std::map<std::string, std::string>{{"env", "prod"}, {"team", "infra"}}));
  EXPECT_EQ(config->interval, 1min);
  EXPECT_EQ(config->collector.endpoint, "tcp://10.0.0.1:4740");
  EXPECT_EQ(config->collector.ack_timeout, 2s);
  EXPECT_EQ(config->collector.max_retry_backoff, 1min);
  EXPECT_EQ(config->collector.max_pending_batches, 10);
  EXPECT_EQ(config->host.proc_path, "/host/proc");
  EXPECT_EQ(config->host.sys_path, "/host/sys");
  EXPECT_EQ(config->log_level, LogLevel::kWarn);
}

TEST(AgentConfigTest, ErrorsAreInvalidArgument) {
  auto config = ParseAgentConfig("", "agent.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
}

TEST(AgentConfigTest, CollectorEndpointIsRequiredWhenCollectorIsAbsent) {
  EXPECT_EQ(ErrorOf("interval: 5s\n"), "agent.yml:1: collector.endpoint: missing required key");
}

TEST(AgentConfigTest, CollectorEndpointIsRequiredAtLineOfCollectorMapping) {
  EXPECT_EQ(ErrorOf("interval: 5s\ncollector:\n  ack_timeout: 1s\n"),
            "agent.yml:3: collector.endpoint: missing required key");
}

TEST(AgentConfigTest, CollectorEndpointMustBeZeroMqEndpoint) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: collector:4740\n"),
            "agent.yml:2: collector.endpoint: expected a ZeroMQ endpoint like "
            "tcp://collector:4740");
}

TEST(AgentConfigTest, IntervalMustBeDuration) {
  std::string error = ErrorOf("interval: fast\ncollector:\n  endpoint: tcp://c:1\n");
  EXPECT_TRUE(error.starts_with("agent.yml:1: interval: not a valid duration")) << error;
}

TEST(AgentConfigTest, IntervalBelow100msIsRejected) {
  EXPECT_EQ(ErrorOf("interval: 99ms\ncollector:\n  endpoint: tcp://c:1\n"),
            "agent.yml:1: interval: must be at least 100ms");
}

TEST(AgentConfigTest, IntervalOf100msIsAccepted) {
  auto config =
      ParseAgentConfig("interval: 100ms\ncollector:\n  endpoint: tcp://c:1\n", "agent.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->interval, 100ms);
}

TEST(AgentConfigTest, LabelsMayNotSetAgent) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  agent: x\n"),
            "agent.yml:3: labels: \"agent\" is set from agent_id and cannot be overridden");
}

TEST(AgentConfigTest, LabelsMayNotSetInstance) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  instance: x\n"),
            "agent.yml:3: labels: \"instance\" is set from agent_id and cannot be overridden");
}

TEST(AgentConfigTest, LabelsMustHaveValidNames) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  bad-name: x\n"),
            "agent.yml:3: labels: \"bad-name\" is not a valid label name");
}

TEST(AgentConfigTest, LabelsMayNotUseReservedPrefix) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  __name__: x\n"),
            "agent.yml:3: labels: \"__name__\" is not a valid label name");
}

TEST(AgentConfigTest, LabelValuesMustBeStrings) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  env: [a, b]\n"),
            "agent.yml:4: labels.env: expected a string");
}

TEST(AgentConfigTest, AgentIdMayNotBeEmpty) {
  EXPECT_EQ(ErrorOf("agent_id: \"\"\ncollector:\n  endpoint: tcp://c:1\n"),
            "agent.yml:1: agent_id: must not be empty");
}

TEST(AgentConfigTest, LogLevelMustBeKnown) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlog:\n  level: trace\n"),
            "agent.yml:4: log.level: unknown log level \"trace\" (expected debug, info, warn or "
            "error)");
}

TEST(AgentConfigTest, AckTimeoutBelow10msIsRejected) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  ack_timeout: 5ms\n"),
            "agent.yml:3: collector.ack_timeout: must be at least 10ms");
}

TEST(AgentConfigTest, MaxRetryBackoffBelow100msIsRejected) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  max_retry_backoff: 50ms\n"),
            "agent.yml:3: collector.max_retry_backoff: must be at least 100ms");
}

TEST(AgentConfigTest, MaxPendingBatchesMustBePositive) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  max_pending_batches: 0\n"),
            "agent.yml:3: collector.max_pending_batches: must be at least 1");
}

TEST(AgentConfigTest, MaxPendingBatchesMustBeInteger) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  max_pending_batches: many\n"),
            "agent.yml:3: collector.max_pending_batches: expected an integer");
}

TEST(AgentConfigTest, RejectsUnknownCollectorKey) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  ack_timout: 1s\n"),
            "agent.yml:3: collector.ack_timout: unknown key");
}

TEST(AgentConfigTest, RejectsUnknownHostKey) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nhost:\n  dev_path: /dev\n"),
            "agent.yml:4: host.dev_path: unknown key");
}

TEST(AgentConfigTest, RejectsUnknownTopLevelKey) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nintervall: 5s\n"),
            "agent.yml:3: intervall: unknown key");
}

TEST(AgentConfigTest, RejectsYamlSyntaxErrorWithLine) {
  std::string error = ErrorOf("collector:\n  endpoint: tcp://c:1\nlog:\n  level: info: debug\n");
  EXPECT_TRUE(error.starts_with("agent.yml:4: YAML syntax error: ")) << error;
}

TEST(AgentConfigTest, RejectsTopLevelScalar) {
  EXPECT_EQ(ErrorOf("collector\n"),
            "agent.yml:1: the top level must be a mapping of keys to values");
}

}  // namespace
}  // namespace vitals::agent
