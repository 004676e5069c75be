// The demo's shop and payment gateway (deploy/demo) as processes, with a real
// PostgreSQL: the order flow, and how each mode the agent writes to the mode
// file changes what the shop does.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/agent/checks/support/db_servers.h"
#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr auto kReadyDeadline = 15s;

struct Reply {
  int status = 0;  // 0 when no answer arrived.
  std::string body;
  httplib::Headers headers;

  Json JsonBody() const { return Json::parse(body, nullptr, false); }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

Reply Request(int port, const std::string& method, const std::string& path,
              const std::string& body = "") {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2s);
  client.set_read_timeout(10s);
  httplib::Result res =
      method == "POST" ? client.Post(path, body, "application/json") : client.Get(path);
  if (!res) return Reply{0, "transport error: " + httplib::to_string(res.error()), {}};
  return Reply{res->status, res->body, res->headers};
}

std::string FormatRfc3339(int64_t unix_ms) {
  const std::time_t seconds = unix_ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buffer;
}

class DemoAppsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(postgres_.Start(&error)) << error;
    gateway_port_ = FreeTcpPort();
    gateway_ = Process::Start(
        {VITALS_DEMO_GATEWAY_BIN, "--listen", "127.0.0.1:" + std::to_string(gateway_port_)},
        dir_.File("gateway"), &error);
    ASSERT_NE(gateway_, nullptr) << error;
    ASSERT_TRUE(WaitFor([&] { return Request(gateway_port_, "GET", "/health").status == 200; },
                        kReadyDeadline))
        << gateway_->Output();
  }

  // Starts the shop; `extra` flags are appended. Returns once /healthz answers.
  void StartShop(const std::vector<std::string>& extra = {}) {
    shop_port_ = FreeTcpPort();
    std::vector<std::string> argv = {VITALS_DEMO_SHOP_BIN,
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(shop_port_),
                                     "--mode-file",
                                     ModeFile(),
                                     "--pg-dsn",
                                     postgres_.Dsn(),
                                     "--payment-url",
                                     "http://127.0.0.1:" + std::to_string(gateway_port_),
                                     "--version",
                                     "v1",
                                     "--version-file",
                                     dir_.File("shop.version")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string error;
    shop_ = Process::Start(argv, dir_.File("shop"), &error);
    ASSERT_NE(shop_, nullptr) << error;
    ASSERT_TRUE(WaitFor([&] { return Request(shop_port_, "GET", "/healthz").status == 200; },
                        kReadyDeadline))
        << shop_->Output();
  }

  std::string ModeFile() const { return dir_.File("shop.json"); }

  // Writes the mode file as the agent does: a new file renamed into place.
  void WriteMode(const Json& mode) {
    WriteFile(ModeFile() + ".tmp", mode.dump());
    ASSERT_EQ(std::rename((ModeFile() + ".tmp").c_str(), ModeFile().c_str()), 0);
  }

  static Json ModeDocument(const std::string& mode, const std::string& reason,
                           const Json& eta = nullptr, const Json& modules = Json::object()) {
    return {{"service", "shop"},  {"mode", mode},
            {"reason", reason},   {"since", "2026-11-22T10:00:00.000Z"},
            {"eta", eta},         {"incident_id", "INC-1"},
            {"source", "manual"}, {"modules", modules},
            {"generation", 7},    {"updated_at", "2026-11-22T10:00:01.234Z"}};
  }

  static Json PaymentsDegraded() {
    return ModeDocument("normal", "", nullptr,
                        {{"payments",
                          {{"mode", "degraded"},
                           {"reason", "payment gateway failing"},
                           {"since", "2026-11-22T10:00:00.000Z"},
                           {"eta", nullptr},
                           {"incident_id", "INC-3f9a2c"},
                           {"source", "automatic"}}}});
  }

  Reply PlaceOrder(const std::string& item = "teapot", int amount_cents = 1999) {
    return Request(shop_port_, "POST", "/api/orders",
                   Json{{"item", item}, {"amount_cents", amount_cents}}.dump());
  }

  // Requests the gateway has logged for `path`.
  int GatewayRequests(const std::string& path) const {
    const std::string log = gateway_->Stderr();
    int count = 0;
    for (size_t pos = log.find(" " + path + " "); pos != std::string::npos;
         pos = log.find(" " + path + " ", pos + 1)) {
      ++count;
    }
    return count;
  }

  std::string Diagnostics() const {
    return "shop:\n" + (shop_ ? shop_->Stderr() : "") + "\ngateway:\n" + gateway_->Stderr();
  }

  TempDir dir_;
  PostgresServer postgres_;
  int gateway_port_ = 0;
  std::unique_ptr<Process> gateway_;
  int shop_port_ = 0;
  std::unique_ptr<Process> shop_;
};

