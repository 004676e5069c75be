#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/registry.h>

#include "common/clock.h"
#include "common/samples.h"
#include "common/status.h"
#include "rules/alert.h"
#include "rules/alerting_rule.h"
#include "rules/promql/engine.h"
#include "rules/rule_file.h"
#include "storage/store.h"

namespace vitals::rules {

struct ManagerOptions {
  // --- Behaviour ---
  // The interval of groups that do not set one (Prometheus's
  // global.evaluation_interval).
  std::chrono::milliseconds evaluation_interval{std::chrono::minutes(1)};
  // Added to every alert sent (and available to templates), as Prometheus's
  // global.external_labels.
  Labels external_labels;
  // Base of generatorURL and $externalURL, e.g. "http://collector:9740".
  std::string external_url;
  // A firing alert is re-sent to notifiers this often (--rules.alert.resend-delay).
  std::chrono::milliseconds resend_delay{std::chrono::minutes(1)};
  // A resolved alert is kept and re-sent as resolved for this long.
  std::chrono::milliseconds resolved_retention{std::chrono::minutes(15)};
  // File that keeps alert state across restarts ("" keeps it in memory only).
  // Written atomically after every evaluation that changed an alert.
  std::string state_file;
  // Expands label and annotation templates; nullptr leaves them as written.
  TemplateExpander expand_template;
};

// What /api/v1/rules shows of one rule.
struct RuleStatus {
  const RuleDesc* desc = nullptr;
  std::string health = "unknown";  // "ok", "err" or "unknown" (not yet evaluated).
  std::string last_error;
  int64_t last_evaluation_ms = 0;
  double evaluation_seconds = 0;
  AlertState state = AlertState::kInactive;  // Alerting rules.
  std::vector<Alert> alerts;                 // Alerting rules: pending and firing.
};

struct GroupStatus {
  std::string name;
  std::string file;
  std::chrono::milliseconds interval{0};
  uint64_t limit = 0;
  int64_t last_evaluation_ms = 0;
  double evaluation_seconds = 0;
  std::vector<RuleStatus> rules;
};

// Evaluates Prometheus rule files over a storage::Store: every group on its
// own interval (and, for `on_ingest` groups, as soon as samples they read
// arrive), rules in order, recording results and ALERTS / ALERTS_FOR_STATE
// written back to the store, alerts handed to the sinks, alert state
// persisted to a file so a restart neither re-waits `for` nor forgets a
// firing alert.
//
// Thread-safe. Each group evaluates on its own thread once Start() is
// called; EvaluateAll() evaluates synchronously (tests, rule unit tests).
class RuleManager {
 public:
  // `store`, `engine`, `clock`, `registry` and the sinks must outlive the
  // manager. Loads persisted alert state if options.state_file exists
  // (Corruption if it cannot be read).
  static Result<std::unique_ptr<RuleManager>> Create(const ManagerOptions& options,
                                                     storage::Store& store,
                                                     const promql::Engine& engine,
                                                     const Clock& clock,
                                                     prometheus::Registry& registry,
                                                     std::vector<AlertSink*> sinks);
  ~RuleManager();
  RuleManager(const RuleManager&) = delete;
  RuleManager& operator=(const RuleManager&) = delete;

  // Loads `files` and replaces the rule set with them, keeping the state of
  // alerts whose rule (group, name, labels, expression) is unchanged. On any
  // error the old set stays and the error is returned (InvalidArgument
  // naming file and line); vitals_rules_last_reload_successful follows.
  Status Load(const std::vector<std::string>& files);
  // As Load, with rule files already parsed.
  Status LoadParsed(std::vector<RuleFile> files);

  // Starts one evaluation thread per group. Reloads restart them.
  void Start();
  // Stops evaluation threads; pending state is saved.
  void Stop();

  // Evaluates every group once at `ts_ms`, in file and group order.
  void EvaluateAll(int64_t ts_ms);

  // Tells on_ingest groups that `series` were stored; a group reading any of
  // their metric names evaluates at once (on its thread).
  void OnIngest(std::span<const SeriesSamples> series);

  // The loaded rules and their state, for /api/v1/rules and /api/v1/alerts.
  std::vector<GroupStatus> Groups() const;
  // Every pending and firing alert.
  std::vector<Alert> ActiveAlerts() const;

  bool last_reload_successful() const { return last_reload_ok_.load(); }
  std::string last_reload_error() const;

 private:
  struct Group;
  struct Metrics;
  RuleManager(const ManagerOptions& options, storage::Store& store, const promql::Engine& engine,
              const Clock& clock, prometheus::Registry& registry, std::vector<AlertSink*> sinks);

  void EvaluateGroup(Group& group, int64_t ts_ms);
  // Appends `writes` to the store and clears it; failures are logged.
  void FlushWrites(const Group& group, std::vector<Sample>* writes);
  void RunGroup(Group* group);
  void StartThreadsLocked();
  void StopThreadsLocked();
  Status SaveStateLocked();
  Status LoadState();

  const ManagerOptions options_;
  storage::Store& store_;
  const promql::Engine& engine_;
  const Clock& clock_;
  const std::vector<AlertSink*> sinks_;
  std::unique_ptr<Metrics> metrics_;

  // Serialises evaluations, reloads and state reads. Evaluation threads
  // take it for one group evaluation at a time.
  mutable std::mutex mu_;
  std::vector<RuleFile> files_;                  // GUARDED_BY(mu_): owns the RuleDescs.
  std::vector<std::unique_ptr<Group>> groups_;   // GUARDED_BY(mu_)
  std::string last_reload_error_;                // GUARDED_BY(mu_)
  bool running_ = false;                         // GUARDED_BY(mu_)
  bool state_dirty_ = false;                     // GUARDED_BY(mu_)
  // Alert state loaded from the state file, applied to rules as they load.
  std::map<std::string, std::map<Labels, Alert>> restored_;  // GUARDED_BY(mu_)
  std::atomic<bool> last_reload_ok_{true};

  // The on_ingest groups while threads run, for OnIngest: the ingest path
  // must never wait behind an evaluation holding mu_. Set and cleared with
  // the threads (under mu_ and this mutex).
  std::mutex triggers_mu_;
  std::vector<Group*> on_ingest_groups_;  // GUARDED_BY(triggers_mu_)
};

}  // namespace vitals::rules
