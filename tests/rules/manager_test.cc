#include "rules/manager.h"

#include <gtest/gtest.h>

#include "rules/promql/parser.h"
#include "tests/support/scratch_store.h"
#include "tests/support/temp_dir.h"

namespace vitals::rules {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
constexpr int64_t kMinute = 60'000;
constexpr int64_t kT0 = 1'700'000'000'000;

// Collects what the manager sends.
class RecordingSink : public AlertSink {
 public:
  void Send(std::string_view expr, const std::vector<Alert>& alerts) override {
    for (const Alert& a : alerts) sent.emplace_back(std::string(expr), a);
  }
  std::vector<std::pair<std::string, Alert>> sent;
};

RuleDesc Recording(std::string name, std::string expr) {
  RuleDesc d;
  d.record = std::move(name);
  d.expr = std::move(expr);
  d.parsed = std::move(*promql::ParseExpr(d.expr));
  return d;
}

RuleDesc Alerting(std::string name, std::string expr, std::chrono::milliseconds for_duration) {
  RuleDesc d;
  d.alert = std::move(name);
  d.expr = std::move(expr);
  d.parsed = std::move(*promql::ParseExpr(d.expr));
  d.for_duration = for_duration;
  return d;
}

RuleFile OneGroup(std::vector<RuleDesc> rules) {
  RuleFile f;
  f.path = "test.yml";
  RuleGroupDesc g;
  g.name = "g";
  g.file = "test.yml";
  g.interval = minutes(1);
  for (RuleDesc& r : rules) g.rules.push_back(std::move(r));
  f.groups.push_back(std::move(g));
  return f;
}

class RuleManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenStore(); }

  void OpenStore() {
    store_.reset();
    store_ = testing::OpenScratchStore(dir_.path() + "/db");
  }

  std::unique_ptr<RuleManager> NewManager() {
    ManagerOptions o;
    o.state_file = dir_.path() + "/alerts.json";
    auto m = RuleManager::Create(o, *store_, engine_, clock_, registry_, {&sink_});
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return std::move(*m);
  }

  void Put(Labels labels, int64_t t, double v) {
    auto r = store_->Append({Sample{std::move(labels), t, v}}, {});
    ASSERT_TRUE(r.ok());
  }

  // The value of `query` at `t`, or "none".
  std::string Query(const std::string& query, int64_t t) {
    auto expr = promql::ParseExpr(query);
    auto r = engine_.InstantQuery(*store_, **expr, t);
    if (!r.ok()) return r.status().ToString();
    const auto& v = std::get<promql::Vector>(r->value);
    std::string out;
    for (const Sample& s : v) out += FormatSeries(s.labels) + " " + std::to_string(s.value) + "\n";
    return out.empty() ? "none" : out;
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  promql::Engine engine_;
  prometheus::Registry registry_;
  RecordingSink sink_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(RuleManagerTest, RecordingResultsAreStoredAndVisibleToLaterRules) {
  auto m = NewManager();
  std::vector<RuleDesc> rules;
  rules.push_back(Recording("job:up:sum", "sum by (job) (up)"));
  rules.push_back(Recording("job:up:double", "job:up:sum * 2"));
  std::vector<RuleFile> files;
  files.push_back(OneGroup(std::move(rules)));
  ASSERT_TRUE(m->LoadParsed(std::move(files)).ok());
  Put({{"__name__", "up"}, {"instance", "a"}, {"job", "api"}}, kT0, 1);
  Put({{"__name__", "up"}, {"instance", "b"}, {"job", "api"}}, kT0, 1);
  m->EvaluateAll(kT0);
  EXPECT_EQ(Query("job:up:sum", kT0), "job:up:sum{job=\"api\"} 2.000000\n");
  EXPECT_EQ(Query("job:up:double", kT0), "job:up:double{job=\"api\"} 4.000000\n");
}

TEST_F(RuleManagerTest, RecordedSeriesThatDisappearsEndsWithAStaleMarker) {
  auto m = NewManager();
  std::vector<RuleDesc> rules;
  rules.push_back(Recording("x:copy", "x"));
  std::vector<RuleFile> files;
  files.push_back(OneGroup(std::move(rules)));
  ASSERT_TRUE(m->LoadParsed(std::move(files)).ok());
  Put({{"__name__", "x"}}, kT0, 1);
  m->EvaluateAll(kT0);
  Put({{"__name__", "x"}}, kT0 + kMinute, StaleMarker());
  m->EvaluateAll(kT0 + kMinute);
  // Without the marker, lookback would still return the old value.
  EXPECT_EQ(Query("x:copy", kT0 + kMinute + 1000), "none");
}

TEST_F(RuleManagerTest, FiringAlertIsWrittenAndSent) {
  auto m = NewManager();
  std::vector<RuleDesc> rules;
  rules.push_back(Alerting("Down", "up == 0", {}));
  std::vector<RuleFile> files;
  files.push_back(OneGroup(std::move(rules)));
  ASSERT_TRUE(m->LoadParsed(std::move(files)).ok());
  Put({{"__name__", "up"}, {"instance", "a"}}, kT0, 0);
  m->EvaluateAll(kT0);
  EXPECT_EQ(Query("ALERTS", kT0),
            "ALERTS{alertname=\"Down\",alertstate=\"firing\",instance=\"a\"} 1.000000\n");
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].first, "up == 0");
  EXPECT_EQ(sink_.sent[0].second.state, AlertState::kFiring);
  ASSERT_EQ(m->ActiveAlerts().size(), 1u);

  Put({{"__name__", "up"}, {"instance", "a"}}, kT0 + kMinute, 1);
  m->EvaluateAll(kT0 + kMinute);
  ASSERT_EQ(sink_.sent.size(), 2u);
  EXPECT_EQ(sink_.sent[1].second.state, AlertState::kInactive);
  EXPECT_EQ(Query("ALERTS", kT0 + kMinute), "none");
  EXPECT_TRUE(m->ActiveAlerts().empty());
}

