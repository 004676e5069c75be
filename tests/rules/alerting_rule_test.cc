#include "rules/alerting_rule.h"

#include <gtest/gtest.h>

#include "rules/promql/parser.h"

namespace vitals::rules {
namespace {

using std::chrono::minutes;

constexpr int64_t kMinute = 60'000;

std::string Verbatim(std::string_view, std::string_view text, const Labels&, double, int64_t) {
  return std::string(text);
}

RuleDesc AlertDesc(std::string name, std::chrono::milliseconds for_duration,
                   std::chrono::milliseconds keep_firing_for = {}) {
  RuleDesc d;
  d.alert = std::move(name);
  d.expr = "up == 0";
  d.parsed = std::move(*promql::ParseExpr(d.expr));
  d.for_duration = for_duration;
  d.keep_firing_for = keep_firing_for;
  d.labels = {{"severity", "critical"}};
  d.annotations = {{"summary", "down"}};
  return d;
}

promql::Vector Down(std::string instance = "a") {
  return {Sample{{{"__name__", "up"}, {"instance", instance}}, 0, 0}};
}

std::string Describe(const AlertingRule& rule) {
  std::string out;
  for (const auto& [labels, a] : rule.alerts()) {
    out += FormatSeries(labels) + " " + std::string(AlertStateName(a.state)) + "\n";
  }
  return out;
}

TEST(AlertingRuleTest, AlertWithoutForFiresOnFirstEvaluation) {
  RuleDesc desc = AlertDesc("Down", {});
  AlertingRule rule(desc);
  auto samples = rule.Update(Down(), 0, Verbatim, 0);
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(Describe(rule), "{alertname=\"Down\",instance=\"a\",severity=\"critical\"} firing\n");
  EXPECT_EQ(rule.State(), AlertState::kFiring);
}

TEST(AlertingRuleTest, StaysPendingUntilForHasElapsed) {
  RuleDesc desc = AlertDesc("Down", minutes(5));
  AlertingRule rule(desc);
  ASSERT_TRUE(rule.Update(Down(), 0, Verbatim, 0).ok());
  ASSERT_TRUE(rule.Update(Down(), 4 * kMinute, Verbatim, 0).ok());
  EXPECT_EQ(rule.State(), AlertState::kPending);
  ASSERT_TRUE(rule.Update(Down(), 5 * kMinute, Verbatim, 0).ok());
  EXPECT_EQ(rule.State(), AlertState::kFiring);
  EXPECT_EQ(rule.alerts().begin()->second.active_at_ms, 0);
  EXPECT_EQ(rule.alerts().begin()->second.fired_at_ms, 5 * kMinute);
}

TEST(AlertingRuleTest, PendingAlertIsForgottenWhenTheSeriesGoes) {
  RuleDesc desc = AlertDesc("Down", minutes(5));
  AlertingRule rule(desc);
  ASSERT_TRUE(rule.Update(Down(), 0, Verbatim, 0).ok());
  ASSERT_TRUE(rule.Update({}, kMinute, Verbatim, 0).ok());
  EXPECT_TRUE(rule.alerts().empty());
  // Coming back starts `for` again.
  ASSERT_TRUE(rule.Update(Down(), 2 * kMinute, Verbatim, 0).ok());
  EXPECT_EQ(rule.alerts().begin()->second.active_at_ms, 2 * kMinute);
}

TEST(AlertingRuleTest, ResolvedAlertIsKeptForTheRetentionThenDropped) {
  RuleDesc desc = AlertDesc("Down", {});
  AlertingRule rule(desc, minutes(15));
  ASSERT_TRUE(rule.Update(Down(), 0, Verbatim, 0).ok());
  ASSERT_TRUE(rule.Update({}, kMinute, Verbatim, 0).ok());
  ASSERT_EQ(rule.alerts().size(), 1u);
  EXPECT_EQ(rule.alerts().begin()->second.state, AlertState::kInactive);
  EXPECT_EQ(rule.alerts().begin()->second.resolved_at_ms, kMinute);
  ASSERT_TRUE(rule.Update({}, 16 * kMinute, Verbatim, 0).ok());
  EXPECT_EQ(rule.alerts().size(), 1u);  // 15m after resolving: still kept.
  ASSERT_TRUE(rule.Update({}, 16 * kMinute + 1, Verbatim, 0).ok());
  EXPECT_TRUE(rule.alerts().empty());
}

TEST(AlertingRuleTest, ResolvedAlertThatReturnsStartsPendingAgain) {
  RuleDesc desc = AlertDesc("Down", minutes(5));
  AlertingRule rule(desc);
  ASSERT_TRUE(rule.Update(Down(), 0, Verbatim, 0).ok());
  ASSERT_TRUE(rule.Update(Down(), 5 * kMinute, Verbatim, 0).ok());
  ASSERT_TRUE(rule.Update({}, 6 * kMinute, Verbatim, 0).ok());
  ASSERT_TRUE(rule.Update(Down(), 7 * kMinute, Verbatim, 0).ok());
  EXPECT_EQ(rule.State(), AlertState::kPending);
  EXPECT_EQ(rule.alerts().begin()->second.active_at_ms, 7 * kMinute);
  EXPECT_EQ(rule.alerts().begin()->second.resolved_at_ms, 0);
}

TEST(AlertingRuleTest, KeepFiringForHoldsAFiringAlertAfterTheSeriesGoes) {
  RuleDesc desc = AlertDesc("Down", {}, minutes(10));
  AlertingRule rule(desc);
  ASSERT_TRUE(rule.Update(Down(), 0, Verbatim, 0).ok());
  ASSERT_TRUE(rule.Update({}, kMinute, Verbatim, 0).ok());
  EXPECT_EQ(rule.State(), AlertState::kFiring);
  ASSERT_TRUE(rule.Update({}, 10 * kMinute, Verbatim, 0).ok());
  EXPECT_EQ(rule.State(), AlertState::kFiring);  // 9m since it went.
  ASSERT_TRUE(rule.Update({}, 11 * kMinute, Verbatim, 0).ok());
  EXPECT_EQ(rule.State(), AlertState::kInactive);
  EXPECT_EQ(rule.alerts().begin()->second.resolved_at_ms, 11 * kMinute);
}

TEST(AlertingRuleTest, WritesAlertsAndForStateSeries) {
  RuleDesc desc = AlertDesc("Down", minutes(5));
  AlertingRule rule(desc);
  auto samples = rule.Update(Down(), 120'000, Verbatim, 0);
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 2u);
  EXPECT_EQ(FormatSeries((*samples)[0].labels),
            "ALERTS{alertname=\"Down\",alertstate=\"pending\",instance=\"a\",severity=\"critical\"}");
  EXPECT_EQ((*samples)[0].value, 1);
  EXPECT_EQ(FormatSeries((*samples)[1].labels),
            "ALERTS_FOR_STATE{alertname=\"Down\",instance=\"a\",severity=\"critical\"}");
  EXPECT_EQ((*samples)[1].value, 120);  // active_at in seconds.
}

TEST(AlertingRuleTest, RuleLabelsAndAnnotationsAreExpandedPerAlert) {
  RuleDesc desc = AlertDesc("Down", {});
  desc.labels = {{"instance_copy", "{{ $labels.instance }}"}};
  desc.annotations = {{"summary", "{{ $value }}"}};
  AlertingRule rule(desc);
  TemplateExpander fake = [](std::string_view, std::string_view text, const Labels& l, double v,
                             int64_t) {
    if (text == "{{ $labels.instance }}") return std::string(GetLabel(l, "instance"));
    return std::to_string(static_cast<int>(v));
  };
  ASSERT_TRUE(rule.Update(Down("b"), 0, fake, 0).ok());
  const Alert& a = rule.alerts().begin()->second;
  EXPECT_EQ(FormatSeries(a.labels), "{alertname=\"Down\",instance=\"b\",instance_copy=\"b\"}");
  EXPECT_EQ(FormatSeries(a.annotations), "{summary=\"0\"}");
}

TEST(AlertingRuleTest, TwoSeriesBecomingOneAlertIsAnError) {
  RuleDesc desc = AlertDesc("Down", {});
  AlertingRule rule(desc);
  promql::Vector v = {Sample{{{"__name__", "up"}, {"i", "a"}}, 0, 0},
                      Sample{{{"__name__", "down"}, {"i", "a"}}, 0, 0}};
  auto samples = rule.Update(v, 0, Verbatim, 0);
  ASSERT_FALSE(samples.ok());
  EXPECT_EQ(samples.status().message(),
            "vector contains metrics with the same labelset after applying alert labels");
}

TEST(AlertingRuleTest, ExceedingTheGroupLimitClearsTheAlerts) {
  RuleDesc desc = AlertDesc("Down", {});
  AlertingRule rule(desc);
  promql::Vector v = Down("a");
  v.push_back(Down("b")[0]);
  auto samples = rule.Update(v, 0, Verbatim, 1);
  ASSERT_FALSE(samples.ok());
  EXPECT_EQ(samples.status().message(), "exceeded limit of 1 with 2 alerts");
  EXPECT_TRUE(rule.alerts().empty());
}

TEST(AlertingRuleTest, FiringAlertIsSentThenResentAfterTheResendDelay) {
  RuleDesc desc = AlertDesc("Down", {});
  AlertingRule rule(desc);
  ASSERT_TRUE(rule.Update(Down(), kMinute, Verbatim, 0).ok());
  auto due = rule.TakeDue(kMinute, minutes(1), std::chrono::seconds(15));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].valid_until_ms, 5 * kMinute);
  EXPECT_TRUE(rule.TakeDue(2 * kMinute, minutes(1), std::chrono::seconds(15)).empty());
  EXPECT_EQ(rule.TakeDue(2 * kMinute + 1, minutes(1), std::chrono::seconds(15)).size(), 1u);
}

