#include "actions/engine.h"

#include <algorithm>

#include "actions/actions_metrics.h"
#include "actions/engine_internal.h"
#include "actions/webhook.h"
#include "common/log.h"
#include "rules/promql/parser.h"

namespace vitals::actions {

using internal::Fnv1a;
using internal::Summary;

ActionsEngine::ActionsEngine(ActionsOptions options, storage::Store& store,
                             const promql::Engine& engine, const Clock& clock)
    : options_(std::move(options)), store_(store), engine_(engine), clock_(clock) {
  config_ = options_.config;
}

Result<std::unique_ptr<ActionsEngine>> ActionsEngine::Open(ActionsOptions options,
                                                           storage::Store& store,
                                                           const promql::Engine& engine,
                                                           const Clock& clock,
                                                           prometheus::Registry& registry) {
  std::unique_ptr<ActionsEngine> e(new ActionsEngine(std::move(options), store, engine, clock));
  ASSIGN_OR_RETURN(e->db_, ActionsDb::Open(e->options_.db_dir));
  ASSIGN_OR_RETURN(e->audit_, AuditLog::Open(*e->db_, clock));
  e->metrics_ = std::make_unique<ActionsMetrics>(registry);
  ASSIGN_OR_RETURN(e->webhooks_, internal::MakeWebhookSender(e->config_, registry));
  e->registry_ = &registry;
  e->commands_ = e->options_.command_runner;
  if (!e->commands_) {
    e->own_commands_ = NewProcessCommandRunner();
    e->commands_ = e->own_commands_.get();
  }
  RETURN_IF_ERROR(e->LoadState());
  {
    std::lock_guard lock(e->mu_);
    int64_t now = clock.NowMillis();
    e->AdvanceMaintenance(now);
    e->RecomputeModes(now);
    e->metrics_->audit_last_sequence.Set(static_cast<double>(e->audit_->last_seq()));
  }
  if (e->options_.start_threads) {
    e->effects_thread_ = std::thread([p = e.get()] { p->EffectsLoop(); });
    e->tick_thread_ = std::thread([p = e.get()] { p->TickLoop(); });
  }
  return e;
}

ActionsEngine::~ActionsEngine() { Stop(); }

void ActionsEngine::Stop() {
  {
    std::lock_guard lock(effects_mu_);
    if (stop_) return;
    stop_ = true;
  }
  effects_cv_.notify_all();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;  // Watchers return now.
  }
  modes_cv_.notify_all();
  if (tick_thread_.joinable()) tick_thread_.join();
  if (effects_thread_.joinable()) effects_thread_.join();
  // Effects queued without threads (tests) run now, so nothing is lost.
  WaitEffectsIdle();
  if (webhooks_) webhooks_->Stop(std::chrono::seconds(2));
}

Status ActionsEngine::Reload(ActionsConfig config) {
  ASSIGN_OR_RETURN(auto webhooks, internal::MakeWebhookSender(config, *registry_));
  std::shared_ptr<WebhookSender> old;
  bool changed;
  {
    std::lock_guard lock(mu_);
    config_ = std::move(config);
    old = std::exchange(webhooks_, std::move(webhooks));
    // Modes of routes that are gone lift at once; the rest keep their state.
    for (auto it = breakers_.begin(); it != breakers_.end();) {
      it = FindRoute(it->first.route) ? std::next(it) : breakers_.erase(it);
    }
    dirty_ = true;
    changed = RecomputeModes(clock_.NowMillis());
    Settle();
  }
  if (old) old->Stop(std::chrono::seconds(2));
  if (changed) NotifyModesChanged();
  return Status::Ok();
}

// --- Alerts -----------------------------------------------------------------

