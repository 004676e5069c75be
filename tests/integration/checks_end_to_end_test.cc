// Dependency checks travel the whole path: the agent runs them on their own
// schedule and their results reach the collector's storage as vitals_check_*
// series, promptly, next to the host vitals.

#include <string>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;

class ChecksEndToEndTest : public ::testing::Test {
 protected:
  ChecksEndToEndTest() : collector_(dir_) {}

  void SetUp() override {
    std::string error;
    ASSERT_TRUE(collector_.Start(&error)) << error;
    // One check against a port that listens (the collector's own web port)
    // and one against a port nothing listens on. Host rounds are slow (1m),
    // so check results have to travel on their own.
    WriteFile(dir_.File("agent.yml"),
              "agent_id: checker\n"
              "interval: 1m\n"
              "collector:\n"
              "  endpoint: " + collector_.config().IngestEndpoint() + "\n"
              "  ack_timeout: 1s\n"
              "  max_retry_backoff: 500ms\n"
              "spool:\n"
              "  dir: " + dir_.File("spool") + "\n"
              "checks:\n"
              "  - name: collector-web\n"
              "    kind: tcp\n"
              "    service: vitals\n"
              "    address: 127.0.0.1:" + std::to_string(collector_.config().web_port) + "\n"
              "    interval: 200ms\n"
              "    timeout: 100ms\n"
              "  - name: shop-db\n"
              "    kind: tcp\n"
              "    service: shop\n"
              "    module: orders\n"
              "    address: 127.0.0.1:" + std::to_string(FreeTcpPort()) + "\n"
              "    interval: 200ms\n"
              "    timeout: 100ms\n");
    agent_ = StartProgram(AgentBinary(), dir_.File("agent.yml"), dir_.File("agent"), &error);
    ASSERT_NE(agent_, nullptr) << error;
  }

  std::optional<double> Latest(const std::string& series) {
    std::string name = series.substr(0, series.find('{'));
    return MetricValue(collector_.Federate(name), series);
  }

  TempDir dir_;
  TestCollector collector_;
  std::unique_ptr<Process> agent_;
};

TEST_F(ChecksEndToEndTest, HealthyDependencyIsUp) {
  EXPECT_TRUE(WaitFor(
      [&] {
        return Latest("vitals_check_up{check=\"collector-web\",kind=\"tcp\",service=\"vitals\"}") ==
               1.0;
      },
      kDeadline))
      << collector_.Federate("vitals_check_up") << agent_->Output();
}

TEST_F(ChecksEndToEndTest, UnreachableDependencyIsDownAndCritical) {
  EXPECT_TRUE(WaitFor(
      [&] {
        return Latest("vitals_check_up{check=\"shop-db\",module=\"orders\",service=\"shop\"}") ==
                   0.0 &&
               Latest("vitals_check_status{check=\"shop-db\"}") == 2.0;
      },
      kDeadline))
      << collector_.Federate("vitals_check_status") << agent_->Output();
}

TEST_F(ChecksEndToEndTest, ResultsArriveBetweenHostRounds) {
  // With a 1m host interval, several runs of a 200ms check can only have
  // arrived in batches of their own.
  EXPECT_TRUE(WaitFor(
      [&] { return Latest("vitals_check_runs_total{check=\"shop-db\"}").value_or(0) >= 3; },
      kDeadline))
      << collector_.Federate("vitals_check_runs_total");
}

}  // namespace
}  // namespace vitals::testing
