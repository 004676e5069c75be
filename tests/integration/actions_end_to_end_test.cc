// A dependency check fails on an agent; the collector's on-ingest rule fires,
// the actions put the module into degraded, the mode reaches the agent over
// ZeroMQ and lands in its mode file; recovery lifts it again. Real
// collector, real agent, a real HTTP dependency on loopback.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using std::chrono::seconds;

// The payment gateway the check probes: healthy or not, as the test says.
class Gateway {
 public:
  Gateway() {
    server_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      res.status = healthy_ ? 200 : 503;
      res.set_content(healthy_ ? "ok" : "down", "text/plain");
    });
    server_.set_keep_alive_max_count(1);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Gateway() {
    server_.stop();
    thread_.join();
  }
  void SetHealthy(bool h) { healthy_ = h; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/health"; }

 private:
  httplib::Server server_;
  std::atomic<bool> healthy_{true};
  int port_ = 0;
  std::thread thread_;
};

class ActionsEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("rules.yml"), R"(groups:
  # vitals: eval=on_ingest
  - name: deps
    interval: 1s
    rules:
      - alert: PaymentGatewayDown
        expr: vitals_check_up{check="payment-gateway"} == 0
        labels:
          severity: critical
        annotations:
          summary: payment gateway failing
)");
    WriteFile(dir_.File("actions.yml"), R"(routes:
  - name: payments
    matchers: ['service="shop"', 'alertname="PaymentGatewayDown"']
    on_no_data: hold
    actions:
      - mode: degraded
        recover_after: 1s
        probation: 1s
)");
    collector_.config().extra_yaml = "rules:\n  files: [" + dir_.File("rules.yml") +
                                     "]\n  evaluation_interval: 1s\nactions:\n  file: " +
                                     dir_.File("actions.yml") + "\n";
    std::string error;
    ASSERT_TRUE(collector_.Start(&error)) << error;
    agent_config_.agent_id = "shop-host";
    agent_config_.endpoint = collector_.config().IngestEndpoint();
    agent_config_.proc_path = agent_config_.sys_path = "";
    hostroot_ = CopyHostRootFixture(dir_);
    agent_config_.proc_path = hostroot_ + "/proc";
    agent_config_.sys_path = hostroot_ + "/sys";
    agent_config_.extra_yaml = "checks:\n"
                               "  - name: payment-gateway\n"
                               "    kind: http\n"
                               "    service: shop\n"
                               "    module: payments\n"
                               "    url: " + gateway_.Url() + "\n"
                               "    interval: 500ms\n"
                               "    timeout: 400ms\n"
                               "services:\n"
                               "  - name: shop\n"
                               "modes:\n"
                               "  dir: " + dir_.File("modes") + "\n"
                               "  on_mode_change: ['/bin/sh', '-c', 'echo \"$VITALS_SERVICE $VITALS_MODE $VITALS_MODULES\" >> " +
                               dir_.File("hook.log") + "']\n";
    WriteAgentConfig(dir_.File("agent.yml"), agent_config_);
    StartAgent();
  }

  void StartAgent() {
    std::string error;
    agent_ = StartProgram(AgentBinary(), dir_.File("agent.yml"), dir_.File("agent"), &error);
    ASSERT_TRUE(agent_) << error;
  }

  // The mode of shop/payments in the agent's mode file, "" if no file.
  std::string PaymentsMode() {
    std::string path = dir_.File("modes") + "/shop.json";
    if (!std::filesystem::exists(path)) return "";
    auto j = nlohmann::json::parse(ReadFile(path), nullptr, false);
    if (j.is_discarded()) return "invalid";
    if (j["modules"].contains("payments")) return j["modules"]["payments"].value("mode", "?");
    return j.value("mode", "?");
  }

  bool WaitForMode(const std::string& mode) {
    return WaitFor([&] { return PaymentsMode() == mode; }, seconds(30));
  }

  TempDir dir_;
  Gateway gateway_;
  TestCollector collector_{dir_};
  AgentConfig agent_config_;
  std::string hostroot_;
  std::unique_ptr<Process> agent_;
};

TEST_F(ActionsEndToEndTest, FailingDependencyDegradesTheModuleOnTheAgentAndRecoveryLiftsIt) {
  ASSERT_TRUE(WaitForMode("normal")) << "agent never wrote the initial state\n" << agent_->Output();
  gateway_.SetHealthy(false);
  ASSERT_TRUE(WaitForMode("degraded")) << collector_.Output() << agent_->Output();
  auto file = nlohmann::json::parse(ReadFile(dir_.File("modes") + "/shop.json"));
  EXPECT_EQ(file["modules"]["payments"]["reason"], "payment gateway failing");
  EXPECT_EQ(file["modules"]["payments"]["source"], "automatic");
  EXPECT_TRUE(file["modules"]["payments"]["incident_id"].get<std::string>().starts_with("INC-"));
  ASSERT_TRUE(WaitFor([&] { return ReadFile(dir_.File("hook.log")).find("shop normal payments=degraded") !=
                                   std::string::npos; },
                      seconds(10)))
      << ReadFile(dir_.File("hook.log"));
  auto modes = nlohmann::json::parse(collector_.Get("/api/v1/modes").body);
  EXPECT_EQ(modes["data"]["modes"][0]["module"], "payments");
  EXPECT_EQ(collector_.Metric(R"(vitals_service_mode{mode="degraded",module="payments",service="shop"})"), 1);

  gateway_.SetHealthy(true);
  ASSERT_TRUE(WaitForMode("normal")) << collector_.Output();
}

TEST_F(ActionsEndToEndTest, ModesAreResentToAReconnectingAgent) {
  gateway_.SetHealthy(false);
  ASSERT_TRUE(WaitForMode("degraded")) << collector_.Output() << agent_->Output();
  agent_->Kill(SIGKILL);
  agent_->Wait();
  std::filesystem::remove(dir_.File("modes") + "/shop.json");
  StartAgent();
  // The mode is unchanged at the collector: only the push after Hello can
  // bring the file back.
  EXPECT_TRUE(WaitForMode("degraded")) << agent_->Output();
}

}  // namespace
}  // namespace vitals::testing
