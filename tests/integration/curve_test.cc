// CurveZMQ between agents and collector: an agent whose public key is in the
// collector's allowed_agents_dir is stored; any other agent is refused,
// counted, and nothing it sent is stored.

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/curve_keys.h"
#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;

class CurveTest : public ::testing::Test {
 protected:
  CurveTest() : collector_(dir_) {}

  void SetUp() override {
    std::filesystem::create_directories(dir_.File("keys"));
    std::filesystem::create_directories(dir_.File("allowed"));
    Generate("collector");
    Generate("good-agent");
    Generate("stranger");
    // Only good-agent's public key is allowed.
    std::filesystem::copy_file(dir_.File("keys/good-agent.pub"),
                               dir_.File("allowed/good-agent.pub"));
    collector_.config().curve_public_key_file = dir_.File("keys/collector.pub");
    collector_.config().curve_secret_key_file = dir_.File("keys/collector.key");
    collector_.config().allowed_agents_dir = dir_.File("allowed");
    std::string error;
    ASSERT_TRUE(collector_.Start(&error)) << error;
  }

  void Generate(const std::string& name) {
    auto pair = GenerateCurveKeyPair();
    ASSERT_TRUE(pair.ok()) << pair.status().ToString();
    ASSERT_TRUE(WriteCurveKeyPair(*pair, dir_.File("keys"), name).ok());
  }

  // Starts an agent named `id` that uses the key pair `key_name` ("" = no CURVE).
  std::unique_ptr<Process> StartAgent(const std::string& id, const std::string& key_name) {
    AgentConfig agent;
    agent.agent_id = id;
    agent.endpoint = collector_.config().IngestEndpoint();
    if (!key_name.empty()) {
      agent.server_public_key_file = dir_.File("keys/collector.pub");
      agent.curve_public_key_file = dir_.File("keys/" + key_name + ".pub");
      agent.curve_secret_key_file = dir_.File("keys/" + key_name + ".key");
    }
    WriteAgentConfig(dir_.File(id + ".yml"), agent);
    std::string error;
    auto process = StartProgram(AgentBinary(), dir_.File(id + ".yml"), dir_.File(id), &error);
    EXPECT_NE(process, nullptr) << error;
    return process;
  }

  double Rejected(const std::string& reason) const {
    return collector_.Metric("vitals_ingest_rejected_total{reason=\"" + reason + "\"}").value_or(0);
  }

  bool Stored(const std::string& agent_id) const {
    return collector_.Federate("node_load1{agent=\"" + agent_id + "\"}").find("node_load1") !=
           std::string::npos;
  }

  TempDir dir_;
  TestCollector collector_;
};

TEST_F(CurveTest, AllowedAgentIsStored) {
  auto agent = StartAgent("good-agent", "good-agent");
  EXPECT_TRUE(WaitFor([&] { return Stored("good-agent"); }, kDeadline))
      << collector_.Output() << agent->Output();
}

TEST_F(CurveTest, AgentWithUnknownKeyIsRefusedAndCounted) {
  auto good = StartAgent("good-agent", "good-agent");
  auto stranger = StartAgent("stranger", "stranger");
  EXPECT_TRUE(WaitFor([&] { return Rejected("unauthorized") >= 1; }, kDeadline))
      << collector_.Metrics();
  // The allowed agent's data arrives while the stranger keeps being refused.
  ASSERT_TRUE(WaitFor([&] { return Stored("good-agent"); }, kDeadline));
  EXPECT_FALSE(Stored("stranger"));
  EXPECT_TRUE(collector_.process()->IsRunning());
}

TEST_F(CurveTest, KeyAddedToAllowedDirIsAcceptedWithoutRestart) {
  auto stranger = StartAgent("stranger", "stranger");
  ASSERT_TRUE(WaitFor([&] { return Rejected("unauthorized") >= 1; }, kDeadline));
  std::filesystem::copy_file(dir_.File("keys/stranger.pub"), dir_.File("allowed/stranger.pub"));
  EXPECT_TRUE(WaitFor([&] { return Stored("stranger"); }, kDeadline))
      << collector_.Output() << stranger->Output();
}

TEST_F(CurveTest, PlainAgentIsRefusedByCurveCollector) {
  auto good = StartAgent("good-agent", "good-agent");
  auto plain = StartAgent("plain", "");
  EXPECT_TRUE(WaitFor([&] { return Rejected("handshake_failed") >= 1; }, kDeadline))
      << collector_.Metrics();
  ASSERT_TRUE(WaitFor([&] { return Stored("good-agent"); }, kDeadline));
  EXPECT_FALSE(Stored("plain"));
}

}  // namespace
}  // namespace vitals::testing
