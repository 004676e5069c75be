#include "agent/agent_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "common/config.h"
#include "common/curve_keys.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;

// The spool section every valid agent.yml needs.
constexpr char kSpool[] = "spool:\n  dir: /var/lib/vitals/spool\n";

// The smallest valid agent.yml.
constexpr char kMinimal[] =
    "collector:\n  endpoint: tcp://collector:4740\nspool:\n  dir: /var/lib/vitals/spool\n";

// Reads `yaml` as agent.yml the way LoadAgentConfig reads a file.
Result<AgentConfig> Parse(const std::string& yaml) {
  ASSIGN_OR_RETURN(ConfigMap root, ConfigMap::LoadString(yaml, "agent.yml"));
  ASSIGN_OR_RETURN(AgentConfig config, ReadAgentConfig(root));
  RETURN_IF_ERROR(root.CheckUnknownKeys());
  return config;
}

// The error of reading `yaml` as agent.yml, or "OK".
std::string RawErrorOf(const std::string& yaml) {
  auto config = Parse(yaml);
  return config.ok() ? "OK" : config.status().message();
}

// As RawErrorOf, with a valid spool section appended to `yaml`, so the error
// is about the rest.
std::string ErrorOf(const std::string& yaml) { return RawErrorOf(yaml + kSpool); }

class AgentConfigTest : public ::testing::Test {
 protected:
  // A temporary directory for this test, created on first use.
  const std::string& Dir() {
    if (!dir_) dir_.emplace();
    return dir_->path();
  }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    std::string path = Dir() + "/" + name;
    std::ofstream out(path, std::ios::trunc);
    out << contents;
    return path;
  }

  // Writes <Dir()>/<name>.pub and .key; returns the pair.
  CurveKeyPair WriteKeyPair(const std::string& name) {
    auto pair = GenerateCurveKeyPair();
    EXPECT_TRUE(pair.ok()) << pair.status().ToString();
    if (!pair.ok()) return {};
    Status written = WriteCurveKeyPair(*pair, Dir(), name);
    EXPECT_TRUE(written.ok()) << written.ToString();
    return *pair;
  }

  std::optional<testing::TempDir> dir_;
};

TEST_F(AgentConfigTest, ShippedExampleParses) {
  auto config = LoadAgentConfig(VITALS_SOURCE_DIR "/deploy/examples/agent.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->labels, (std::map<std::string, std::string>{{"env", "demo"}}));
  EXPECT_EQ(config->interval, 5s);
  ASSERT_EQ(config->collectors.size(), 1u);
  EXPECT_EQ(config->collectors[0].endpoint, "tcp://127.0.0.1:4740");
  EXPECT_EQ(config->collectors[0].ack_timeout, 5s);
  EXPECT_EQ(config->collectors[0].max_retry_backoff, 30s);
  EXPECT_EQ(config->collectors[0].replay_rate, 200);
  EXPECT_EQ(config->collectors[0].server_public_key, "");
  EXPECT_EQ(config->spool.dir, "./data/agent-spool");
  EXPECT_EQ(config->spool.max_size, 256ull << 20);
  EXPECT_EQ(config->host.proc_path, "/proc");
  EXPECT_EQ(config->host.sys_path, "/sys");
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
  EXPECT_EQ(config->modes.dir, "./data/modes");
  EXPECT_TRUE(config->modes.on_mode_change.empty());
  EXPECT_EQ(config->modes.hook_timeout, 10s);
  ASSERT_EQ(config->services.size(), 1u);
  EXPECT_EQ(config->services[0].name, "shop");
  EXPECT_EQ(config->services[0].version_file, "./data/shop/VERSION");
}

TEST_F(AgentConfigTest, ShippedExampleEnforcesTheDemoShopAndItsCheckedService) {
  auto setup = LoadAgentSetup(VITALS_SOURCE_DIR "/deploy/examples/agent.yml");
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  EXPECT_EQ(EnforcedServices(*setup), (std::vector<std::string>{"shop", "vitals"}));
}

TEST_F(AgentConfigTest, MissingFileIsNotFound) {
  auto config = LoadAgentConfig("/nonexistent/agent.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kNotFound);
}

TEST_F(AgentConfigTest, LoadAgentConfigReadsAFile) {
  std::string path = WriteFile("agent.yml", std::string("agent_id: web-01\n") + kMinimal);
  auto config = LoadAgentConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->agent_id, "web-01");
  EXPECT_EQ(config->spool.dir, "/var/lib/vitals/spool");
}

TEST_F(AgentConfigTest, LoadAgentConfigRejectsUnknownKeysNamingTheFile) {
  std::string path = WriteFile("agent.yml", std::string(kMinimal) + "intervall: 5s\n");
  auto config = LoadAgentConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), path + ":5: intervall: unknown key");
}