void ActionsEngine::Send(std::string_view rule_expr, const std::vector<rules::Alert>& alerts) {
  const int64_t now = clock_.NowMillis();
  // Which resolutions are "the data vanished" is decided before taking the
  // lock: it runs queries.
  std::map<std::string, bool> vanished;
  {
    std::vector<std::pair<std::string, Labels>> candidates;
    {
      std::lock_guard lock(mu_);
      for (const rules::Alert& a : alerts) {
        if (a.resolved_at_ms == 0) continue;
        std::string fp = FormatSeries(a.labels);
        auto it = alerts_.find(fp);
        if (it != alerts_.end() && it->second.firing) candidates.emplace_back(fp, a.labels);
      }
    }
    for (auto& [fp, labels] : candidates) vanished[fp] = !DataPresent(rule_expr, labels);
  }

  std::vector<rules::Alert> forward;
  bool changed;
  {
    std::lock_guard lock(mu_);
    for (const rules::Alert& a : alerts) {
      const std::string service(GetLabel(a.labels, config_.service_label));
      const std::string module(GetLabel(a.labels, config_.module_label));
      const bool suppressed = ServiceInMaintenance(service, module, now);
      if (!suppressed) forward.push_back(a);
      const std::string fp = FormatSeries(a.labels);
      const bool firing = a.state == rules::AlertState::kFiring && a.resolved_at_ms == 0;
      auto known = alerts_.find(fp);
      const bool was_firing = known != alerts_.end() && known->second.firing;
      if (firing == was_firing || (!firing && known == alerts_.end())) continue;
      metrics_->alerts_received.Increment();
      if (suppressed) metrics_->alerts_suppressed.Increment();
      dirty_ = true;
      const std::string name(GetLabel(a.labels, "alertname"));
      nlohmann::json details = {{"labels", internal::LabelsToJson(a.labels)},
                                {"value", a.value},
                                {"suppressed", suppressed}};
      if (firing) {
        alerts_[fp] = KnownAlert{true, service, std::string(rule_expr), a, suppressed};
        Audit({"rules", "alert.firing", service, module, "",
               name + " firing" + (suppressed ? " (in a maintenance window: not acted on)" : "") +
                   ": " + Summary(a),
               details});
        if (!suppressed) HandleFiring(a, fp, a.fired_at_ms ? a.fired_at_ms : now);
      } else {
        bool no_data = vanished.contains(fp) && vanished[fp];
        details["no_data"] = no_data;
        Audit({"rules", "alert.resolved", service, module, "",
               name + " resolved" + (no_data ? " (its data vanished)" : ""), details});
        HandleResolved(a, fp, rule_expr, no_data);
        alerts_.erase(fp);
      }
    }
    changed = RecomputeModes(now);
    Settle();
  }
  if (options_.notifier && !forward.empty()) options_.notifier->Send(rule_expr, forward);
  if (changed) NotifyModesChanged();
}

void ActionsEngine::HandleFiring(const rules::Alert& alert, const std::string& fp, int64_t at_ms) {
  const std::string service(GetLabel(alert.labels, config_.service_label));
  const std::string module_label(GetLabel(alert.labels, config_.module_label));
  for (const Route* route : MatchRoutes(config_, alert.labels)) {
    for (const Action& action : route->actions) {
      switch (action.kind) {
        case Action::Kind::kMode: {
          if (service.empty()) {
            Audit({"actions", "action.failed", "", "", "",
                   "route " + route->name + ": alert has no " + config_.service_label +
                       " label, no mode set",
                   {{"route", route->name}}});
            metrics_->actions.Add({{"action", "mode"}, {"result", "failed"}}).Increment();
            break;
          }
          ModeKey key{service, action.mode.module_from_label ? module_label : action.mode.module};
          std::string incident = OpenOrJoinIncident(service, alert, fp, at_ms);
          Breaker& b = breakers_[BreakerKey{route->name, key}];
          const bool retrip = b.state == Breaker::State::kProbation;
          if (b.Fire(fp, at_ms)) {
            b.reason = Summary(alert);
            b.incident_id = incident;
            Audit({"actions", retrip ? "mode.retripped" : "action.mode", key.service, key.module,
                   incident,
                   std::string(retrip ? "re-tripped during probation: " : "") + "route " +
                       route->name + " puts " + internal::KeyName(key) + " into " +
                       std::string(ModeName(action.mode.mode)),
                   {{"route", route->name}, {"trips", b.trips}}});
            metrics_->actions.Add({{"action", "mode"}, {"result", "applied"}}).Increment();
          }
          break;
        }
        case Action::Kind::kWebhook:
          PostWebhook(action.webhook, "alert.firing",
                      {{"route", route->name},
                       {"alert", internal::AlertToJson(alert)},
                       {"incident_id", IncidentOf(service)}});
          break;
        case Action::Kind::kRollback: {
          if (service.empty()) break;
          std::string incident = OpenOrJoinIncident(service, alert, fp, at_ms);
          RollbackRequest request{service, "", false, Summary(alert), incident};
          auto decision = RollbackLocked(request, "actions", true);
          if (!decision.ok()) {
            Audit({"actions", "rollback.refused", service, "", incident,
                   "rollback of " + service + " not started: " + decision.status().message(),
                   {{"route", route->name}}});
            metrics_->rollbacks.Add({{"service", service}, {"result", "refused"}}).Increment();
          }
          break;
        }
      }
    }
  }
}