TEST_F(DemoAppsTest, PlacesAnOrderAndChargesItAtTheGateway) {
  StartShop();
  const Reply placed = PlaceOrder("teapot", 1999);
  ASSERT_EQ(placed.status, 201) << placed.body << Diagnostics();
  const Json answer = placed.JsonBody();
  EXPECT_EQ(answer["order"]["item"], "teapot");
  EXPECT_EQ(answer["order"]["amount_cents"], 1999);
  EXPECT_EQ(answer["order"]["status"], "paid");
  EXPECT_EQ(answer["payment"]["status"], "succeeded");
  EXPECT_TRUE(answer["payment"]["id"].get<std::string>().starts_with("ch_")) << placed.body;
  // The gateway logs the request after answering it, and its stderr reaches
  // the test through a pipe: wait for the line rather than race it.
  EXPECT_TRUE(WaitFor([&] { return GatewayRequests("/v1/charges") >= 1; },
                      std::chrono::seconds(10)))
      << Diagnostics();
  EXPECT_EQ(GatewayRequests("/v1/charges"), 1) << Diagnostics();

  const Reply listed = Request(shop_port_, "GET", "/api/orders");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.JsonBody()["orders"].size(), 1u) << listed.body;
  EXPECT_EQ(listed.JsonBody()["orders"][0]["status"], "paid");
}

TEST_F(DemoAppsTest, KeepsOrdersUnpaidWhilePaymentsAreDegraded) {
  StartShop();
  WriteMode(PaymentsDegraded());
  const Reply placed = PlaceOrder();
  ASSERT_EQ(placed.status, 202) << placed.body << Diagnostics();
  EXPECT_EQ(placed.JsonBody()["order"]["status"], "payment_pending");
  EXPECT_EQ(placed.JsonBody()["payment"], "payments temporarily unavailable");
  EXPECT_EQ(GatewayRequests("/v1/charges"), 0) << Diagnostics();
}

TEST_F(DemoAppsTest, RefusesOrdersInReadOnlyModeButStillListsThem) {
  StartShop();
  ASSERT_EQ(PlaceOrder("kettle").status, 201) << Diagnostics();
  WriteMode(ModeDocument("read_only", "database failover"));

  const Reply refused = PlaceOrder();
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.JsonBody()["error"], "read-only mode: orders cannot be placed right now");
  EXPECT_EQ(refused.JsonBody()["reason"], "database failover");

  const Reply listed = Request(shop_port_, "GET", "/api/orders");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.JsonBody()["orders"].size(), 1u) << listed.body;
  EXPECT_EQ(listed.JsonBody()["orders"][0]["item"], "kettle");
}

TEST_F(DemoAppsTest, MaintenanceClosesEveryPathButHealthAndMetrics) {
  StartShop();
  const std::string eta = FormatRfc3339(NowUnixMs() + 600'000);
  WriteMode(ModeDocument("maintenance", "upgrading the database", eta));

  const Reply page = Request(shop_port_, "GET", "/");
  EXPECT_EQ(page.status, 503);
  EXPECT_NE(page.body.find("upgrading the database"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find(eta), std::string::npos) << page.body;
  const int retry_after = std::atoi(page.Header("Retry-After").c_str());
  EXPECT_GT(retry_after, 0) << page.Header("Retry-After");
  EXPECT_LE(retry_after, 600) << page.Header("Retry-After");

  EXPECT_EQ(Request(shop_port_, "GET", "/api/orders").status, 503);
  EXPECT_EQ(PlaceOrder().status, 503);
  EXPECT_EQ(Request(shop_port_, "GET", "/no/such/page").status, 503);
  EXPECT_EQ(Request(shop_port_, "GET", "/healthz").status, 200);
  EXPECT_EQ(Request(shop_port_, "GET", "/metrics").status, 200);
}

TEST_F(DemoAppsTest, MaintenanceWithoutEtaSendsNoRetryAfter) {
  StartShop();
  WriteMode(ModeDocument("maintenance", "unplanned"));
  const Reply page = Request(shop_port_, "GET", "/");
  EXPECT_EQ(page.status, 503);
  EXPECT_EQ(page.Header("Retry-After"), "");
}

TEST_F(DemoAppsTest, GatewayFailureAnswersBadGatewayUnlessPaymentsAreDegraded) {
  StartShop();
  ASSERT_EQ(Request(gateway_port_, "POST", "/admin/fail").status, 200);
  EXPECT_EQ(Request(gateway_port_, "GET", "/health").status, 503);

  const Reply failed = PlaceOrder();
  EXPECT_EQ(failed.status, 502) << failed.body;
  EXPECT_NE(failed.JsonBody()["error"].get<std::string>().find("503"), std::string::npos)
      << failed.body;
  EXPECT_EQ(failed.JsonBody()["order"]["status"], "payment_failed") << failed.body;

  WriteMode(PaymentsDegraded());
  EXPECT_EQ(PlaceOrder().status, 202);

  WriteMode(ModeDocument("normal", ""));
  ASSERT_EQ(Request(gateway_port_, "POST", "/admin/recover").status, 200);
  EXPECT_EQ(PlaceOrder().status, 201) << Diagnostics();
}

TEST_F(DemoAppsTest, ErrorRateHalfFailsEverySecondApiRequest) {
  StartShop({"--error-rate", "0.5"});
  std::vector<int> statuses;
  for (int i = 0; i < 6; ++i) statuses.push_back(Request(shop_port_, "GET", "/api/status").status);
  EXPECT_EQ(statuses, (std::vector<int>{200, 500, 200, 500, 200, 500}));
  // Pages outside /api/ are not part of the bad release's failures.
  EXPECT_EQ(Request(shop_port_, "GET", "/").status, 200);
}

TEST_F(DemoAppsTest, DatabaseOutageAnswersUnavailableAndOrdersResumeAfterRestart) {
  StartShop();
  ASSERT_EQ(PlaceOrder("before").status, 201) << Diagnostics();

  postgres_.Stop();
  const Reply refused = PlaceOrder("during");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.JsonBody()["error"], "orders database unavailable");
  EXPECT_EQ(Request(shop_port_, "GET", "/api/orders").status, 503);

  std::string error;
  ASSERT_TRUE(postgres_.Restart(&error)) << error;
  Reply placed;
  EXPECT_TRUE(WaitFor([&] { return (placed = PlaceOrder("after")).status == 201; }, kReadyDeadline))
      << placed.body << Diagnostics();
  const Reply listed = Request(shop_port_, "GET", "/api/orders");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.JsonBody()["orders"].size(), 2u) << listed.body;
  EXPECT_EQ(listed.JsonBody()["orders"][0]["item"], "after");
  EXPECT_EQ(listed.JsonBody()["orders"][1]["item"], "before");
}

