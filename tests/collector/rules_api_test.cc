// /api/v1/rules, /api/v1/alerts and /-/reload over a real RuleManager, Store
// and Engine, compared with the JSON Prometheus 2.42 sends.

#include "collector/rules_api.h"

#include <fstream>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "tests/support/scratch_store.h"
#include "tests/support/temp_dir.h"

namespace vitals::collector {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

class RulesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenScratchStore(dir_ + "/db");
    auto m = rules::RuleManager::Create({}, *store_, engine_, clock_, registry_, {});
    ASSERT_TRUE(m.ok());
    manager_ = std::move(*m);
    WriteRules(R"(groups:
  - name: availability
    rules:
      - alert: Down
        expr: up == 0
        for: 5m
        labels: {severity: page}
        annotations: {summary: down}
      - record: job:up:sum
        expr: sum by (job) (up)
)");
    ASSERT_TRUE(manager_->Load({dir_ + "/rules.yml"}).ok());
    api_ = std::make_unique<RulesApi>(*manager_, [this] {
      return manager_->Load({dir_ + "/rules.yml"});
    });
  }
  void TearDown() override {
    manager_.reset();
    store_.reset();
  }

  void WriteRules(const std::string& text) { std::ofstream(dir_ + "/rules.yml") << text; }

  testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
  FakeClock clock_{kT0};
  promql::Engine engine_;
  prometheus::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<rules::RuleManager> manager_;
  std::unique_ptr<RulesApi> api_;
};

TEST_F(RulesApiTest, RulesListsGroupsWithHealthAndPendingAlerts) {
  ASSERT_TRUE(store_->Append({Sample{{{"__name__", "up"}, {"job", "api"}}, kT0, 0}}, {}).ok());
  manager_->EvaluateAll(kT0);
  ApiResponse r = api_->Rules(Form());
  EXPECT_EQ(r.status, 200);
  std::string file = dir_ + "/rules.yml";
  std::string expected =
      R"({"status":"success","data":{"groups":[{"name":"availability","file":")" + file +
      R"(","rules":[{"state":"pending","name":"Down","query":"up == 0","duration":300,"keepFiringFor":0,"labels":{"severity":"page"},"annotations":{"summary":"down"},"alerts":[{"labels":{"alertname":"Down","job":"api","severity":"page"},"annotations":{"summary":"down"},"state":"pending","activeAt":"2023-11-14T22:13:20Z","value":"0e+00"}],"health":"ok","evaluationTime":)";
  EXPECT_EQ(r.body.substr(0, expected.size()), expected);
  EXPECT_NE(r.body.find(R"x("name":"job:up:sum","query":"sum by (job) (up)","labels":{},"health":"ok")x"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("type":"recording")"), std::string::npos);
  EXPECT_NE(r.body.find(R"("interval":60,"limit":0)"), std::string::npos);
}

TEST_F(RulesApiTest, TypeFilterKeepsOnlyThatKindOfRule) {
  ApiResponse r = api_->Rules([] {
    Form f;
    f.Add("type", "record");
    return f;
  }());
  EXPECT_EQ(r.body.find("\"alerting\""), std::string::npos);
  EXPECT_NE(r.body.find("\"recording\""), std::string::npos);
  Form bad;
  bad.Add("type", "nope");
  EXPECT_EQ(api_->Rules(bad).status, 400);
}

TEST_F(RulesApiTest, AlertsListsPendingAndFiringAlerts) {
  EXPECT_EQ(api_->Alerts().body, R"({"status":"success","data":{"alerts":[]}})");
  ASSERT_TRUE(store_->Append({Sample{{{"__name__", "up"}, {"job", "api"}}, kT0, 0}}, {}).ok());
  manager_->EvaluateAll(kT0);
  EXPECT_EQ(api_->Alerts().body,
            R"({"status":"success","data":{"alerts":[{"labels":{"alertname":"Down","job":"api","severity":"page"},"annotations":{"summary":"down"},"state":"pending","activeAt":"2023-11-14T22:13:20Z","value":"0e+00"}]}})");
}

TEST_F(RulesApiTest, ReloadWithABrokenFileKeepsTheRunningRules) {
  WriteRules("groups:\n  - name: x\n    rules:\n      - record: bad name\n        expr: up\n");
  ApiResponse r = api_->Reload();
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("failed to reload config"), std::string::npos);
  EXPECT_FALSE(manager_->last_reload_successful());
  EXPECT_EQ(manager_->Groups().size(), 1u);
  EXPECT_EQ(manager_->Groups()[0].name, "availability");
}

TEST(FormatRfc3339Test, WritesGoTimeJson) {
  EXPECT_EQ(FormatRfc3339(0), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kT0), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339(kT0 + 500), "2023-11-14T22:13:20.5Z");
  EXPECT_EQ(FormatRfc3339(kT0 + 123), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace vitals::collector
