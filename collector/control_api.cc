#include "collector/control_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "collector/control_json.h"
#include "collector/rules_api.h"
#include "common/log.h"
#include "common/units.h"

namespace vitals::collector {
namespace {

// How often a watch looks up from the engine's wait to see whether it was
// cancelled (server shutdown).
constexpr std::chrono::milliseconds kWatchSlice{250};
constexpr std::chrono::milliseconds kDefaultWatch{std::chrono::seconds(30)};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// --- Answers ---

std::string Dump(const Json& json) {
  // Operators' text may hold invalid UTF-8; it must not make the answer fail.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

ApiResponse Success(const Json& data) {
  return ApiResponse{200, "{\"status\":\"success\",\"data\":" + Dump(data) + "}"};
}

ApiResponse Error(int http_status, std::string_view type, std::string_view message) {
  Json body;
  body["status"] = "error";
  body["errorType"] = type;
  body["error"] = message;
  return ApiResponse{http_status, Dump(body)};
}

ApiResponse BadData(std::string_view message) { return Error(400, "bad_data", message); }

// The documented mapping of engine errors onto HTTP.
ApiResponse FromStatus(const Status& status) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument:
      return BadData(status.message());
    case Status::Code::kNotFound:
      return Error(404, "not_found", status.message());
    case Status::Code::kFailedPrecondition:
      return Error(409, "conflict", status.message());
    default:
      return Error(500, "internal", status.ToString());
  }
}

// --- Parameters ---

// Adds a JSON body's members to `form`: strings as they are, numbers and
// booleans as their JSON text, arrays of those joined with ','.
Status AddJsonBody(std::string_view body, Form* form) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::InvalidArgument("body: expected a JSON object");
  }
  auto scalar = [](const nlohmann::json& v) -> std::optional<std::string> {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number() || v.is_boolean()) return v.dump();
    return std::nullopt;
  };
  for (const auto& [name, value] : json.items()) {
    if (value.is_null()) continue;
    std::optional<std::string> text;
    if (value.is_array()) {
      std::string joined;
      for (const auto& item : value) {
        auto s = scalar(item);
        if (!s) return Status::InvalidArgument(name + ": expected a list of strings or numbers");
        joined += (joined.empty() ? "" : ",") + *s;
      }
      text = joined;
    } else {
      text = scalar(value);
    }
    if (!text) return Status::InvalidArgument(name + ": expected a string, number or boolean");
    form->Add(name, *text);
  }
  return Status::Ok();
}

// The body's parameters (form-encoded or JSON), then the URL query's.
Result<Form> ParseForm(const httplib::Request& req) {
  Form form;
  auto add_query_text = [&form](const std::string& text) {
    httplib::Params params;
    httplib::detail::parse_query_text(text, params);
    for (auto& [name, value] : params) form.Add(name, value);
  };
  const std::string type = req.get_header_value("Content-Type");
  if (!req.body.empty()) {
    if (type.rfind("application/json", 0) == 0) {
      RETURN_IF_ERROR(AddJsonBody(req.body, &form));
    } else if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      add_query_text(req.body);
    }
  }
  size_t query = req.target.find('?');
  if (query != std::string::npos) add_query_text(req.target.substr(query + 1));
  return form;
}

Result<std::string> Required(const Form& form, std::string_view name) {
  std::string_view value = form.Get(name);
  if (value.empty()) return Status::InvalidArgument(std::string(name) + " is required");
  return std::string(value);
}

Result<bool> BoolParam(const Form& form, std::string_view name) {
  std::string value(form.Get(name));
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (value.empty() || value == "0" || value == "false" || value == "no") return false;
  if (value == "1" || value == "true" || value == "yes") return true;
  return Status::InvalidArgument(std::string(name) + ": expected true or false, got \"" + value +
                                 "\"");
}

