// ActionsEngine with a fake clock, a real store and database, a fake
// command runner and a real local webhook receiver.
#include "actions/engine.h"

#include <gtest/gtest.h>

#include "actions/actions_config.h"
#include "common/clock.h"
#include "rules/promql/engine.h"
#include "storage/store.h"
#include "tests/actions/webhook_receiver.h"
#include "tests/support/scratch_store.h"
#include "tests/support/temp_dir.h"

namespace vitals::actions {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;

class RecordingSink : public rules::AlertSink {
 public:
  void Send(std::string_view, const std::vector<rules::Alert>& alerts) override {
    std::lock_guard lock(mu);
    for (const auto& a : alerts) sent.push_back(a);
  }
  size_t count() {
    std::lock_guard lock(mu);
    return sent.size();
  }
  std::mutex mu;
  std::vector<rules::Alert> sent;
};

// Records rollback commands instead of running them.
class FakeRunner : public CommandRunner {
 public:
  Result<CommandResult> Run(const CommandSpec& spec) override {
    specs.push_back(spec);
    CommandResult r;
    r.process.exit_code = exit_code;
    return r;
  }
  int exit_code = 0;
  std::vector<CommandSpec> specs;
};

rules::Alert Firing(Labels labels, int64_t at, std::string summary = "") {
  rules::Alert a;
  Canonicalize(&labels);
  a.labels = std::move(labels);
  if (!summary.empty()) a.annotations = {{"summary", summary}};
  a.state = rules::AlertState::kFiring;
  a.active_at_ms = a.fired_at_ms = at;
  a.value = 1;
  return a;
}

rules::Alert Resolved(rules::Alert a, int64_t at) {
  a.state = rules::AlertState::kInactive;
  a.resolved_at_ms = at;
  return a;
}

constexpr char kConfig[] = R"(
routes:
  - name: payments
    matchers: ['service="shop"', 'alertname="PaymentGatewayDown"']
    on_no_data: hold
    actions:
      - mode: degraded
        module: payments
        recover_after: 1m
        probation: 2m
        max_recover_after: 10m
  - name: orders-db
    matchers: ['service="shop"', 'alertname="OrdersDbDown"']
    on_no_data: lift
    actions:
      - mode: read_only
        recover_after: 30s
        probation: 30s
  - name: vanished
    matchers: ['alertname="Escalating"']
    on_no_data: escalate
    escalate: {mode: maintenance}
    actions:
      - mode: degraded
  - name: bad-release
    matchers: ['alertname="HighErrorRate"']
    actions:
      - rollback: true
rollback:
  healthy_after: 10m
  cooldown: 30m
  services:
    - service: shop
      command: [/usr/local/bin/deploy-shop]
      on_failure: {mode: maintenance}
)";

class ActionsEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = vitals::testing::OpenScratchStore(dir_.path() + "/db");
    auto config = ParseActionsConfig(kConfig, "actions.yml");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = std::move(config).value();
    Reopen();
  }

  void Reopen(const std::string& db = "actions") {
    actions_.reset();
    ActionsOptions options;
    options.config = config_;
    options.db_dir = dir_.path() + "/" + db;
    options.notifier = &sink_;
    options.command_runner = &runner_;
    options.start_threads = false;
    options.on_modes_changed = [this] { ++notified_; };
    registry_ = std::make_shared<prometheus::Registry>();
    auto a = ActionsEngine::Open(options, *store_, engine_, clock_, *registry_);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    actions_ = std::move(a).value();
  }

  // "shop/payments=degraded(automatic) ..." for the effective modes.
  std::string ModesText() {
    std::string out;
    for (const ModeState& m : actions_->Modes().modes) {
      if (!out.empty()) out += " ";
      out += m.key.service + (m.key.module.empty() ? "" : "/" + m.key.module) + "=" +
             std::string(ModeName(m.mode)) + "(" + std::string(ModeSourceName(m.source)) + ")";
    }
    return out.empty() ? "normal" : out;
  }

  void At(int64_t t) {
    clock_.SetMillis(t);
    actions_->Tick();
  }

  // The default expression reads no series, so a resolution is never "no data".
  void Send(const rules::Alert& a, std::string expr = "vector(1)") { actions_->Send(expr, {a}); }

  void Version(const std::string& v, int64_t t) {
    auto r = store_->Append({Sample{{{"__name__", "vitals_build_info"}, {"service", "shop"},
                                     {"version", v}},
                                    t, 1}},
                           {});
    ASSERT_TRUE(r.ok());
  }

  std::vector<std::string> AuditKinds() {
    auto entries = actions_->audit().List(AuditQuery{});
    std::vector<std::string> out;
    for (const auto& e : *entries) out.push_back(e.kind);
    return out;
  }

  vitals::testing::TempDir dir_;
  FakeClock clock_{kT0};
  std::unique_ptr<storage::Store> store_;
  promql::Engine engine_;
  ActionsConfig config_;
  RecordingSink sink_;
  FakeRunner runner_;
  int notified_ = 0;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ActionsEngine> actions_;
};

