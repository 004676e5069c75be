// ActionsEngine: persisted state, incidents and maintenance windows.
#include <algorithm>
#include <cstdio>

#include "actions/actions_metrics.h"
#include "actions/engine.h"
#include "actions/engine_internal.h"
#include "common/log.h"

namespace vitals::actions {
namespace {

// Keys in the actions database's state family.
constexpr std::string_view kEngineKey = "engine";
constexpr std::string_view kIncidentPrefix = "incident/";
constexpr std::string_view kWindowPrefix = "maintenance/";
constexpr std::string_view kVersionsPrefix = "versions/";

nlohmann::json IncidentToJson(const Incident& i) {
  nlohmann::json timeline = nlohmann::json::array();
  for (const TimelineEntry& t : i.timeline) {
    timeline.push_back({{"time_ms", t.time_ms},
                        {"time", internal::FormatTime(t.time_ms)},
                        {"kind", t.kind},
                        {"message", t.message},
                        {"actor", t.actor}});
  }
  return {{"id", i.id},         {"service", i.service},     {"title", i.title},
          {"opened_ms", i.opened_ms}, {"closed_ms", i.closed_ms}, {"alerts", i.alerts},
          {"firing", i.firing}, {"timeline", timeline}};
}

Labels LabelsFromJson(const nlohmann::json& j) {
  Labels out;
  for (const auto& [name, value] : j.items()) {
    if (value.is_string()) out.push_back(Label{name, value.get<std::string>()});
  }
  Canonicalize(&out);
  return out;
}

Incident IncidentFromJson(const nlohmann::json& j) {
  Incident i;
  i.id = j.value("id", "");
  i.service = j.value("service", "");
  i.title = j.value("title", "");
  i.opened_ms = j.value("opened_ms", int64_t{0});
  i.closed_ms = j.value("closed_ms", int64_t{0});
  i.alerts = j.value("alerts", std::set<std::string>{});
  i.firing = j.value("firing", std::set<std::string>{});
  for (const auto& t : j.value("timeline", nlohmann::json::array())) {
    i.timeline.push_back(TimelineEntry{t.value("time_ms", int64_t{0}), t.value("kind", ""),
                                       t.value("message", ""), t.value("actor", "")});
  }
  return i;
}

nlohmann::json VersionsToJson(const ServiceVersions& v) {
  nlohmann::json points = nlohmann::json::array();
  for (const RestorePoint& p : v.restore_points) {
    points.push_back({{"version", p.version},
                      {"first_seen_ms", p.first_seen_ms},
                      {"healthy_at_ms", p.healthy_at_ms}});
  }
  return {{"service", v.service},
          {"current", v.current},
          {"current_since_ms", v.current_since_ms},
          {"healthy_since_ms", v.healthy_since_ms},
          {"first_seen", v.first_seen},
          {"restore_points", points},
          {"rolled_back_from", v.rolled_back_from},
          {"last_rollback_ms", v.last_rollback_ms}};
}

ServiceVersions VersionsFromJson(const nlohmann::json& j) {
  ServiceVersions v;
  v.service = j.value("service", "");
  v.current = j.value("current", "");
  v.current_since_ms = j.value("current_since_ms", int64_t{0});
  v.healthy_since_ms = j.value("healthy_since_ms", int64_t{0});
  v.first_seen = j.value("first_seen", std::map<std::string, int64_t>{});
  for (const auto& p : j.value("restore_points", nlohmann::json::array())) {
    v.restore_points.push_back(RestorePoint{p.value("version", ""),
                                            p.value("first_seen_ms", int64_t{0}),
                                            p.value("healthy_at_ms", int64_t{0})});
  }
  v.rolled_back_from = j.value("rolled_back_from", std::set<std::string>{});
  v.last_rollback_ms = j.value("last_rollback_ms", int64_t{0});
  // A rollback that was running when the collector stopped is not resumed:
  // its outcome is unknown, and the cooldown still counts from its start.
  return v;
}

}  // namespace

Status ActionsEngine::LoadState() {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(auto engine, db_->Get(kEngineKey));
  if (engine) {
    auto j = nlohmann::json::parse(*engine, nullptr, false);
    if (j.is_discarded()) return Status::Corruption("actions state: unreadable engine record");
    for (const auto& a : j.value("alerts", nlohmann::json::array())) {
      KnownAlert known{a.value("firing", false), a.value("service", ""),
                       a.value("rule_expr", ""), {}, a.value("suppressed", false)};
      known.alert.labels = LabelsFromJson(a.value("alert_labels", nlohmann::json::object()));
      known.alert.annotations = LabelsFromJson(a.value("annotations", nlohmann::json::object()));
      known.alert.state = rules::AlertState::kFiring;
      known.alert.fired_at_ms = a.value("fired_at_ms", int64_t{0});
      alerts_[a.value("labels", "")] = std::move(known);
    }
    for (const auto& b : j.value("breakers", nlohmann::json::array())) {
      breakers_[BreakerKey{b.value("route", ""), {b.value("service", ""), b.value("module", "")}}] =
          BreakerFromJson(b);
    }
    for (const auto& o : j.value("overrides", nlohmann::json::array())) {
      ModeKey key{o.value("service", ""), o.value("module", "")};
      overrides_[key] = Override{key,
                                 ParseMode(o.value("mode", "normal")).value_or(Mode::kNormal),
                                 o.value("reason", ""),
                                 o.value("actor", ""),
                                 o.value("since_ms", int64_t{0}),
                                 o.value("expires_ms", int64_t{0})};
    }
    // Windows already entered before the restart are not audited as
    // started again.
    active_windows_ = j.value("active_windows", std::set<std::string>{});
    for (const auto& h : j.value("held", nlohmann::json::array())) {
      HeldAlert held{h.value("rule_expr", ""),
                     LabelsFromJson(h.value("labels", nlohmann::json::object())), {}};
      for (const auto& k : h.value("breakers", nlohmann::json::array())) {
        held.breakers.insert(
            BreakerKey{k.value("route", ""), {k.value("service", ""), k.value("module", "")}});
      }
      held_[h.value("alert", "")] = std::move(held);
    }
  }
  ASSIGN_OR_RETURN(auto incidents, db_->Scan(kIncidentPrefix));
  for (const auto& [key, value] : incidents) {
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded()) return Status::Corruption("actions state: unreadable " + key);
    Incident i = IncidentFromJson(j);
    incidents_[i.id] = std::move(i);
  }
  ASSIGN_OR_RETURN(auto windows, db_->Scan(kWindowPrefix));
  for (const auto& [key, value] : windows) {
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded()) return Status::Corruption("actions state: unreadable " + key);
    ASSIGN_OR_RETURN(MaintenanceWindow w, MaintenanceWindowFromJson(j));
    windows_[w.id] = std::move(w);
  }
  ASSIGN_OR_RETURN(auto versions, db_->Scan(kVersionsPrefix));
  for (const auto& [key, value] : versions) {
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded()) return Status::Corruption("actions state: unreadable " + key);
    ServiceVersions v = VersionsFromJson(j);
    versions_[v.service] = std::move(v);
  }
  size_t open = std::count_if(incidents_.begin(), incidents_.end(),
                              [](const auto& kv) { return kv.second.open(); });
  metrics_->incidents_open.Set(static_cast<double>(open));
  return Status::Ok();
}