void ActionsEngine::HandleResolved(const rules::Alert& alert, const std::string& fp,
                                   std::string_view rule_expr, bool no_data) {
  const std::string service(GetLabel(alert.labels, config_.service_label));
  const int64_t at = alert.resolved_at_ms;
  for (auto& [key, b] : breakers_) {
    if (!b.firing.contains(fp)) continue;
    b.Resolve(fp, at, no_data);
    const Route* route = FindRoute(key.route);
    if (!b.firing.empty() || !no_data || !route) continue;
    if (route->on_no_data == NoDataPolicy::kLift) continue;
    held_[fp] = HeldAlert{std::string(rule_expr), alert.labels, {}};
    held_[fp].breakers.insert(key);
    Audit({"actions", "mode.held", key.key.service, key.key.module, b.incident_id,
           "the data behind " + std::string(GetLabel(alert.labels, "alertname")) +
               " vanished: " + internal::KeyName(key.key) + " stays in " +
               std::string(ModeName(FindModeAction(key)->mode)) + " (on_no_data: " +
               std::string(NoDataPolicyName(route->on_no_data)) + ")",
           {{"route", key.route}}});
    if (route->on_no_data == NoDataPolicy::kEscalate) {
      Escalate(route->escalate, key.key.service,
               "data behind " + std::string(GetLabel(alert.labels, "alertname")) + " vanished",
               b.incident_id);
    }
  }
  for (auto& [id, incident] : incidents_) {
    if (incident.open() && incident.firing.erase(fp)) {
      AddTimeline(id, "alert.resolved",
                  std::string(GetLabel(alert.labels, "alertname")) + " resolved", "rules");
    }
  }
  for (const Route* route : MatchRoutes(config_, alert.labels)) {
    for (const Action& action : route->actions) {
      if (action.kind != Action::Kind::kWebhook) continue;
      PostWebhook(action.webhook, "alert.resolved",
                  {{"route", route->name},
                   {"alert", internal::AlertToJson(alert)},
                   {"incident_id", IncidentOf(service)}});
    }
  }
}

bool ActionsEngine::DataPresent(std::string_view rule_expr, const Labels& labels) const {
  auto parsed = promql::ParseExpr(rule_expr);
  if (!parsed.ok()) return true;  // Cannot tell: never call it vanished.
  std::vector<std::string> selectors = internal::SelectorsOf(**parsed);
  if (selectors.empty()) return true;
  const int64_t now = clock_.NowMillis();
  for (const std::string& text : selectors) {
    auto expr = promql::ParseExpr(text);
    if (!expr.ok()) return true;
    auto result = engine_.InstantQuery(store_, **expr, now);
    if (!result.ok()) return true;
    const auto* vector = std::get_if<promql::Vector>(&result->value);
    if (!vector) return true;
    for (const Sample& s : *vector) {
      if (internal::Compatible(s.labels, labels)) return true;
    }
  }
  return false;
}

// --- Timers -----------------------------------------------------------------

void ActionsEngine::Tick() {
  const int64_t now = clock_.NowMillis();
  // Held modes whose data came back: checked without the lock (queries).
  std::vector<std::pair<std::string, HeldAlert>> held;
  {
    std::lock_guard lock(mu_);
    held.assign(held_.begin(), held_.end());
  }
  std::vector<std::string> back;
  for (const auto& [fp, h] : held) {
    if (DataPresent(h.rule_expr, h.labels)) back.push_back(fp);
  }
  std::vector<internal::VersionSample> versions = QueryVersions(now);

  bool changed;
  {
    std::lock_guard lock(mu_);
    for (const std::string& fp : back) {
      auto it = held_.find(fp);
      if (it == held_.end()) continue;
      for (const BreakerKey& key : it->second.breakers) {
        auto b = breakers_.find(key);
        if (b == breakers_.end()) continue;
        b->second.DataBack(now);
        Audit({"actions", "mode.data_back", key.key.service, key.key.module, b->second.incident_id,
               "data is back for " + internal::KeyName(key.key) + ": recovery starts",
               {{"route", key.route}}});
      }
      held_.erase(it);
      dirty_ = true;
    }
    ExpireOverrides(now);
    AdvanceBreakers(now);
    AdvanceMaintenance(now);
    ActOnUnsuppressed(now);
    TrackVersions(versions, now);
    CloseIncidentsIfDone(now);
    changed = RecomputeModes(now);
    Settle();
  }
  if (changed) NotifyModesChanged();
}

