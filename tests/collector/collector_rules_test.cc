// The whole collector with rules: samples pushed over remote_write reach an
// on_ingest alert at once, the alert survives a restart of the collector, and
// a broken rule file on reload leaves the running rules alone.

#include <snappy.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "collector/collector.h"
#include "proto/prompb.pb.h"
#include "tests/support/temp_dir.h"

namespace vitals::collector {
namespace {

class CollectorRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteRules(R"(groups:
  # vitals: eval=on_ingest
  - name: deps
    rules:
      - alert: DatabaseDown
        expr: vitals_check_up{kind="postgres"} == 0
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.check }} is down"}
)");
    config_.storage.path = dir_.File("data");
    config_.web.listen = "127.0.0.1:0";
    config_.ingest.listen = "tcp://127.0.0.1:*";
    config_.rules.files = {dir_.File("rules.yml")};
    config_.rules.state_file = dir_.File("data/alert_state.json");
    config_.rules.external_url = "http://vitals.test";
  }
  void TearDown() override { collector_.reset(); }

  void WriteRules(const std::string& text) { std::ofstream(dir_.File("rules.yml")) << text; }

  void Start() {
    auto c = Collector::Start(config_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    collector_ = std::move(*c);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", collector_->web_port());
  }

  void PushCheck(double up, int64_t t_ms) {
    prompb::WriteRequest request;
    auto* ts = request.add_timeseries();
    for (auto [name, value] : {std::pair<const char*, const char*>{"__name__", "vitals_check_up"},
                               {"check", "orders-db"},
                               {"kind", "postgres"}}) {
      auto* l = ts->add_labels();
      l->set_name(name);
      l->set_value(value);
    }
    auto* s = ts->add_samples();
    s->set_value(up);
    s->set_timestamp(t_ms);
    std::string raw = request.SerializeAsString(), body;
    snappy::Compress(raw.data(), raw.size(), &body);
    httplib::Headers headers = {{"Content-Encoding", "snappy"},
                                {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
    auto res = client_->Post("/api/v1/write", headers, body, "application/x-protobuf");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 204) << res->body;
  }

  // Polls /api/v1/alerts until `predicate` holds on the body (10 s at most).
  std::string WaitForAlerts(const std::function<bool(const std::string&)>& predicate) {
    std::string body;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto res = client_->Get("/api/v1/alerts");
      if (res && res->status == 200) {
        body = res->body;
        if (predicate(body)) return body;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return body;
  }

  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  testing::TempDir dir_;
  CollectorConfig config_;
  std::unique_ptr<Collector> collector_;
  std::unique_ptr<httplib::Client> client_;
};

bool Firing(const std::string& body) { return body.find("\"state\":\"firing\"") != std::string::npos; }

TEST_F(CollectorRulesTest, FailedCheckFiresAtOnceAndStaysFiringAcrossARestart) {
  Start();
  PushCheck(0, NowMs());
  std::string body = WaitForAlerts(Firing);
  ASSERT_TRUE(Firing(body)) << body;
  EXPECT_NE(body.find(R"("summary":"orders-db is down")"), std::string::npos) << body;

  collector_->Stop();
  collector_.reset();
  Start();
  // Before any evaluation, the restored alert is already firing.
  auto res = client_->Get("/api/v1/alerts");
  ASSERT_TRUE(res);
  EXPECT_TRUE(Firing(res->body)) << res->body;

  PushCheck(1, NowMs());
  body = WaitForAlerts([](const std::string& b) { return !Firing(b); });
  EXPECT_EQ(body, R"({"status":"success","data":{"alerts":[]}})");
}

TEST_F(CollectorRulesTest, BrokenRuleFileOnReloadKeepsTheRunningRules) {
  Start();
  WriteRules("groups:\n  - name: deps\n    rules:\n      - alert: X\n        expr: up ==\n");
  auto res = client_->Post("/-/reload");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_NE(res->body.find("could not parse expression"), std::string::npos) << res->body;
  auto rules = client_->Get("/api/v1/rules");
  ASSERT_TRUE(rules);
  EXPECT_NE(rules->body.find("DatabaseDown"), std::string::npos);
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("vitals_rules_last_reload_successful 0"), std::string::npos);
}

}  // namespace
}  // namespace vitals::collector