TEST_F(AgentConfigTest, AppliesDefaultsToOmittedKeys) {
  auto config = Parse(kMinimal);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->labels.empty());
  EXPECT_EQ(config->interval, 15s);
  ASSERT_EQ(config->collectors.size(), 1u);
  EXPECT_EQ(config->collectors[0].endpoint, "tcp://collector:4740");
  EXPECT_EQ(config->collectors[0].ack_timeout, 5s);
  EXPECT_EQ(config->collectors[0].max_retry_backoff, 30s);
  EXPECT_EQ(config->collectors[0].replay_rate, 200);
  EXPECT_EQ(config->collectors[0].server_public_key, "");
  EXPECT_EQ(config->spool.max_size, 256ull << 20);
  EXPECT_EQ(config->curve.public_key, "");
  EXPECT_EQ(config->curve.secret_key, "");
  EXPECT_EQ(config->host.proc_path, "/proc");
  EXPECT_EQ(config->host.sys_path, "/sys");
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
  EXPECT_EQ(config->modes.dir, "/var/lib/vitals/modes");
  EXPECT_TRUE(config->modes.on_mode_change.empty());
  EXPECT_EQ(config->modes.hook_timeout, 10s);
  EXPECT_TRUE(config->services.empty());
}

TEST_F(AgentConfigTest, AgentIdDefaultsToHostName) {
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  auto config = Parse(kMinimal);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->agent_id, host[0] == '\0' ? "localhost" : host);
}

TEST_F(AgentConfigTest, ReadsEveryKey) {
  auto config = Parse(
      "agent_id: web-01\n"
      "labels:\n"
      "  env: prod\n"
      "  team: infra\n"
      "interval: 1m\n"
      "collector:\n"
      "  endpoint: tcp://10.0.0.1:4740\n"
      "  ack_timeout: 2s\n"
      "  max_retry_backoff: 1m\n"
      "  replay_rate: 50\n"
      "spool:\n"
      "  dir: /data/spool\n"
      "  max_size: 1MiB\n"
      "host:\n"
      "  proc_path: /host/proc\n"
      "  sys_path: /host/sys\n"
      "log:\n"
      "  level: warn\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->agent_id, "web-01");
  EXPECT_EQ(config->labels,
            (std::map<std::string, std::string>{{"env", "prod"}, {"team", "infra"}}));
  EXPECT_EQ(config->interval, 1min);
  ASSERT_EQ(config->collectors.size(), 1u);
  EXPECT_EQ(config->collectors[0].endpoint, "tcp://10.0.0.1:4740");
  EXPECT_EQ(config->collectors[0].ack_timeout, 2s);
  EXPECT_EQ(config->collectors[0].max_retry_backoff, 1min);
  EXPECT_EQ(config->collectors[0].replay_rate, 50);
  EXPECT_EQ(config->spool.dir, "/data/spool");
  EXPECT_EQ(config->spool.max_size, 1ull << 20);
  EXPECT_EQ(config->host.proc_path, "/host/proc");
  EXPECT_EQ(config->host.sys_path, "/host/sys");
  EXPECT_EQ(config->log_level, LogLevel::kWarn);
}

TEST_F(AgentConfigTest, ErrorsAreInvalidArgument) {
  auto config = Parse("");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
}

// --- collector / collectors ---------------------------------------------------

TEST_F(AgentConfigTest, CollectorEndpointIsRequiredWhenCollectorIsAbsent) {
  EXPECT_EQ(ErrorOf("interval: 5s\n"), "agent.yml:1: collector.endpoint: missing required key");
}

TEST_F(AgentConfigTest, CollectorEndpointIsRequiredAtLineOfCollectorMapping) {
  EXPECT_EQ(ErrorOf("interval: 5s\ncollector:\n  ack_timeout: 1s\n"),
            "agent.yml:3: collector.endpoint: missing required key");
}

TEST_F(AgentConfigTest, CollectorEndpointMustBeZeroMqEndpoint) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: collector:4740\n"),
            "agent.yml:2: collector.endpoint: expected a ZeroMQ endpoint like "
            "tcp://collector:4740");
}