Result<uint64_t> UintParam(const Form& form, std::string_view name, uint64_t fallback) {
  std::string_view text = form.Get(name);
  if (text.empty()) return fallback;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument(std::string(name) + ": expected a non-negative integer, got \"" +
                                   std::string(text) + "\"");
  }
  return value;
}

// "30m", "1h30m" or seconds ("90", "1.5"); not negative. `fallback` when absent.
Result<std::chrono::milliseconds> DurationParam(const Form& form, std::string_view name,
                                                std::chrono::milliseconds fallback) {
  std::string_view text = form.Get(name);
  if (text.empty()) return fallback;
  auto d = ParseApiDuration(text);
  if (!d.ok()) return Status::InvalidArgument(std::string(name) + ": " + d.status().message());
  if (d->count() < 0) return Status::InvalidArgument(std::string(name) + ": must not be negative");
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

// A DurationParam that must be present and positive.
Result<std::chrono::milliseconds> PositiveDurationParam(const Form& form, std::string_view name) {
  if (form.Get(name).empty()) return Status::InvalidArgument(std::string(name) + " is required");
  ASSIGN_OR_RETURN(std::chrono::milliseconds d, DurationParam(form, name, {}));
  if (d.count() <= 0) return Status::InvalidArgument(std::string(name) + ": must be positive");
  return d;
}

// RFC 3339, Unix seconds, a local date-time in `time_zone`, or "now".
Result<int64_t> TimeParam(std::string_view name, std::string_view text, std::string_view time_zone,
                          const Clock& clock) {
  if (text == "now") return clock.NowMillis();
  auto t = actions::ParseTimeInZone(text, time_zone);
  if (!t.ok()) return Status::InvalidArgument(std::string(name) + ": " + t.status().message());
  return *t;
}

Result<actions::Mode> ModeParam(std::string_view text) {
  std::string name(text);
  std::replace(name.begin(), name.end(), '-', '_');  // "read-only" is what people type.
  auto mode = actions::ParseMode(name);
  if (!mode) {
    return Status::InvalidArgument("mode: unknown mode \"" + std::string(text) +
                                   "\" (normal, degraded, read_only, maintenance)");
  }
  return *mode;
}

// Turns a Result-returning parse into an early 400 inside a handler.
#define PARAM_OR_400(lhs, expr)                                          \
  auto VITALS_CONCAT(_param_, __LINE__) = (expr);                        \
  if (!VITALS_CONCAT(_param_, __LINE__).ok()) {                          \
    return BadData(VITALS_CONCAT(_param_, __LINE__).status().message()); \
  }                                                                      \
  lhs = std::move(VITALS_CONCAT(_param_, __LINE__)).value()

// The bearer token of an "Authorization: Bearer <token>" header; "" if none.
std::string BearerToken(const httplib::Request& req) {
  const std::string value = req.get_header_value("Authorization");
  std::string_view header = Trim(value);
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return "";
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return "";
  }
  return std::string(Trim(header.substr(kScheme.size())));
}

}  // namespace

// --- The API ---

struct ControlApi::Call {
  const Form& form;
  std::vector<std::string> args;  // The pattern's captures: ids.
  std::string actor;              // "user:<name>"; "" for an open read.
};

struct ControlApi::Endpoint {
  std::string_view method;  // "GET", "POST" or "DELETE".
  const char* pattern;      // httplib's regular expression for the path.
  const char* label;        // The `endpoint` label of the requests metric.
  Handler handler;
  bool mutating() const { return method != "GET"; }
};

ControlApi::ControlApi(actions::ActionsEngine& engine, ControlApiOptions options,
                       prometheus::Registry& registry, const Clock& clock)
    : engine_(engine),
      options_(std::move(options)),
      clock_(clock),
      tokens_(options_.token_file.empty() ? nullptr
                                          : std::make_unique<TokenFile>(options_.token_file)),
      requests_(prometheus::BuildCounter()
                    .Name("vitals_control_requests_total")
                    .Help("Requests to the control API, by endpoint and HTTP status.")
                    .Register(registry)),
      unauthorized_(prometheus::BuildCounter()
                        .Name("vitals_control_unauthorized_total")
                        .Help("Control API requests refused for a missing or wrong bearer token.")
                        .Register(registry)
                        .Add({})) {}

