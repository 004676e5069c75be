#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include "actions/actions_config.h"
#include "actions/actions_db.h"
#include "actions/audit_log.h"
#include "actions/breaker.h"
#include "actions/command_runner.h"
#include "actions/maintenance.h"
#include "actions/mode.h"
#include "common/clock.h"
#include "common/status.h"
#include "rules/alert.h"
#include "rules/promql/engine.h"
#include "storage/store.h"

namespace vitals::actions {

class WebhookSender;
struct ActionsMetrics;
namespace internal {
struct VersionSample;
}

struct ActionsOptions {
  // --- Behaviour ---
  ActionsConfig config;
  // Directory of the actions database (audit log and state); created if
  // missing. Usually <storage.path>/actions.
  std::string db_dir;
  // Receives every alert that is not suppressed by a maintenance window (the
  // Alertmanager notifier). Not owned; may be null.
  rules::AlertSink* notifier = nullptr;
  // Called (on any thread, without locks held) after the effective modes
  // changed, e.g. to push them to agents. Must be quick.
  std::function<void()> on_modes_changed;
  // Runs rollback commands; null = real processes. Not owned.
  CommandRunner* command_runner = nullptr;
  // --- Timing ---
  // How often timers (recovery, probation, windows, overrides, versions)
  // are looked at by the background thread.
  std::chrono::milliseconds tick_interval{std::chrono::seconds(1)};
  // Start the tick and effect threads. Tests leave them off and call Tick()
  // and WaitEffectsIdle() with a fake clock.
  bool start_threads = true;
};

// A manual override: an operator's mode, which beats everything automatic
// and scheduled for that service or module.
struct Override {
  ModeKey key;
  Mode mode = Mode::kNormal;  // Normal too: "keep it up whatever the alerts say".
  std::string reason;
  std::string actor;
  int64_t since_ms = 0;
  int64_t expires_ms = 0;  // 0: until cleared.
};

// One line of an incident's timeline.
struct TimelineEntry {
  int64_t time_ms = 0;
  std::string kind;  // As the audit kinds: "alert.firing", "mode.changed", "note", ...
  std::string message;
  std::string actor;
};

// What automatic actions did about one service's trouble, from the first
// action until everything behind it is resolved.
struct Incident {
  std::string id;  // "INC-" + 6 hex digits, derived from the first alert (same on every collector).
  std::string service;
  std::string title;  // The first alert's name and summary.
  int64_t opened_ms = 0;
  int64_t closed_ms = 0;  // 0 while open.
  std::set<std::string> alerts;  // Alerts (label sets) that joined it, ever.
  std::set<std::string> firing;  // Those still firing.
  std::vector<TimelineEntry> timeline;
  bool open() const { return closed_ms == 0; }
};

// A version that ran healthy for healthy_after: a rollback may return to it.
struct RestorePoint {
  std::string version;
  int64_t first_seen_ms = 0;
  int64_t healthy_at_ms = 0;
};

// What the collector knows about one service's releases.
struct ServiceVersions {
  std::string service;
  std::string current;              // "" until the version series was seen.
  int64_t current_since_ms = 0;     // When `current` was first seen running.
  int64_t healthy_since_ms = 0;     // Start of the current healthy stretch; 0 = unhealthy now.
  std::map<std::string, int64_t> first_seen;  // Version -> first seen running.
  std::vector<RestorePoint> restore_points;   // Oldest first.
  std::set<std::string> rolled_back_from;     // Never a rollback target again.
  int64_t last_rollback_ms = 0;
  bool rollback_running = false;
};

struct RollbackRequest {
  std::string service;
  std::string to_version;  // "" = the newest eligible restore point.
  bool dry_run = false;    // Also on when the service's config says dry_run.
  std::string reason;
  std::string incident_id;
};

struct RollbackDecision {
  std::string service;
  std::string from_version;
  std::string to_version;
  bool dry_run = false;
  bool started = false;  // A command or webhook is now running.
};

struct OverrideRequest {
  ModeKey key;
  Mode mode = Mode::kMaintenance;
  std::string reason;
  std::chrono::milliseconds duration{0};  // 0: until cleared.
};

// The actions layer (docs/actions.md): receives alerts from the rule manager,
// routes firing ones by label matchers to actions (modes with circuit-breaker
// recovery, webhooks, rollbacks), keeps manual overrides and maintenance
// windows, opens incidents, and writes every step to the audit log. Alerts of
// a service in a maintenance window are recorded but neither forwarded to the
// notifier nor acted on.
//
// State survives restarts in the actions database. Thread-safe: alerts
// arrive on rule-group threads, API calls on web threads.
class ActionsEngine final : public rules::AlertSink {
 public:
  // Opens the database, restores state and (unless start_threads is off)
  // starts the tick and effect threads. `store`, `engine` (for version series
  // and no-data checks), `clock` and `registry` must outlive it.
  static Result<std::unique_ptr<ActionsEngine>> Open(ActionsOptions options, storage::Store& store,
                                                     const promql::Engine& engine,
                                                     const Clock& clock,
                                                     prometheus::Registry& registry);
  ~ActionsEngine() override;
  ActionsEngine(const ActionsEngine&) = delete;
  ActionsEngine& operator=(const ActionsEngine&) = delete;

