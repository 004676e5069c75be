#include "rules/alertmanager.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/version.h"
#include "tests/support/temp_dir.h"

namespace vitals::rules {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 2023-02-01T10:00:00.123Z
constexpr int64_t kT0 = 1'675'245'600'123;

// Polls `cond` every 5ms until it holds (true) or `deadline` passes (false).
bool Eventually(const std::function<bool()>& cond, milliseconds deadline = seconds(10)) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// A stand-in Alertmanager on a port-0 socket: records every POST to
// /<prefix>/api/v2/alerts and answers with the scripted statuses (then 200).
// hang() makes it hold requests until release().
class FakeAlertmanager {
 public:
  struct Request {
    std::string path;
    std::string body;
    std::string content_type;
    std::string user_agent;
    std::string authorization;
  };

  explicit FakeAlertmanager(std::string prefix = "") : prefix_(std::move(prefix)) {
    server_.Post(prefix_ + "/api/v2/alerts",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   std::unique_lock lock(mu_);
                   requests_.push_back({req.path, req.body, req.get_header_value("Content-Type"),
                                        req.get_header_value("User-Agent"),
                                        req.get_header_value("Authorization")});
                   cv_.notify_all();
                   cv_.wait(lock, [this] { return !hang_ || closing_; });
                   int status = 200;
                   if (!statuses_.empty()) {
                     status = statuses_.front();
                     statuses_.pop_front();
                   }
                   res.status = status;
                   if (status / 100 != 2) res.set_content("scripted failure", "text/plain");
                 });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    Eventually([this] { return server_.is_running(); });
  }

  ~FakeAlertmanager() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + prefix_; }
  std::string PostUrl() const { return Url() + "/api/v2/alerts"; }

  // The next POSTs are answered with these statuses, in order.
  void Script(std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    statuses_.assign(statuses.begin(), statuses.end());
  }
  void Hang() {
    std::lock_guard lock(mu_);
    hang_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      hang_ = false;
    }
    cv_.notify_all();
  }

  std::vector<Request> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Waits until `n` requests have arrived.
  bool WaitForRequests(size_t n, milliseconds deadline = seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return requests_.size() >= n; });
  }

 private:
  const std::string prefix_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;  // GUARDED_BY(mu_)
  std::deque<int> statuses_;       // GUARDED_BY(mu_)
  bool hang_ = false;              // GUARDED_BY(mu_)
  bool closing_ = false;           // GUARDED_BY(mu_)
};

AlertmanagerEndpoint Endpoint(std::string url) {
  AlertmanagerEndpoint endpoint;
  endpoint.url = std::move(url);
  endpoint.timeout = seconds(5);
  return endpoint;
}

Alert FiringAlert(std::string name, int64_t fired_at_ms = kT0) {
  Alert a;
  a.labels = {{"alertname", std::move(name)}, {"severity", "page"}};
  a.annotations = {{"summary", "it broke"}};
  a.state = AlertState::kFiring;
  a.active_at_ms = fired_at_ms - 60'000;
  a.fired_at_ms = fired_at_ms;
  a.valid_until_ms = fired_at_ms + 240'000;
  return a;
}

std::vector<Alert> FiringAlerts(int n, std::string prefix = "A") {
  std::vector<Alert> out;
  for (int i = 0; i < n; ++i) out.push_back(FiringAlert(prefix + std::to_string(i)));
  return out;
}

// The value of the counter, gauge or summary count `name` whose labels
// include alertmanager=`am` (or that has no labels when `am` is ""); -1 if
// absent.
double MetricValue(prometheus::Registry& registry, const std::string& name,
                   const std::string& am = "") {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& m : family.metric) {
      bool match = am.empty() ? m.label.empty() : (m.label.size() == 1 && m.label[0].value == am);
      if (!match) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return m.counter.value;
        case prometheus::MetricType::Gauge:
          return m.gauge.value;
        case prometheus::MetricType::Summary:
          return static_cast<double>(m.summary.sample_count);
        default:
          return -1;
      }
    }
  }
  return -1;
}