TEST_F(AgentConfigTest, ReadsTwoCollectors) {
  auto config = Parse(
      "collectors:\n"
      "  - endpoint: tcp://collector-a:4740\n"
      "    ack_timeout: 2s\n"
      "  - endpoint: tcp://collector-b:4740\n"
      "    replay_rate: 20\n" +
      std::string(kSpool));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->collectors.size(), 2u);
  EXPECT_EQ(config->collectors[0].endpoint, "tcp://collector-a:4740");
  EXPECT_EQ(config->collectors[0].ack_timeout, 2s);
  EXPECT_EQ(config->collectors[0].replay_rate, 200);
  EXPECT_EQ(config->collectors[1].endpoint, "tcp://collector-b:4740");
  EXPECT_EQ(config->collectors[1].ack_timeout, 5s);
  EXPECT_EQ(config->collectors[1].replay_rate, 20);
}

TEST_F(AgentConfigTest, ReadsAListOfOneCollector) {
  auto config = Parse("collectors:\n  - endpoint: tcp://collector-a:4740\n" + std::string(kSpool));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->collectors.size(), 1u);
  EXPECT_EQ(config->collectors[0].endpoint, "tcp://collector-a:4740");
}

TEST_F(AgentConfigTest, CollectorAndCollectorsTogetherAreRejected) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://a:1\n"
                    "collectors:\n  - endpoint: tcp://b:1\n"),
            "agent.yml:3: collectors: give either collector or collectors, not both");
}

TEST_F(AgentConfigTest, ThreeCollectorsAreRejected) {
  EXPECT_EQ(ErrorOf("collectors:\n"
                    "  - endpoint: tcp://a:1\n"
                    "  - endpoint: tcp://b:1\n"
                    "  - endpoint: tcp://c:1\n"),
            "agent.yml:1: collectors: list one collector, or two for high availability");
}

TEST_F(AgentConfigTest, EmptyCollectorListIsRejected) {
  EXPECT_EQ(ErrorOf("collectors: []\n"),
            "agent.yml:1: collectors: list one collector, or two for high availability");
}

TEST_F(AgentConfigTest, ErrorInSecondCollectorNamesItsIndex) {
  EXPECT_EQ(ErrorOf("collectors:\n"
                    "  - endpoint: tcp://a:1\n"
                    "  - endpoint: tcp://b:1\n"
                    "    ack_timeout: 1ms\n"),
            "agent.yml:4: collectors[1].ack_timeout: must be at least 10ms");
}

TEST_F(AgentConfigTest, CollectorsMustBeAList) {
  std::string error = ErrorOf("collectors:\n  endpoint: tcp://a:1\n");
  EXPECT_TRUE(error.starts_with("agent.yml:2: collectors: expected a list of mappings")) << error;
}

TEST_F(AgentConfigTest, AckTimeoutBelow10msIsRejected) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  ack_timeout: 5ms\n"),
            "agent.yml:3: collector.ack_timeout: must be at least 10ms");
}

TEST_F(AgentConfigTest, MaxRetryBackoffBelow100msIsRejected) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  max_retry_backoff: 50ms\n"),
            "agent.yml:3: collector.max_retry_backoff: must be at least 100ms");
}

TEST_F(AgentConfigTest, ReplayRateMustBePositive) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  replay_rate: 0\n"),
            "agent.yml:3: collector.replay_rate: must be at least 1 batch per second");
}

TEST_F(AgentConfigTest, ReplayRateMustBeInteger) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  replay_rate: many\n"),
            "agent.yml:3: collector.replay_rate: expected an integer");
}

TEST_F(AgentConfigTest, RejectsUnknownCollectorKey) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  ack_timout: 1s\n"),
            "agent.yml:3: collector.ack_timout: unknown key");
}

TEST_F(AgentConfigTest, MaxPendingBatchesIsGone) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\n  max_pending_batches: 10\n"),
            "agent.yml:3: collector.max_pending_batches: unknown key");
}

// --- spool --------------------------------------------------------------------

TEST_F(AgentConfigTest, SpoolDirIsRequiredWhenSpoolIsAbsent) {
  EXPECT_EQ(RawErrorOf("collector:\n  endpoint: tcp://c:1\n"),
            "agent.yml:1: spool.dir: missing required key");
}

