#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "common/clock.h"
#include "common/status.h"
#include "storage/store.h"

namespace httplib {
class Server;
}

namespace vitals::collector {

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
};

// The collector's HTTP server:
//   GET /metrics            the registry in Prometheus text format
//   GET /federate?match[]=  latest sample of each matching stored series
//   POST /api/v1/admin/tsdb/snapshot   an online snapshot (admin API only)
//   GET /-/healthy          200 while the process runs
//   GET /-/ready            200 once `ready()` returns true, else 503
// Serves on its own threads; Start and Stop are called from one thread.
class WebServer {
 public:
  // Binds and starts serving. The store, registry and clock must outlive the
  // server. Unavailable if the address cannot be bound.
  static Result<std::unique_ptr<WebServer>> Start(const WebOptions& options,
                                                  storage::Store& store,
                                                  prometheus::Registry& registry,
                                                  const Clock& clock,
                                                  std::function<bool()> ready);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  int port() const { return port_; }
  void Stop();

 private:
  WebServer() = default;
  void Route();

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Renders `samples` (with metadata from `store`) as Prometheus text exposition
// with one "# TYPE" line per metric name and millisecond timestamps, as
// Prometheus's own /federate does. `samples` must be sorted by label set.
std::string RenderFederation(const std::vector<Sample>& samples, const storage::Store& store);

}  // namespace vitals::collector
