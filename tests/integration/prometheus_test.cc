// The collector as a real Prometheus (Debian's /usr/bin/prometheus) sees it:
// both scrape targets of deploy/prometheus/prometheus.yml come up, federated
// agent series become queryable, and /metrics passes `promtool check metrics`.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr char kAgentId[] = "prom-agent";
constexpr auto kDeadline = 60s;

bool Executable(const char* path) { return access(path, X_OK) == 0; }

// The scrape configuration of deploy/prometheus/prometheus.yml, scraping every
// second.
std::string ScrapeConfig(int collector_web_port) {
  const std::string targets = "['127.0.0.1:" + std::to_string(collector_web_port) + "']";
  std::ostringstream yml;
  yml << "global:\n"
      << "  scrape_interval: 1s\n"
      << "  scrape_timeout: 1s\n"
      << "scrape_configs:\n"
      << "  - job_name: vitals-collector\n"
      << "    static_configs:\n"
      << "      - targets: " << targets << "\n"
      << "  - job_name: vitals-federate\n"
      << "    honor_labels: true\n"
      << "    metrics_path: /federate\n"
      << "    params:\n"
      << "      'match[]':\n"
      << "        - '{__name__=~\"node_.*\"}'\n"
      << "    static_configs:\n"
      << "      - targets: " << targets << "\n";
  return yml.str();
}

// The parsed body of a Prometheus API GET, or null.
nlohmann::json ApiGet(int port, const std::string& path) {
  HttpResponse r = HttpGet("127.0.0.1", port, path);
  if (r.status != 200) return nullptr;
  return nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
}

class PrometheusTest : public ::testing::Test {
 protected:
  PrometheusTest() : collector_(dir_) {}

  void SetUp() override {
    std::string error;
    ASSERT_TRUE(collector_.Start(&error)) << error;
  }

  void TearDown() override {
    if (!HasFailure()) return;
    std::cerr << collector_.Output();
    if (agent_ != nullptr) std::cerr << agent_->Output();
    if (prometheus_ != nullptr) std::cerr << prometheus_->Output();
  }

  void StartAgent() {
    AgentConfig agent;
    agent.agent_id = kAgentId;
    agent.endpoint = collector_.config().IngestEndpoint();
    WriteAgentConfig(dir_.File("agent.yml"), agent);
    std::string error;
    agent_ = StartProgram(AgentBinary(), dir_.File("agent.yml"), dir_.File("agent"), &error);
    ASSERT_NE(agent_, nullptr) << error;
  }

  void StartPrometheus() {
    prometheus_port_ = FreeTcpPort();
    WriteFile(dir_.File("prometheus.yml"), ScrapeConfig(collector_.config().web_port));
    std::string error;
    prometheus_ =
        Process::Start({kPrometheus, "--config.file=" + dir_.File("prometheus.yml"),
                        "--storage.tsdb.path=" + dir_.File("prometheus-data"),
                        "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_)},
                       dir_.File("prometheus"), &error);
    ASSERT_NE(prometheus_, nullptr) << error;
  }

  // Health of every active target by job, e.g. {"vitals-collector": "up"}.
  std::map<std::string, std::string> TargetHealth() const {
    std::map<std::string, std::string> health;
    nlohmann::json targets = ApiGet(prometheus_port_, "/api/v1/targets?state=active");
    if (!targets.is_object()) return health;
    for (const nlohmann::json& t : targets["data"]["activeTargets"]) {
      health[t["labels"].value("job", "")] = t.value("health", "");
    }
    return health;
  }

  nlohmann::json Query(const std::string& promql) const {
    nlohmann::json body = ApiGet(prometheus_port_, "/api/v1/query?query=" + UrlEncode(promql));
    if (!body.is_object() || body.value("status", "") != "success") return nlohmann::json::array();
    return body["data"]["result"];
  }

  TempDir dir_;
  TestCollector collector_;
  std::unique_ptr<Process> agent_;
  std::unique_ptr<Process> prometheus_;
  int prometheus_port_ = 0;
};

TEST_F(PrometheusTest, BothScrapeTargetsAreUp) {
  ASSERT_TRUE(Executable(kPrometheus)) << kPrometheus << " is not installed (scripts/setup installs it)";
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(StartPrometheus());

  std::map<std::string, std::string> health;
  EXPECT_TRUE(WaitFor(
      [&] {
        health = TargetHealth();
        return health["vitals-collector"] == "up" && health["vitals-federate"] == "up";
      },
      kDeadline))
      << "vitals-collector: " << health["vitals-collector"]
      << ", vitals-federate: " << health["vitals-federate"] << "\n"
      << HttpGet("127.0.0.1", prometheus_port_, "/api/v1/targets").body;
}

TEST_F(PrometheusTest, FederatedAgentSeriesAreQueryableWithTheAgentsInstance) {
  ASSERT_TRUE(Executable(kPrometheus)) << kPrometheus << " is not installed (scripts/setup installs it)";
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(StartPrometheus());

  nlohmann::json result;
  ASSERT_TRUE(WaitFor(
      [&] {
        result = Query(R"(node_load1{agent="prom-agent"})");
        return result.is_array() && !result.empty();
      },
      kDeadline))
      << "node_load1{agent=\"prom-agent\"} never became queryable; targets:\n"
      << HttpGet("127.0.0.1", prometheus_port_, "/api/v1/targets").body;
  const nlohmann::json& metric = result[0]["metric"];
  EXPECT_EQ(metric.value("instance", ""), kAgentId) << metric.dump();
  EXPECT_EQ(metric.value("job", ""), "vitals-federate") << metric.dump();
}

TEST_F(PrometheusTest, CollectorMetricsPassPromtoolCheck) {
  ASSERT_TRUE(Executable(kPromtool)) << kPromtool << " is not installed (scripts/setup installs it)";
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  // With an agent connected, the per-agent and per-reason series exist too.
  ASSERT_TRUE(WaitFor(
      [&] { return collector_.Metric("vitals_ingest_batches_total").value_or(0) > 0; }, kDeadline));

  const std::string metrics = collector_.Metrics();
  ASSERT_FALSE(metrics.empty());
  WriteFile(dir_.File("metrics.txt"), metrics);
  std::string error;
  std::unique_ptr<Process> promtool = Process::Start(
      {kPromtool, "check", "metrics"}, dir_.File("promtool"), &error, dir_.File("metrics.txt"));
  ASSERT_NE(promtool, nullptr) << error;
  EXPECT_EQ(promtool->Wait(kDeadline), 0) << promtool->Output() << "\n/metrics was:\n" << metrics;
}

}  // namespace
}  // namespace vitals::testing