void ActionsEngine::Settle() {
  for (PendingWebhook& hook : std::exchange(pending_webhooks_, {})) SendWebhook(std::move(hook));
  auto put = [this](const std::string& key, const nlohmann::json& value) {
    if (Status st = db_->Put(key, value.dump()); !st.ok()) {
      LOG_ERROR << "actions: cannot save " << key << ": " << st.message();
    }
  };
  if (dirty_) {
    nlohmann::json alerts = nlohmann::json::array(), breakers = nlohmann::json::array(),
                   overrides = nlohmann::json::array(), held = nlohmann::json::array();
    for (const auto& [fp, a] : alerts_) {
      alerts.push_back({{"labels", fp},
                        {"firing", a.firing},
                        {"service", a.service},
                        {"rule_expr", a.rule_expr},
                        {"suppressed", a.suppressed},
                        {"alert_labels", internal::LabelsToJson(a.alert.labels)},
                        {"annotations", internal::LabelsToJson(a.alert.annotations)},
                        {"fired_at_ms", a.alert.fired_at_ms}});
    }
    for (const auto& [key, b] : breakers_) {
      nlohmann::json j = BreakerToJson(b);
      j["route"] = key.route;
      j["service"] = key.key.service;
      j["module"] = key.key.module;
      breakers.push_back(std::move(j));
    }
    for (const auto& [key, o] : overrides_) {
      overrides.push_back({{"service", key.service}, {"module", key.module},
                           {"mode", ModeName(o.mode)}, {"reason", o.reason}, {"actor", o.actor},
                           {"since_ms", o.since_ms}, {"expires_ms", o.expires_ms}});
    }
    for (const auto& [fp, h] : held_) {
      nlohmann::json keys = nlohmann::json::array();
      for (const BreakerKey& k : h.breakers) {
        keys.push_back({{"route", k.route}, {"service", k.key.service}, {"module", k.key.module}});
      }
      held.push_back({{"alert", fp}, {"rule_expr", h.rule_expr},
                      {"labels", internal::LabelsToJson(h.labels)}, {"breakers", keys}});
    }
    put(std::string(kEngineKey), {{"alerts", alerts},
                                  {"breakers", breakers},
                                  {"overrides", overrides},
                                  {"held", held},
                                  {"active_windows", active_windows_}});
    dirty_ = false;
  }
  for (const std::string& id : std::exchange(dirty_incidents_, {})) {
    if (auto it = incidents_.find(id); it != incidents_.end()) {
      put(std::string(kIncidentPrefix) + id, IncidentToJson(it->second));
    }
  }
  for (const std::string& id : std::exchange(dirty_windows_, {})) {
    if (auto it = windows_.find(id); it != windows_.end()) {
      put(std::string(kWindowPrefix) + id, MaintenanceWindowToJson(it->second));
    }
  }
  for (const std::string& service : std::exchange(dirty_versions_, {})) {
    if (auto it = versions_.find(service); it != versions_.end()) {
      put(std::string(kVersionsPrefix) + service, VersionsToJson(it->second));
    }
  }
}

