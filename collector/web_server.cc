#include "collector/web_server.h"

#include <cmath>
#include <map>
#include <ctime>
#include <filesystem>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include <httplib.h>
#include <prometheus/text_serializer.h>

#include "collector/control_api.h"
#include "common/log.h"
#include "common/selector.h"

namespace vitals::collector {
namespace {

constexpr char kTextFormat[] = "text/plain; version=0.0.4; charset=utf-8";

// Go's strconv.FormatFloat(v, 'g', -1, 64) spelling, which the text format uses.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Shortest representation that round-trips.
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// The request's parameters in Go's http.Request.Form order: a form-encoded
// POST body first, then the URL query.
Form FormOf(const httplib::Request& req) {
  Form form;
  auto add_all = [&form](const std::string& text) {
    httplib::Params params;
    httplib::detail::parse_query_text(text, params);
    for (auto& [name, value] : params) form.Add(name, value);
  };
  if (req.method == "POST" &&
      req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
    add_all(req.body);
  }
  size_t query = req.target.find('?');
  if (query != std::string::npos) add_all(req.target.substr(query + 1));
  return form;
}

void Reply(httplib::Response& res, ApiResponse api) {
  res.status = api.status;
  if (api.status != 204) res.set_content(std::move(api.body), "application/json");
}

// Prometheus's snapshot naming: UTC time and random hex, "20261122T004512Z-3f9a...".
std::string SnapshotName() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
  char rnd[24];
  std::snprintf(rnd, sizeof rnd, "%016llx",
                static_cast<unsigned long long>(std::random_device{}()) << 32 |
                    std::random_device{}());
  return std::string(when) + "-" + rnd;
}

}  // namespace

std::string RenderFederation(const std::vector<Sample>& samples, const storage::Store& store) {
  // Group by metric name, so each name gets one TYPE line, like Prometheus.
  std::map<std::string, std::vector<const Sample*>> by_name;
  for (const Sample& s : samples) {
    by_name[std::string(GetLabel(s.labels, kMetricNameLabel))].push_back(&s);
  }
  std::string out;
  for (const auto& [name, group] : by_name) {
    auto desc = store.GetMetadata(name);
    out += "# TYPE " + name + " " +
           std::string(MetricTypeName(desc ? desc->type : MetricType::kUntyped)) + "\n";
    for (const Sample* s : group) {
      out += FormatSeries(s->labels);
      out += ' ';
      out += FormatValue(s->value);
      out += ' ';
      out += std::to_string(s->timestamp_ms);
      out += '\n';
    }
  }
  return out;
}