const Labels kGateway = {{"alertname", "PaymentGatewayDown"}, {"service", "shop"}};

TEST_F(ActionsEngineTest, FiringAlertPutsTheModuleIntoItsModeAndOpensAnIncident) {
  Send(Firing(kGateway, kT0, "payment gateway failing"));
  EXPECT_EQ(ModesText(), "shop/payments=degraded(automatic)");
  ModesSnapshot snap = actions_->Modes("shop");
  ASSERT_EQ(snap.modes.size(), 1u);
  EXPECT_EQ(snap.modes[0].reason, "payment gateway failing");
  EXPECT_EQ(snap.modes[0].since_ms, kT0);
  EXPECT_EQ(snap.modes[0].eta_ms, 0);  // Unknown while the alert fires.
  EXPECT_TRUE(snap.modes[0].incident_id.starts_with("INC-"));
  EXPECT_EQ(notified_, 1);
  auto incidents = actions_->Incidents(false);
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].id, snap.modes[0].incident_id);
  EXPECT_EQ(sink_.count(), 1u);  // Forwarded to Alertmanager too.
}

TEST_F(ActionsEngineTest, ResendsOfAFiringAlertChangeNothing) {
  Send(Firing(kGateway, kT0));
  size_t entries = actions_->audit().last_seq();
  Send(Firing(kGateway, kT0));
  Send(Firing(kGateway, kT0));
  EXPECT_EQ(actions_->audit().last_seq(), entries);
  EXPECT_EQ(notified_, 1);
  EXPECT_EQ(sink_.count(), 3u);  // Alertmanager still gets every resend.
}

TEST_F(ActionsEngineTest, RecoversThroughProbationAfterRecoverAfter) {
  rules::Alert a = Firing(kGateway, kT0);
  Send(a);
  clock_.SetMillis(kT0 + 5 * kMinute);
  Send(Resolved(a, kT0 + 5 * kMinute));
  EXPECT_EQ(actions_->Modes().modes.at(0).eta_ms, kT0 + 6 * kMinute);
  At(kT0 + 6 * kMinute - 1);
  EXPECT_EQ(ModesText(), "shop/payments=degraded(automatic)");
  At(kT0 + 6 * kMinute);  // Lifted into probation.
  EXPECT_EQ(ModesText(), "normal");
  EXPECT_EQ(actions_->Incidents(false).size(), 1u);  // Still open during probation.
  At(kT0 + 8 * kMinute);  // Probation passed.
  EXPECT_EQ(ModesText(), "normal");
  EXPECT_EQ(actions_->Incidents(false).size(), 0u);
  auto kinds = AuditKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "mode.probation"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "mode.recovered"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "incident.closed"), kinds.end());
}

TEST_F(ActionsEngineTest, FiringDuringProbationReTripsAtOnceAndTheNextWaitDoubles) {
  rules::Alert a = Firing(kGateway, kT0);
  Send(a);
  clock_.SetMillis(kT0 + kMinute);
  Send(Resolved(a, kT0 + kMinute));
  At(kT0 + 2 * kMinute);
  EXPECT_EQ(ModesText(), "normal");  // Probation.
  clock_.SetMillis(kT0 + 3 * kMinute);
  Send(Firing(kGateway, kT0 + 3 * kMinute));
  EXPECT_EQ(ModesText(), "shop/payments=degraded(automatic)");
  clock_.SetMillis(kT0 + 4 * kMinute);
  Send(Resolved(a, kT0 + 4 * kMinute));
  // recover_after 1m x 2^1 = 2m now.
  EXPECT_EQ(actions_->Modes().modes.at(0).eta_ms, kT0 + 6 * kMinute);
  At(kT0 + 5 * kMinute);
  EXPECT_EQ(ModesText(), "shop/payments=degraded(automatic)");
  At(kT0 + 6 * kMinute);
  EXPECT_EQ(ModesText(), "normal");
  At(kT0 + 8 * kMinute);  // Probation passed: trips reset.
  Send(Firing(kGateway, kT0 + 9 * kMinute));
  clock_.SetMillis(kT0 + 10 * kMinute);
  Send(Resolved(a, kT0 + 10 * kMinute));
  EXPECT_EQ(actions_->Modes().modes.at(0).eta_ms, kT0 + 11 * kMinute);
}