void ActionsEngine::ActOnUnsuppressed(int64_t now) {
  for (auto& [fp, known] : alerts_) {
    if (!known.firing || !known.suppressed) continue;
    const std::string module(GetLabel(known.alert.labels, config_.module_label));
    if (ServiceInMaintenance(known.service, module, now)) continue;
    known.suppressed = false;
    dirty_ = true;
    Audit({"actions", "alert.unsuppressed", known.service, module, "",
           std::string(GetLabel(known.alert.labels, "alertname")) +
               " still firing after the maintenance window: acting on it now",
           {{"labels", internal::LabelsToJson(known.alert.labels)}}});
    HandleFiring(known.alert, fp, now);
  }
}

void ActionsEngine::AdvanceBreakers(int64_t now) {
  for (auto it = breakers_.begin(); it != breakers_.end();) {
    const BreakerKey& key = it->first;
    Breaker& b = it->second;
    const ModeAction* action = FindModeAction(key);
    const Route* route = FindRoute(key.route);
    if (!action || !route) {
      it = breakers_.erase(it);
      dirty_ = true;
      continue;
    }
    const Breaker::State before = b.state;
    if (b.Advance(now, *action, route->on_no_data)) {
      dirty_ = true;
      if (b.state == Breaker::State::kProbation) {
        Audit({"actions", "mode.probation", key.key.service, key.key.module, b.incident_id,
               internal::KeyName(key.key) + " lifted from " + std::string(ModeName(action->mode)) +
                   " into probation for " + internal::FormatMs(action->probation.count()),
               {{"route", key.route}, {"trips", b.trips}}});
      } else if (before == Breaker::State::kProbation && b.state == Breaker::State::kClosed) {
        Audit({"actions", "mode.recovered", key.key.service, key.key.module, b.incident_id,
               internal::KeyName(key.key) + " passed probation: recovered",
               {{"route", key.route}}});
      }
    }
    if (b.state == Breaker::State::kClosed) {
      it = breakers_.erase(it);
      dirty_ = true;
    } else {
      ++it;
    }
  }
}

void ActionsEngine::TickLoop() {
  std::unique_lock lock(effects_mu_);
  while (!stop_) {
    lock.unlock();
    Tick();
    lock.lock();
    effects_cv_.wait_for(lock, options_.tick_interval, [this] { return stop_; });
  }
}

// --- Modes ------------------------------------------------------------------