TEST_F(AgentConfigTest, SpoolDirIsRequiredAtLineOfSpoolMapping) {
  EXPECT_EQ(RawErrorOf("collector:\n  endpoint: tcp://c:1\nspool:\n  max_size: 1MiB\n"),
            "agent.yml:4: spool.dir: missing required key");
}

TEST_F(AgentConfigTest, SpoolMaxSizeBelow64KiBIsRejected) {
  EXPECT_EQ(RawErrorOf("collector:\n  endpoint: tcp://c:1\nspool:\n  dir: /s\n  max_size: 1KiB\n"),
            "agent.yml:5: spool.max_size: must be at least 64KiB");
}

TEST_F(AgentConfigTest, SpoolFsyncIsOnByDefault) {
  auto config = Parse("collector:\n  endpoint: tcp://c:1\nspool:\n  dir: /s\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->spool.fsync);
}

TEST_F(AgentConfigTest, SpoolFsyncCanBeTurnedOff) {
  auto config = Parse("collector:\n  endpoint: tcp://c:1\nspool:\n  dir: /s\n  fsync: false\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_FALSE(config->spool.fsync);
}

TEST_F(AgentConfigTest, RejectsUnknownSpoolKey) {
  EXPECT_EQ(RawErrorOf("collector:\n  endpoint: tcp://c:1\nspool:\n  dir: /s\n  path: /t\n"),
            "agent.yml:5: spool.path: unknown key");
}

// --- curve ----------------------------------------------------------------------

TEST_F(AgentConfigTest, ReadsCurveKeyFiles) {
  CurveKeyPair agent = WriteKeyPair("agent");
  CurveKeyPair collector = WriteKeyPair("collector");
  auto config = Parse("collector:\n  endpoint: tcp://c:1\n  server_public_key_file: " + Dir() +
                      "/collector.pub\n" + kSpool + "curve:\n  public_key_file: " + Dir() +
                      "/agent.pub\n  secret_key_file: " + Dir() + "/agent.key\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->curve.public_key, agent.public_key);
  EXPECT_EQ(config->curve.secret_key, agent.secret_key);
  ASSERT_EQ(config->collectors.size(), 1u);
  EXPECT_EQ(config->collectors[0].server_public_key, collector.public_key);
}

TEST_F(AgentConfigTest, GarbageKeyFileIsRejectedNamingTheKey) {
  WriteKeyPair("agent");
  WriteKeyPair("collector");
  std::string garbage = WriteFile("garbage.pub", "this is not a key\n");
  std::string error =
      ErrorOf("collector:\n  endpoint: tcp://c:1\n  server_public_key_file: " + Dir() +
              "/collector.pub\ncurve:\n  public_key_file: " + garbage +
              "\n  secret_key_file: " + Dir() + "/agent.key\n");
  EXPECT_TRUE(error.starts_with("agent.yml:5: curve.public_key_file: key file " + garbage))
      << error;
}

TEST_F(AgentConfigTest, GarbageServerKeyFileIsRejectedNamingTheKey) {
  std::string garbage = WriteFile("garbage.pub", "0123456789\n");
  std::string error =
      ErrorOf("collector:\n  endpoint: tcp://c:1\n  server_public_key_file: " + garbage + "\n");
  EXPECT_TRUE(
      error.starts_with("agent.yml:3: collector.server_public_key_file: key file " + garbage))
      << error;
}

TEST_F(AgentConfigTest, MissingKeyFileIsRejectedNamingTheKey) {
  std::string error =
      ErrorOf("collector:\n  endpoint: tcp://c:1\n  server_public_key_file: /nonexistent/c.pub\n");
  EXPECT_TRUE(error.starts_with("agent.yml:3: collector.server_public_key_file: ")) << error;
  EXPECT_NE(error.find("/nonexistent/c.pub"), std::string::npos) << error;
}

TEST_F(AgentConfigTest, ServerKeyWithoutCurveKeysIsRejected) {
  WriteKeyPair("collector");
  std::string error = ErrorOf(
      "collector:\n  endpoint: tcp://c:1\n  server_public_key_file: " + Dir() + "/collector.pub\n");
  EXPECT_TRUE(error.starts_with("agent.yml:")) << error;
  EXPECT_NE(error.find("curve.public_key_file and curve.secret_key_file are required"),
            std::string::npos)
      << error;
}

TEST_F(AgentConfigTest, CurveKeysRequireAServerKeyForEveryCollector) {
  WriteKeyPair("agent");
  WriteKeyPair("collector");
  std::string error = ErrorOf(
      "collectors:\n"
      "  - endpoint: tcp://a:1\n"
      "    server_public_key_file: " +
      Dir() +
      "/collector.pub\n"
      "  - endpoint: tcp://b:1\n"
      "curve:\n  public_key_file: " +
      Dir() + "/agent.pub\n  secret_key_file: " + Dir() + "/agent.key\n");
  EXPECT_EQ(error,
            "agent.yml:1: collectors: curve keys are set, so every collector needs "
            "server_public_key_file");
}

// --- modes ----------------------------------------------------------------------

// A valid agent.yml with `extra` appended.
std::string WithMinimal(const std::string& extra) { return std::string(kMinimal) + extra; }

TEST_F(AgentConfigTest, ReadsModesKeys) {
  auto config =
      Parse(WithMinimal("modes:\n"
                        "  dir: /run/vitals/modes\n"
                        "  on_mode_change: [/bin/sh, /etc/vitals/reload-proxy, --graceful]\n"
                        "  hook_timeout: 30s\n"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->modes.dir, "/run/vitals/modes");
  EXPECT_EQ(config->modes.on_mode_change,
            (std::vector<std::string>{"/bin/sh", "/etc/vitals/reload-proxy", "--graceful"}));
  EXPECT_EQ(config->modes.hook_timeout, 30s);
}

TEST_F(AgentConfigTest, ModesDirDefaultsBesideTheSpool) {
  EXPECT_EQ(DefaultModesDir("/var/lib/vitals/spool"), "/var/lib/vitals/modes");
  EXPECT_EQ(DefaultModesDir("/var/lib/vitals/spool/"), "/var/lib/vitals/modes");
  EXPECT_EQ(DefaultModesDir("./data/agent-spool"), "./data/modes");
  EXPECT_EQ(DefaultModesDir("spool"), "modes");
  auto config = Parse("collector:\n  endpoint: tcp://c:1\nspool:\n  dir: /srv/agent/spool/\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->modes.dir, "/srv/agent/modes");
}

TEST_F(AgentConfigTest, OnModeChangeStringRunsWithTheShell) {
  auto config = Parse(WithMinimal("modes:\n  on_mode_change: systemctl reload nginx\n"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->modes.on_mode_change,
            (std::vector<std::string>{"/bin/sh", "-c", "systemctl reload nginx"}));
}

TEST_F(AgentConfigTest, OnModeChangeProgramMustExist) {
  std::string error = RawErrorOf(WithMinimal("modes:\n  on_mode_change: [/nonexistent/reload]\n"));
  EXPECT_TRUE(error.starts_with("agent.yml:6: modes.on_mode_change: cannot execute: ")) << error;
  EXPECT_NE(error.find("/nonexistent/reload"), std::string::npos) << error;
}

TEST_F(AgentConfigTest, OnModeChangeMustBeACommand) {
  EXPECT_EQ(RawErrorOf(WithMinimal("modes:\n  on_mode_change:\n    program: /bin/true\n")),
            "agent.yml:6: modes.on_mode_change: expected a command: a list [program, arg, ...] "
            "or a string for /bin/sh -c");
}

TEST_F(AgentConfigTest, OnModeChangeMayNotBeAnEmptyList) {
  EXPECT_EQ(RawErrorOf(WithMinimal("modes:\n  on_mode_change: []\n")),
            "agent.yml:6: modes.on_mode_change: must name a program: [program, arg, ...]");
}

TEST_F(AgentConfigTest, OnModeChangeMayNotBeAnEmptyString) {
  EXPECT_EQ(RawErrorOf(WithMinimal("modes:\n  on_mode_change: \"\"\n")),
            "agent.yml:6: modes.on_mode_change: must not be empty");
}

TEST_F(AgentConfigTest, HookTimeoutBelow100msIsRejected) {
  EXPECT_EQ(RawErrorOf(WithMinimal("modes:\n  hook_timeout: 50ms\n")),
            "agent.yml:6: modes.hook_timeout: must be at least 100ms");
}

TEST_F(AgentConfigTest, ModesDirMayNotBeTheSpoolDir) {
  EXPECT_EQ(RawErrorOf(WithMinimal("modes:\n  dir: /var/lib/vitals/spool/\n")),
            "agent.yml:6: modes.dir: the mode files need a directory of their own, not spool.dir");
}

TEST_F(AgentConfigTest, SpoolDirNamedModesNeedsAModesDir) {
  EXPECT_EQ(RawErrorOf("collector:\n  endpoint: tcp://c:1\nspool:\n  dir: /var/lib/modes\n"),
            "agent.yml:1: modes: the mode files need a directory of their own, not spool.dir "
            "(set modes.dir)");
}

TEST_F(AgentConfigTest, RejectsUnknownModesKey) {
  EXPECT_EQ(RawErrorOf(WithMinimal("modes:\n  hook: /bin/true\n")),
            "agent.yml:6: modes.hook: unknown key");
}

// --- services -------------------------------------------------------------------

TEST_F(AgentConfigTest, ReadsServices) {
  auto config =
      Parse(WithMinimal("services:\n"
                        "  - name: shop\n"
                        "    version_file: /srv/shop/VERSION\n"
                        "  - name: api\n"
                        "    version_command: [/bin/sh, -c, echo 1.0]\n"
                        "  - name: worker\n"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->services.size(), 3u);
  EXPECT_EQ(config->services[0].name, "shop");
  EXPECT_EQ(config->services[0].version_file, "/srv/shop/VERSION");
  EXPECT_TRUE(config->services[0].version_command.empty());
  EXPECT_EQ(config->services[1].name, "api");
  EXPECT_EQ(config->services[1].version_command,
            (std::vector<std::string>{"/bin/sh", "-c", "echo 1.0"}));
  EXPECT_EQ(config->services[2].name, "worker");
  EXPECT_EQ(config->services[2].version_file, "");
}

TEST_F(AgentConfigTest, VersionCommandStringRunsWithTheShell) {
  auto config = Parse(WithMinimal("services:\n  - name: shop\n    version_command: cat VERSION\n"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->services.size(), 1u);
  EXPECT_EQ(config->services[0].version_command,
            (std::vector<std::string>{"/bin/sh", "-c", "cat VERSION"}));
}

TEST_F(AgentConfigTest, ServiceNameIsRequired) {
  EXPECT_EQ(RawErrorOf(WithMinimal("services:\n  - version_file: /v\n")),
            "agent.yml:6: services[0].name: missing required key");
}

TEST_F(AgentConfigTest, ServiceNameMustNameAFile) {
  EXPECT_EQ(RawErrorOf(WithMinimal("services:\n  - name: shop\n  - name: ../shop\n")),
            "agent.yml:7: services[1].name: \"../shop\" cannot name a mode file (not empty, at "
            "most 200 bytes, no \"/\", no control characters, no leading \".\")");
}

TEST_F(AgentConfigTest, ServiceListedTwiceIsRejected) {
  EXPECT_EQ(RawErrorOf(WithMinimal("services:\n  - name: shop\n  - name: shop\n")),
            "agent.yml:7: services[1].name: service \"shop\" is listed twice");
}

TEST_F(AgentConfigTest, VersionFileAndCommandTogetherAreRejected) {
  EXPECT_EQ(RawErrorOf(WithMinimal("services:\n"
                                   "  - name: shop\n"
                                   "    version_file: /v\n"
                                   "    version_command: [/bin/sh, -c, echo 1]\n")),
            "agent.yml:8: services[0].version_command: give either version_file or "
            "version_command, not both");
}

TEST_F(AgentConfigTest, VersionCommandProgramMustExist) {
  std::string error = RawErrorOf(
      WithMinimal("services:\n  - name: shop\n    version_command: [/nonexistent/shop]\n"));
  EXPECT_TRUE(error.starts_with("agent.yml:7: services[0].version_command: cannot execute: "))
      << error;
}

TEST_F(AgentConfigTest, RejectsUnknownServiceKey) {
  EXPECT_EQ(RawErrorOf(WithMinimal("services:\n  - name: shop\n    version: 1.0\n")),
            "agent.yml:7: services[0].version: unknown key");
}

TEST_F(AgentConfigTest, ServicesMustBeAList) {
  std::string error = RawErrorOf(WithMinimal("services:\n  name: shop\n"));
  EXPECT_TRUE(error.starts_with("agent.yml:6: services: expected a list of mappings")) << error;
}

TEST_F(AgentConfigTest, EnforcedServicesJoinServicesChecksAndTheServiceLabel) {
  std::string path =
      WriteFile("agent.yml", WithMinimal("labels:\n  service: api\n"
                                         "services:\n  - name: shop\n  - name: api\n"
                                         "checks:\n"
                                         "  - name: db\n    kind: tcp\n    service: shop\n"
                                         "    address: 127.0.0.1:5432\n"
                                         "  - name: cache\n    kind: tcp\n    service: billing\n"
                                         "    address: 127.0.0.1:6379\n"));
  auto setup = LoadAgentSetup(path);
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  EXPECT_EQ(EnforcedServices(*setup), (std::vector<std::string>{"api", "billing", "shop"}));
}

TEST_F(AgentConfigTest, NoServicesNoChecksNoLabelEnforcesNothing) {
  std::string path = WriteFile("agent.yml", kMinimal);
  auto setup = LoadAgentSetup(path);
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  EXPECT_TRUE(EnforcedServices(*setup).empty());
}

// --- everything else ------------------------------------------------------------

TEST_F(AgentConfigTest, IntervalMustBeDuration) {
  std::string error = ErrorOf("interval: fast\ncollector:\n  endpoint: tcp://c:1\n");
  EXPECT_TRUE(error.starts_with("agent.yml:1: interval: not a valid duration")) << error;
}

TEST_F(AgentConfigTest, IntervalBelow100msIsRejected) {
  EXPECT_EQ(ErrorOf("interval: 99ms\ncollector:\n  endpoint: tcp://c:1\n"),
            "agent.yml:1: interval: must be at least 100ms");
}

TEST_F(AgentConfigTest, IntervalOf100msIsAccepted) {
  auto config = Parse("interval: 100ms\ncollector:\n  endpoint: tcp://c:1\n" + std::string(kSpool));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->interval, 100ms);
}

TEST_F(AgentConfigTest, LabelsMayNotSetAgent) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  agent: x\n"),
            "agent.yml:3: labels: \"agent\" is set from agent_id and cannot be overridden");
}

TEST_F(AgentConfigTest, LabelsMayNotSetInstance) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  instance: x\n"),
            "agent.yml:3: labels: \"instance\" is set from agent_id and cannot be overridden");
}

TEST_F(AgentConfigTest, LabelsMustHaveValidNames) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  bad-name: x\n"),
            "agent.yml:3: labels: \"bad-name\" is not a valid label name");
}

TEST_F(AgentConfigTest, LabelsMayNotUseReservedPrefix) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  __name__: x\n"),
            "agent.yml:3: labels: \"__name__\" is not a valid label name");
}