TEST_F(RuleManagerTest, PendingAlertKeepsItsForProgressAcrossARestart) {
  {
    auto m = NewManager();
    std::vector<RuleDesc> rules;
    rules.push_back(Alerting("Down", "up == 0", minutes(5)));
    std::vector<RuleFile> files;
    files.push_back(OneGroup(std::move(rules)));
    ASSERT_TRUE(m->LoadParsed(std::move(files)).ok());
    Put({{"__name__", "up"}}, kT0, 0);
    m->EvaluateAll(kT0);
    ASSERT_EQ(m->ActiveAlerts().at(0).state, AlertState::kPending);
  }
  auto m = NewManager();
  std::vector<RuleDesc> rules;
  rules.push_back(Alerting("Down", "up == 0", minutes(5)));
  std::vector<RuleFile> files;
  files.push_back(OneGroup(std::move(rules)));
  ASSERT_TRUE(m->LoadParsed(std::move(files)).ok());
  Put({{"__name__", "up"}}, kT0 + 5 * kMinute, 0);
  m->EvaluateAll(kT0 + 5 * kMinute);
  ASSERT_EQ(m->ActiveAlerts().size(), 1u);
  EXPECT_EQ(m->ActiveAlerts()[0].state, AlertState::kFiring);
  EXPECT_EQ(m->ActiveAlerts()[0].active_at_ms, kT0);
}

TEST_F(RuleManagerTest, FiringAlertStaysFiringAcrossARestartWithoutBeingResent) {
  {
    auto m = NewManager();
    std::vector<RuleDesc> rules;
    rules.push_back(Alerting("Down", "up == 0", minutes(5)));
    std::vector<RuleFile> files;
    files.push_back(OneGroup(std::move(rules)));
    ASSERT_TRUE(m->LoadParsed(std::move(files)).ok());
    Put({{"__name__", "up"}}, kT0, 0);
    m->EvaluateAll(kT0);
    Put({{"__name__", "up"}}, kT0 + 5 * kMinute, 0);
    m->EvaluateAll(kT0 + 5 * kMinute);
    ASSERT_EQ(sink_.sent.size(), 1u);
  }
  auto m = NewManager();
  std::vector<RuleDesc> rules;
  rules.push_back(Alerting("Down", "up == 0", minutes(5)));
  std::vector<RuleFile> files;
  files.push_back(OneGroup(std::move(rules)));
  ASSERT_TRUE(m->LoadParsed(std::move(files)).ok());
  ASSERT_EQ(m->ActiveAlerts().size(), 1u);
  EXPECT_EQ(m->ActiveAlerts()[0].state, AlertState::kFiring);
  Put({{"__name__", "up"}}, kT0 + 5 * kMinute + 30'000, 0);
  m->EvaluateAll(kT0 + 5 * kMinute + 30'000);
  EXPECT_EQ(m->ActiveAlerts()[0].fired_at_ms, kT0 + 5 * kMinute);
  EXPECT_EQ(sink_.sent.size(), 1u);  // Within the resend delay: not sent again.
}

TEST_F(RuleManagerTest, ReloadKeepsTheStateOfUnchangedAlerts) {
  auto m = NewManager();
  auto load = [&] {
    std::vector<RuleDesc> rules;
    rules.push_back(Alerting("Down", "up == 0", minutes(5)));
    std::vector<RuleFile> files;
    files.push_back(OneGroup(std::move(rules)));
    return m->LoadParsed(std::move(files));
  };
  ASSERT_TRUE(load().ok());
  Put({{"__name__", "up"}}, kT0, 0);
  m->EvaluateAll(kT0);
  ASSERT_TRUE(load().ok());
  Put({{"__name__", "up"}}, kT0 + 5 * kMinute, 0);
  m->EvaluateAll(kT0 + 5 * kMinute);
  EXPECT_EQ(m->ActiveAlerts().at(0).state, AlertState::kFiring);
}

TEST_F(RuleManagerTest, FailingRuleIsReportedAndTheGroupGoesOn) {
  auto m = NewManager();
  std::vector<RuleDesc> rules;
  rules.push_back(Recording("bad", "x + on() group_left y"));
  rules.push_back(Recording("good", "vector(1)"));
  std::vector<RuleFile> files;
  files.push_back(OneGroup(std::move(rules)));
  ASSERT_TRUE(m->LoadParsed(std::move(files)).ok());
  Put({{"__name__", "x"}, {"a", "1"}}, kT0, 1);
  Put({{"__name__", "y"}, {"a", "1"}}, kT0, 1);
  Put({{"__name__", "y"}, {"a", "2"}}, kT0, 1);
  m->EvaluateAll(kT0);
  auto groups = m->Groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].rules[0].health, "err");
  EXPECT_NE(groups[0].rules[0].last_error.find("many-to-many matching not allowed"),
            std::string::npos);
  EXPECT_EQ(groups[0].rules[1].health, "ok");
  EXPECT_EQ(Query("good", kT0), "good 1.000000\n");
}

TEST_F(RuleManagerTest, DamagedStateFileIsReportedAtCreate) {
  {
    FILE* f = std::fopen((dir_.path() + "/alerts.json").c_str(), "w");
    std::fputs("{not json", f);
    std::fclose(f);
  }
  ManagerOptions o;
  o.state_file = dir_.path() + "/alerts.json";
  auto m = RuleManager::Create(o, *store_, engine_, clock_, registry_, {});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace vitals::rules