TEST_F(ActionsEngineTest, BackOffIsCappedAtMaxRecoverAfter) {
  rules::Alert a = Firing(kGateway, kT0);
  int64_t t = kT0;
  Send(a);
  for (int trip = 0; trip < 6; ++trip) {
    t += kMinute;
    clock_.SetMillis(t);
    Send(Resolved(a, t));
    int64_t eta = actions_->Modes().modes.at(0).eta_ms;
    EXPECT_LE(eta - t, 10 * kMinute);
    At(eta);
    t = eta + kSecond;
    clock_.SetMillis(t);
    Send(Firing(kGateway, t));
  }
  t += kMinute;
  clock_.SetMillis(t);
  Send(Resolved(a, t));
  EXPECT_EQ(actions_->Modes().modes.at(0).eta_ms - t, 10 * kMinute);
}

TEST_F(ActionsEngineTest, ManualBeatsScheduledBeatsAutomatic) {
  Send(Firing({{"alertname", "OrdersDbDown"}, {"service", "shop"}}, kT0));
  EXPECT_EQ(ModesText(), "shop=read_only(automatic)");
  MaintenanceWindow w;
  w.service = "shop";
  w.mode = "degraded";  // Less severe than read_only, but scheduled wins.
  w.reason = "db upgrade";
  w.start_ms = kT0 + kMinute;
  w.duration = minutes(30);
  ASSERT_TRUE(actions_->ScheduleMaintenance(w, "user:ops").ok());
  EXPECT_EQ(actions_->Modes().upcoming.size(), 1u);
  At(kT0 + kMinute);
  EXPECT_EQ(ModesText(), "shop=degraded(maintenance)");
  ASSERT_TRUE(actions_->SetOverride({{"shop", ""}, Mode::kNormal, "keep serving", {}}, "user:ops").ok());
  EXPECT_EQ(ModesText(), "normal");
  ASSERT_TRUE(actions_->ClearOverride({"shop", ""}, "user:ops").ok());
  EXPECT_EQ(ModesText(), "shop=degraded(maintenance)");
  At(kT0 + 31 * kMinute);  // Window over; the automatic mode is still there.
  EXPECT_EQ(ModesText(), "shop=read_only(automatic)");
}

TEST_F(ActionsEngineTest, OverrideExpires) {
  ASSERT_TRUE(
      actions_->SetOverride({{"shop", "search"}, Mode::kDegraded, "reindex", minutes(10)}, "user:a").ok());
  EXPECT_EQ(ModesText(), "shop/search=degraded(manual)");
  EXPECT_EQ(actions_->Modes().modes.at(0).eta_ms, kT0 + 10 * kMinute);
  At(kT0 + 10 * kMinute);
  EXPECT_EQ(ModesText(), "normal");
  EXPECT_EQ(actions_->ClearOverride({"shop", "search"}, "user:a").code(), Status::Code::kNotFound);
}

TEST_F(ActionsEngineTest, MaintenanceWindowSuppressesNotificationAndAction) {
  MaintenanceWindow w;
  w.service = "shop";
  w.reason = "planned";
  w.start_ms = kT0;
  w.duration = minutes(30);
  ASSERT_TRUE(actions_->ScheduleMaintenance(w, "user:ops").ok());
  Send(Firing(kGateway, kT0 + kMinute));
  EXPECT_EQ(ModesText(), "shop=maintenance(maintenance)");
  EXPECT_EQ(sink_.count(), 0u);
  EXPECT_TRUE(actions_->Incidents(true).empty());
  auto entries = actions_->audit().List(AuditQuery{.kind_prefix = "alert."});
  ASSERT_EQ(entries->size(), 1u);  // Still recorded.
  EXPECT_TRUE((*entries)[0].details["suppressed"].get<bool>());
}

