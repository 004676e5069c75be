// The Alertmanager notifier against a real Alertmanager (Debian's
// /usr/bin/prometheus-alertmanager, 0.25) on free loopback ports with
// clustering off: alerts arrive with their labels and annotations, resolve,
// and are retried until an Alertmanager that was down comes up.

#include "rules/alertmanager.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;
using rules::Alert;
using rules::AlertmanagerNotifier;
using rules::AlertmanagerNotifierOptions;
using rules::AlertState;

constexpr char kAlertmanager[] = "/usr/bin/prometheus-alertmanager";
constexpr auto kDeadline = 30s;
constexpr char kExpr[] = "node_load1 > 4";

// Everything goes to a receiver that notifies no one.
constexpr char kConfig[] =
    "route:\n"
    "  receiver: blackhole\n"
    "receivers:\n"
    "  - name: blackhole\n";

class AlertmanagerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kAlertmanager, X_OK) != 0) {
      GTEST_SKIP() << kAlertmanager << " is not installed (scripts/setup installs it)";
    }
    port_ = FreeTcpPort();
    WriteFile(dir_.File("alertmanager.yml"), kConfig);
  }

  void TearDown() override {
    if (HasFailure() && alertmanager_ != nullptr) std::cerr << alertmanager_->Output();
    notifier_.reset();
    alertmanager_.reset();  // SIGKILLs it.
  }

  void StartAlertmanager() {
    std::string error;
    alertmanager_ = Process::Start({kAlertmanager, "--config.file=" + dir_.File("alertmanager.yml"),
                                    "--storage.path=" + dir_.File("data"),
                                    "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                    "--cluster.listen-address=", "--log.level=debug"},
                                   dir_.File("alertmanager"), &error);
    ASSERT_NE(alertmanager_, nullptr) << error;
    ASSERT_TRUE(
        WaitFor([&] { return HttpGet("127.0.0.1", port_, "/-/ready").status == 200; }, kDeadline))
        << alertmanager_->Output();
  }

  void CreateNotifier(int max_retries) {
    AlertmanagerNotifierOptions options;
    options.alertmanagers.resize(1);
    options.alertmanagers[0].url = Url();
    options.alertmanagers[0].timeout = 5s;
    options.external_labels = {{"collector", "test"}};
    options.external_url = "http://vitals.example:9740";
    options.max_retries = max_retries;
    options.min_backoff = 50ms;
    options.max_backoff = 200ms;
    auto notifier = AlertmanagerNotifier::Create(options, registry_);
    ASSERT_TRUE(notifier.ok()) << notifier.status().ToString();
    notifier_ = std::move(notifier).value();
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The alert named `name` as GET /api/v2/alerts lists it (active ones only).
  std::optional<nlohmann::json> ListedAlert(const std::string& name) const {
    HttpResponse r = HttpGet("127.0.0.1", port_, "/api/v2/alerts");
    if (r.status != 200) return std::nullopt;
    auto alerts = nlohmann::json::parse(r.body, nullptr, false);
    if (!alerts.is_array()) return std::nullopt;
    for (const auto& a : alerts) {
      if (a["labels"].value("alertname", "") == name) return a;
    }
    return std::nullopt;
  }

  double Counter(const std::string& name, bool per_alertmanager) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        if (per_alertmanager != !m.label.empty()) continue;
        return m.counter.value;
      }
    }
    return -1;
  }

  static Alert MakeAlert(const std::string& name, int64_t now_ms) {
    Alert a;
    a.labels = {{"alertname", name}, {"instance", "web-1"}, {"severity", "page"}};
    a.annotations = {{"summary", "load is high on web-1"}};
    a.state = AlertState::kFiring;
    a.active_at_ms = now_ms - 120'000;
    a.fired_at_ms = now_ms - 60'000;
    a.valid_until_ms = now_ms + 300'000;
    return a;
  }

  TempDir dir_;
  int port_ = 0;
  prometheus::Registry registry_;
  std::unique_ptr<Process> alertmanager_;
  std::unique_ptr<AlertmanagerNotifier> notifier_;
};

TEST_F(AlertmanagerIntegrationTest, FiringAlertArrivesAndThenResolves) {
  StartAlertmanager();
  CreateNotifier(/*max_retries=*/3);
  const int64_t now = NowUnixMs();
  Alert alert = MakeAlert("HighLoad", now);
  notifier_->Send(kExpr, {alert});

  std::optional<nlohmann::json> listed;
  ASSERT_TRUE(WaitFor([&] { return (listed = ListedAlert("HighLoad")).has_value(); }, kDeadline));
  EXPECT_EQ((*listed)["labels"], nlohmann::json({{"alertname", "HighLoad"},
                                                 {"collector", "test"},
                                                 {"instance", "web-1"},
                                                 {"severity", "page"}}));
  EXPECT_EQ((*listed)["annotations"], nlohmann::json({{"summary", "load is high on web-1"}}));
  EXPECT_EQ((*listed)["startsAt"], rules::FormatAlertmanagerTime(alert.fired_at_ms));
  EXPECT_EQ((*listed)["endsAt"], rules::FormatAlertmanagerTime(alert.valid_until_ms));
  EXPECT_EQ((*listed)["generatorURL"],
            "http://vitals.example:9740/graph?g0.expr=node_load1+%3E+4&g0.tab=1");
  EXPECT_EQ((*listed)["status"]["state"], "active");

  alert.state = AlertState::kInactive;
  alert.resolved_at_ms = NowUnixMs() - 1;
  notifier_->Send(kExpr, {alert});
  EXPECT_TRUE(WaitFor([&] { return !ListedAlert("HighLoad").has_value(); }, kDeadline))
      << "the resolved alert is still listed as active";
  // Alertmanager may answer the GET before the sender has counted the POST.
  EXPECT_TRUE(WaitFor([&] { return Counter("vitals_notifications_sent_total", true) == 2; }, 5s));
  EXPECT_EQ(Counter("vitals_notifications_dropped_total", false), 0);
}

TEST_F(AlertmanagerIntegrationTest, RetriesUntilAlertmanagerComesUp) {
  CreateNotifier(/*max_retries=*/200);  // 200 x 200ms: far more than start-up takes.
  notifier_->Send(kExpr, {MakeAlert("EarlyBird", NowUnixMs())});
  // Nothing listens yet: POSTs fail and are retried.
  ASSERT_TRUE(
      WaitFor([&] { return Counter("vitals_notifications_errors_total", true) >= 2; }, kDeadline));

  StartAlertmanager();
  std::optional<nlohmann::json> listed;
  ASSERT_TRUE(WaitFor([&] { return (listed = ListedAlert("EarlyBird")).has_value(); }, kDeadline));
  EXPECT_EQ((*listed)["annotations"]["summary"], "load is high on web-1");
  EXPECT_TRUE(WaitFor([&] { return Counter("vitals_notifications_sent_total", true) == 1; }, 5s));
  EXPECT_EQ(Counter("vitals_notifications_dropped_total", false), 0);
}

}  // namespace
}  // namespace vitals::testing