// The labels' alertname values of the alerts in a POSTed body, in order.
std::vector<std::string> AlertNames(const std::string& body) {
  std::vector<std::string> names;
  const std::string key = "\"alertname\":\"";
  for (size_t pos = body.find(key); pos != std::string::npos; pos = body.find(key, pos)) {
    pos += key.size();
    names.push_back(body.substr(pos, body.find('"', pos) - pos));
  }
  return names;
}

class AlertmanagerNotifierTest : public ::testing::Test {
 protected:
  AlertmanagerNotifierOptions Options(const std::vector<const FakeAlertmanager*>& ams) {
    AlertmanagerNotifierOptions options;
    for (const FakeAlertmanager* am : ams) {
      options.alertmanagers.push_back(Endpoint(am->Url()));
    }
    options.external_url = "http://vitals:9740";
    options.min_backoff = milliseconds(1);
    options.max_backoff = milliseconds(4);
    return options;
  }

  std::unique_ptr<AlertmanagerNotifier> Create(const AlertmanagerNotifierOptions& options) {
    auto notifier = AlertmanagerNotifier::Create(options, registry_);
    EXPECT_TRUE(notifier.ok()) << notifier.status().ToString();
    return notifier.ok() ? std::move(notifier).value() : nullptr;
  }

  double Metric(const std::string& name, const std::string& am = "") {
    return MetricValue(registry_, name, am);
  }

  // A file in a fresh temporary directory, removed with the fixture.
  std::string TempFile(const std::string& name, const std::string& contents) {
    return dir_.WriteFile(name, contents);
  }

  prometheus::Registry registry_;
  testing::TempDir dir_;
};

// --- The payload ----------------------------------------------------------