TEST_F(ActionsEngineTest, DailyWindowEntersAndLeavesOnLocalTimeAcrossADstChange) {
  // Every day 04:00-05:00 Europe/Berlin, from Saturday 2026-10-24 (CEST,
  // UTC+2) over the change to CET (UTC+1) on Sunday 2026-10-25.
  const int64_t sat_0200z = 1'792'807'200'000;  // 2026-10-24T02:00:00Z = 04:00 CEST
  MaintenanceWindow w;
  w.service = "shop";
  w.reason = "nightly backup";
  w.start_ms = sat_0200z;
  w.duration = minutes(60);
  w.recurrence = Recurrence::kDaily;
  w.time_zone = "Europe/Berlin";
  clock_.SetMillis(sat_0200z - kMinute);
  ASSERT_TRUE(actions_->ScheduleMaintenance(w, "user:ops").ok());
  EXPECT_EQ(ModesText(), "normal");
  At(sat_0200z);
  EXPECT_EQ(ModesText(), "shop=maintenance(maintenance)");
  At(sat_0200z + 60 * kMinute);
  EXPECT_EQ(ModesText(), "normal");
  // Sunday 04:00 CET is 03:00Z: 25 hours after Saturday's start, not 24.
  const int64_t sun_0300z = sat_0200z + 25 * 60 * kMinute;
  At(sun_0300z - kMinute);
  EXPECT_EQ(ModesText(), "normal");
  At(sun_0300z);
  EXPECT_EQ(ModesText(), "shop=maintenance(maintenance)");
  EXPECT_EQ(actions_->Modes().modes.at(0).eta_ms, sun_0300z + 60 * kMinute);
  At(sun_0300z + 60 * kMinute);
  EXPECT_EQ(ModesText(), "normal");
  auto kinds = AuditKinds();
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "maintenance.started"), 2);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "maintenance.ended"), 2);
}

TEST_F(ActionsEngineTest, AlertStillFiringWhenTheWindowEndsIsActedOnThen) {
  MaintenanceWindow w;
  w.service = "shop";
  w.reason = "planned";
  w.start_ms = kT0;
  w.duration = minutes(30);
  ASSERT_TRUE(actions_->ScheduleMaintenance(w, "user:ops").ok());
  Send(Firing(kGateway, kT0 + kMinute));
  Reopen();  // The suppressed alert survives a restart too.
  At(kT0 + 30 * kMinute);
  EXPECT_EQ(ModesText(), "shop/payments=degraded(automatic)");
  EXPECT_EQ(actions_->Incidents(false).size(), 1u);
}

TEST_F(ActionsEngineTest, NoDataHoldKeepsTheModeUntilDataIsBack) {
  Labels up = {{"__name__", "gateway_up"}, {"service", "shop"}};
  rules::Alert a = Firing(kGateway, kT0);
  Send(a, "gateway_up == 0");
  // The alert resolves but gateway_up has no samples at all: vanished.
  clock_.SetMillis(kT0 + kMinute);
  Send(Resolved(a, kT0 + kMinute), "gateway_up == 0");
  At(kT0 + 10 * kMinute);
  EXPECT_EQ(ModesText(), "shop/payments=degraded(automatic)");
  auto r = store_->Append({Sample{up, kT0 + 10 * kMinute, 1}}, {});
  ASSERT_TRUE(r.ok());
  At(kT0 + 10 * kMinute + kSecond);  // Data back: recovery starts now.
  EXPECT_EQ(ModesText(), "shop/payments=degraded(automatic)");
  At(kT0 + 11 * kMinute + kSecond);
  EXPECT_EQ(ModesText(), "normal");
}

TEST_F(ActionsEngineTest, NoDataLiftRecoversAsUsual) {
  rules::Alert a = Firing({{"alertname", "OrdersDbDown"}, {"service", "shop"}}, kT0);
  Send(a, "pg_up == 0");
  clock_.SetMillis(kT0 + kMinute);
  Send(Resolved(a, kT0 + kMinute), "pg_up == 0");
  At(kT0 + kMinute + 30 * kSecond);
  EXPECT_EQ(ModesText(), "normal");
}

TEST_F(ActionsEngineTest, NoDataEscalateRaisesTheEscalationMode) {
  rules::Alert a = Firing({{"alertname", "Escalating"}, {"service", "shop"}}, kT0);
  Send(a, "thing_up == 0");
  EXPECT_EQ(ModesText(), "shop=degraded(automatic)");
  clock_.SetMillis(kT0 + kMinute);
  Send(Resolved(a, kT0 + kMinute), "thing_up == 0");
  EXPECT_EQ(ModesText(), "shop=maintenance(manual)");
  auto kinds = AuditKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "escalation"), kinds.end());
}

