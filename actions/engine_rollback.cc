// ActionsEngine: versions and restore points, rollback, webhooks, escalation.
#include <algorithm>

#include "actions/actions_metrics.h"
#include "actions/engine.h"
#include "actions/engine_internal.h"
#include "actions/webhook.h"
#include "common/log.h"
#include "rules/promql/parser.h"

namespace vitals::actions {

namespace internal {

Result<std::shared_ptr<WebhookSender>> MakeWebhookSender(const ActionsConfig& config,
                                                         prometheus::Registry& registry) {
  std::vector<WebhookEndpoint> endpoints;
  for (const WebhookConfig& w : config.webhooks) {
    WebhookEndpoint e;
    e.name = w.name;
    e.url = w.url;
    e.headers = w.headers;
    e.hmac_secret_file = w.hmac_secret_file;
    e.timeout = w.timeout;
    e.max_retries = w.max_retries;
    endpoints.push_back(std::move(e));
  }
  auto sender = WebhookSender::Create(std::move(endpoints), registry);
  if (!sender.ok()) {
    return Status::InvalidArgument((config.file.empty() ? std::string("actions") : config.file) +
                                   ": webhooks: " + sender.status().message());
  }
  return std::shared_ptr<WebhookSender>(std::move(sender).value());
}

}  // namespace internal

std::vector<internal::VersionSample> ActionsEngine::QueryVersions(int64_t now) const {
  std::string metric;
  std::string service_label, version_label;
  {
    std::lock_guard lock(mu_);
    if (config_.rollbacks.empty()) return {};
    metric = config_.version_metric;
    service_label = config_.service_label;
    version_label = config_.version_label;
  }
  auto expr = promql::ParseExpr("timestamp(" + metric + ")");
  if (!expr.ok()) return {};
  auto result = engine_.InstantQuery(store_, **expr, now);
  if (!result.ok()) {
    LOG_WARN << "actions: cannot read " << metric << ": " << result.status().message();
    return {};
  }
  std::vector<internal::VersionSample> out;
  if (const auto* v = std::get_if<promql::Vector>(&result->value)) {
    for (const Sample& s : *v) {
      std::string service(GetLabel(s.labels, service_label));
      std::string version(GetLabel(s.labels, version_label));
      if (service.empty() || version.empty()) continue;
      out.push_back({std::move(service), std::move(version), static_cast<int64_t>(s.value * 1000)});
    }
  }
  return out;
}

bool ActionsEngine::ServiceHealthy(const std::string& service) const {
  for (const auto& [key, b] : breakers_) {
    if (key.key.service == service && b.active()) return false;
  }
  return IncidentOf(service).empty();
}

void ActionsEngine::TrackVersions(const std::vector<internal::VersionSample>& samples, int64_t now) {
  // The newest report wins when several versions run (a rolling deploy).
  std::map<std::string, internal::VersionSample> running;
  for (const auto& s : samples) {
    auto [it, inserted] = running.emplace(s.service, s);
    if (!inserted && s.timestamp_ms > it->second.timestamp_ms) it->second = s;
  }
  for (const RollbackTarget& target : config_.rollbacks) {
    ServiceVersions& v = versions_[target.service];
    v.service = target.service;
    auto it = running.find(target.service);
    if (it != running.end() && it->second.version != v.current) {
      Audit({"actions", "version.changed", v.service, "", IncidentOf(v.service),
             v.service + " now runs " + it->second.version +
                 (v.current.empty() ? "" : " (was " + v.current + ")"),
             {{"from", v.current}, {"to", it->second.version}}});
      v.current = it->second.version;
      v.current_since_ms = now;
      v.first_seen.emplace(v.current, now);
      v.healthy_since_ms = 0;
      dirty_versions_.insert(v.service);
    }
    if (v.current.empty()) continue;
    if (!ServiceHealthy(v.service)) {
      if (v.healthy_since_ms != 0) dirty_versions_.insert(v.service);
      v.healthy_since_ms = 0;
      continue;
    }
    if (v.healthy_since_ms == 0) {
      v.healthy_since_ms = now;
      dirty_versions_.insert(v.service);
    }
    const bool known = std::any_of(v.restore_points.begin(), v.restore_points.end(),
                                   [&](const RestorePoint& p) { return p.version == v.current; });
    if (known || v.rolled_back_from.contains(v.current) ||
        now - v.healthy_since_ms < target.healthy_after.count()) {
      continue;
    }
    v.restore_points.push_back(RestorePoint{v.current, v.first_seen[v.current], now});
    std::sort(v.restore_points.begin(), v.restore_points.end(),
              [](const RestorePoint& a, const RestorePoint& b) { return a.first_seen_ms < b.first_seen_ms; });
    dirty_versions_.insert(v.service);
    Audit({"actions", "restore_point.added", v.service, "", "",
           v.current + " ran healthy for " + internal::FormatMs(target.healthy_after.count()) +
               ": a restore point for " + v.service,
           {{"version", v.current}}});
  }
}

std::vector<ServiceVersions> ActionsEngine::Versions() const {
  std::lock_guard lock(mu_);
  std::vector<ServiceVersions> out;
  for (const auto& [service, v] : versions_) out.push_back(v);
  return out;
}

Result<RollbackDecision> ActionsEngine::Rollback(const RollbackRequest& request,
                                                 const std::string& actor) {
  std::lock_guard lock(mu_);
  auto decision = RollbackLocked(request, actor, false);
  Settle();
  return decision;
}

Result<RollbackDecision> ActionsEngine::RollbackLocked(const RollbackRequest& request,
                                                       const std::string& actor, bool automatic) {
  const RollbackTarget* target = config_.FindRollback(request.service);
  if (!target) {
    return Status::NotFound("no rollback is configured for service \"" + request.service + "\"");
  }
  const int64_t now = clock_.NowMillis();
  ServiceVersions& v = versions_[request.service];
  v.service = request.service;
  if (v.rollback_running) {
    return Status::FailedPrecondition("a rollback of " + v.service + " is already running");
  }
  if (v.current.empty()) {
    return Status::FailedPrecondition("the running version of " + v.service + " is unknown (no " +
                                      config_.version_metric + " series)");
  }
  if (v.last_rollback_ms && now - v.last_rollback_ms < target->cooldown.count()) {
    return Status::FailedPrecondition(
        v.service + " was rolled back " + internal::FormatMs(now - v.last_rollback_ms) +
        " ago; cooldown " + internal::FormatMs(target->cooldown.count()));
  }
  const int64_t current_seen = v.first_seen.contains(v.current) ? v.first_seen[v.current] : now;
  const RestorePoint* chosen = nullptr;
  for (const RestorePoint& p : v.restore_points) {  // Oldest first: the last fit is the newest.
    if (p.version == v.current || v.rolled_back_from.contains(p.version)) continue;
    if (!request.to_version.empty()) {
      if (p.version == request.to_version) chosen = &p;
    } else if (p.first_seen_ms < current_seen) {
      chosen = &p;
    }
  }
  if (!chosen) {
    std::string known;
    for (const RestorePoint& p : v.restore_points) known += (known.empty() ? "" : ", ") + p.version;
    if (!request.to_version.empty()) {
      return Status::InvalidArgument(request.to_version + " is not an eligible restore point of " +
                                     v.service + " (restore points: " +
                                     (known.empty() ? "none" : known) + ")");
    }
    return Status::FailedPrecondition("no restore point of " + v.service + " older than " +
                                      v.current + " (restore points: " +
                                      (known.empty() ? "none" : known) + ")");
  }
  RollbackDecision decision{v.service, v.current, chosen->version,
                            request.dry_run || target->dry_run, false};
  const std::string verb = automatic ? "automatic" : actor;
  nlohmann::json details = {{"from", decision.from_version}, {"to", decision.to_version},
                            {"reason", request.reason}, {"dry_run", decision.dry_run}};
  if (decision.dry_run) {
    Audit({actor, "rollback.dry_run", v.service, "", request.incident_id,
           "dry run: would roll " + v.service + " back from " + decision.from_version + " to " +
               decision.to_version + (request.reason.empty() ? "" : ": " + request.reason),
           details});
    if (!request.incident_id.empty()) {
      AddTimeline(request.incident_id, "rollback.dry_run",
                  "dry run: would roll back to " + decision.to_version, actor);
    }
    metrics_->rollbacks.Add({{"service", v.service}, {"result", "dry_run"}}).Increment();
    return decision;
  }
  decision.started = true;
  v.rollback_running = true;
  v.last_rollback_ms = now;
  dirty_versions_.insert(v.service);
  Audit({actor, "rollback.started", v.service, "", request.incident_id,
         "rolling " + v.service + " back from " + decision.from_version + " to " +
             decision.to_version + " (" + verb + ")" +
             (request.reason.empty() ? "" : ": " + request.reason),
         details});
  if (!request.incident_id.empty()) {
    AddTimeline(request.incident_id, "rollback.started",
                "rolling back from " + decision.from_version + " to " + decision.to_version, actor);
  }
  metrics_->actions.Add({{"action", "rollback"}, {"result", "started"}}).Increment();

  RollbackTarget t = *target;
  std::shared_ptr<WebhookSender> webhooks = webhooks_;
  std::string incident = request.incident_id, reason = request.reason;
  Enqueue([this, t, webhooks, decision, incident, reason] {
    bool ok = false;
    std::string outcome;
    if (!t.command.empty()) {
      CommandSpec spec;
      spec.argv = t.command;
      spec.env = {{"SERVICE", decision.service},
                  {"FROM_VERSION", decision.from_version},
                  {"TO_VERSION", decision.to_version},
                  {"REASON", reason},
                  {"INCIDENT_ID", incident}};
      spec.timeout = t.timeout;
      auto result = commands_->Run(spec);
      ok = result.ok() && result->succeeded();
      outcome = result.ok() ? result->Describe() : result.status().message();
    } else {
      nlohmann::json body = {{"event", "rollback"},          {"service", decision.service},
                             {"from_version", decision.from_version},
                             {"to_version", decision.to_version}, {"reason", reason},
                             {"incident_id", incident}};
      WebhookResult r = webhooks->SendNow(
          t.webhook, body.dump(), "rollback-" + decision.service + "-" + decision.to_version);
      ok = r.ok;
      outcome = ok ? "webhook answered HTTP " + std::to_string(r.http_status) : r.error;
    }
    std::lock_guard lock(mu_);
    FinishRollback(decision, incident, ok, outcome);
    Settle();
  });
  return decision;
}

void ActionsEngine::FinishRollback(const RollbackDecision& d, const std::string& incident,
                                   bool ok, const std::string& outcome) {
  ServiceVersions& v = versions_[d.service];
  v.rollback_running = false;
  dirty_versions_.insert(d.service);
  nlohmann::json details = {{"from", d.from_version}, {"to", d.to_version}, {"outcome", outcome}};
  const std::string what = d.service + " from " + d.from_version + " to " + d.to_version;
  if (ok) {
    v.rolled_back_from.insert(d.from_version);
    Audit({"actions", "rollback.succeeded", d.service, "", incident,
           "rolled " + what + " back: " + outcome, details});
    metrics_->rollbacks.Add({{"service", d.service}, {"result", "succeeded"}}).Increment();
    if (!incident.empty()) AddTimeline(incident, "rollback.succeeded", "rolled back: " + outcome, "actions");
    return;
  }
  Audit({"actions", "rollback.failed", d.service, "", incident,
         "rollback of " + what + " failed: " + outcome, details});
  metrics_->rollbacks.Add({{"service", d.service}, {"result", "failed"}}).Increment();
  if (!incident.empty()) AddTimeline(incident, "rollback.failed", "rollback failed: " + outcome, "actions");
  if (const RollbackTarget* t = config_.FindRollback(d.service)) {
    Escalate(t->on_failure, d.service, "rollback of " + what + " failed: " + outcome, incident);
  }
  if (RecomputeModes(clock_.NowMillis())) {
    // Called from the effects thread with mu_ held: notify after unlocking
    // would be cleaner, but the callback only wakes other threads.
    NotifyModesChanged();
  }
}

void ActionsEngine::Escalate(const Escalation& escalation, const std::string& service,
                             const std::string& reason, const std::string& incident) {
  Audit({"actions", "escalation", service, "", incident, "escalated: " + reason,
         {{"webhook", escalation.webhook},
          {"mode", escalation.mode ? ModeName(*escalation.mode) : ""}}});
  if (!incident.empty()) AddTimeline(incident, "escalation", reason, "actions");
  if (!escalation.webhook.empty()) {
    PostWebhook(escalation.webhook, "escalation",
                {{"service", service}, {"reason", reason}, {"incident_id", incident}});
  }
  if (escalation.mode) {
    // An escalation needs a human: it holds like an operator's override
    // until someone clears it (vitalsctl mode clear).
    ModeKey key{service, ""};
    overrides_[key] = Override{key, *escalation.mode, "escalated: " + reason,
                               "actions:escalation", clock_.NowMillis(), 0};
    dirty_ = true;
  }
}

void ActionsEngine::PostWebhook(const std::string& webhook, const std::string& event,
                                nlohmann::json payload) {
  pending_webhooks_.push_back({webhook, event, std::move(payload)});
}

void ActionsEngine::SendWebhook(PendingWebhook hook) {
  const std::string& webhook = hook.webhook;
  const std::string& event = hook.event;
  nlohmann::json& payload = hook.payload;
  payload["event"] = event;
  payload["time"] = internal::FormatTime(clock_.NowMillis());
  payload["modes"] = nlohmann::json::array();
  const std::string service = payload.contains("alert")
                                  ? payload["alert"]["labels"].value(config_.service_label, "")
                                  : payload.value("service", "");
  for (const auto& [key, s] : effective_) {
    if (key.service == service) payload["modes"].push_back(internal::ModeStateToJson(s));
  }
  const std::string body = payload.dump();
  const std::string delivery =
      event + "-" + std::to_string(internal::Fnv1a(body + webhook) & 0xffffffffffffull);
  Status st = webhooks_->Send(webhook, body, delivery, [this, webhook, event](const WebhookResult& r) {
    metrics_->actions.Add({{"action", "webhook"}, {"result", r.ok ? "delivered" : "failed"}})
        .Increment();
    if (!r.ok) LOG_WARN << "actions: webhook " << webhook << " (" << event << ") failed: " << r.error;
  });
  if (!st.ok()) {
    metrics_->actions.Add({{"action", "webhook"}, {"result", "dropped"}}).Increment();
    LOG_WARN << "actions: webhook " << webhook << " (" << event << ") not sent: " << st.message();
  }
}

}  // namespace vitals::actions
