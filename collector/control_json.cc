#include "collector/control_json.h"

#include "collector/rules_api.h"

namespace vitals::collector {

Json JsonTime(int64_t ms) { return ms == 0 ? Json() : Json(FormatRfc3339(ms)); }

Json ModeStateJson(const actions::ModeState& m) {
  Json j;
  j["service"] = m.key.service;
  j["module"] = m.key.module;
  j["mode"] = actions::ModeName(m.mode);
  j["source"] = actions::ModeSourceName(m.source);
  j["reason"] = m.reason;
  j["since"] = JsonTime(m.since_ms);
  j["since_ms"] = m.since_ms;
  j["eta"] = JsonTime(m.eta_ms);
  j["eta_ms"] = m.eta_ms;
  j["incident_id"] = m.incident_id;
  return j;
}

Json UpcomingJson(const actions::UpcomingMaintenance& u) {
  Json j;
  j["window_id"] = u.window_id;
  j["service"] = u.key.service;
  j["module"] = u.key.module;
  j["mode"] = actions::ModeName(u.mode);
  j["reason"] = u.reason;
  j["start"] = JsonTime(u.start_ms);
  j["end"] = JsonTime(u.end_ms);
  j["start_ms"] = u.start_ms;
  j["end_ms"] = u.end_ms;
  return j;
}

Json OverrideJson(const actions::Override& o) {
  Json j;
  j["service"] = o.key.service;
  j["module"] = o.key.module;
  j["mode"] = actions::ModeName(o.mode);
  j["reason"] = o.reason;
  j["actor"] = o.actor;
  j["since"] = JsonTime(o.since_ms);
  j["since_ms"] = o.since_ms;
  j["expires"] = JsonTime(o.expires_ms);
  j["expires_ms"] = o.expires_ms;
  return j;
}

Json OccurrenceJson(const std::optional<actions::Occurrence>& o) {
  if (!o) return Json();
  Json j;
  j["start"] = JsonTime(o->start_ms);
  j["end"] = JsonTime(o->end_ms);
  j["start_ms"] = o->start_ms;
  j["end_ms"] = o->end_ms;
  return j;
}

// The stored form of a window, its times spelled out, and its active and
// next occurrence as of `now_ms`.
Json WindowJson(const actions::MaintenanceWindow& w, int64_t now_ms) {
  Json j;
  for (const char* key : {"id", "service", "module", "mode", "reason"}) j[key] = nullptr;  // First.
  const nlohmann::json stored = actions::MaintenanceWindowToJson(w);
  for (const auto& [key, value] : stored.items()) j[key] = value;
  j["start"] = JsonTime(w.start_ms);
  j["until"] = JsonTime(w.until_ms);
  const bool valid = actions::Validate(w).ok();  // The functions below require it.
  j["active"] = valid ? OccurrenceJson(actions::ActiveAt(w, now_ms)) : Json();
  j["next"] = valid ? OccurrenceJson(actions::NextAfter(w, now_ms)) : Json();
  return j;
}

Json IncidentJson(const actions::Incident& inc, bool with_timeline) {
  Json j;
  j["id"] = inc.id;
  j["service"] = inc.service;
  j["title"] = inc.title;
  j["state"] = inc.open() ? "open" : "closed";
  j["opened"] = JsonTime(inc.opened_ms);
  j["opened_ms"] = inc.opened_ms;
  j["closed"] = JsonTime(inc.closed_ms);
  j["closed_ms"] = inc.closed_ms;
  j["alerts"] = inc.alerts;
  j["firing"] = inc.firing;
  if (with_timeline) {
    Json timeline = Json::array();
    for (const actions::TimelineEntry& e : inc.timeline) {
      Json t;
      t["time"] = JsonTime(e.time_ms);
      t["time_ms"] = e.time_ms;
      t["kind"] = e.kind;
      t["message"] = e.message;
      t["actor"] = e.actor;
      timeline.push_back(std::move(t));
    }
    j["timeline"] = std::move(timeline);
  } else {
    j["timeline_entries"] = inc.timeline.size();
  }
  return j;
}

Json VersionsJson(const actions::ServiceVersions& v) {
  Json j;
  j["service"] = v.service;
  j["current"] = v.current;
  j["current_since"] = JsonTime(v.current_since_ms);
  j["current_since_ms"] = v.current_since_ms;
  j["healthy_since"] = JsonTime(v.healthy_since_ms);
  j["healthy_since_ms"] = v.healthy_since_ms;
  Json versions = Json::array();
  for (const auto& [version, first_seen_ms] : v.first_seen) {
    Json e;
    e["version"] = version;
    e["first_seen"] = JsonTime(first_seen_ms);
    e["first_seen_ms"] = first_seen_ms;
    versions.push_back(std::move(e));
  }
  j["versions"] = std::move(versions);
  Json points = Json::array();
  for (const actions::RestorePoint& p : v.restore_points) {
    Json e;
    e["version"] = p.version;
    e["first_seen"] = JsonTime(p.first_seen_ms);
    e["first_seen_ms"] = p.first_seen_ms;
    e["healthy_at"] = JsonTime(p.healthy_at_ms);
    e["healthy_at_ms"] = p.healthy_at_ms;
    points.push_back(std::move(e));
  }
  j["restore_points"] = std::move(points);
  j["rolled_back_from"] = v.rolled_back_from;
  j["last_rollback"] = JsonTime(v.last_rollback_ms);
  j["last_rollback_ms"] = v.last_rollback_ms;
  j["rollback_running"] = v.rollback_running;
  return j;
}

Json VerificationJson(const actions::AuditVerification& v) {
  Json j;
  j["ok"] = v.ok;
  j["entries_checked"] = v.entries_checked;
  j["first_bad_seq"] = v.first_bad_seq;
  j["problem"] = v.problem;
  j["last_seq"] = v.last_seq;
  j["head_hash"] = v.head_hash;
  return j;
}

}  // namespace vitals::collector