// --- Incidents ----------------------------------------------------------------

std::string ActionsEngine::IncidentOf(const std::string& service) const {
  for (const auto& [id, i] : incidents_) {
    if (i.open() && i.service == service) return id;
  }
  return "";
}

std::string ActionsEngine::OpenOrJoinIncident(const std::string& service, const rules::Alert& alert,
                                              const std::string& fp, int64_t at_ms) {
  const std::string name(GetLabel(alert.labels, "alertname"));
  std::string id = IncidentOf(service);
  if (!id.empty()) {
    Incident& i = incidents_[id];
    if (i.firing.insert(fp).second) {
      i.alerts.insert(fp);
      AddTimeline(id, "alert.firing", name + " firing: " + internal::Summary(alert), "rules");
    }
    return id;
  }
  // Derived from the alert, so a second collector seeing the same alert
  // names the incident the same.
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(internal::Fnv1a(
                    service + "\n" + fp + "\n" + std::to_string(at_ms))));
  id = "INC-" + std::string(hex, 6);
  Incident& i = incidents_[id];
  i = Incident{id, service, name + ": " + internal::Summary(alert), at_ms, 0, {fp}, {fp}, {}};
  dirty_incidents_.insert(id);
  Audit({"actions", "incident.opened", service, "", id, "incident " + id + " opened: " + i.title, {}});
  AddTimeline(id, "alert.firing", name + " firing: " + internal::Summary(alert), "rules");
  metrics_->incidents_open.Increment();
  return id;
}

void ActionsEngine::AddTimeline(const std::string& id, const std::string& kind,
                                const std::string& message, const std::string& actor) {
  auto it = incidents_.find(id);
  if (it == incidents_.end()) return;
  it->second.timeline.push_back(TimelineEntry{clock_.NowMillis(), kind, message, actor});
  dirty_incidents_.insert(id);
}

void ActionsEngine::CloseIncidentsIfDone(int64_t now) {
  for (auto& [id, i] : incidents_) {
    if (!i.open() || !i.firing.empty()) continue;
    bool busy = false;
    for (const auto& [key, b] : breakers_) {
      busy |= key.key.service == i.service && b.state != Breaker::State::kClosed;
    }
    auto v = versions_.find(i.service);
    busy |= v != versions_.end() && v->second.rollback_running;
    if (busy) continue;
    i.closed_ms = now;
    AddTimeline(id, "incident.closed", "everything behind it is resolved", "actions");
    Audit({"actions", "incident.closed", i.service, "", id,
           "incident " + id + " closed after " + internal::FormatMs(now - i.opened_ms), {}});
    metrics_->incidents_open.Decrement();
  }
}

std::vector<Incident> ActionsEngine::Incidents(bool include_closed) const {
  std::lock_guard lock(mu_);
  std::vector<Incident> out;
  for (const auto& [id, i] : incidents_) {
    if (include_closed || i.open()) out.push_back(i);
  }
  std::sort(out.begin(), out.end(),
            [](const Incident& a, const Incident& b) { return a.opened_ms > b.opened_ms; });
  return out;
}

std::optional<Incident> ActionsEngine::GetIncident(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = incidents_.find(id);
  if (it == incidents_.end()) return std::nullopt;
  return it->second;
}

Status ActionsEngine::AddIncidentNote(const std::string& id, const std::string& note,
                                      const std::string& actor) {
  if (note.empty()) return Status::InvalidArgument("the note is empty");
  std::lock_guard lock(mu_);
  auto it = incidents_.find(id);
  if (it == incidents_.end()) return Status::NotFound("no incident " + id);
  AddTimeline(id, "note", note, actor);
  Audit({actor, "incident.note", it->second.service, "", id, note, {}});
  Settle();
  return Status::Ok();
}

