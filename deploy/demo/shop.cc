// vitals-demo-shop: the web shop of the end-to-end demo (deploy/demo/README.md).
// It keeps orders in PostgreSQL, charges them at a payment gateway, and obeys
// the mode the Vitals agent writes to its mode file: a degraded "payments"
// module keeps orders unpaid, read_only refuses new orders, maintenance closes
// the shop. --error-rate makes it a bad release.

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/signals.h"
#include "deploy/demo/demo_server.h"
#include "deploy/demo/mode_file.h"

namespace vitals::demo {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

struct ShopOptions {
  ListenAddress listen;
  std::string mode_file;     // The agent's <mode_dir>/shop.json; need not exist.
  std::string pg_dsn;        // libpq connection string of the orders database.
  std::string payment_url;   // The payment gateway, "http://HOST:PORT".
  std::string version;       // Shown on / and /api/status, and in vitals_build_info.
  double error_rate = 0;     // Share of /api/* requests answered with 500, 0..1.
  std::string version_file;  // Receives `version` at start; "" for none.
};

// Columns of an order as the API shows them.
constexpr char kOrderColumns[] =
    "id, item, amount_cents, status, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

// The orders table in PostgreSQL, over one connection that is opened on first
// use and replaced after the database went away. Statements run one at a
// time. Thread-safe.
class OrdersDb {
 public:
  explicit OrdersDb(std::string dsn) : dsn_(std::move(dsn)) {}

  // Connects and creates the table unless connected. Unavailable when the
  // database cannot be reached.
  Status Connect() {
    std::lock_guard lock(mu_);
    return ConnectLocked();
  }

  // Each returns the order(s) as JSON objects (see Row), Unavailable when the
  // database cannot be reached, or Internal when it refuses the statement.
  Result<Json> Insert(const std::string& item, int64_t amount_cents, const std::string& status) {
    return One(std::string("INSERT INTO orders (item, amount_cents, status) VALUES ($1, $2, $3) "
                           "RETURNING ") +
                   kOrderColumns,
               {item, std::to_string(amount_cents), status});
  }
  Result<Json> SetStatus(int64_t id, const std::string& status) {
    return One(
        std::string("UPDATE orders SET status = $2 WHERE id = $1 RETURNING ") + kOrderColumns,
        {std::to_string(id), status});
  }
  // The newest `limit` orders, newest first.
  Result<Json> Recent(int limit) {
    ASSIGN_OR_RETURN(ResultPtr rows, Exec(std::string("SELECT ") + kOrderColumns +
                                              " FROM orders ORDER BY id DESC LIMIT $1",
                                          {std::to_string(limit)}));
    Json orders = Json::array();
    for (int i = 0; i < PQntuples(rows.get()); ++i) orders.push_back(Row(rows.get(), i));
    return orders;
  }

 private:
  using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;
  using ConnPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;

  static Json Row(const PGresult* rows, int i) {
    return {{"id", std::stoll(PQgetvalue(rows, i, 0))},
            {"item", PQgetvalue(rows, i, 1)},
            {"amount_cents", std::stoll(PQgetvalue(rows, i, 2))},
            {"status", PQgetvalue(rows, i, 3)},
            {"created_at", PQgetvalue(rows, i, 4)}};
  }

  Result<Json> One(const std::string& sql, const std::vector<std::string>& params) {
    ASSIGN_OR_RETURN(ResultPtr rows, Exec(sql, params));
    if (PQntuples(rows.get()) != 1) return Status::NotFound("no such order");
    return Row(rows.get(), 0);
  }

  static std::string ErrorText(const PGconn* conn) {
    std::string text = PQerrorMessage(conn);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }

