#include "ctl/control.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "collector/bearer_tokens.h"
#include "common/clock.h"
#include "ctl/api_client.h"
#include "ctl/audit_verify.h"

namespace vitals::ctl {
namespace {

using nlohmann::json;

// --- Printing ---

// Columns padded to their widest cell; the last one is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.size() == 1; }
  void Print() const {
    std::vector<size_t> width;
    for (const auto& row : rows_) {
      width.resize(std::max(width.size(), row.size()));
      for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
      }
      std::printf("%s\n", line.c_str());
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// j[key] as text: strings as they are, "" for null or missing, else JSON.
std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

// "-" for an empty cell, so columns stay readable.
std::string Cell(std::string text) { return text.empty() ? "-" : text; }

int64_t Ms(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : 0;
}

std::string Joined(const json& list, const char* separator = ",") {
  std::string out;
  for (const json& item : list) {
    if (!out.empty()) out += separator;
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

// --- Talking to the collector ---

// A client for the flags, or nullopt after printing why there is none.
std::optional<ApiClient> Connect(const ControlFlags& flags) {
  auto token = ReadClientToken(flags);
  if (!token.ok()) {
    std::fprintf(stderr, "%s\n", token.status().message().c_str());
    return std::nullopt;
  }
  ApiClientOptions options;
  options.collector_url = flags.collector_url;
  options.token = *token;
  return ApiClient(options);
}

// Sends a request and returns a successful answer; otherwise prints the
// problem (and, with -o json, the answer) and returns nullopt.
std::optional<ApiReply> Request(const ControlFlags& flags, std::string_view method,
                                const std::string& path, const ApiParams& params = {}) {
  std::optional<ApiClient> client = Connect(flags);
  if (!client) return std::nullopt;
  auto reply = client->Call(method, path, params);
  if (!reply.ok()) {
    std::fprintf(stderr, "%s\n", reply.status().message().c_str());
    return std::nullopt;
  }
  if (reply->success()) return std::move(*reply);
  if (flags.output == "json") std::printf("%s\n", reply->body.c_str());
  PrintApiError(*reply);
  return std::nullopt;
}

// For -o json: prints the answer as it came.
int PrintJson(const ApiReply& reply) {
  std::printf("%s\n", reply.body.c_str());
  return 0;
}

// Percent-encodes one path segment (an id typed by an operator).
std::string PathSegment(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Adds name=value unless value is empty.
void AddParam(ApiParams* params, const char* name, const std::string& value) {
  if (!value.empty()) params->emplace_back(name, value);
}

// --- mode ---

void PrintModes(const json& data) {
  Table modes({"SERVICE", "MODULE", "MODE", "SOURCE", "SINCE", "ETA", "INCIDENT", "REASON"});
  for (const json& m : data.value("modes", json::array())) {
    modes.Add({Str(m, "service"), Cell(Str(m, "module")), Str(m, "mode"), Str(m, "source"),
               LocalTime(Ms(m, "since_ms")), LocalTime(Ms(m, "eta_ms")),
               Cell(Str(m, "incident_id")), Str(m, "reason")});
  }
  if (modes.empty()) {
    std::printf("every service is in normal mode\n");
  } else {
    modes.Print();
  }
  Table overrides({"OVERRIDE", "MODULE", "MODE", "BY", "SINCE", "EXPIRES", "REASON"});
  for (const json& o : data.value("overrides", json::array())) {
    overrides.Add({Str(o, "service"), Cell(Str(o, "module")), Str(o, "mode"), Str(o, "actor"),
                   LocalTime(Ms(o, "since_ms")), LocalTime(Ms(o, "expires_ms")), Str(o, "reason")});
  }
  if (!overrides.empty()) {
    std::printf("\n");
    overrides.Print();
  }
  Table upcoming({"UPCOMING", "SERVICE", "MODULE", "MODE", "START", "END", "REASON"});
  for (const json& u : data.value("upcoming", json::array())) {
    upcoming.Add({Str(u, "window_id"), Str(u, "service"), Cell(Str(u, "module")), Str(u, "mode"),
                  LocalTime(Ms(u, "start_ms")), LocalTime(Ms(u, "end_ms")), Str(u, "reason")});
  }
  if (!upcoming.empty()) {
    std::printf("\n");
    upcoming.Print();
  }
}

int ModeGet(const ControlFlags& flags, const std::string& service, bool watch) {
  ApiParams params;
  AddParam(&params, "service", service);
  auto reply = Request(flags, "GET", "/api/v1/modes", params);
  if (!reply) return 1;
  for (;;) {
    const uint64_t generation = reply->data().value("generation", uint64_t{0});
    if (flags.output == "json") {
      PrintJson(*reply);
    } else {
      if (watch) {
        std::printf("--- %s, generation %llu\n", LocalTime(Clock::Real().NowMillis()).c_str(),
                    static_cast<unsigned long long>(generation));
      }
      PrintModes(reply->data());
    }
    if (!watch) return 0;
    std::fflush(stdout);
    // Each watch waits at most 5 minutes; one that times out is asked again.
    do {
      ApiParams wait = params;
      wait.emplace_back("watch", "1");
      wait.emplace_back("generation", std::to_string(generation));
      wait.emplace_back("timeout", "5m");
      reply = Request(flags, "GET", "/api/v1/modes", wait);
      if (!reply) return 1;
    } while (reply->data().value("generation", uint64_t{0}) == generation);
  }
}

int ModeSet(const ControlFlags& flags, const ApiParams& params) {
  auto reply = Request(flags, "POST", "/api/v1/modes", params);
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  const json& o = reply->data();
  std::string what = Str(o, "service") + (Str(o, "module").empty() ? "" : "/" + Str(o, "module"));
  const int64_t expires = Ms(o, "expires_ms");
  std::printf("%s is in %s mode %s (override by %s)\n", what.c_str(), Str(o, "mode").c_str(),
              expires == 0 ? "until cleared" : ("until " + LocalTime(expires)).c_str(),
              Str(o, "actor").c_str());
  return 0;
}

int ModeClear(const ControlFlags& flags, const ApiParams& params) {
  auto reply = Request(flags, "DELETE", "/api/v1/modes", params);
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  const json& d = reply->data();
  std::printf("override of %s%s cleared\n", Str(d, "service").c_str(),
              Str(d, "module").empty() ? "" : ("/" + Str(d, "module")).c_str());
  return 0;
}

// --- maintenance ---

void PrintWindows(const json& windows) {
  Table table({"ID", "SERVICE", "MODULE", "MODE", "SCHEDULE", "STATE", "START", "END", "REASON"});
  for (const json& w : windows) {
    std::string schedule = Str(w, "recurrence");
    if (schedule == "weekly") schedule += " " + Joined(w.value("weekdays", json::array()));
    if (schedule != "once") schedule += " " + Str(w, "time_zone");  // Only recurrences use it.
    if (Ms(w, "until_ms") != 0) schedule += " until " + LocalTime(Ms(w, "until_ms"));
    std::string state = "over";
    json occurrence;
    if (w.value("cancelled", false)) {
      state = "cancelled";
    } else if (w.contains("active") && !w["active"].is_null()) {
      state = "active";
      occurrence = w["active"];
    } else if (w.contains("next") && !w["next"].is_null()) {
      state = "next";
      occurrence = w["next"];
    }
    table.Add({Str(w, "id"), Str(w, "service"), Cell(Str(w, "module")), Str(w, "mode"), schedule,
               state, LocalTime(Ms(occurrence, "start_ms")), LocalTime(Ms(occurrence, "end_ms")),
               Str(w, "reason")});
  }
  if (table.empty()) {
    std::printf("no maintenance windows\n");
  } else {
    table.Print();
  }
}

int MaintenanceWindowCall(const ControlFlags& flags, std::string_view method,
                          const std::string& path, const ApiParams& params) {
  auto reply = Request(flags, method, path, params);
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  PrintWindows(json::array({reply->data()}));
  return 0;
}

int MaintenanceList(const ControlFlags& flags, bool all) {
  auto reply =
      Request(flags, "GET", "/api/v1/maintenance", all ? ApiParams{{"all", "1"}} : ApiParams{});
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  PrintWindows(reply->data().value("windows", json::array()));
  return 0;
}

int MaintenanceCancel(const ControlFlags& flags, const std::string& id) {
  auto reply = Request(flags, "DELETE", "/api/v1/maintenance/" + PathSegment(id));
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  std::printf("maintenance window %s cancelled\n", id.c_str());
  return 0;
}

// --- rollback ---

int Rollback(const ControlFlags& flags, const ApiParams& params) {
  auto reply = Request(flags, "POST", "/api/v1/rollback", params);
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  const json& d = reply->data();
  if (d.value("dry_run", false)) {
    std::printf("dry run: would roll %s back from %s to %s\n", Str(d, "service").c_str(),
                Cell(Str(d, "from_version")).c_str(), Str(d, "to_version").c_str());
  } else {
    std::printf(
        "rolling %s back from %s to %s%s\n", Str(d, "service").c_str(),
        Cell(Str(d, "from_version")).c_str(), Str(d, "to_version").c_str(),
        d.value("started", false) ? " (started; see vitalsctl audit list --kind rollback)" : "");
  }
  return 0;
}

int RollbackStatus(const ControlFlags& flags, const std::string& service) {
  ApiParams params;
  AddParam(&params, "service", service);
  auto reply = Request(flags, "GET", "/api/v1/rollback", params);
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  Table table({"SERVICE", "CURRENT", "SINCE", "HEALTHY SINCE", "RESTORE POINTS", "ROLLED BACK FROM",
               "LAST ROLLBACK", "RUNNING"});
  for (const json& s : reply->data().value("services", json::array())) {
    std::string points;
    for (const json& p : s.value("restore_points", json::array())) {
      points += (points.empty() ? "" : ",") + Str(p, "version");
    }
    table.Add({Str(s, "service"), Cell(Str(s, "current")), LocalTime(Ms(s, "current_since_ms")),
               LocalTime(Ms(s, "healthy_since_ms")), Cell(points),
               Cell(Joined(s.value("rolled_back_from", json::array()))),
               LocalTime(Ms(s, "last_rollback_ms")),
               s.value("rollback_running", false) ? "yes" : "no"});
  }
  if (table.empty()) {
    std::printf("no service versions known yet\n");
  } else {
    table.Print();
  }
  return 0;
}

// --- incidents ---

int IncidentsList(const ControlFlags& flags, bool all) {
  auto reply = Request(flags, "GET", "/api/v1/incidents", {{"state", all ? "all" : "open"}});
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  Table table({"ID", "STATE", "SERVICE", "OPENED", "CLOSED", "FIRING", "TITLE"});
  for (const json& i : reply->data().value("incidents", json::array())) {
    table.Add({Str(i, "id"), Str(i, "state"), Str(i, "service"), LocalTime(Ms(i, "opened_ms")),
               LocalTime(Ms(i, "closed_ms")),
               std::to_string(i.value("firing", json::array()).size()), Str(i, "title")});
  }
  if (table.empty()) {
    std::printf(all ? "no incidents\n" : "no open incidents\n");
  } else {
    table.Print();
  }
  return 0;
}

void PrintIncident(const json& i) {
  std::printf("%s  %s  %s\n", Str(i, "id").c_str(), Str(i, "state").c_str(),
              Str(i, "service").c_str());
  std::printf("title:   %s\n", Str(i, "title").c_str());
  std::printf("opened:  %s\n", LocalTime(Ms(i, "opened_ms")).c_str());
  std::printf("closed:  %s\n", LocalTime(Ms(i, "closed_ms")).c_str());
  std::printf("alerts:  %s\n", Cell(Joined(i.value("alerts", json::array()), ", ")).c_str());
  std::printf("firing:  %s\n\n", Cell(Joined(i.value("firing", json::array()), ", ")).c_str());
  Table timeline({"TIME", "KIND", "ACTOR", "MESSAGE"});
  for (const json& e : i.value("timeline", json::array())) {
    timeline.Add(
        {LocalTime(Ms(e, "time_ms")), Str(e, "kind"), Cell(Str(e, "actor")), Str(e, "message")});
  }
  timeline.Print();
}

int IncidentCall(const ControlFlags& flags, std::string_view method, const std::string& path,
                 const ApiParams& params) {
  auto reply = Request(flags, method, path, params);
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  PrintIncident(reply->data());
  return 0;
}

// --- audit ---

int AuditList(const ControlFlags& flags, const ApiParams& params) {
  auto reply = Request(flags, "GET", "/api/v1/audit", params);
  if (!reply) return 1;
  if (flags.output == "json") return PrintJson(*reply);
  const json& data = reply->data();
  Table table({"SEQ", "TIME", "ACTOR", "KIND", "SERVICE", "MESSAGE"});
  for (const json& e : data.value("entries", json::array())) {
    std::string service = Str(e, "service");
    if (!Str(e, "module").empty()) service += "/" + Str(e, "module");
    table.Add({Str(e, "seq"), LocalTime(Ms(e, "time_ms")), Str(e, "actor"), Str(e, "kind"),
               Cell(service), Str(e, "message")});
  }
  if (table.empty()) {
    std::printf("no audit entries\n");
  } else {
    table.Print();
  }
  if (data.value("more", false)) {
    std::fprintf(stderr, "more entries: --after %s\n", Str(data, "next_after").c_str());
  }
  return 0;
}

}  // namespace

// --- Public helpers ---

Result<std::string> ReadClientToken(const ControlFlags& flags) {
  std::string path = flags.token_file;
  if (path.empty()) {
    const char* env = std::getenv("VITALS_TOKEN_FILE");
    if (env == nullptr || *env == '\0') return std::string();
    path = env;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read token file " + path);
  std::stringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(auto tokens, collector::ParseTokenFile(text.str(), path));
  if (tokens.empty()) return Status::InvalidArgument(path + ": no token in the file");
  return tokens.front().token;
}

std::string LocalTime(int64_t ms) {
  if (ms == 0) return "-";
  time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  const int offset_min = static_cast<int>(tm.tm_gmtoff / 60);  // Within +-26h.
  if (offset_min == 0) return out + "Z";
  char zone[32];
  std::snprintf(zone, sizeof zone, "%c%02d:%02d", offset_min < 0 ? '-' : '+',
                std::abs(offset_min) / 60 % 100, std::abs(offset_min) % 60);
  return out + zone;
}

std::string LocalTimeZoneName() {
  auto after_zoneinfo = [](const std::string& path) -> std::string {
    size_t at = path.find("zoneinfo/");
    return at == std::string::npos ? "" : path.substr(at + 9);
  };
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    std::string name = tz[0] == ':' ? tz + 1 : tz;
    if (name.empty() || name[0] != '/') return name;
    if (std::string zone = after_zoneinfo(name); !zone.empty()) return zone;
  }
  std::error_code ec;
  std::filesystem::path link = std::filesystem::read_symlink("/etc/localtime", ec);
  if (!ec) {
    if (std::string zone = after_zoneinfo(link.string()); !zone.empty()) return zone;
  }
  std::ifstream timezone("/etc/timezone");
  std::string line;
  if (std::getline(timezone, line) && !line.empty()) return line;
  return "UTC";
}

// --- The commands ---

struct ControlCommands::Commands {
  ControlFlags flags;
  // Values of positional arguments and flags; each run uses those of one command.
  std::string service, module, mode, reason, duration, id, by, text, to;
  std::string start, every, weekdays, time_zone, until, window_mode;
  std::string kind, incident, db_dir, expect_head;
  bool watch = false, all = false, dry_run = false;
  uint64_t after = 0;
  size_t limit = 100;

  CLI::App *mode_get, *mode_set, *mode_clear;
  CLI::App *schedule, *maintenance_list, *extend, *cancel;
  CLI::App *rollback, *rollback_status;
  CLI::App *incidents, *incidents_list, *incidents_show, *incidents_note;
  CLI::App *audit_list, *audit_verify;

  void AddFlags(CLI::App* cmd) {
    cmd->add_option("--collector", flags.collector_url, "Base URL of the collector")
        ->capture_default_str();
    cmd->add_option("--token-file", flags.token_file,
                    "File holding the bearer token (\"name:token\" or the token); default "
                    "$VITALS_TOKEN_FILE");
    cmd->add_option("-o,--output", flags.output, "table, or json: the API's answer as is")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
  }
};

ControlCommands::ControlCommands(CLI::App& app) : commands_(std::make_unique<Commands>()) {
  Commands& c = *commands_;

  CLI::App* mode = app.add_subcommand("mode", "Service modes and manual overrides");
  mode->require_subcommand(1);
  c.mode_get = mode->add_subcommand("get", "Show the effective modes and upcoming maintenance");
  c.mode_get->add_option("service", c.service, "Only this service");
  c.mode_get->add_flag("--watch", c.watch, "Print again whenever a mode changes (Ctrl-C ends)");
  c.mode_set = mode->add_subcommand("set", "Override a service's (or module's) mode");
  c.mode_set->add_option("service", c.service, "The service")->required();
  c.mode_set->add_option("mode", c.mode, "normal, degraded, read_only or maintenance")->required();
  c.mode_set->add_option("--module", c.module, "Only this module of the service");
  c.mode_set->add_option("--reason", c.reason, "Why (recorded in the audit log)")->required();
  c.mode_set->add_option("--for", c.duration, "Expire after this long, e.g. 30m (default: never)");
  c.mode_clear = mode->add_subcommand("clear", "Remove an override");
  c.mode_clear->add_option("service", c.service, "The service")->required();
  c.mode_clear->add_option("--module", c.module, "The module the override is for");

  CLI::App* maintenance = app.add_subcommand("maintenance", "Maintenance windows");
  maintenance->require_subcommand(1);
  c.schedule = maintenance->add_subcommand("schedule", "Schedule a one-off or recurring window");
  c.schedule->add_option("service", c.service, "The service")->required();
  c.schedule->add_option("--module", c.module, "Only this module of the service");
  c.schedule
      ->add_option("--start", c.start,
                   "First start: RFC 3339, Unix seconds, \"now\" or a local time like "
                   "\"2026-11-22 02:00\" in --tz")
      ->required();
  c.schedule->add_option("--duration", c.duration, "Length of each occurrence, e.g. 2h")
      ->required();
  c.schedule->add_option("--every", c.every, "once (default), daily or weekly")
      ->check(CLI::IsMember({"once", "daily", "weekly"}));
  c.schedule->add_option("--weekdays", c.weekdays, "Weekly: days like mon,thu or mon-fri");
  c.schedule->add_option("--tz", c.time_zone,
                         "IANA time zone of --start and of the recurrence (default: local, " +
                             LocalTimeZoneName() + ")");
  c.schedule->add_option("--until", c.until, "No occurrence starts at or after this time");
  c.schedule->add_option("--mode", c.window_mode, "maintenance (default), read_only or degraded");
  c.schedule->add_option("--reason", c.reason, "Why (shown with suppressed alerts)")->required();
  c.maintenance_list = maintenance->add_subcommand("list", "Current and future windows");
  c.maintenance_list->add_flag("--all", c.all, "Also past and cancelled windows");
  c.extend = maintenance->add_subcommand("extend", "Lengthen the active occurrence");
  c.extend->add_option("id", c.id, "Window id")->required();
  c.extend->add_option("--by", c.by, "How much longer, e.g. 30m")->required();
  c.cancel = maintenance->add_subcommand("cancel", "Cancel a window (ends an active occurrence)");
  c.cancel->add_option("id", c.id, "Window id")->required();

  c.rollback = app.add_subcommand("rollback", "Roll a service back to a restore point");
  c.rollback->require_subcommand(0, 1);
  c.rollback->add_option("service", c.service, "The service");
  c.rollback->add_option("--to", c.to, "Version to return to (default: newest restore point)");
  c.rollback->add_flag("--dry-run", c.dry_run, "Decide and record, but run nothing");
  c.rollback->add_option("--reason", c.reason, "Why (recorded in the audit log)");
  c.rollback_status = c.rollback->add_subcommand(
      "status", "Versions, restore points and the last rollback of each service");
  c.rollback_status->add_option("service", c.service, "Only this service");

  c.incidents = app.add_subcommand("incidents", "Incidents the actions layer opened");
  c.incidents->require_subcommand(0, 1);
  c.incidents->add_flag("--all", c.all, "Also closed incidents");
  c.incidents_list = c.incidents->add_subcommand("list", "List incidents (the default)");
  c.incidents_list->add_flag("--all", c.all, "Also closed incidents");
  c.incidents_show = c.incidents->add_subcommand("show", "An incident and its timeline");
  c.incidents_show->add_option("id", c.id, "Incident id, e.g. INC-3f9a01")->required();
  c.incidents_note = c.incidents->add_subcommand("note", "Add a note to an incident's timeline");
  c.incidents_note->add_option("id", c.id, "Incident id")->required();
  c.incidents_note->add_option("text", c.text, "The note")->required();

  CLI::App* audit = app.add_subcommand("audit", "The hash-chained audit log");
  audit->require_subcommand(1);
  c.audit_list = audit->add_subcommand("list", "Audit entries, oldest first");
  c.audit_list->add_option("--service", c.service, "Only this service");
  c.audit_list->add_option("--kind", c.kind,
                           "Only kinds starting with this, e.g. mode. or action.");
  c.audit_list->add_option("--incident", c.incident, "Only this incident");
  c.audit_list->add_option("--after", c.after, "Only entries after this sequence number");
  c.audit_list->add_option("--limit", c.limit, "At most this many (the server caps it at 1000)")
      ->capture_default_str();
  c.audit_verify = audit->add_subcommand(
      "verify", "Fetch every entry and check the hash chain here (exit 1 if broken)");
  c.audit_verify->add_option("--db", c.db_dir,
                             "Verify an actions database directory instead (offline: the "
                             "collector must be stopped, or use a copy)");
  c.audit_verify->add_option("--expect-head", c.expect_head,
                             "SEQ:HASH of a head recorded earlier that the chain must still "
                             "contain (reveals newest entries removed)");

  for (CLI::App* cmd :
       {c.mode_get, c.mode_set, c.mode_clear, c.schedule, c.maintenance_list, c.extend, c.cancel,
        c.rollback, c.rollback_status, c.incidents, c.incidents_list, c.incidents_show,
        c.incidents_note, c.audit_list, c.audit_verify}) {
    c.AddFlags(cmd);
  }
}

ControlCommands::~ControlCommands() = default;

std::optional<int> ControlCommands::Run() const {
  const Commands& c = *commands_;
  const ControlFlags& flags = c.flags;
  if (c.mode_get->parsed()) return ModeGet(flags, c.service, c.watch);
  if (c.mode_set->parsed()) {
    ApiParams params{{"service", c.service}, {"mode", c.mode}, {"reason", c.reason}};
    AddParam(&params, "module", c.module);
    AddParam(&params, "duration", c.duration);
    return ModeSet(flags, params);
  }
  if (c.mode_clear->parsed()) {
    ApiParams params{{"service", c.service}};
    AddParam(&params, "module", c.module);
    return ModeClear(flags, params);
  }
  if (c.schedule->parsed()) {
    ApiParams params{{"service", c.service},
                     {"start", c.start},
                     {"duration", c.duration},
                     {"reason", c.reason},
                     {"time_zone", c.time_zone.empty() ? LocalTimeZoneName() : c.time_zone}};
    AddParam(&params, "module", c.module);
    AddParam(&params, "every", c.every);
    AddParam(&params, "weekdays", c.weekdays);
    AddParam(&params, "until", c.until);
    AddParam(&params, "mode", c.window_mode);
    return MaintenanceWindowCall(flags, "POST", "/api/v1/maintenance", params);
  }
  if (c.maintenance_list->parsed()) return MaintenanceList(flags, c.all);
  if (c.extend->parsed()) {
    return MaintenanceWindowCall(
        flags, "POST", "/api/v1/maintenance/" + PathSegment(c.id) + "/extend", {{"by", c.by}});
  }
  if (c.cancel->parsed()) return MaintenanceCancel(flags, c.id);
  if (c.rollback_status->parsed()) return RollbackStatus(flags, c.service);
  if (c.rollback->parsed()) {
    if (c.service.empty()) {
      std::fprintf(stderr, "rollback: a SERVICE (or `rollback status`) is required\n");
      return 1;
    }
    ApiParams params{{"service", c.service}};
    AddParam(&params, "to", c.to);
    AddParam(&params, "reason", c.reason);
    if (c.dry_run) params.emplace_back("dry_run", "true");
    return Rollback(flags, params);
  }
  if (c.incidents_show->parsed()) {
    return IncidentCall(flags, "GET", "/api/v1/incidents/" + PathSegment(c.id), {});
  }
  if (c.incidents_note->parsed()) {
    return IncidentCall(flags, "POST", "/api/v1/incidents/" + PathSegment(c.id) + "/notes",
                        {{"text", c.text}});
  }
  if (c.incidents->parsed()) return IncidentsList(flags, c.all);
  if (c.audit_list->parsed()) {
    ApiParams params{{"after", std::to_string(c.after)}, {"limit", std::to_string(c.limit)}};
    AddParam(&params, "service", c.service);
    AddParam(&params, "kind", c.kind);
    AddParam(&params, "incident", c.incident);
    return AuditList(flags, params);
  }
  if (c.audit_verify->parsed()) {
    AuditHead expect;
    if (!c.expect_head.empty()) {
      auto head = ParseAuditHead(c.expect_head);
      if (!head.ok()) {
        std::fprintf(stderr, "%s\n", head.status().message().c_str());
        return 1;
      }
      expect = *head;
    }
    if (!c.db_dir.empty()) return VerifyAuditDb(c.db_dir, expect, flags.output);
    std::optional<ApiClient> client = Connect(flags);
    return client ? VerifyAuditOnline(*client, expect, flags.output) : 1;
  }
  return std::nullopt;
}

}  // namespace vitals::ctl