bool ActionsEngine::RecomputeModes(int64_t now) {
  std::map<ModeKey, ModeState> automatic, scheduled, manual;
  auto keep_most_severe = [](std::map<ModeKey, ModeState>& layer, ModeState s) {
    auto [it, inserted] = layer.emplace(s.key, s);
    if (!inserted && (s.mode > it->second.mode ||
                      (s.mode == it->second.mode && s.since_ms < it->second.since_ms))) {
      it->second = std::move(s);
    }
  };
  for (const auto& [key, b] : breakers_) {
    if (!b.active()) continue;
    const ModeAction* action = FindModeAction(key);
    const Route* route = FindRoute(key.route);
    if (!action || !route) continue;
    keep_most_severe(automatic, ModeState{key.key, action->mode, ModeSource::kAutomatic, b.reason,
                                          b.opened_ms, b.EtaMillis(*action, route->on_no_data),
                                          b.incident_id});
  }
  for (const auto& [id, w] : windows_) {
    auto occurrence = ActiveAt(w, now);
    if (!occurrence) continue;
    keep_most_severe(scheduled,
                     ModeState{{w.service, w.module}, ParseMode(w.mode).value_or(Mode::kMaintenance),
                               ModeSource::kMaintenance, w.reason, occurrence->start_ms,
                               occurrence->end_ms, ""});
  }
  for (const auto& [key, o] : overrides_) {
    manual[key] = ModeState{key, o.mode, ModeSource::kManual, o.reason, o.since_ms, o.expires_ms, ""};
  }
  std::map<ModeKey, ModeState> next = automatic;
  for (auto& [key, s] : scheduled) next[key] = s;
  for (auto& [key, s] : manual) next[key] = s;
  std::erase_if(next, [](const auto& kv) { return kv.second.mode == Mode::kNormal; });
  if (next == effective_) return false;

  std::set<ModeKey> keys;
  for (const auto& [k, s] : effective_) keys.insert(k);
  for (const auto& [k, s] : next) keys.insert(k);
  for (const ModeKey& key : keys) {
    auto before = effective_.find(key);
    auto after = next.find(key);
    ModeState normal;
    normal.key = key;
    const ModeState& from = before != effective_.end() ? before->second : normal;
    const ModeState& to = after != next.end() ? after->second : normal;
    if (from.mode == to.mode && from.source == to.source) continue;
    metrics_->mode_changes.Add({{"service", key.service}, {"module", key.module}}).Increment();
    for (Mode m : {Mode::kNormal, Mode::kDegraded, Mode::kReadOnly, Mode::kMaintenance}) {
      metrics_->service_mode
          .Add({{"service", key.service}, {"module", key.module}, {"mode", std::string(ModeName(m))}})
          .Set(m == to.mode ? 1 : 0);
    }
    std::string incident = !to.incident_id.empty() ? to.incident_id : from.incident_id;
    std::string message = internal::KeyName(key) + ": " + std::string(ModeName(from.mode)) +
                          " -> " + std::string(ModeName(to.mode));
    if (to.source != ModeSource::kNone) message += " (" + std::string(ModeSourceName(to.source)) + ")";
    if (!to.reason.empty()) message += ": " + to.reason;
    Audit({"actions", "mode.changed", key.service, key.module, incident, message,
           {{"from", ModeName(from.mode)},
            {"to", ModeName(to.mode)},
            {"source", ModeSourceName(to.source)},
            {"eta_ms", to.eta_ms}}});
    if (!incident.empty()) AddTimeline(incident, "mode.changed", message, "actions");
  }
  effective_ = std::move(next);
  ++generation_;
  metrics_->modes_generation.Set(static_cast<double>(generation_));
  modes_cv_.notify_all();
  return true;
}

ModesSnapshot ActionsEngine::SnapshotLocked(std::string_view service) const {
  ModesSnapshot snap;
  snap.generation = generation_;
  for (const auto& [key, s] : effective_) {
    if (service.empty() || key.service == service) snap.modes.push_back(s);
  }
  const int64_t now = clock_.NowMillis();
  const int64_t horizon = now + config_.announce_ahead.count();
  for (const auto& [id, w] : windows_) {
    if (!service.empty() && w.service != service) continue;
    auto next = NextAfter(w, now);
    if (!next || next->start_ms > horizon) continue;
    snap.upcoming.push_back(UpcomingMaintenance{id, {w.service, w.module},
                                                ParseMode(w.mode).value_or(Mode::kMaintenance),
                                                w.reason, next->start_ms, next->end_ms});
  }
  std::sort(snap.upcoming.begin(), snap.upcoming.end(),
            [](const auto& a, const auto& b) { return a.start_ms < b.start_ms; });
  return snap;
}

ModesSnapshot ActionsEngine::Modes(std::string_view service) const {
  std::lock_guard lock(mu_);
  return SnapshotLocked(service);
}

ModesSnapshot ActionsEngine::WaitModes(uint64_t after_generation, std::chrono::milliseconds timeout,
                                       std::string_view service) const {
  std::unique_lock lock(mu_);
  modes_cv_.wait_for(lock, timeout, [&] { return generation_ > after_generation || stopping_; });
  return SnapshotLocked(service);
}

void ActionsEngine::NotifyModesChanged() {
  if (options_.on_modes_changed) options_.on_modes_changed();
}

Result<Override> ActionsEngine::SetOverride(const OverrideRequest& request, const std::string& actor) {
  if (request.key.service.empty()) return Status::InvalidArgument("service is required");
  if (request.duration.count() < 0) return Status::InvalidArgument("duration must not be negative");
  const int64_t now = clock_.NowMillis();
  Override o{request.key, request.mode, request.reason, actor, now,
             request.duration.count() > 0 ? now + request.duration.count() : 0};
  bool changed;
  {
    std::lock_guard lock(mu_);
    overrides_[request.key] = o;
    dirty_ = true;
    Audit({actor, "override.set", request.key.service, request.key.module, IncidentOf(request.key.service),
           actor + " set " + internal::KeyName(request.key) + " to " +
               std::string(ModeName(request.mode)) +
               (o.expires_ms ? " for " + internal::FormatMs(request.duration.count()) : "") +
               (request.reason.empty() ? "" : ": " + request.reason),
           {{"mode", ModeName(request.mode)}, {"expires_ms", o.expires_ms}}});
    changed = RecomputeModes(now);
    Settle();
  }
  if (changed) NotifyModesChanged();
  return o;
}