  // REQUIRES: mu_ held.
  Status ConnectLocked() {
    if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK) return Status::Ok();
    // connect_timeout comes first so that one in the DSN overrides it.
    const char* keywords[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {"3", dsn_.c_str(), nullptr};
    conn_ = ConnPtr(PQconnectdbParams(keywords, values, /*expand_dbname=*/1), &PQfinish);
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      const std::string error = conn_ ? ErrorText(conn_.get()) : "out of memory";
      conn_.reset();
      if (!down_logged_) LOG_WARN << "orders database unavailable: " << error;
      down_logged_ = true;
      return Status::Unavailable(error);
    }
    // Notices ("relation already exists") would go to stderr unformatted.
    PQsetNoticeProcessor(
        conn_.get(), [](void*, const char*) {}, nullptr);
    ResultPtr created(
        PQexec(conn_.get(),
               "CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, item text, "
               "amount_cents int, status text, created_at timestamptz DEFAULT now())"),
        &PQclear);
    if (PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
      const std::string error = ErrorText(conn_.get());
      conn_.reset();
      LOG_WARN << "cannot create the orders table: " << error;
      return Status::Unavailable(error);
    }
    LOG_INFO << "connected to the orders database";
    down_logged_ = false;
    return Status::Ok();
  }

  // Runs one statement with text parameters. A connection found broken is
  // dropped and the statement tried once more on a new one: after a database
  // restart, the first statement on the old connection fails without having
  // reached the new server.
  Result<ResultPtr> Exec(const std::string& sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    std::lock_guard lock(mu_);
    for (int attempt = 1;; ++attempt) {
      RETURN_IF_ERROR(ConnectLocked());
      ResultPtr rows(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()),
                                  nullptr, values.data(), nullptr, nullptr, 0),
                     &PQclear);
      const ExecStatusType status = PQresultStatus(rows.get());
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
      const std::string error = ErrorText(conn_.get());
      if (PQstatus(conn_.get()) == CONNECTION_OK) return Status::Internal(error);
      LOG_WARN << "lost the orders database connection: " << error;
      conn_.reset();
      if (attempt == 2) return Status::Unavailable(error);
    }
  }

  const std::string dsn_;
  std::mutex mu_;
  ConnPtr conn_{nullptr, &PQfinish};  // GUARDED_BY(mu_); null until connected.
  bool down_logged_ = false;          // GUARDED_BY(mu_); "unavailable" logged since last up.
};

// Which /api/* requests fail under --error-rate R: the k-th fails when
// floor(k*R) > floor((k-1)*R), so floor(n*R) of the first n fail, evenly
// spread and the same in every run. Thread-safe.
class FailureSchedule {
 public:
  explicit FailureSchedule(double rate) : rate_(rate) {}
  bool NextFails() {
    if (rate_ <= 0) return false;
    const auto k = static_cast<double>(count_.fetch_add(1) + 1);
    return std::floor(k * rate_) > std::floor((k - 1) * rate_);
  }

 private:
  const double rate_;
  std::atomic<uint64_t> count_{0};  // /api/* requests decided so far.
};

// Charges an order at the gateway. The gateway's charge object, or
// Unavailable saying why the payment did not happen.
Result<Json> ChargeOrder(const std::string& payment_url, const Json& order) {
  httplib::Client client(payment_url);
  client.set_connection_timeout(2s);
  client.set_read_timeout(5s);
  client.set_write_timeout(5s);
  const Json body = {{"order_id", order["id"]}, {"amount_cents", order["amount_cents"]}};
  auto res = client.Post("/v1/charges", body.dump(), "application/json");
  if (!res)
    return Status::Unavailable("payment gateway unreachable: " + httplib::to_string(res.error()));
  std::string answer = res->body;
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (res->status != 200 && res->status != 201) {
    return Status::Unavailable("payment gateway answered " + std::to_string(res->status) + ": " +
                               answer);
  }
  Json charge = Json::parse(answer, nullptr, false);
  if (charge.is_discarded())
    return Status::Unavailable("payment gateway answered with invalid JSON");
  return charge;
}

Json ModeStateJson(const ModeState& state) {
  return {{"mode", ModeName(state.mode)},
          {"reason", state.reason},
          {"since", state.since},
          {"eta", state.eta ? Json(*state.eta) : Json(nullptr)},
          {"incident_id", state.incident_id},
          {"source", state.source}};
}

struct OrderRequest {
  std::string item;
  int64_t amount_cents = 0;
};