TEST(AlertmanagerPayloadTest, FormatsTimesAsStrfmtDateTimeInUtc) {
  EXPECT_EQ(FormatAlertmanagerTime(kT0), "2023-02-01T10:00:00.123Z");
  EXPECT_EQ(FormatAlertmanagerTime(1'675'245'600'000), "2023-02-01T10:00:00.000Z");
  EXPECT_EQ(FormatAlertmanagerTime(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatAlertmanagerTime(0), "0001-01-01T00:00:00.000Z");  // Go's zero time.
}

TEST(AlertmanagerPayloadTest, GeneratorUrlIsTableLinkForExpression) {
  EXPECT_EQ(TableLinkForExpression("up == 0"), "/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
  EXPECT_EQ(TableLinkForExpression(R"(rate(http_requests_total{job="api",code=~"5.."}[5m]) > 0.1)"),
            "/graph?g0.expr=rate%28http_requests_total%7Bjob%3D%22api%22%2Ccode%3D~%225..%22%7D"
            "%5B5m%5D%29+%3E+0.1&g0.tab=1");
  EXPECT_EQ(QueryEscape("a-b_c.d~e/f?g&h+i%é"), "a-b_c.d~e%2Ff%3Fg%26h%2Bi%25%C3%A9");
}

TEST(AlertmanagerPayloadTest, FiringAlertEndsAtValidUntil) {
  NotifierAlert a = ToNotifierAlert(FiringAlert("Down"), "up == 0", {}, "http://vitals:9740");
  EXPECT_EQ(a.starts_at_ms, kT0);
  EXPECT_EQ(a.ends_at_ms, kT0 + 240'000);
  EXPECT_EQ(a.generator_url, "http://vitals:9740/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
}

TEST(AlertmanagerPayloadTest, ResolvedAlertEndsAtResolvedAt) {
  Alert alert = FiringAlert("Down");
  alert.state = AlertState::kInactive;
  alert.resolved_at_ms = kT0 + 30'000;
  NotifierAlert a = ToNotifierAlert(alert, "up == 0", {}, "");
  EXPECT_EQ(a.ends_at_ms, kT0 + 30'000);
  EXPECT_EQ(a.generator_url, "/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
}

TEST(AlertmanagerPayloadTest, AddsExternalLabelsOnlyWhereAbsent) {
  Alert alert = FiringAlert("Down");
  const Labels external = {{"dc", "eu1"}, {"severity", "ignored"}};
  NotifierAlert once = ToNotifierAlert(alert, "up", external, "");
  EXPECT_EQ(once.labels, (Labels{{"alertname", "Down"}, {"dc", "eu1"}, {"severity", "page"}}));
  // The rule manager may have added them already: nothing changes.
  alert.labels = once.labels;
  EXPECT_EQ(ToNotifierAlert(alert, "up", external, "").labels, once.labels);
}

TEST(AlertmanagerPayloadTest, EncodesAsPrometheusPostsToApiV2) {
  NotifierAlert firing;
  firing.labels = {{"alertname", "HighLatency"}, {"job", "a<b>&c"}};
  firing.annotations = {{"description", "line1\nline2 \"q\""}, {"summary", "é\x01"}};
  firing.starts_at_ms = kT0;
  firing.ends_at_ms = kT0 + 240'000;
  firing.generator_url = "http://vitals:9740/graph?g0.expr=up&g0.tab=1";
  NotifierAlert bare;  // No annotations, no generator URL: both omitted.
  bare.labels = {{"alertname", "NoAnnotations"}};
  bare.starts_at_ms = kT0;
  bare.ends_at_ms = kT0 + 1;
  EXPECT_EQ(EncodeAlertsV2({firing, bare}),
            R"([{"annotations":{"description":"line1\nline2 \"q\"","summary":"é\u0001"},)"
            R"("endsAt":"2023-02-01T10:04:00.123Z","startsAt":"2023-02-01T10:00:00.123Z",)"
            R"("generatorURL":"http://vitals:9740/graph?g0.expr=up\u0026g0.tab=1",)"
            R"("labels":{"alertname":"HighLatency","job":"a\u003cb\u003e\u0026c"}},)"
            R"({"endsAt":"2023-02-01T10:00:00.124Z","startsAt":"2023-02-01T10:00:00.123Z",)"
            R"("labels":{"alertname":"NoAnnotations"}}])");
  EXPECT_EQ(EncodeAlertsV2({}), "[]");
}

TEST(AlertmanagerPayloadTest, PostUrlJoinsPrefixLikePathJoin) {
  EXPECT_EQ(*AlertsPostUrl("http://am:9093"), "http://am:9093/api/v2/alerts");
  EXPECT_EQ(*AlertsPostUrl("http://am:9093/"), "http://am:9093/api/v2/alerts");
  EXPECT_EQ(*AlertsPostUrl("https://am.example.com/prefix/"),
            "https://am.example.com/prefix/api/v2/alerts");
  EXPECT_EQ(*AlertsPostUrl("http://[::1]:9093//a/./b/../c"), "http://[::1]:9093/a/c/api/v2/alerts");
  for (const char* bad : {"am:9093", "ftp://am", "http://", "http://am/?x=1", "http://u:p@am"}) {
    EXPECT_EQ(AlertsPostUrl(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

// --- Options ---------------------------------------------------------------

TEST_F(AlertmanagerNotifierTest, CreateRejectsInvalidOptions) {
  auto invalid = [&](AlertmanagerNotifierOptions o) {
    return AlertmanagerNotifier::Create(o, registry_).status().code() ==
           Status::Code::kInvalidArgument;
  };
  AlertmanagerNotifierOptions o;
  o.alertmanagers = {Endpoint("http://127.0.0.1:1")};
  AlertmanagerNotifierOptions bad = o;
  bad.alertmanagers[0].url = "127.0.0.1:9093";
  EXPECT_TRUE(invalid(bad));
  bad = o;
  bad.queue_capacity = 0;
  EXPECT_TRUE(invalid(bad));
  bad = o;
  bad.max_batch_size = 0;
  EXPECT_TRUE(invalid(bad));
  bad = o;
  bad.max_retries = -1;
  EXPECT_TRUE(invalid(bad));
  bad = o;
  bad.alertmanagers[0].timeout = milliseconds(0);
  EXPECT_TRUE(invalid(bad));
  bad = o;
  bad.alertmanagers[0].bearer_token_file = "/nonexistent/token";
  EXPECT_TRUE(invalid(bad));
  bad = o;
  bad.alertmanagers[0].bearer_token_file = TempFile("token", "t");
  bad.alertmanagers[0].basic_auth_username = "user";
  EXPECT_TRUE(invalid(bad));
}

// --- Sending ---------------------------------------------------------------

TEST_F(AlertmanagerNotifierTest, PostsPayloadToApiV2AlertsOfEveryAlertmanager) {
  FakeAlertmanager am1;
  FakeAlertmanager am2("/prefix");
  auto notifier = Create(Options({&am1, &am2}));
  notifier->Send("up == 0", {FiringAlert("Down")});
  ASSERT_TRUE(am1.WaitForRequests(1));
  ASSERT_TRUE(am2.WaitForRequests(1));
  const std::string expected =
      R"([{"annotations":{"summary":"it broke"},"endsAt":"2023-02-01T10:04:00.123Z",)"
      R"("startsAt":"2023-02-01T10:00:00.123Z",)"
      R"("generatorURL":"http://vitals:9740/graph?g0.expr=up+%3D%3D+0\u0026g0.tab=1",)"
      R"("labels":{"alertname":"Down","severity":"page"}}])";
  for (const FakeAlertmanager* am : {&am1, &am2}) {
    auto requests = am->Requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].body, expected);
    EXPECT_EQ(requests[0].content_type, "application/json");
    EXPECT_EQ(requests[0].user_agent, std::string("Vitals/") + kVersion);
    EXPECT_TRUE(
        Eventually([&] { return Metric("vitals_notifications_sent_total", am->PostUrl()) == 1; }));
  }
  EXPECT_EQ(am2.Requests()[0].path, "/prefix/api/v2/alerts");
  EXPECT_EQ(Metric("vitals_notifications_alertmanagers_discovered"), 2);
  EXPECT_EQ(Metric("vitals_notifications_queue_capacity"), 10000);
}

TEST_F(AlertmanagerNotifierTest, SplitsQueueIntoBatchesOfMaxBatchSize) {
  FakeAlertmanager am;
  AlertmanagerNotifierOptions options = Options({&am});
  options.max_batch_size = 2;
  auto notifier = Create(options);
  notifier->Send("up == 0", FiringAlerts(5));
  ASSERT_TRUE(am.WaitForRequests(3));
  auto requests = am.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(AlertNames(requests[0].body), (std::vector<std::string>{"A0", "A1"}));
  EXPECT_EQ(AlertNames(requests[1].body), (std::vector<std::string>{"A2", "A3"}));
  EXPECT_EQ(AlertNames(requests[2].body), (std::vector<std::string>{"A4"}));
  EXPECT_TRUE(
      Eventually([&] { return Metric("vitals_notifications_sent_total", am.PostUrl()) == 5; }));
  EXPECT_EQ(Metric("vitals_notifications_latency_seconds", am.PostUrl()), 3);
}

TEST_F(AlertmanagerNotifierTest, RetriesBatchAfterServerErrors) {
  FakeAlertmanager am;
  am.Script({500, 503});
  auto notifier = Create(Options({&am}));
  notifier->Send("up == 0", FiringAlerts(2));
  ASSERT_TRUE(am.WaitForRequests(3));
  auto requests = am.Requests();
  EXPECT_EQ(requests[2].body, requests[0].body);
  EXPECT_TRUE(
      Eventually([&] { return Metric("vitals_notifications_sent_total", am.PostUrl()) == 2; }));
  EXPECT_EQ(Metric("vitals_notifications_errors_total", am.PostUrl()), 4);  // 2 alerts x 2 POSTs.
  EXPECT_EQ(Metric("vitals_notifications_dropped_total"), 0);
}

TEST_F(AlertmanagerNotifierTest, DropsBatchWhenRetriesRunOut) {
  FakeAlertmanager am;
  am.Script({500, 500, 500, 500});
  AlertmanagerNotifierOptions options = Options({&am});
  options.max_retries = 2;
  auto notifier = Create(options);
  notifier->Send("up == 0", FiringAlerts(2));
  EXPECT_TRUE(Eventually([&] { return Metric("vitals_notifications_dropped_total") == 2; }));
  EXPECT_EQ(am.Requests().size(), 3u);
  EXPECT_EQ(Metric("vitals_notifications_errors_total", am.PostUrl()), 6);
  EXPECT_EQ(Metric("vitals_notifications_sent_total", am.PostUrl()), 0);
}

TEST_F(AlertmanagerNotifierTest, DoesNotRetryClientErrors) {
  FakeAlertmanager am;
  am.Script({400});
  auto notifier = Create(Options({&am}));
  notifier->Send("up == 0", FiringAlerts(1));
  EXPECT_TRUE(Eventually([&] { return Metric("vitals_notifications_dropped_total") == 1; }));
  notifier->Send("up == 0", FiringAlerts(1, "B"));
  ASSERT_TRUE(am.WaitForRequests(2));
  EXPECT_EQ(AlertNames(am.Requests()[1].body), (std::vector<std::string>{"B0"}));
}

TEST_F(AlertmanagerNotifierTest, RetriesWhileAlertmanagerIsUnreachable) {
  int port;
  {
    FakeAlertmanager gone;  // Its port is free again once it is destroyed.
    port = std::stoi(gone.Url().substr(gone.Url().rfind(':') + 1));
  }
  AlertmanagerNotifierOptions options;
  options.alertmanagers = {Endpoint("http://127.0.0.1:" + std::to_string(port))};
  options.max_retries = 2;
  options.min_backoff = milliseconds(1);
  auto notifier = Create(options);
  notifier->Send("up == 0", FiringAlerts(1));
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/api/v2/alerts";
  EXPECT_TRUE(Eventually([&] { return Metric("vitals_notifications_dropped_total") == 1; }));
  EXPECT_EQ(Metric("vitals_notifications_errors_total", url), 3);
}

TEST_F(AlertmanagerNotifierTest, BatchCountsAsSentWhenAnyAlertmanagerTakesIt) {
  FakeAlertmanager good;
  FakeAlertmanager bad;
  bad.Script({500});
  AlertmanagerNotifierOptions options = Options({&good, &bad});
  options.max_retries = 0;
  auto notifier = Create(options);
  notifier->Send("up == 0", FiringAlerts(3));
  EXPECT_TRUE(
      Eventually([&] { return Metric("vitals_notifications_errors_total", bad.PostUrl()) == 3; }));
  EXPECT_TRUE(
      Eventually([&] { return Metric("vitals_notifications_sent_total", good.PostUrl()) == 3; }));
  EXPECT_EQ(Metric("vitals_notifications_dropped_total"), 0);
}

TEST_F(AlertmanagerNotifierTest, DropsOldestAlertsWhenQueueOverflows) {
  FakeAlertmanager am;
  am.Hang();
  AlertmanagerNotifierOptions options = Options({&am});
  options.queue_capacity = 3;
  auto notifier = Create(options);
  notifier->Send("up", FiringAlerts(1, "InFlight"));
  ASSERT_TRUE(am.WaitForRequests(1));  // The sender is now stuck in that POST.
  for (const char* name : {"Q1", "Q2", "Q3", "Q4", "Q5"}) notifier->Send("up", {FiringAlert(name)});
  EXPECT_EQ(notifier->QueueLength(), 3u);
  EXPECT_EQ(Metric("vitals_notifications_queue_length"), 3);
  EXPECT_EQ(Metric("vitals_notifications_dropped_total"), 2);
  am.Release();
  ASSERT_TRUE(am.WaitForRequests(2));
  EXPECT_EQ(AlertNames(am.Requests()[1].body), (std::vector<std::string>{"Q3", "Q4", "Q5"}));
}

TEST_F(AlertmanagerNotifierTest, KeepsNewestWhenOneSendExceedsCapacity) {
  FakeAlertmanager am;
  am.Hang();
  AlertmanagerNotifierOptions options = Options({&am});
  options.queue_capacity = 2;
  auto notifier = Create(options);
  notifier->Send("up", FiringAlerts(1, "InFlight"));
  ASSERT_TRUE(am.WaitForRequests(1));
  notifier->Send("up", FiringAlerts(5));
  EXPECT_EQ(Metric("vitals_notifications_dropped_total"), 3);
  am.Release();
  ASSERT_TRUE(am.WaitForRequests(2));
  EXPECT_EQ(AlertNames(am.Requests()[1].body), (std::vector<std::string>{"A3", "A4"}));
}

TEST_F(AlertmanagerNotifierTest, SendsBearerTokenReadFromFile) {
  FakeAlertmanager am;
  AlertmanagerNotifierOptions options = Options({&am});
  options.alertmanagers[0].bearer_token_file = TempFile("token", "s3cret\n");
  auto notifier = Create(options);
  notifier->Send("up", FiringAlerts(1));
  ASSERT_TRUE(am.WaitForRequests(1));
  EXPECT_EQ(am.Requests()[0].authorization, "Bearer s3cret");
}

TEST_F(AlertmanagerNotifierTest, SendsBasicAuthWithPasswordFromFile) {
  FakeAlertmanager am;
  AlertmanagerNotifierOptions options = Options({&am});
  options.alertmanagers[0].basic_auth_username = "vitals";
  options.alertmanagers[0].basic_auth_password_file = TempFile("password", "pw\n");
  auto notifier = Create(options);
  notifier->Send("up", FiringAlerts(1));
  ASSERT_TRUE(am.WaitForRequests(1));
  EXPECT_EQ(am.Requests()[0].authorization, "Basic dml0YWxzOnB3");  // base64("vitals:pw")
}

// --- Stopping --------------------------------------------------------------

TEST_F(AlertmanagerNotifierTest, StopDrainsQueueWithinDeadline) {
  FakeAlertmanager am;
  am.Hang();
  AlertmanagerNotifierOptions options = Options({&am});
  options.max_batch_size = 1;
  auto notifier = Create(options);
  notifier->Send("up", FiringAlerts(3));
  ASSERT_TRUE(am.WaitForRequests(1));
  am.Release();
  notifier->Stop(seconds(10));
  EXPECT_EQ(am.Requests().size(), 3u);
  EXPECT_EQ(Metric("vitals_notifications_sent_total", am.PostUrl()), 3);
  EXPECT_EQ(Metric("vitals_notifications_dropped_total"), 0);
}

TEST_F(AlertmanagerNotifierTest, StopAbortsAtDeadlineAndCountsTheRestAsDropped) {
  FakeAlertmanager am;
  am.Hang();
  AlertmanagerNotifierOptions options = Options({&am});
  options.max_batch_size = 1;
  auto notifier = Create(options);
  notifier->Send("up", FiringAlerts(3));
  ASSERT_TRUE(am.WaitForRequests(1));
  const auto begin = std::chrono::steady_clock::now();
  notifier->Stop(milliseconds(50));
  // curl checks for the abort about once a second while the server is silent.
  EXPECT_LT(std::chrono::steady_clock::now() - begin, seconds(4));
  EXPECT_EQ(Metric("vitals_notifications_dropped_total"), 3);
  EXPECT_EQ(Metric("vitals_notifications_queue_length"), 0);
  notifier->Send("up", FiringAlerts(1));  // After Stop: dropped, not queued.
  EXPECT_EQ(Metric("vitals_notifications_dropped_total"), 4);
  EXPECT_EQ(notifier->QueueLength(), 0u);
}

}  // namespace
}  // namespace vitals::rules