  // rules::AlertSink: called after each group evaluation with due alerts.
  void Send(std::string_view rule_expr, const std::vector<rules::Alert>& alerts) override;

  // Replaces the routes, webhooks and rollback settings; state stays.
  Status Reload(ActionsConfig config);

  // Moves timers along at the clock's now: recovery and probation, window
  // starts and ends, override expiry, versions and restore points. The tick
  // thread calls it; tests call it after advancing a fake clock.
  void Tick();
  // Blocks until no rollback or escalation is running or queued (tests).
  void WaitEffectsIdle();

  // Stops threads, lets running effects finish. Idempotent.
  void Stop();

  // --- Modes ---
  // The effective modes, optionally of one service only.
  ModesSnapshot Modes(std::string_view service = {}) const;
  // Waits (real time) until the generation exceeds `after_generation` or
  // `timeout` passes, then returns Modes(service).
  ModesSnapshot WaitModes(uint64_t after_generation, std::chrono::milliseconds timeout,
                          std::string_view service = {}) const;
  Result<Override> SetOverride(const OverrideRequest& request, const std::string& actor);
  // NotFound if no override is set for the key.
  Status ClearOverride(const ModeKey& key, const std::string& actor);
  std::vector<Override> Overrides() const;

  // --- Maintenance windows ---
  // Validates and stores a window; id assigned when empty. Returns it.
  Result<MaintenanceWindow> ScheduleMaintenance(MaintenanceWindow window, const std::string& actor);
  // Windows not cancelled that have an occurrence ending after now (or all).
  std::vector<MaintenanceWindow> ListMaintenance(bool include_past) const;
  Result<MaintenanceWindow> ExtendMaintenance(const std::string& id, std::chrono::milliseconds by,
                                              const std::string& actor);
  Status CancelMaintenance(const std::string& id, const std::string& actor);

  // --- Rollback ---
  // Decides and starts (asynchronously) a rollback. FailedPrecondition when
  // in cooldown, already running, or no eligible restore point; NotFound
  // when the service has no rollback configured; InvalidArgument when `to`
  // is not eligible.
  Result<RollbackDecision> Rollback(const RollbackRequest& request, const std::string& actor);
  std::vector<ServiceVersions> Versions() const;

  // --- Incidents ---
  std::vector<Incident> Incidents(bool include_closed) const;
  std::optional<Incident> GetIncident(const std::string& id) const;
  Status AddIncidentNote(const std::string& id, const std::string& note, const std::string& actor);

  // --- Audit ---
  AuditLog& audit() { return *audit_; }
  // A request without a valid token: counted and audited.
  void RecordUnauthorized(std::string_view method, std::string_view path, std::string_view remote);

 private:
  ActionsEngine(ActionsOptions options, storage::Store& store, const promql::Engine& engine,
                const Clock& clock);
  struct BreakerKey {
    std::string route;
    ModeKey key;
    auto operator<=>(const BreakerKey&) const = default;
  };
  struct KnownAlert {
    bool firing = false;
    std::string service;
    std::string rule_expr;
    rules::Alert alert;       // As it was when it started firing.
    bool suppressed = false;  // Fired inside a maintenance window: not acted on yet.
  };
  // An alert whose resolution was vanished data, under a hold or escalate
  // policy: its breakers wait until the data is back.
  struct HeldAlert {
    std::string rule_expr;
    Labels labels;
    std::set<BreakerKey> breakers;
  };

  struct PendingWebhook {
    std::string webhook;
    std::string event;
    nlohmann::json payload;
  };