void ControlApi::Register(httplib::Server& server) {
  static const Endpoint kEndpoints[] = {
      {"GET", "/api/v1/modes", "/api/v1/modes", &ControlApi::GetModes},
      {"POST", "/api/v1/modes", "/api/v1/modes", &ControlApi::SetMode},
      {"DELETE", "/api/v1/modes", "/api/v1/modes", &ControlApi::ClearMode},
      {"GET", "/api/v1/maintenance", "/api/v1/maintenance", &ControlApi::ListMaintenance},
      {"POST", "/api/v1/maintenance", "/api/v1/maintenance", &ControlApi::ScheduleMaintenance},
      {"POST", R"(/api/v1/maintenance/([^/]+)/extend)", "/api/v1/maintenance/{id}/extend",
       &ControlApi::ExtendMaintenance},
      {"DELETE", R"(/api/v1/maintenance/([^/]+))", "/api/v1/maintenance/{id}",
       &ControlApi::CancelMaintenance},
      {"GET", "/api/v1/rollback", "/api/v1/rollback", &ControlApi::RollbackStatus},
      {"POST", "/api/v1/rollback", "/api/v1/rollback", &ControlApi::Rollback},
      {"GET", "/api/v1/incidents", "/api/v1/incidents", &ControlApi::ListIncidents},
      {"GET", R"(/api/v1/incidents/([^/]+))", "/api/v1/incidents/{id}", &ControlApi::GetIncident},
      {"POST", R"(/api/v1/incidents/([^/]+)/notes)", "/api/v1/incidents/{id}/notes",
       &ControlApi::AddIncidentNote},
      {"GET", "/api/v1/audit", "/api/v1/audit", &ControlApi::ListAudit},
      {"GET", "/api/v1/audit/verify", "/api/v1/audit/verify", &ControlApi::VerifyAudit},
  };
  for (const Endpoint& endpoint : kEndpoints) {
    auto serve = [this, &endpoint](const httplib::Request& req, httplib::Response& res) {
      Serve(endpoint, req, res);
    };
    if (endpoint.method == "GET") {
      server.Get(endpoint.pattern, serve);
    } else if (endpoint.method == "POST") {
      server.Post(endpoint.pattern, serve);
    } else {
      server.Delete(endpoint.pattern, serve);
    }
  }
}

void ControlApi::Serve(const Endpoint& endpoint, const httplib::Request& req,
                       httplib::Response& res) {
  ApiResponse reply;
  std::string actor;
  bool authorized = !endpoint.mutating() && options_.open_reads;
  if (!authorized && tokens_ == nullptr) {
    reply = Error(403, "forbidden", "control API disabled: set control.token_file");
  } else if (!authorized) {
    const std::string token = BearerToken(req);
    auto name = tokens_->Authenticate(token);
    if (!name.ok()) {
      LOG_ERROR << "control: " << name.status().message();
      reply = Error(500, "internal", name.status().message());
    } else if (!name->has_value()) {
      reply = Error(401, "unauthorized",
                    token.empty() ? "missing bearer token (Authorization: Bearer <token>)"
                                  : "invalid bearer token");
      res.set_header("WWW-Authenticate", "Bearer realm=\"vitals\"");
      unauthorized_.Increment();
      engine_.RecordUnauthorized(req.method, req.path, req.remote_addr);
    } else {
      actor = "user:" + **name;
      authorized = true;
    }
  }
  if (authorized) {
    auto form = ParseForm(req);
    if (!form.ok()) {
      reply = BadData(form.status().message());
    } else {
      Call call{*form, {}, actor};
      for (size_t i = 1; i < req.matches.size(); ++i) call.args.push_back(req.matches[i].str());
      try {
        reply = (this->*endpoint.handler)(call);
      } catch (const std::exception& e) {  // A library's exception stops here.
        LOG_ERROR << "control: " << req.method << " " << req.path << ": " << e.what();
        reply = Error(500, "internal", e.what());
      }
    }
  }
  requests_.Add({{"endpoint", endpoint.label}, {"code", std::to_string(reply.status)}}).Increment();
  res.status = reply.status;
  res.set_content(std::move(reply.body), "application/json");
}

