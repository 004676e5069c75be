// vitals-demo-payment-gateway: a stand-in for a payment provider, for the
// end-to-end demo (deploy/demo/README.md). It charges whatever it is asked to
// unless it has been told to fail (POST /admin/fail), which is how the demo
// makes the shop's payments module break.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/signals.h"
#include "common/units.h"
#include "deploy/demo/demo_server.h"

namespace vitals::demo {
namespace {

struct GatewayOptions {
  ListenAddress listen;
  std::chrono::milliseconds latency{0};  // Added before answering anything but /admin/*.
  bool start_failing = false;            // Start in the failure mode.
};

// The gateway's state. Thread-safe.
class Gateway {
 public:
  explicit Gateway(const GatewayOptions& options)
      : latency_(options.latency), failing_(options.start_failing) {}

  void Register(httplib::Server& server) {
    server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      Delay();
      if (failing_) {
        ReplyJson(res, 503, {{"status", "unavailable"}});
      } else {
        ReplyJson(res, 200, {{"status", "ok"}});
      }
    });
    server.Post("/v1/charges", [this](const httplib::Request& req, httplib::Response& res) {
      Delay();
      Charge(req, res);
    });
    server.Post("/admin/fail", [this](const httplib::Request&, httplib::Response& res) {
      SetFailing(true);
      ReplyJson(res, 200, {{"failing", true}});
    });
    server.Post("/admin/recover", [this](const httplib::Request&, httplib::Response& res) {
      SetFailing(false);
      ReplyJson(res, 200, {{"failing", false}});
    });
  }

 private:
  void Delay() const {
    if (latency_.count() > 0) std::this_thread::sleep_for(latency_);
  }

  void SetFailing(bool failing) {
    if (failing_.exchange(failing) != failing) {
      LOG_WARN << (failing ? "failure mode on: charges and /health answer 503"
                           : "failure mode off: charging again");
    }
  }

  // Body: {"order_id": <number or string>, "amount_cents": <positive integer>}.
  void Charge(const httplib::Request& req, httplib::Response& res) {
    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      ReplyJson(res, 400, {{"error", "the body is not a JSON object"}});
      return;
    }
    auto order = body.find("order_id");
    auto amount = body.find("amount_cents");
    if (order == body.end() || !(order->is_number_integer() || order->is_string())) {
      ReplyJson(res, 400, {{"error", "order_id must be a number or a string"}});
      return;
    }
    if (amount == body.end() || !amount->is_number_integer() || amount->get<int64_t>() <= 0) {
      ReplyJson(res, 400, {{"error", "amount_cents must be a positive integer"}});
      return;
    }
    if (failing_) {
      ReplyJson(res, 503, {{"error", "payment gateway unavailable"}});
      return;
    }
    char id[32];
    std::snprintf(id, sizeof(id), "ch_%08llu",
                  static_cast<unsigned long long>(next_charge_.fetch_add(1) + 1));
    ReplyJson(
        res, 201,
        {{"id", id}, {"status", "succeeded"}, {"order_id", *order}, {"amount_cents", *amount}});
  }

  const std::chrono::milliseconds latency_;
  std::atomic<bool> failing_;
  std::atomic<uint64_t> next_charge_{0};  // Charges made so far; names the next one.
};

}  // namespace
}  // namespace vitals::demo

int main(int argc, char** argv) {
  vitals::BlockTerminationSignals();
  CLI::App app{"vitals-demo-payment-gateway: a payment provider stub for the Vitals demo"};
  std::string listen;
  std::string latency = "0";
  bool fail = false;
  app.add_option("--listen", listen, "HOST:PORT to serve on, e.g. 127.0.0.1:8090")->required();
  app.add_option("--latency", latency, "Delay before every answer but /admin/*, e.g. 200ms")
      ->capture_default_str();
  app.add_flag("--fail", fail, "Start in the failure mode (as after POST /admin/fail)");
  CLI11_PARSE(app, argc, argv);

  vitals::demo::GatewayOptions options;
  auto address = vitals::demo::ParseListenAddress(listen);
  auto delay = vitals::ParseDuration(latency);
  if (!address.ok() || !delay.ok()) {
    std::fprintf(
        stderr, "%s\n",
        (address.ok() ? "--latency: " + delay.status().message() : address.status().message())
            .c_str());
    return 2;
  }
  options.listen = *address;
  options.latency = *delay;
  options.start_failing = fail;

  vitals::demo::Gateway gateway(options);
  httplib::Server server;
  gateway.Register(server);
  server.set_logger(vitals::demo::LogRequest);
  return vitals::demo::ServeUntilSignal(server, options.listen, "vitals-demo-payment-gateway");
}