// --- Maintenance windows ----------------------------------------------------

bool ActionsEngine::ServiceInMaintenance(const std::string& service, const std::string& module,
                                         int64_t now) const {
  if (service.empty()) return false;
  for (const auto& [id, w] : windows_) {
    if (w.service != service || (!w.module.empty() && w.module != module)) continue;
    if (ActiveAt(w, now)) return true;
  }
  return false;
}

void ActionsEngine::AdvanceMaintenance(int64_t now) {
  std::set<std::string> active;
  for (const auto& [id, w] : windows_) {
    if (ActiveAt(w, now)) active.insert(id);
  }
  for (const std::string& id : active) {
    if (active_windows_.contains(id)) continue;
    const MaintenanceWindow& w = windows_[id];
    Audit({"maintenance", "maintenance.started", w.service, w.module, "",
           "maintenance window " + id + " started: " + w.mode + ": " + w.reason, {{"window", id}}});
  }
  for (const std::string& id : active_windows_) {
    if (active.contains(id)) continue;
    auto it = windows_.find(id);
    if (it == windows_.end()) continue;
    Audit({"maintenance", "maintenance.ended", it->second.service, it->second.module, "",
           "maintenance window " + id + " ended", {{"window", id}}});
  }
  if (active != active_windows_) dirty_ = true;
  active_windows_ = std::move(active);
}

Result<MaintenanceWindow> ActionsEngine::ScheduleMaintenance(MaintenanceWindow w,
                                                             const std::string& actor) {
  const int64_t now = clock_.NowMillis();
  w.created_by = actor;
  if (w.created_ms == 0) w.created_ms = now;
  RETURN_IF_ERROR(Validate(w));
  bool changed;
  {
    std::lock_guard lock(mu_);
    if (w.id.empty()) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx",
                    static_cast<unsigned long long>(internal::Fnv1a(
                        w.service + "\n" + w.module + "\n" + std::to_string(w.start_ms) + "\n" +
                        std::to_string(w.created_ms) + "\n" + std::to_string(windows_.size()))));
      w.id = "MW-" + std::string(hex, 6);
    }
    windows_[w.id] = w;
    dirty_windows_.insert(w.id);
    Audit({actor, "maintenance.scheduled", w.service, w.module, "",
           actor + " scheduled maintenance window " + w.id + " (" + w.mode + ", " +
               internal::FormatMs(w.duration.count()) + " from " + internal::FormatTime(w.start_ms) +
               (w.recurrence == Recurrence::kOnce ? "" : ", recurring") + "): " + w.reason,
           {{"window", MaintenanceWindowToJson(w)}}});
    AdvanceMaintenance(now);
    changed = RecomputeModes(now);
    Settle();
  }
  if (changed) NotifyModesChanged();
  return w;
}

std::vector<MaintenanceWindow> ActionsEngine::ListMaintenance(bool include_past) const {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMillis();
  std::vector<MaintenanceWindow> out;
  for (const auto& [id, w] : windows_) {
    if (include_past || ActiveAt(w, now) || NextAfter(w, now)) out.push_back(w);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.start_ms < b.start_ms; });
  return out;
}

Result<MaintenanceWindow> ActionsEngine::ExtendMaintenance(const std::string& id,
                                                           std::chrono::milliseconds by,
                                                           const std::string& actor) {
  const int64_t now = clock_.NowMillis();
  MaintenanceWindow result;
  bool changed;
  {
    std::lock_guard lock(mu_);
    auto it = windows_.find(id);
    if (it == windows_.end()) return Status::NotFound("no maintenance window " + id);
    RETURN_IF_ERROR(Extend(&it->second, now, by));
    dirty_windows_.insert(id);
    Audit({actor, "maintenance.extended", it->second.service, it->second.module, "",
           actor + " extended maintenance window " + id + " by " + internal::FormatMs(by.count()),
           {{"window", id}}});
    changed = RecomputeModes(now);
    Settle();
    result = it->second;
  }
  if (changed) NotifyModesChanged();
  return result;
}

Status ActionsEngine::CancelMaintenance(const std::string& id, const std::string& actor) {
  const int64_t now = clock_.NowMillis();
  bool changed;
  {
    std::lock_guard lock(mu_);
    auto it = windows_.find(id);
    if (it == windows_.end()) return Status::NotFound("no maintenance window " + id);
    Cancel(&it->second, now);
    dirty_windows_.insert(id);
    Audit({actor, "maintenance.cancelled", it->second.service, it->second.module, "",
           actor + " cancelled maintenance window " + id, {{"window", id}}});
    AdvanceMaintenance(now);
    changed = RecomputeModes(now);
    Settle();
  }
  if (changed) NotifyModesChanged();
  return Status::Ok();
}

}  // namespace vitals::actions