// Body: {"item": <non-empty string>, "amount_cents": <positive integer>}.
Result<OrderRequest> ParseOrderRequest(const std::string& body) {
  const Json doc = Json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("the body is not a JSON object");
  }
  auto item = doc.find("item");
  auto amount = doc.find("amount_cents");
  if (item == doc.end() || !item->is_string() || item->get<std::string>().empty()) {
    return Status::InvalidArgument("item must be a non-empty string");
  }
  if (amount == doc.end() || !amount->is_number_integer() || amount->get<int64_t>() <= 0 ||
      amount->get<int64_t>() > INT32_MAX) {
    return Status::InvalidArgument("amount_cents must be a positive integer");
  }
  return OrderRequest{item->get<std::string>(), amount->get<int64_t>()};
}

// The shop's handlers and state. Thread-safe.
class Shop {
 public:
  Shop(const ShopOptions& options, const Clock& clock)
      : options_(options),
        clock_(clock),
        modes_(options.mode_file),
        db_(options.pg_dsn),
        failures_(options.error_rate),
        requests_(prometheus::BuildCounter()
                      .Name("demo_shop_requests_total")
                      .Help("HTTP requests answered, by path and status code.")
                      .Register(registry_)) {
    prometheus::BuildGauge()
        .Name("vitals_build_info")
        .Help("The running release of the service.")
        .Register(registry_)
        .Add({{"service", "shop"}, {"version", options_.version}})
        .Set(1);
  }

  // Connects to the database now, so that the table exists before the first
  // order; the shop starts anyway if the database is down.
  void Prepare() { (void)db_.Connect(); }