// --- Modes ---

ApiResponse ControlApi::GetModes(const Call& call) {
  const std::string service(call.form.Get("service"));
  PARAM_OR_400(bool watch, BoolParam(call.form, "watch"));
  actions::ModesSnapshot snapshot = engine_.Modes(service);
  if (watch) {
    // Without generation: wait for the next change. A generation from the
    // future (the collector restarted since) answers at once.
    PARAM_OR_400(uint64_t after, UintParam(call.form, "generation", snapshot.generation));
    PARAM_OR_400(std::chrono::milliseconds timeout,
                 DurationParam(call.form, "timeout", kDefaultWatch));
    timeout = std::min(timeout, options_.max_watch);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (snapshot.generation == after && !cancelled_) {
      const auto now = std::chrono::steady_clock::now();
      auto slice = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                            kWatchSlice);
      if (slice.count() <= 0) break;
      snapshot = engine_.WaitModes(after, slice, service);
      // Back early without a change: the engine is stopping.
      if (snapshot.generation == after && std::chrono::steady_clock::now() < now + slice) break;
    }
  }
  Json data;
  data["generation"] = snapshot.generation;
  data["modes"] = Json::array();
  for (const actions::ModeState& m : snapshot.modes) data["modes"].push_back(ModeStateJson(m));
  data["upcoming"] = Json::array();
  for (const auto& u : snapshot.upcoming) data["upcoming"].push_back(UpcomingJson(u));
  data["overrides"] = Json::array();
  for (const actions::Override& o : engine_.Overrides()) {
    if (service.empty() || o.key.service == service) data["overrides"].push_back(OverrideJson(o));
  }
  return Success(data);
}

ApiResponse ControlApi::SetMode(const Call& call) {
  actions::OverrideRequest request;
  PARAM_OR_400(request.key.service, Required(call.form, "service"));
  request.key.module = std::string(call.form.Get("module"));
  PARAM_OR_400(std::string mode, Required(call.form, "mode"));
  PARAM_OR_400(request.mode, ModeParam(mode));
  PARAM_OR_400(request.reason, Required(call.form, "reason"));
  PARAM_OR_400(request.duration,
               DurationParam(call.form, "duration", std::chrono::milliseconds(0)));
  auto set = engine_.SetOverride(request, call.actor);
  if (!set.ok()) return FromStatus(set.status());
  return Success(OverrideJson(*set));
}

ApiResponse ControlApi::ClearMode(const Call& call) {
  actions::ModeKey key;
  PARAM_OR_400(key.service, Required(call.form, "service"));
  key.module = std::string(call.form.Get("module"));
  Status cleared = engine_.ClearOverride(key, call.actor);
  if (!cleared.ok()) return FromStatus(cleared);
  Json data;
  data["service"] = key.service;
  data["module"] = key.module;
  return Success(data);
}

// --- Maintenance ---

ApiResponse ControlApi::ListMaintenance(const Call& call) {
  PARAM_OR_400(bool all, BoolParam(call.form, "all"));
  const int64_t now_ms = clock_.NowMillis();
  Json windows = Json::array();
  for (const actions::MaintenanceWindow& w : engine_.ListMaintenance(all)) {
    windows.push_back(WindowJson(w, now_ms));
  }
  Json data;
  data["windows"] = std::move(windows);
  return Success(data);
}

