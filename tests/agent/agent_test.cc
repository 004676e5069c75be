#include "agent/agent.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/labels.h"
#include "common/wire.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {
namespace {

// How the agent's parts for services fit together: the Hello names the
// services, pushed modes reach the mode files and the hook, and each round
// reports service versions and the enforcer's metrics. The parts have their
// own tests (mode_enforcer_test, collector_client_test, service_versions_test).
class AgentTest : public ::testing::Test {
 protected:
  // An agent.yml sending to `endpoint`, with `extra` appended; returns the
  // parsed setup.
  AgentSetup Setup(const std::string& endpoint, const std::string& extra) {
    std::string path = dir_ + "/agent.yml";
    std::ofstream(path) << "agent_id: web-01\n"
                        << "interval: 1s\n"
                        << "collector:\n  endpoint: " << endpoint << "\n"
                        << "spool:\n  dir: " << dir_ << "/spool\n  fsync: false\n"
                        << extra;
    auto setup = LoadAgentSetup(path);
    EXPECT_TRUE(setup.ok()) << setup.status().ToString();
    return setup.ok() ? std::move(setup).value() : AgentSetup{};
  }

  testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
};

// Receives one envelope on `router`, remembering the sender in *peer.
std::optional<wire::Envelope> Receive(zmq::socket_t& router, std::string* peer) {
  std::vector<zmq::message_t> frames;
  if (!zmq::recv_multipart(router, std::back_inserter(frames))) return std::nullopt;
  if (frames.size() != 2) return std::nullopt;
  *peer = frames[0].to_string();
  wire::Envelope env;
  if (!env.ParseFromArray(frames[1].data(), static_cast<int>(frames[1].size()))) {
    return std::nullopt;
  }
  return env;
}

void Send(zmq::socket_t& router, const std::string& peer, const wire::Envelope& env) {
  std::string payload = env.SerializeAsString();
  std::array<zmq::const_buffer, 2> parts = {zmq::buffer(peer), zmq::buffer(payload)};
  zmq::send_multipart(router, parts);
}

TEST_F(AgentTest, ModesPushedByTheCollectorReachTheModeFileAndTheHook) {
  zmq::context_t context(1);
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::rcvtimeo, 10'000);
  router.bind("tcp://127.0.0.1:*");
  // The hook reports to a FIFO the test holds open for reading and writing.
  const std::string fifo = dir_ + "/hook-ran";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int hook_ran = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(hook_ran, 0);

  AgentSetup setup = Setup(router.get(zmq::sockopt::last_endpoint),
                           "labels:\n  service: api\n"
                           "modes:\n  dir: " +
                               dir_ + "/modes\n" +
                               "  on_mode_change: echo \"$VITALS_SERVICE $VITALS_MODULES\" > '" +
                               fifo + "'\n" + "services:\n  - name: shop\n");
  auto agent = Agent::Create(std::move(setup));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  std::thread runner([&agent] { (*agent)->Run(); });

  std::string peer;
  std::optional<wire::Envelope> hello;
  while ((hello = Receive(router, &peer)) && !hello->has_hello()) {
  }
  ASSERT_TRUE(hello) << "no Hello from the agent";
  EXPECT_EQ(
      std::vector<std::string>(hello->hello().services().begin(), hello->hello().services().end()),
      (std::vector<std::string>{"api", "shop"}));
  wire::Envelope ack = wirecodec::NewEnvelope();
  ack.mutable_hello_ack()->set_collector_version("test");
  Send(router, peer, ack);
  wire::Envelope modes = wirecodec::NewEnvelope();
  modes.mutable_modes()->set_generation(7);
  modes.mutable_modes()->add_services("shop");
  wire::ServiceMode* payments = modes.mutable_modes()->add_modes();
  payments->set_service("shop");
  payments->set_module("payments");
  payments->set_mode("degraded");
  Send(router, peer, modes);

  pollfd ran = {hook_ran, POLLIN, 0};
  ASSERT_EQ(::poll(&ran, 1, 10'000), 1) << "the hook did not run";
  char line[64] = {};
  ASSERT_GT(::read(hook_ran, line, sizeof(line) - 1), 0);
  EXPECT_STREQ(line, "shop payments=degraded\n");
  std::ifstream file(dir_ + "/modes/shop.json");
  std::stringstream text;
  text << file.rdbuf();
  auto state = ParseModeFile(text.str());
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->modules.at("payments").mode, "degraded");

  (*agent)->Stop();
  runner.join();
  ::close(hook_ran);
}

TEST_F(AgentTest, EachRoundReportsServiceVersionsAndModeMetrics) {
  std::ofstream(dir_ + "/VERSION") << "v1.2.3\n";
  AgentSetup setup =
      Setup("tcp://127.0.0.1:1", "modes:\n  dir: " + dir_ +
                                     "/modes\n"
                                     "services:\n  - name: shop\n    version_file: " +
                                     dir_ + "/VERSION\n");
  auto agent = Agent::Create(std::move(setup));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  wire::Modes modes;
  modes.add_services("shop");
  (*agent)->mode_enforcer()->Apply(modes);
  SampleSet set = (*agent)->CollectOnce();
  std::vector<std::string> series;
  for (const Sample& s : set.samples()) {
    std::string_view name = GetLabel(s.labels, kMetricNameLabel);
    if (name == "vitals_build_info" || name == "vitals_agent_service_mode") {
      if (s.value == 1) series.push_back(FormatSeries(s.labels));
    }
  }
  EXPECT_EQ(series, (std::vector<std::string>{
                        "vitals_build_info{service=\"shop\",version=\"v1.2.3\"}",
                        "vitals_agent_service_mode{mode=\"normal\",service=\"shop\"}"}));
}

TEST_F(AgentTest, AgentWithoutServicesHasNoModeEnforcer) {
  auto agent = Agent::Create(Setup("tcp://127.0.0.1:1", ""));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  EXPECT_EQ((*agent)->mode_enforcer(), nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/modes"));
}

TEST_F(AgentTest, ModesDirectoryThatCannotBeCreatedStopsTheStart) {
  std::ofstream(dir_ + "/file") << "x";
  auto agent = Agent::Create(Setup(
      "tcp://127.0.0.1:1", "modes:\n  dir: " + dir_ + "/file/modes\nservices:\n  - name: shop\n"));
  ASSERT_FALSE(agent.ok());
  EXPECT_EQ(agent.status().code(), Status::Code::kIOError);
  EXPECT_TRUE(agent.status().message().starts_with("modes: ")) << agent.status().message();
}

}  // namespace
}  // namespace vitals::agent