Result<std::unique_ptr<WebServer>> WebServer::Start(const WebOptions& options,
                                                    storage::Store& store,
                                                    const promql::Engine& engine,
                                                    prometheus::Registry& registry,
                                                    const Clock& clock,
                                                    std::function<bool()> ready) {
  std::unique_ptr<WebServer> web(new WebServer());
  web->server_ = std::make_unique<httplib::Server>();
  httplib::Server& srv = *web->server_;
  // Small answers (an instant query, a rule list) go out at once instead of
  // waiting up to 40 ms for the client's delayed ACK (Nagle's algorithm).
  srv.set_tcp_nodelay(true);

  srv.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, registry.Collect());
    res.set_content(out.str(), kTextFormat);
  });

  srv.Get("/federate", [&store, &clock, lookback = options.federate_lookback](
                           const httplib::Request& req, httplib::Response& res) {
    size_t n = req.get_param_value_count("match[]");
    if (n == 0) {
      res.status = 400;
      res.set_content("bad_data: at least one match[] parameter is required\n", "text/plain");
      return;
    }
    int64_t now = clock.NowMillis();
    std::map<Labels, Sample> merged;  // Series matched by several selectors appear once.
    for (size_t i = 0; i < n; ++i) {
      std::string text = req.get_param_value("match[]", i);
      auto matchers = ParseSeriesSelector(text);
      if (!matchers.ok()) {
        res.status = 400;
        res.set_content("bad_data: match[] \"" + text + "\": " + matchers.status().message() + "\n",
                        "text/plain");
        return;
      }
      auto samples = store.SelectLatest(*matchers, now - lookback.count(), now);
      if (!samples.ok()) {
        res.status = 500;
        res.set_content("internal: " + samples.status().ToString() + "\n", "text/plain");
        return;
      }
      for (Sample& s : *samples) {
        if (IsStaleMarker(s.value)) continue;  // The series ended; Prometheus omits it too.
        Labels key = s.labels;
        merged.insert_or_assign(std::move(key), std::move(s));
      }
    }
    std::vector<Sample> samples;
    samples.reserve(merged.size());
    for (auto& [labels, s] : merged) samples.push_back(std::move(s));
    res.set_content(RenderFederation(samples, store), kTextFormat);
  });

  web->api_ = std::make_unique<QueryApi>(store, engine, clock, options.api);
  const QueryApi& api = *web->api_;
  // Endpoints that take GET and POST (form-encoded) alike, as in Prometheus.
  using Handler = ApiResponse (QueryApi::*)(const Form&) const;
  for (auto [path, handler] : {std::pair<const char*, Handler>{"/api/v1/query", &QueryApi::Query},
                               {"/api/v1/query_range", &QueryApi::QueryRange},
                               {"/api/v1/query_exemplars", &QueryApi::QueryExemplars},
                               {"/api/v1/format_query", &QueryApi::FormatQuery},
                               {"/api/v1/series", &QueryApi::Series},
                               {"/api/v1/labels", &QueryApi::LabelNames}}) {
    auto serve = [&api, handler = handler](const httplib::Request& req, httplib::Response& res) {
      Reply(res, (api.*handler)(FormOf(req)));
    };
    srv.Get(path, serve);
    srv.Post(path, serve);
  }
  auto label_values = [&api](const httplib::Request& req, httplib::Response& res) {
    Reply(res, api.LabelValues(req.matches[1].str(), FormOf(req)));
  };
  srv.Get(R"(/api/v1/label/([^/]+)/values)", label_values);
  srv.Post(R"(/api/v1/label/([^/]+)/values)", label_values);
  srv.Get("/api/v1/metadata", [&api](const httplib::Request& req, httplib::Response& res) {
    Reply(res, api.Metadata(FormOf(req)));
  });
  srv.Get("/api/v1/status/buildinfo", [&api](const httplib::Request&, httplib::Response& res) {
    Reply(res, api.BuildInfo());
  });
  srv.Get("/api/v1/status/runtimeinfo", [&api](const httplib::Request&, httplib::Response& res) {
    Reply(res, api.RuntimeInfo());
  });
  srv.Get("/api/v1/status/flags", [&api](const httplib::Request&, httplib::Response& res) {
    Reply(res, api.Flags());
  });

  if (options.admin_api) {
    srv.Post("/api/v1/admin/tsdb/snapshot", [&store, options](const httplib::Request&,
                                                               httplib::Response& res) {
      std::string name = SnapshotName();
      std::string dir = options.snapshot_dir + "/" + name;
      std::error_code ec;
      std::filesystem::create_directories(options.snapshot_dir, ec);
      Status status = ec ? Status::IOError("cannot create " + options.snapshot_dir + ": " +
                                           ec.message())
                         : store.Snapshot(dir);
      nlohmann::json body;
      if (status.ok()) {
        LOG_INFO << "web: wrote storage snapshot " << dir;
        body = {{"status", "success"}, {"data", {{"name", name}}}};
      } else {
        LOG_ERROR << "web: snapshot failed: " << status.ToString();
        res.status = 500;
        body = {{"status", "error"}, {"errorType", "internal"}, {"error", status.message()}};
      }
      res.set_content(body.dump(), "application/json");
    });
  }

  if (options.remote_write != nullptr) RegisterRemoteWriteRoute(srv, *options.remote_write);

  if (options.control != nullptr) {
    web->control_ = options.control;
    options.control->Register(srv);
  }

  if (const RulesApi* rules = options.rules) {
    srv.Get("/api/v1/rules", [rules](const httplib::Request& req, httplib::Response& res) {
      Reply(res, rules->Rules(FormOf(req)));
    });
    srv.Get("/api/v1/alerts", [rules](const httplib::Request&, httplib::Response& res) {
      Reply(res, rules->Alerts());
    });
    auto reload = [rules](const httplib::Request&, httplib::Response& res) {
      ApiResponse r = rules->Reload();
      res.status = r.status;
      res.set_content(r.body, "text/plain");
    };
    srv.Post("/-/reload", reload);
    srv.Put("/-/reload", reload);
  }

  srv.Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Vitals collector is Healthy.\n", "text/plain");
  });
  srv.Get("/-/ready", [ready](const httplib::Request&, httplib::Response& res) {
    if (ready()) {
      res.set_content("Vitals collector is Ready.\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("Service Unavailable\n", "text/plain");
    }
  });

  if (options.port == 0) {
    web->port_ = srv.bind_to_any_port(options.host);
  } else {
    web->port_ = srv.bind_to_port(options.host, options.port) ? options.port : -1;
  }
  if (web->port_ < 0) {
    return Status::Unavailable("cannot listen on " + options.host + ":" +
                               std::to_string(options.port) + " (address in use?)");
  }
  web->thread_ = std::thread([s = &srv] { s->listen_after_bind(); });
  LOG_INFO << "web: listening on http://" << options.host << ":" << web->port_;
  return web;
}

WebServer::~WebServer() { Stop(); }

void WebServer::Stop() {
  if (api_) api_->CancelQueries();
  if (control_) control_->CancelWatches();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace vitals::collector