Status ActionsEngine::ClearOverride(const ModeKey& key, const std::string& actor) {
  bool changed;
  {
    std::lock_guard lock(mu_);
    if (overrides_.erase(key) == 0) {
      return Status::NotFound("no override is set for " + internal::KeyName(key));
    }
    dirty_ = true;
    Audit({actor, "override.cleared", key.service, key.module, IncidentOf(key.service),
           actor + " cleared the override of " + internal::KeyName(key), {}});
    changed = RecomputeModes(clock_.NowMillis());
    Settle();
  }
  if (changed) NotifyModesChanged();
  return Status::Ok();
}

std::vector<Override> ActionsEngine::Overrides() const {
  std::lock_guard lock(mu_);
  std::vector<Override> out;
  for (const auto& [k, o] : overrides_) out.push_back(o);
  return out;
}

void ActionsEngine::ExpireOverrides(int64_t now) {
  for (auto it = overrides_.begin(); it != overrides_.end();) {
    if (it->second.expires_ms == 0 || now < it->second.expires_ms) {
      ++it;
      continue;
    }
    Audit({"actions", "override.expired", it->first.service, it->first.module, "",
           "the override of " + internal::KeyName(it->first) + " by " + it->second.actor + " expired",
           {}});
    it = overrides_.erase(it);
    dirty_ = true;
  }
}

// --- Effects ----------------------------------------------------------------

void ActionsEngine::Enqueue(std::function<void()> job) {
  {
    std::lock_guard lock(effects_mu_);
    effects_.push_back(std::move(job));
  }
  effects_cv_.notify_all();
}

void ActionsEngine::EffectsLoop() {
  std::unique_lock lock(effects_mu_);
  while (true) {
    effects_cv_.wait(lock, [this] { return stop_ || !effects_.empty(); });
    if (effects_.empty()) return;  // Stopping with nothing left.
    std::function<void()> job = std::move(effects_.front());
    effects_.erase(effects_.begin());
    ++effects_running_;
    lock.unlock();
    job();
    lock.lock();
    --effects_running_;
    effects_cv_.notify_all();
  }
}

void ActionsEngine::WaitEffectsIdle() {
  std::unique_lock lock(effects_mu_);
  if (!effects_thread_.joinable()) {
    // No effect thread (tests): run the queue here, including what the jobs enqueue.
    while (!effects_.empty()) {
      std::function<void()> job = std::move(effects_.front());
      effects_.erase(effects_.begin());
      lock.unlock();
      job();
      lock.lock();
    }
    return;
  }
  effects_cv_.wait(lock, [this] { return effects_.empty() && effects_running_ == 0; });
}

void ActionsEngine::Audit(AuditRecord record) {
  auto entry = audit_->Append(std::move(record));
  if (!entry.ok()) {
    LOG_ERROR << "actions: cannot write the audit log: " << entry.status().message();
    return;
  }
  metrics_->audit_last_sequence.Set(static_cast<double>(entry->seq));
  LOG_INFO << "audit " << entry->seq << " " << entry->kind << ": " << entry->message;
}

void ActionsEngine::RecordUnauthorized(std::string_view method, std::string_view path,
                                       std::string_view remote) {
  std::lock_guard lock(mu_);
  Audit({"api:" + std::string(remote), "auth.refused", "", "", "",
         std::string(method) + " " + std::string(path) + " refused: missing or wrong bearer token",
         {{"method", method}, {"path", path}, {"remote", remote}}});
}

const Route* ActionsEngine::FindRoute(const std::string& name) const {
  for (const Route& r : config_.routes) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const ModeAction* ActionsEngine::FindModeAction(const BreakerKey& key) const {
  const Route* route = FindRoute(key.route);
  if (!route) return nullptr;
  for (const Action& a : route->actions) {
    if (a.kind == Action::Kind::kMode &&
        (a.mode.module_from_label || a.mode.module == key.key.module)) {
      return &a.mode;
    }
  }
  return nullptr;
}

}  // namespace vitals::actions