TEST_F(ActionsEngineTest, ResolutionWithDataPresentIsNotNoData) {
  Labels up = {{"__name__", "gateway_up"}, {"service", "shop"}};
  ASSERT_TRUE(store_->Append({Sample{up, kT0 + kMinute, 1}}, {}).ok());
  rules::Alert a = Firing(kGateway, kT0);
  Send(a, "gateway_up == 0");
  clock_.SetMillis(kT0 + kMinute);
  Send(Resolved(a, kT0 + kMinute), "gateway_up == 0");
  At(kT0 + 2 * kMinute);
  EXPECT_EQ(ModesText(), "normal");
}

TEST_F(ActionsEngineTest, RollsBackToTheNewestRestorePointOlderThanTheCurrentVersion) {
  for (int64_t t = kT0; t <= kT0 + 11 * kMinute; t += kMinute) {
    Version("v1", t);
    At(t);
  }
  ASSERT_EQ(actions_->Versions().at(0).restore_points.size(), 1u);
  int64_t t2 = kT0 + 12 * kMinute;
  Version("v2", t2);
  At(t2);
  EXPECT_EQ(actions_->Versions().at(0).current, "v2");
  Send(Firing({{"alertname", "HighErrorRate"}, {"service", "shop"}}, t2, "5% errors"));
  actions_->WaitEffectsIdle();
  ASSERT_EQ(runner_.specs.size(), 1u);
  EXPECT_EQ(runner_.specs[0].argv, std::vector<std::string>{"/usr/local/bin/deploy-shop"});
  EXPECT_EQ(runner_.specs[0].env.at("SERVICE"), "shop");
  EXPECT_EQ(runner_.specs[0].env.at("FROM_VERSION"), "v2");
  EXPECT_EQ(runner_.specs[0].env.at("TO_VERSION"), "v1");
  EXPECT_EQ(runner_.specs[0].env.at("REASON"), "5% errors");
  EXPECT_TRUE(runner_.specs[0].env.at("INCIDENT_ID").starts_with("INC-"));
  ServiceVersions v = actions_->Versions().at(0);
  EXPECT_TRUE(v.rolled_back_from.contains("v2"));
  // Within the cooldown a second rollback is refused.
  auto again = actions_->Rollback({"shop", "", false, "again", ""}, "user:ops");
  EXPECT_EQ(again.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("cooldown"), std::string::npos);
}

TEST_F(ActionsEngineTest, NeverRollsBackToAVersionAlreadyRolledBackFrom) {
  int64_t t = kT0;
  auto run = [&](const std::string& v, int minutes_healthy) {
    for (int i = 0; i <= minutes_healthy; ++i, t += kMinute) {
      Version(v, t);
      At(t);
    }
  };
  run("v1", 11);
  run("v2", 11);  // v2 became a restore point too.
  run("v3", 1);
  auto first = actions_->Rollback({"shop", "", false, "bad v3", ""}, "user:ops");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->to_version, "v2");
  actions_->WaitEffectsIdle();
  clock_.SetMillis(t + 31 * kMinute);  // After the cooldown, v2 turns out bad too.
  t += 31 * kMinute;
  run("v2", 1);
  auto second = actions_->Rollback({"shop", "", false, "bad v2", ""}, "user:ops");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->from_version, "v2");
  EXPECT_EQ(second->to_version, "v1");
  actions_->WaitEffectsIdle();
  auto to_v3 = actions_->Rollback({"shop", "v3", false, "", ""}, "user:ops");
  EXPECT_FALSE(to_v3.ok());
}

TEST_F(ActionsEngineTest, DryRunDecidesButRunsNothing) {
  for (int64_t t = kT0; t <= kT0 + 11 * kMinute; t += kMinute) {
    Version("v1", t);
    At(t);
  }
  Version("v2", kT0 + 12 * kMinute);
  At(kT0 + 12 * kMinute);
  auto d = actions_->Rollback({"shop", "", true, "try", ""}, "user:ops");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->dry_run);
  EXPECT_FALSE(d->started);
  EXPECT_EQ(d->to_version, "v1");
  actions_->WaitEffectsIdle();
  EXPECT_TRUE(runner_.specs.empty());
  // A dry run does not start the cooldown.
  EXPECT_TRUE(actions_->Rollback({"shop", "", false, "now", ""}, "user:ops").ok());
}