TEST(AlertingRuleTest, PendingAlertsAreNotSentAndResolvedOnesAreSentAtOnce) {
  RuleDesc desc = AlertDesc("Down", minutes(5));
  AlertingRule rule(desc);
  ASSERT_TRUE(rule.Update(Down(), 0, Verbatim, 0).ok());
  EXPECT_TRUE(rule.TakeDue(0, minutes(1), minutes(1)).empty());
  ASSERT_TRUE(rule.Update(Down(), 5 * kMinute, Verbatim, 0).ok());
  ASSERT_EQ(rule.TakeDue(5 * kMinute, minutes(1), minutes(1)).size(), 1u);
  ASSERT_TRUE(rule.Update({}, 5 * kMinute + 10'000, Verbatim, 0).ok());
  auto due = rule.TakeDue(5 * kMinute + 10'000, minutes(1), minutes(1));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].state, AlertState::kInactive);
  EXPECT_EQ(due[0].resolved_at_ms, 5 * kMinute + 10'000);
}

TEST(AlertingRuleTest, RecordingLabelsSetTheNameAndRuleLabels) {
  RuleDesc desc;
  desc.record = "job:up:sum";
  desc.labels = {{"team", "sre"}, {"job", ""}};
  EXPECT_EQ(FormatSeries(RecordingLabels(desc, {{"__name__", "up"}, {"job", "x"}, {"z", "1"}})),
            "job:up:sum{team=\"sre\",z=\"1\"}");
}

}  // namespace
}  // namespace vitals::rules
