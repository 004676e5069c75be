#pragma once

#include <memory>

#include <prometheus/registry.h>

#include "actions/engine.h"
#include "collector/collector_config.h"
#include "collector/control_api.h"
#include "collector/collector_metrics.h"
#include "collector/ingest_server.h"
#include "collector/remote_write.h"
#include "collector/rules_api.h"
#include "collector/web_server.h"
#include "common/clock.h"
#include "common/status.h"
#include "rules/alertmanager.h"
#include "rules/manager.h"
#include "rules/promql/engine.h"
#include "storage/store.h"

namespace vitals::collector {

// A running collector: storage, the query engine, the rule manager, the
// ingest socket and the web server, wired together from a CollectorConfig.
// Start and Stop from one thread; ReloadRules from any.
class Collector {
 public:
  // Opens storage, binds the ingest endpoint and the web address. On error
  // nothing is left running.
  static Result<std::unique_ptr<Collector>> Start(const CollectorConfig& config,
                                                  const Clock& clock = Clock::Real());
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Stops ingest first (so no batch is acknowledged after), then the web
  // server, then closes storage. Idempotent.
  void Stop();

  // Re-reads the configuration file (when the collector was started from one)
  // and loads the rule files and the actions file it names, as SIGHUP and
  // POST /-/reload do. On error the running rules and actions stay and the
  // error is returned.
  Status ReloadRules();

  const std::string& ingest_endpoint() const { return ingest_->endpoint(); }
  int web_port() const { return web_->port(); }
  actions::ActionsEngine& actions() { return *actions_; }

 private:
  Collector() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<CollectorMetrics> metrics_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<promql::Engine> engine_;
  std::unique_ptr<rules::AlertmanagerNotifier> notifier_;
  std::unique_ptr<actions::ActionsEngine> actions_;
  std::unique_ptr<ControlApi> control_api_;
  std::unique_ptr<rules::RuleManager> rules_;
  std::unique_ptr<RemoteWriteReceiver> remote_write_;
  std::unique_ptr<RulesApi> rules_api_;
  CollectorConfig config_;
  std::unique_ptr<IngestServer> ingest_;
  // ingest_ for the actions' threads, which start before it exists.
  std::atomic<IngestServer*> ingest_for_modes_{nullptr};
  std::unique_ptr<WebServer> web_;
  std::atomic<bool> ready_{false};
};

// The part of `snapshot` an agent enforcing `services` gets.
wire::Modes ModesForAgent(const actions::ModesSnapshot& snapshot,
                          const std::vector<std::string>& services);

}  // namespace vitals::collector