TEST_F(AgentConfigTest, LabelValuesMustBeStrings) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlabels:\n  env: [a, b]\n"),
            "agent.yml:4: labels.env: expected a string");
}

TEST_F(AgentConfigTest, AgentIdMayNotBeEmpty) {
  EXPECT_EQ(ErrorOf("agent_id: \"\"\ncollector:\n  endpoint: tcp://c:1\n"),
            "agent.yml:1: agent_id: must not be empty");
}

TEST_F(AgentConfigTest, LogLevelMustBeKnown) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nlog:\n  level: trace\n"),
            "agent.yml:4: log.level: unknown log level \"trace\" (expected debug, info, warn or "
            "error)");
}

TEST_F(AgentConfigTest, RejectsUnknownHostKey) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nhost:\n  dev_path: /dev\n"),
            "agent.yml:4: host.dev_path: unknown key");
}

TEST_F(AgentConfigTest, RejectsUnknownTopLevelKey) {
  EXPECT_EQ(ErrorOf("collector:\n  endpoint: tcp://c:1\nintervall: 5s\n"),
            "agent.yml:3: intervall: unknown key");
}

TEST_F(AgentConfigTest, RejectsYamlSyntaxErrorWithLine) {
  std::string error = ErrorOf("collector:\n  endpoint: tcp://c:1\nlog:\n  level: info: debug\n");
  EXPECT_TRUE(error.starts_with("agent.yml:4: YAML syntax error: ")) << error;
}

TEST_F(AgentConfigTest, RejectsTopLevelScalar) {
  EXPECT_EQ(RawErrorOf("collector\n"),
            "agent.yml:1: the top level must be a mapping of keys to values");
}

}  // namespace
}  // namespace vitals::agent