ApiResponse ControlApi::ScheduleMaintenance(const Call& call) {
  const Form& form = call.form;
  actions::MaintenanceWindow w;
  PARAM_OR_400(w.service, Required(form, "service"));
  w.module = std::string(form.Get("module"));
  if (!form.Get("mode").empty()) {
    PARAM_OR_400(actions::Mode mode, ModeParam(form.Get("mode")));
    w.mode = std::string(actions::ModeName(mode));
  }
  PARAM_OR_400(w.reason, Required(form, "reason"));
  if (!form.Get("time_zone").empty()) w.time_zone = std::string(form.Get("time_zone"));
  PARAM_OR_400(std::string start, Required(form, "start"));
  PARAM_OR_400(w.start_ms, TimeParam("start", start, w.time_zone, clock_));
  PARAM_OR_400(w.duration, PositiveDurationParam(form, "duration"));
  std::string_view every = form.Get("every");
  std::string_view weekdays = form.Get("weekdays");
  if (every.empty()) every = weekdays.empty() ? "once" : "weekly";
  if (every == "once") {
    w.recurrence = actions::Recurrence::kOnce;
  } else if (every == "daily") {
    w.recurrence = actions::Recurrence::kDaily;
  } else if (every == "weekly") {
    w.recurrence = actions::Recurrence::kWeekly;
  } else {
    return BadData("every: expected once, daily or weekly, got \"" + std::string(every) + "\"");
  }
  if (!weekdays.empty()) {
    if (w.recurrence != actions::Recurrence::kWeekly) {
      return BadData("weekdays: only for every=weekly");
    }
    auto days = actions::ParseWeekdays(weekdays);
    if (!days.ok()) return BadData("weekdays: " + days.status().message());
    w.weekdays = std::move(*days);
  }
  if (!form.Get("until").empty()) {
    PARAM_OR_400(w.until_ms, TimeParam("until", form.Get("until"), w.time_zone, clock_));
  }
  w.created_by = call.actor;
  w.created_ms = clock_.NowMillis();
  auto scheduled = engine_.ScheduleMaintenance(std::move(w), call.actor);
  if (!scheduled.ok()) return FromStatus(scheduled.status());
  return Success(WindowJson(*scheduled, clock_.NowMillis()));
}

ApiResponse ControlApi::ExtendMaintenance(const Call& call) {
  PARAM_OR_400(std::chrono::milliseconds extra, PositiveDurationParam(call.form, "by"));
  auto extended = engine_.ExtendMaintenance(call.args.at(0), extra, call.actor);
  if (!extended.ok()) return FromStatus(extended.status());
  return Success(WindowJson(*extended, clock_.NowMillis()));
}

ApiResponse ControlApi::CancelMaintenance(const Call& call) {
  Status cancelled = engine_.CancelMaintenance(call.args.at(0), call.actor);
  if (!cancelled.ok()) return FromStatus(cancelled);
  Json data;
  data["id"] = call.args.at(0);
  data["cancelled"] = true;
  return Success(data);
}

// --- Rollback ---

ApiResponse ControlApi::Rollback(const Call& call) {
  actions::RollbackRequest request;
  PARAM_OR_400(request.service, Required(call.form, "service"));
  request.to_version = std::string(call.form.Get("to"));
  PARAM_OR_400(request.dry_run, BoolParam(call.form, "dry_run"));
  request.reason = std::string(call.form.Get("reason"));
  if (request.reason.empty()) request.reason = "manual rollback";
  request.incident_id = std::string(call.form.Get("incident"));
  auto decision = engine_.Rollback(request, call.actor);
  if (!decision.ok()) return FromStatus(decision.status());
  Json data;
  data["service"] = decision->service;
  data["from_version"] = decision->from_version;
  data["to_version"] = decision->to_version;
  data["dry_run"] = decision->dry_run;
  data["started"] = decision->started;
  return Success(data);
}

