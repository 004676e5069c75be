#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "collector/query_api.h"
#include "collector/remote_write.h"
#include "collector/rules_api.h"
#include "common/clock.h"
#include "common/status.h"
#include "rules/promql/engine.h"
#include "storage/store.h"

namespace httplib {
class Server;
}

namespace vitals::collector {

class ControlApi;

struct WebOptions {
  std::string host = "127.0.0.1";
  int port = 9740;  // 0 picks a free port; see WebServer::port().
  // How far back /federate looks for a series' latest sample, as Prometheus's
  // lookback delta.
  std::chrono::milliseconds federate_lookback{std::chrono::minutes(5)};
  // Serve POST /api/v1/admin/tsdb/snapshot, writing snapshots under
  // `snapshot_dir` (like Prometheus's --web.enable-admin-api).
  bool admin_api = false;
  std::string snapshot_dir;
  // What /api/v1/status/runtimeinfo and /api/v1/status/flags report.
  QueryApiOptions api;
  // Serves /api/v1/rules, /api/v1/alerts and /-/reload when set. Not owned;
  // must outlive the server.
  const RulesApi* rules = nullptr;
  // Serves POST /api/v1/write (Prometheus remote_write) when set. Not owned.
  RemoteWriteReceiver* remote_write = nullptr;
  // Serves the control API (/api/v1/modes, maintenance, rollback, incidents,
  // audit; docs/control-api.md) when set. Not owned; must outlive the server.
  ControlApi* control = nullptr;
};

// The collector's HTTP server:
//   GET /metrics            the registry in Prometheus text format
//   GET /federate?match[]=  latest sample of each matching stored series
//   POST /api/v1/admin/tsdb/snapshot   an online snapshot (admin API only)
//   /api/v1/query, query_range, series, labels, label/<name>/values,
//   metadata, format_query, query_exemplars, status/{buildinfo,runtimeinfo,
//   flags}: Prometheus's HTTP query API (QueryApi, docs/api.md)
//   POST /api/v1/write      Prometheus remote_write 1.0 (RemoteWriteReceiver)
//   GET /api/v1/rules, /api/v1/alerts, POST|PUT /-/reload: rules (RulesApi)
//   GET /-/healthy          200 while the process runs
//   GET /-/ready            200 once `ready()` returns true, else 503
// Serves on its own threads; Start and Stop are called from one thread.
class WebServer {
 public:
  // Binds and starts serving. The store, engine, registry and clock must
  // outlive the server. Unavailable if the address cannot be bound.
  static Result<std::unique_ptr<WebServer>> Start(const WebOptions& options,
                                                  storage::Store& store,
                                                  const promql::Engine& engine,
                                                  prometheus::Registry& registry,
                                                  const Clock& clock,
                                                  std::function<bool()> ready);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  int port() const { return port_; }
  // Cancels running queries, stops serving and joins the server thread.
  // Idempotent.
  void Stop();

 private:
  WebServer() = default;
  void Route();

  std::unique_ptr<QueryApi> api_;
  ControlApi* control_ = nullptr;  // Not owned; its watches are cancelled on Stop.
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Renders `samples` (with metadata from `store`) as Prometheus text exposition
// with one "# TYPE" line per metric name and millisecond timestamps, as
// Prometheus's own /federate does. `samples` must be sorted by label set.
std::string RenderFederation(const std::vector<Sample>& samples, const storage::Store& store);

}  // namespace vitals::collector