  void Register(httplib::Server& server) {
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(prometheus::TextSerializer().Serialize(registry_.Collect()),
                      "text/plain; version=0.0.4");
    });
    server.Get("/", Guarded([this](const auto&, auto& res, const ServiceMode& mode) {
                 res.set_content(HomePage(mode), "text/html; charset=utf-8");
               }));
    server.Get("/api/status", Guarded([this](const auto&, auto& res, const ServiceMode& mode) {
                 ReplyJson(res, 200, StatusJson(mode));
               }));
    server.Get("/api/orders", Guarded([this](const auto&, auto& res, const ServiceMode&) {
                 Result<Json> orders = db_.Recent(20);
                 if (!orders.ok()) return ReplyDbError(orders.status(), res);
                 ReplyJson(res, 200, {{"orders", *orders}});
               }));
    server.Post("/api/orders", Guarded([this](const auto& req, auto& res, const ServiceMode& mode) {
                  PlaceOrder(req, res, mode);
                }));
    // Everything else is 404, except during maintenance, which closes every path.
    auto not_found = Guarded([](const auto&, auto& res, const ServiceMode&) {
      ReplyJson(res, 404, {{"error", "not found"}});
    });
    server.Get(".*", not_found).Post(".*", not_found).Put(".*", not_found);
    server.Delete(".*", not_found).Patch(".*", not_found);
    // Counted before the answer is sent, so a client that saw it finds it
    // counted in /metrics.
    server.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      requests_.Add({{"path", PathLabel(req.path)}, {"code", std::to_string(res.status)}})
          .Increment();
    });
    server.set_logger(LogRequest);
  }

 private:
  using ModeHandler =
      std::function<void(const httplib::Request&, httplib::Response&, const ServiceMode&)>;

  // A handler for a path that maintenance closes. Reads the mode once for the
  // request, answers during maintenance itself, and fails the /api/* requests
  // that --error-rate picks.
  httplib::Server::Handler Guarded(ModeHandler handler) {
    return [this, handler = std::move(handler)](const httplib::Request& req,
                                                httplib::Response& res) {
      const ServiceMode mode = modes_.Current();
      if (mode.service.mode == Mode::kMaintenance) return ReplyMaintenance(req, mode, res);
      if (req.path.starts_with("/api/") && failures_.NextFails()) {
        return ReplyJson(res, 500, {{"error", "internal error"}, {"version", options_.version}});
      }
      handler(req, res, mode);
    };
  }

  void PlaceOrder(const httplib::Request& req, httplib::Response& res, const ServiceMode& mode) {
    if (mode.service.mode == Mode::kReadOnly) {
      SetRetryAfter(mode.service, res);
      return ReplyJson(res, 503,
                       {{"error", "read-only mode: orders cannot be placed right now"},
                        {"reason", mode.service.reason}});
    }
    Result<OrderRequest> request = ParseOrderRequest(req.body);
    if (!request.ok()) return ReplyJson(res, 400, {{"error", request.status().message()}});
    const bool payments_off = mode.ModuleLimited("payments");
    Result<Json> order = db_.Insert(request->item, request->amount_cents,
                                    payments_off ? "payment_pending" : "awaiting_payment");
    if (!order.ok()) return ReplyDbError(order.status(), res);
    if (payments_off) {
      return ReplyJson(res, 202,
                       {{"order", *order},
                        {"payment", "payments temporarily unavailable"},
                        {"reason", mode.modules.at("payments").reason}});
    }
    Result<Json> charge = ChargeOrder(options_.payment_url, *order);
    if (!charge.ok()) LOG_WARN << "order " << (*order)["id"] << ": " << charge.status().message();
    Result<Json> updated =
        db_.SetStatus((*order)["id"].get<int64_t>(), charge.ok() ? "paid" : "payment_failed");
    if (!updated.ok()) return ReplyDbError(updated.status(), res);
    if (!charge.ok()) {
      return ReplyJson(res, 502, {{"error", charge.status().message()}, {"order", *updated}});
    }
    ReplyJson(res, 201, {{"order", *updated}, {"payment", *charge}});
  }

  static void ReplyDbError(const Status& status, httplib::Response& res) {
    if (status.code() == Status::Code::kUnavailable) {
      return ReplyJson(res, 503, {{"error", "orders database unavailable"}});
    }
    LOG_WARN << "orders database: " << status.ToString();
    ReplyJson(res, 500, {{"error", "orders database error: " + status.message()}});
  }

  // Sets Retry-After to the seconds until the ETA of `state`, if it has one.
  void SetRetryAfter(const ModeState& state, httplib::Response& res) const {
    if (!state.eta) return;
    Result<int64_t> eta_ms = ParseRfc3339Millis(*state.eta);
    if (!eta_ms.ok()) return;
    // An ETA that has passed still means "soon"; 0 would invite a busy loop.
    const int64_t seconds = std::max<int64_t>(1, (*eta_ms - clock_.NowMillis() + 999) / 1000);
    res.set_header("Retry-After", std::to_string(seconds));
  }

  // JSON for /api/*, a page for everything else.
  void ReplyMaintenance(const httplib::Request& req, const ServiceMode& mode,
                        httplib::Response& res) const {
    SetRetryAfter(mode.service, res);
    const ModeState& s = mode.service;
    if (req.path.starts_with("/api/")) {
      return ReplyJson(res, 503,
                       {{"error", "maintenance: the shop is closed for now"},
                        {"reason", s.reason},
                        {"eta", s.eta ? Json(*s.eta) : Json(nullptr)}});
    }
    res.status = 503;
    res.set_content(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Down for maintenance"
        "</title></head>\n<body><h1>Down for maintenance</h1>\n<p>Reason: " +
            HtmlEscape(s.reason.empty() ? "maintenance" : s.reason) +
            "</p>\n<p>Expected back: " + HtmlEscape(s.eta.value_or("unknown")) + "</p>\n" +
            (s.incident_id.empty() ? "" : "<p>Incident: " + HtmlEscape(s.incident_id) + "</p>\n") +
            "</body></html>\n",
        "text/html; charset=utf-8");
  }

  std::string HomePage(const ServiceMode& mode) const {
    const ModeState& s = mode.service;
    std::string page =
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Vitals demo shop</title>"
        "</head>\n<body><h1>Vitals demo shop</h1>\n<p>Version <b>" +
        HtmlEscape(options_.version) + "</b>, mode <b>" + std::string(ModeName(s.mode)) +
        "</b></p>\n";
    if (s.mode != Mode::kNormal) {
      page += "<p>Reason: " + HtmlEscape(s.reason) +
              "</p>\n<p>Expected back: " + HtmlEscape(s.eta.value_or("unknown")) + "</p>\n";
    }
    if (s.mode == Mode::kReadOnly) page += "<p>Browsing works; orders cannot be placed now.</p>\n";
    if (!mode.modules.empty()) {
      page += "<h2>Limited modules</h2>\n<ul>\n";
      for (const auto& [name, module] : mode.modules) {
        page += "<li>" + HtmlEscape(name) + ": " + std::string(ModeName(module.mode)) + " (" +
                HtmlEscape(module.reason) + ")</li>\n";
      }
      page += "</ul>\n";
    }
    if (mode.ModuleLimited("payments")) {
      page += "<p>Payments are off: orders are kept and charged later.</p>\n";
    }
    return page +
           "<p>API: GET /api/orders, POST /api/orders, GET /api/status</p>\n</body></html>\n";
  }

  Json StatusJson(const ServiceMode& mode) const {
    Json modules = Json::object();
    for (const auto& [name, module] : mode.modules) modules[name] = ModeStateJson(module);
    Json status = ModeStateJson(mode.service);
    status["service"] = "shop";
    status["version"] = options_.version;
    status["mode_known"] = mode.known;
    status["generation"] = mode.generation;
    status["modules"] = std::move(modules);
    return status;
  }

  // Bounds the path label of demo_shop_requests_total.
  static std::string PathLabel(const std::string& path) {
    for (const char* known : {"/", "/api/orders", "/api/status", "/healthz", "/metrics"}) {
      if (path == known) return path;
    }
    return "other";
  }

  const ShopOptions options_;
  const Clock& clock_;
  ModeFileReader modes_;
  OrdersDb db_;
  FailureSchedule failures_;
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Counter>& requests_;  // demo_shop_requests_total{path,code}
};