  // All REQUIRES(mu_).
  void HandleFiring(const rules::Alert& alert, const std::string& fingerprint, int64_t at_ms);
  void HandleResolved(const rules::Alert& alert, const std::string& fingerprint,
                      std::string_view rule_expr, bool no_data);
  std::string OpenOrJoinIncident(const std::string& service, const rules::Alert& alert,
                                 const std::string& fingerprint, int64_t at_ms);
  // The open incident of `service`, "" if none.
  std::string IncidentOf(const std::string& service) const;
  void AddTimeline(const std::string& incident_id, const std::string& kind,
                   const std::string& message, const std::string& actor);
  void CloseIncidentsIfDone(int64_t now_ms);
  bool ServiceInMaintenance(const std::string& service, const std::string& module,
                            int64_t now_ms) const;
  void AdvanceMaintenance(int64_t now_ms);
  // Acts on alerts that started firing in a window which has now ended.
  void ActOnUnsuppressed(int64_t now_ms);
  void AdvanceBreakers(int64_t now_ms);
  void ExpireOverrides(int64_t now_ms);
  void TrackVersions(const std::vector<internal::VersionSample>& samples, int64_t now_ms);
  bool ServiceHealthy(const std::string& service) const;
  // Recomputes the effective modes; audits and counts changes. Returns true
  // if anything changed (the caller then notifies, outside the lock).
  bool RecomputeModes(int64_t now_ms);
  ModesSnapshot SnapshotLocked(std::string_view service) const;
  Result<RollbackDecision> RollbackLocked(const RollbackRequest& request, const std::string& actor,
                                          bool automatic);
  void FinishRollback(const RollbackDecision& decision, const std::string& incident_id,
                      bool succeeded, const std::string& outcome);
  void Escalate(const Escalation& escalation, const std::string& service, const std::string& reason,
                const std::string& incident_id);
  // Queues a POST until Settle.
  void PostWebhook(const std::string& webhook, const std::string& event, nlohmann::json payload);
  void SendWebhook(PendingWebhook hook);
  void Audit(AuditRecord record);
  const ModeAction* FindModeAction(const BreakerKey& key) const;
  const Route* FindRoute(const std::string& name) const;
  // Ends every change: sends the queued webhooks (with the modes as they
  // are now) and writes what changed (dirty_, dirty_incidents_, ...).
  void Settle();
  Status LoadState();

  // No lock needed.
  std::vector<internal::VersionSample> QueryVersions(int64_t now_ms) const;
  // Effects (rollback commands and webhooks) run here, off the caller.
  void Enqueue(std::function<void()> job);
  void EffectsLoop();
  void TickLoop();
  void NotifyModesChanged();
  // Whether `rule_expr`'s selectors, narrowed to `alert`'s labels, still
  // return data (false = the data vanished). Runs queries; no lock held.
  bool DataPresent(std::string_view rule_expr, const Labels& labels) const;

  ActionsOptions options_;
  storage::Store& store_;
  const promql::Engine& engine_;
  const Clock& clock_;
  std::unique_ptr<ActionsDb> db_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<ActionsMetrics> metrics_;
  prometheus::Registry* registry_ = nullptr;
  CommandRunner* commands_ = nullptr;
  std::unique_ptr<CommandRunner> own_commands_;

  mutable std::mutex mu_;
  mutable std::condition_variable modes_cv_;  // Signalled when generation_ grows.
  ActionsConfig config_;                                    // GUARDED_BY(mu_)
  std::shared_ptr<WebhookSender> webhooks_;                 // GUARDED_BY(mu_); jobs hold a copy.
  std::map<std::string, KnownAlert> alerts_;                // GUARDED_BY(mu_), by label set.
  std::map<BreakerKey, Breaker> breakers_;                  // GUARDED_BY(mu_)
  std::map<ModeKey, Override> overrides_;                   // GUARDED_BY(mu_)
  std::map<std::string, MaintenanceWindow> windows_;        // GUARDED_BY(mu_)
  std::set<std::string> active_windows_;                    // GUARDED_BY(mu_)
  std::map<std::string, Incident> incidents_;               // GUARDED_BY(mu_)
  std::map<std::string, ServiceVersions> versions_;         // GUARDED_BY(mu_)
  std::map<ModeKey, ModeState> effective_;                  // GUARDED_BY(mu_)
  uint64_t generation_ = 0;                                 // GUARDED_BY(mu_)
  std::map<std::string, HeldAlert> held_;                   // GUARDED_BY(mu_), by alert.
  bool dirty_ = false;  // GUARDED_BY(mu_): alerts, breakers, overrides, held need saving.
  std::set<std::string> dirty_incidents_;                   // GUARDED_BY(mu_)
  std::set<std::string> dirty_windows_;                     // GUARDED_BY(mu_)
  std::set<std::string> dirty_versions_;                    // GUARDED_BY(mu_)
  bool stopping_ = false;                                   // GUARDED_BY(mu_)
  std::vector<PendingWebhook> pending_webhooks_;            // GUARDED_BY(mu_)

  std::mutex effects_mu_;
  std::condition_variable effects_cv_;
  std::vector<std::function<void()>> effects_;  // GUARDED_BY(effects_mu_)
  int effects_running_ = 0;                     // GUARDED_BY(effects_mu_)
  bool stop_ = false;                           // GUARDED_BY(effects_mu_)
  std::thread effects_thread_;
  std::thread tick_thread_;
};

}  // namespace vitals::actions
