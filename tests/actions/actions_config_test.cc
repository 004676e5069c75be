#include "actions/actions_config.h"

#include <gtest/gtest.h>

namespace vitals::actions {
namespace {

std::string ErrorOf(const std::string& yaml) {
  auto c = ParseActionsConfig(yaml, "actions.yml");
  return c.ok() ? "ok" : c.status().message();
}

TEST(ActionsConfigTest, ReadsRoutesWebhooksAndRollback) {
  auto c = ParseActionsConfig(R"(
labels: {service: app}
webhooks:
  - name: ops
    url: https://hooks.example.com/x
    timeout: 2s
    max_retries: 5
    headers: {X-Team: sre}
routes:
  - name: pay
    matchers: ['app="shop"', 'severity=~"crit.*"']
    continue: true
    on_no_data: escalate
    escalate: {webhook: ops, mode: maintenance}
    actions:
      - mode: degraded
        module: payments
        recover_after: 2m
        probation: 10m
        backoff_factor: 3
        max_recover_after: 1h
      - webhook: ops
      - rollback: true
rollback:
  cooldown: 1h
  services:
    - service: shop
      command: [/bin/deploy, rollback]
      dry_run: true
)",
                              "actions.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->service_label, "app");
  ASSERT_EQ(c->routes.size(), 1u);
  const Route& r = c->routes[0];
  EXPECT_EQ(r.name, "pay");
  EXPECT_TRUE(r.continue_matching);
  EXPECT_EQ(r.on_no_data, NoDataPolicy::kEscalate);
  EXPECT_EQ(r.escalate.webhook, "ops");
  EXPECT_EQ(r.escalate.mode, Mode::kMaintenance);
  ASSERT_EQ(r.actions.size(), 3u);
  EXPECT_EQ(r.actions[0].mode.mode, Mode::kDegraded);
  EXPECT_FALSE(r.actions[0].mode.module_from_label);
  EXPECT_EQ(r.actions[0].mode.module, "payments");
  EXPECT_EQ(r.actions[0].mode.recover_after, std::chrono::minutes(2));
  EXPECT_EQ(r.actions[0].mode.backoff_factor, 3);
  EXPECT_EQ(r.actions[1].kind, Action::Kind::kWebhook);
  EXPECT_EQ(r.actions[2].kind, Action::Kind::kRollback);
  ASSERT_EQ(c->webhooks.size(), 1u);
  EXPECT_EQ(c->webhooks[0].max_retries, 5);
  const RollbackTarget* t = c->FindRollback("shop");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->dry_run);
  EXPECT_EQ(t->cooldown, std::chrono::hours(1));
  EXPECT_EQ(t->healthy_after, std::chrono::minutes(10));
}

TEST(ActionsConfigTest, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(ErrorOf("routes:\n  - actions:\n      - mode: sideways\n"),
            "actions.yml:3: routes[0].actions[0].mode: unknown mode \"sideways\" (want degraded, "
            "read_only or maintenance)");
  EXPECT_NE(ErrorOf("routes:\n  - on_no_data: ignore\n    actions: [{mode: degraded}]\n")
                .find("actions.yml:2: routes[0].on_no_data: must be hold, lift or escalate"),
            std::string::npos);
  EXPECT_NE(ErrorOf("routes:\n  - matchers: ['service=~\"(\"']\n    actions: [{mode: degraded}]\n")
                .find("routes[0].matchers"),
            std::string::npos);
  EXPECT_NE(ErrorOf("routes:\n  - actions: [{webhook: nowhere}]\n").find("\"nowhere\" is not under webhooks"),
            std::string::npos);
  EXPECT_NE(ErrorOf("routes:\n  - actions: [{rollback: true}]\n").find("needs rollback.services"),
            std::string::npos);
  EXPECT_NE(ErrorOf("routes:\n  - actions: [{mode: degraded, webhook: x}]\n").find("exactly one of"),
            std::string::npos);
  EXPECT_NE(ErrorOf("rollback:\n  services:\n    - service: shop\n").find("exactly one of command or webhook"),
            std::string::npos);
  EXPECT_NE(ErrorOf("routs: []\n").find("routs"), std::string::npos);
}

TEST(ActionsConfigTest, ParsesAlertmanagerMatchers) {
  auto m = ParseAlertMatcher(R"(severity = "critical")");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->ToString(), R"(severity="critical")");
  EXPECT_EQ(ParseAlertMatcher("env!~stag.*")->type(), MatchType::kRegexNoMatch);
  EXPECT_EQ(ParseAlertMatcher(R"(a!="b\"c")")->value(), "b\"c");
  EXPECT_FALSE(ParseAlertMatcher("1bad=x").ok());
  EXPECT_FALSE(ParseAlertMatcher("name~x").ok());
  EXPECT_FALSE(ParseAlertMatcher(R"(a="open)").ok());
}

TEST(ActionsConfigTest, FirstMatchingRouteWinsUnlessItContinues) {
  auto c = ParseActionsConfig(R"(
routes:
  - name: a
    matchers: ['service="shop"']
    continue: true
    actions: [{mode: degraded}]
  - name: b
    matchers: ['severity="critical"']
    actions: [{mode: read_only}]
  - name: c
    actions: [{mode: maintenance}]
)",
                              "actions.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto names = [&](Labels labels) {
    std::string out;
    for (const Route* r : MatchRoutes(*c, labels)) out += r->name;
    return out;
  };
  EXPECT_EQ(names({{"service", "shop"}, {"severity", "critical"}}), "ab");
  EXPECT_EQ(names({{"service", "shop"}}), "ac");
  EXPECT_EQ(names({{"service", "blog"}}), "c");
}

}  // namespace
}  // namespace vitals::actions