ApiResponse ControlApi::RollbackStatus(const Call& call) {
  const std::string_view service = call.form.Get("service");
  Json services = Json::array();
  for (const actions::ServiceVersions& v : engine_.Versions()) {
    if (service.empty() || v.service == service) services.push_back(VersionsJson(v));
  }
  if (!service.empty() && services.empty()) {
    return Error(404, "not_found",
                 "no versions known for service \"" + std::string(service) + "\"");
  }
  Json data;
  data["services"] = std::move(services);
  return Success(data);
}

// --- Incidents ---

ApiResponse ControlApi::ListIncidents(const Call& call) {
  std::string_view state = call.form.Get("state");
  if (!state.empty() && state != "open" && state != "all") {
    return BadData("state: expected open or all, got \"" + std::string(state) + "\"");
  }
  Json incidents = Json::array();
  for (const actions::Incident& inc : engine_.Incidents(state == "all")) {
    incidents.push_back(IncidentJson(inc, /*with_timeline=*/false));
  }
  Json data;
  data["incidents"] = std::move(incidents);
  return Success(data);
}

ApiResponse ControlApi::GetIncident(const Call& call) {
  std::optional<actions::Incident> inc = engine_.GetIncident(call.args.at(0));
  if (!inc) return Error(404, "not_found", "incident \"" + call.args.at(0) + "\" not found");
  return Success(IncidentJson(*inc, /*with_timeline=*/true));
}

ApiResponse ControlApi::AddIncidentNote(const Call& call) {
  PARAM_OR_400(std::string text, Required(call.form, "text"));
  const std::string& id = call.args.at(0);
  Status added = engine_.AddIncidentNote(id, text, call.actor);
  if (!added.ok()) return FromStatus(added);
  std::optional<actions::Incident> inc = engine_.GetIncident(id);
  if (!inc) return Error(404, "not_found", "incident \"" + id + "\" not found");
  return Success(IncidentJson(*inc, /*with_timeline=*/true));
}

// --- Audit ---

ApiResponse ControlApi::ListAudit(const Call& call) {
  actions::AuditQuery q;
  PARAM_OR_400(q.after_seq, UintParam(call.form, "after", 0));
  PARAM_OR_400(uint64_t limit, UintParam(call.form, "limit", options_.audit_default_limit));
  if (limit == 0) return BadData("limit: must be positive");
  q.limit = static_cast<size_t>(std::min<uint64_t>(limit, options_.audit_max_limit));
  q.service = std::string(call.form.Get("service"));
  q.kind_prefix = std::string(call.form.Get("kind"));
  q.incident_id = std::string(call.form.Get("incident"));
  if (!call.form.Get("since").empty()) {
    PARAM_OR_400(q.since_ms, TimeParam("since", call.form.Get("since"), "UTC", clock_));
  }
  // The head first: every entry listed is then at or before it, unless
  // appended meanwhile.
  const uint64_t last_seq = engine_.audit().last_seq();
  const std::string head_hash = engine_.audit().head_hash();
  auto entries = engine_.audit().List(q);
  if (!entries.ok()) return FromStatus(entries.status());
  Json list = Json::array();
  for (const actions::AuditEntry& e : *entries) list.push_back(Json(actions::AuditEntryToJson(e)));
  Json data;
  data["entries"] = std::move(list);
  data["limit"] = q.limit;
  data["more"] = entries->size() == q.limit;
  data["next_after"] = entries->empty() ? q.after_seq : entries->back().seq;
  data["last_seq"] = last_seq;
  data["head_hash"] = head_hash;
  return Success(data);
}

ApiResponse ControlApi::VerifyAudit(const Call&) {
  auto verification = engine_.audit().Verify();
  if (!verification.ok()) return FromStatus(verification.status());
  return Success(VerificationJson(*verification));
}

}  // namespace vitals::collector