TEST_F(DemoAppsTest, KeepsTheLastGoodModeWhileTheFileIsInvalid) {
  StartShop();
  WriteMode(ModeDocument("read_only", "failover"));
  EXPECT_EQ(PlaceOrder().status, 503);

  WriteFile(ModeFile() + ".tmp", "{\"mode\": ");
  ASSERT_EQ(std::rename((ModeFile() + ".tmp").c_str(), ModeFile().c_str()), 0);
  EXPECT_EQ(PlaceOrder().status, 503);
  EXPECT_EQ(PlaceOrder().status, 503);
  const std::string log = shop_->Stderr();
  const size_t first = log.find("not valid JSON");
  EXPECT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("not valid JSON", first + 1), std::string::npos) << "logged twice:\n" << log;

  ASSERT_EQ(std::remove(ModeFile().c_str()), 0);
  EXPECT_EQ(PlaceOrder().status, 201) << Diagnostics();
}

TEST_F(DemoAppsTest, StatusReportsVersionModeAndLimitedModules) {
  StartShop();
  EXPECT_EQ(ReadFile(dir_.File("shop.version")), "v1\n");
  Reply status = Request(shop_port_, "GET", "/api/status");
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(status.JsonBody()["version"], "v1");
  EXPECT_EQ(status.JsonBody()["mode"], "normal");
  EXPECT_EQ(status.JsonBody()["modules"], Json::object());

  WriteMode(PaymentsDegraded());
  status = Request(shop_port_, "GET", "/api/status");
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(status.JsonBody()["modules"]["payments"]["mode"], "degraded") << status.body;
  EXPECT_EQ(status.JsonBody()["modules"]["payments"]["incident_id"], "INC-3f9a2c");

  const Reply home = Request(shop_port_, "GET", "/");
  EXPECT_EQ(home.status, 200);
  EXPECT_NE(home.body.find("v1"), std::string::npos) << home.body;
  EXPECT_NE(home.body.find("payments"), std::string::npos) << home.body;
}

TEST_F(DemoAppsTest, MetricsCountRequestsByPathAndCodeAndNameTheBuild) {
  StartShop();
  ASSERT_EQ(Request(shop_port_, "GET", "/api/status").status, 200);
  const std::string metrics = Request(shop_port_, "GET", "/metrics").body;
  EXPECT_EQ(MetricValue(metrics, "demo_shop_requests_total{path=\"/api/status\",code=\"200\"}"), 1)
      << metrics;
  EXPECT_EQ(MetricValue(metrics, "vitals_build_info{service=\"shop\",version=\"v1\"}"), 1)
      << metrics;
}

}  // namespace
}  // namespace vitals::testing