// Writes `version` and a newline to `path` through a temporary file and a rename.
Status WriteVersionFile(const std::string& path, const std::string& version) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << version << "\n";
    out.close();
    if (!out) return Status::IOError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::IOError("cannot rename to " + path);
  return Status::Ok();
}

}  // namespace
}  // namespace vitals::demo

int main(int argc, char** argv) {
  vitals::BlockTerminationSignals();
  CLI::App app{"vitals-demo-shop: the demo web shop that obeys its Vitals mode file"};
  vitals::demo::ShopOptions options;
  std::string listen;
  options.version = "v1";
  app.add_option("--listen", listen, "HOST:PORT to serve on, e.g. 127.0.0.1:8080")->required();
  app.add_option("--mode-file", options.mode_file, "The agent's mode file, DIR/shop.json")
      ->required();
  app.add_option("--pg-dsn", options.pg_dsn, "libpq connection string of the orders database")
      ->required();
  app.add_option("--payment-url", options.payment_url, "The payment gateway, http://HOST:PORT")
      ->required();
  app.add_option("--version", options.version, "The release this process plays")
      ->capture_default_str();
  app.add_option("--error-rate", options.error_rate, "Share of /api/* requests answered 500")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--version-file", options.version_file, "File to write the version to at start");
  CLI11_PARSE(app, argc, argv);

  auto address = vitals::demo::ParseListenAddress(listen);
  if (!address.ok()) {
    std::fprintf(stderr, "%s\n", address.status().message().c_str());
    return 2;
  }
  options.listen = *address;
  if (!options.payment_url.starts_with("http://")) {
    std::fprintf(stderr, "--payment-url must start with http://\n");
    return 2;
  }
  if (!options.version_file.empty()) {
    vitals::Status written = vitals::demo::WriteVersionFile(options.version_file, options.version);
    if (!written.ok()) {
      std::fprintf(stderr, "--version-file: %s\n", written.message().c_str());
      return 1;
    }
  }

  vitals::demo::Shop shop(options, vitals::Clock::Real());
  shop.Prepare();
  httplib::Server server;
  shop.Register(server);
  LOG_INFO << "vitals-demo-shop " << options.version << " (error rate " << options.error_rate
           << ", mode file " << options.mode_file << ")";
  return vitals::demo::ServeUntilSignal(server, options.listen, "vitals-demo-shop");
}