TEST_F(ActionsEngineTest, FailedRollbackEscalatesToTheConfiguredMode) {
  for (int64_t t = kT0; t <= kT0 + 11 * kMinute; t += kMinute) {
    Version("v1", t);
    At(t);
  }
  Version("v2", kT0 + 12 * kMinute);
  At(kT0 + 12 * kMinute);
  runner_.exit_code = 3;
  ASSERT_TRUE(actions_->Rollback({"shop", "", false, "bad", ""}, "user:ops").ok());
  actions_->WaitEffectsIdle();
  EXPECT_EQ(ModesText(), "shop=maintenance(manual)");
  auto kinds = AuditKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "rollback.failed"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "escalation"), kinds.end());
  EXPECT_FALSE(actions_->Versions().at(0).rolled_back_from.contains("v2"));
}

TEST_F(ActionsEngineTest, NoRestorePointRefusesTheRollback) {
  Version("v1", kT0);
  At(kT0);
  auto d = actions_->Rollback({"shop", "", false, "", ""}, "user:ops");
  EXPECT_EQ(d.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(d.status().message().find("no restore point"), std::string::npos);
}

TEST_F(ActionsEngineTest, StateSurvivesARestart) {
  Send(Firing(kGateway, kT0, "gateway down"));
  ASSERT_TRUE(actions_->SetOverride({{"blog", ""}, Mode::kReadOnly, "migration", {}}, "user:a").ok());
  std::string before = ModesText();
  Reopen();
  EXPECT_EQ(ModesText(), before);
  // The restored breaker still recovers.
  clock_.SetMillis(kT0 + kMinute);
  Send(Resolved(Firing(kGateway, kT0), kT0 + kMinute));
  At(kT0 + 2 * kMinute);
  EXPECT_EQ(ModesText(), "blog=read_only(manual)");
  auto verified = actions_->audit().Verify();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->problem;
}

TEST_F(ActionsEngineTest, TwoEnginesGivenTheSameAlertsReachTheSameState) {
  auto scenario = [&](ActionsEngine& e) {
    rules::Alert a = Firing(kGateway, kT0, "down");
    e.Send("up == 0", {a});
    e.Send("up == 0", {a});  // A resend.
    e.Send("up == 0", {Firing({{"alertname", "OrdersDbDown"}, {"service", "shop"}}, kT0 + 5)});
  };
  clock_.SetMillis(kT0);
  scenario(*actions_);
  ModesSnapshot first = actions_->Modes();
  std::string first_incident = actions_->Incidents(false).at(0).id;
  Reopen("actions-b");  // A second collector with its own database.
  clock_.SetMillis(kT0 + 3 * kSecond);  // ...and a slightly different clock.
  scenario(*actions_);
  ModesSnapshot second = actions_->Modes();
  EXPECT_EQ(first.modes, second.modes);
  EXPECT_EQ(actions_->Incidents(false).at(0).id, first_incident);
}

TEST_F(ActionsEngineTest, WebhookActionPostsTheAlertAndIncident) {
  testing::FakeReceiver receiver;
  auto config = ParseActionsConfig(R"(
webhooks:
  - name: ops
    url: )" + receiver.Url() + R"(
routes:
  - matchers: ['service="shop"']
    actions:
      - mode: degraded
      - webhook: ops
)",
                                   "actions.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_TRUE(actions_->Reload(*config).ok());
  Send(Firing(kGateway, kT0, "down"));
  ASSERT_TRUE(receiver.WaitForRequests(1));
  auto body = nlohmann::json::parse(receiver.Requests()[0].body);
  EXPECT_EQ(body["event"], "alert.firing");
  EXPECT_EQ(body["alert"]["labels"]["alertname"], "PaymentGatewayDown");
  EXPECT_TRUE(body["incident_id"].template get<std::string>().starts_with("INC-"));
  EXPECT_EQ(body["modes"].size(), 1u);
}

TEST_F(ActionsEngineTest, UnauthorizedRequestsAreAudited) {
  actions_->RecordUnauthorized("POST", "/api/v1/modes", "127.0.0.1");
  auto entries = actions_->audit().List(AuditQuery{.kind_prefix = "auth."});
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].actor, "api:127.0.0.1");
}

}  // namespace
}  // namespace vitals::actions
