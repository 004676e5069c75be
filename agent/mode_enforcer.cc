#include "agent/mode_enforcer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "agent/agent_config.h"
#include "agent/checks/tcp_check.h"
#include "common/log.h"
#include "common/units.h"

namespace vitals::agent {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kNormal[] = "normal";
// The modes vitals_agent_service_mode always reports, 1 or 0; another mode
// shows up as an extra series while it is current.
constexpr const char* kKnownModes[] = {"normal", "degraded", "read_only", "maintenance"};
constexpr char kMarkerSuffix[] = ".hooked";
constexpr char kTempSuffix[] = ".tmp";
constexpr size_t kMaxMessageBytes = 200;  // Of a failed run's output line in the log.

const MetricDesc kServiceMode{
    "vitals_agent_service_mode", MetricType::kGauge,
    "1 for the mode a service (no module label) or module is in on this host, as the agent "
    "enforces it; 0 for the other modes."};
const MetricDesc kModeUpdates{"vitals_agent_mode_updates_total", MetricType::kCounter,
                              "Modes messages from collectors the agent applied."};
const MetricDesc kModeFileWrites{
    "vitals_agent_mode_file_writes_total", MetricType::kCounter,
    "Mode files rewritten because a service's mode changed; result=failure: the file could not "
    "be written."};
const MetricDesc kHookRuns{
    "vitals_agent_mode_hook_runs_total", MetricType::kCounter,
    "Runs of the modes.on_mode_change hook; result=failure: non-zero exit, killed, timed out "
    "or not startable."};

// "2026-11-22T10:00:01.234Z".
std::string FormatTime(int64_t ms) {
  const int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];  // Room for any int fields, so the compiler sees no truncation.
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms - secs * 1000));
  return buf;
}

// The inverse of FormatTime; nullopt for anything else.
std::optional<int64_t> ParseTime(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, &consumed) != 7 ||
      static_cast<size_t>(consumed) != text.size()) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + millis;
}

// A time as the file writes it: a string, or null when unknown (0).
Json TimeJson(int64_t ms) { return ms == 0 ? Json(nullptr) : Json(FormatTime(ms)); }

int64_t TimeFromJson(const nlohmann::json& value) {
  if (value.is_null()) return 0;
  auto ms = ParseTime(value.get<std::string>());
  if (!ms) throw std::invalid_argument("not a time like 2026-11-22T10:00:01.234Z");
  return *ms;
}

// Adds the fields of `entry` to the object *out, in the documented order.
void AddEntry(const ModeEntry& entry, Json* out) {
  (*out)["mode"] = entry.mode;
  (*out)["reason"] = entry.reason;
  (*out)["since"] = TimeJson(entry.since_ms);
  (*out)["eta"] = TimeJson(entry.eta_ms);
  (*out)["incident_id"] = entry.incident_id;
  (*out)["source"] = entry.source;
}

ModeEntry EntryFromJson(const nlohmann::json& value) {
  ModeEntry entry;
  entry.mode = value.at("mode").get<std::string>();
  entry.reason = value.at("reason").get<std::string>();
  entry.since_ms = TimeFromJson(value.at("since"));
  entry.eta_ms = TimeFromJson(value.at("eta"));
  entry.incident_id = value.at("incident_id").get<std::string>();
  entry.source = value.at("source").get<std::string>();
  return entry;
}

// The file's content without generation and updated_at: what is compared.
Json StateJson(const std::string& service, const ServiceModeState& state) {
  Json out;
  out["service"] = service;
  AddEntry(state.service, &out);
  Json modules = Json::object();
  for (const auto& [name, entry] : state.modules) {
    Json module;
    AddEntry(entry, &module);
    modules[name] = std::move(module);
  }
  out["modules"] = std::move(modules);
  return out;
}

std::string Dump(const Json& json, int indent) {
  // Strings come from the collector; an invalid UTF-8 byte must not throw.
  return json.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read " + path);
  return buffer.str();
}

Status ErrnoStatus(const std::string& what) {
  return Status::IOError(what + ": " + ErrnoMessage(errno));
}

// Replaces <dir>/<name> with `data` so that readers see the old content or
// the new, never a mix, and the new survives a crash once this returns: a
// temporary file in the same directory, fsync, rename over, fsync of the
// directory. The file is world-readable: applications read mode files.
Status WriteFileAtomically(const std::string& dir, const std::string& name,
                           const std::string& data) {
  const std::string path = dir + "/" + name;
  const std::string tmp = dir + "/." + name + kTempSuffix;
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus("create " + tmp);
  auto fail = [&tmp](const std::string& what) {
    Status status = ErrnoStatus(what + " " + tmp);
    ::unlink(tmp.c_str());
    return status;
  };
  if (::fchmod(fd.get(), 0644) != 0) return fail("chmod");
  for (size_t written = 0; written < data.size();) {
    ssize_t n = ::write(fd.get(), data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write");
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("fsync");
  if (::close(fd.Release()) != 0) return fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename to " + path + ":");
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0) return ErrnoStatus("fsync " + dir);
  return Status::Ok();
}

// The state in the mode file at `path`; nullopt when there is none or it is
// not a mode file (logged: the next Modes rewrites it).
std::optional<ServiceModeState> ReadModeFile(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return std::nullopt;
  auto state = ParseModeFile(*text);
  if (!state.ok()) {
    LOG_WARN << path << ": " << state.status().message()
             << "; it is rewritten with the next modes from the collector";
    return std::nullopt;
  }
  return *state;
}

// "payments=degraded search=read_only": the modules not normal, by name.
std::string ModulesList(const ServiceModeState& state) {
  std::string out;
  for (const auto& [module, entry] : state.modules) {
    if (!out.empty()) out += ' ';
    out += module + "=" + entry.mode;
  }
  return out;
}

// One line for the log: "maintenance (reason: ...), modules: payments=degraded".
std::string Describe(const ServiceModeState& state) {
  std::string out = state.service.mode;
  if (!state.service.reason.empty()) out += " (" + state.service.reason + ")";
  std::string modules = ModulesList(state);
  if (!modules.empty()) out += ", modules: " + modules;
  return out;
}

// The first line of `text` that is not blank, trimmed and cut to
// kMaxMessageBytes.
std::string FirstLine(std::string_view text) {
  while (!text.empty()) {
    std::string_view line = text.substr(0, text.find('\n'));
    text.remove_prefix(std::min(text.size(), line.size() + 1));
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
    return std::string(line.substr(0, kMaxMessageBytes));
  }
  return "";
}

}  // namespace

std::string DescribeFailedRun(const SubprocessResult& result, std::chrono::milliseconds timeout) {
  std::string what;
  if (result.timed_out) {
    what = "timed out after " + FormatDuration(timeout) + "; its process group was killed";
  } else if (result.signal != 0) {
    what = "killed by signal " + std::to_string(result.signal);
  } else {
    what = "exit status " + std::to_string(result.exit_code);
  }
  // Programs tend to say why they failed on stderr.
  std::string line = FirstLine(result.err);
  if (line.empty()) line = FirstLine(result.out);
  return line.empty() ? what : what + ": " + line;
}

std::string FormatModeFile(const std::string& service, const ServiceModeState& state,
                           uint64_t generation, int64_t updated_at_ms) {
  Json out = StateJson(service, state);
  out["generation"] = generation;
  out["updated_at"] = FormatTime(updated_at_ms);
  return Dump(out, 2) + "\n";
}

Result<ServiceModeState> ParseModeFile(std::string_view text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::Corruption("not a JSON object");
  }
  try {
    ServiceModeState state;
    state.service = EntryFromJson(json);
    for (const auto& [name, module] : json.at("modules").items()) {
      state.modules[name] = EntryFromJson(module);
    }
    return state;
  } catch (const std::exception& e) {  // nlohmann's type and key errors, TimeFromJson.
    return Status::Corruption(std::string("not a mode file: ") + e.what());
  }
}

Result<std::unique_ptr<ModeEnforcer>> ModeEnforcer::Open(ModeEnforcerOptions options,
                                                         const Clock& clock) {
  if (options.dir.empty()) return Status::InvalidArgument("the modes directory is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec)
    return Status::IOError("cannot create modes directory " + options.dir + ": " + ec.message());
  // Hooks get an absolute VITALS_MODE_FILE whatever their working directory.
  std::string absolute = std::filesystem::absolute(options.dir, ec).lexically_normal().string();
  if (!ec) options.dir = absolute;
  while (options.dir.size() > 1 && options.dir.back() == '/') options.dir.pop_back();
  std::unique_ptr<ModeEnforcer> enforcer(new ModeEnforcer(std::move(options), clock));
  RETURN_IF_ERROR(enforcer->Load());
  return enforcer;
}

ModeEnforcer::ModeEnforcer(ModeEnforcerOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

ModeEnforcer::~ModeEnforcer() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [name, service] : services_) {
      if (service.hook_thread.joinable()) threads.push_back(std::move(service.hook_thread));
    }
  }
  for (std::thread& thread : threads) thread.join();
}

std::string ModeEnforcer::PathOf(const std::string& service) const {
  return options_.dir + "/" + service + ".json";
}

Status ModeEnforcer::Load() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    // A write a crash interrupted: the file it was replacing is intact.
    if (name.starts_with('.') && name.ends_with(kTempSuffix)) {
      std::error_code ignored;  // One left behind is overwritten by the next write anyway.
      std::filesystem::remove(entry.path(), ignored);
    }
  }
  if (ec) {
    return Status::IOError("cannot read modes directory " + options_.dir + ": " + ec.message());
  }

  std::lock_guard lock(mu_);
  for (const std::string& name : options_.services) {
    if (!IsValidServiceName(name)) {
      LOG_WARN << "service \"" << name << "\" cannot name a mode file; its modes are not enforced";
      continue;
    }
    Service& service = services_[name];
    std::optional<ServiceModeState> state = ReadModeFile(PathOf(name));
    if (!state) continue;  // Never heard of: the first Modes writes it.
    service.state = *state;
    for (const auto& [module, entry] : state->modules) service.modules_seen.insert(module);
    if (options_.hook.empty()) continue;
    // The hook is owed unless a marker says it succeeded for exactly this state.
    auto marker = ReadWholeFile(options_.dir + "/." + name + kMarkerSuffix);
    auto hooked = marker.ok() ? ParseModeFile(*marker) : Result<ServiceModeState>(marker.status());
    if (!hooked.ok() || !(*hooked == *state)) QueueHook(name, service, *state);
  }
  return Status::Ok();
}

ServiceModeState ModeEnforcer::StateFrom(const std::vector<const wire::ServiceMode*>& entries,
                                         const std::optional<ServiceModeState>& previous) const {
  ServiceModeState state;
  bool service_level_listed = false;
  for (const wire::ServiceMode* m : entries) {
    // Only what is not normal is listed; a listed "normal" means the same.
    if (m->mode().empty() || m->mode() == kNormal) continue;
    ModeEntry entry;
    entry.mode = m->mode();
    entry.reason = m->reason();
    entry.since_ms = std::max<int64_t>(0, m->since_ms());
    entry.eta_ms = std::max<int64_t>(0, m->eta_ms());
    entry.incident_id = m->incident_id();
    entry.source = m->source();
    if (m->module().empty()) {
      state.service = std::move(entry);
      service_level_listed = true;
    } else {
      state.modules[m->module()] = std::move(entry);
    }
  }
  if (!service_level_listed) {
    // The collector does not say since when a service is normal: it is when
    // this agent learned so, kept for as long as it stays normal.
    const bool was_normal =
        previous && previous->service.mode == kNormal && previous->service.since_ms != 0;
    state.service.since_ms = was_normal ? previous->service.since_ms : clock_.NowMillis();
  }
  return state;
}

void ModeEnforcer::Apply(const wire::Modes& modes) {
  std::map<std::string, std::vector<const wire::ServiceMode*>> entries;
  for (const wire::ServiceMode& m : modes.modes()) entries[m.service()].push_back(&m);

  std::lock_guard lock(mu_);
  ++updates_;
  std::set<std::string> applied;
  for (const std::string& name : modes.services()) {
    if (!applied.insert(name).second) continue;
    auto it = services_.find(name);
    if (it == services_.end()) {
      LOG_DEBUG << "ignoring modes of service " << name << ": not enforced on this host";
      continue;
    }
    Service& service = it->second;
    // Compared with the file itself, not with what was last written: a file
    // someone removed or edited is put right by the next Modes.
    std::optional<ServiceModeState> on_disk = ReadModeFile(PathOf(name));
    ServiceModeState state = StateFrom(entries[name], on_disk);
    if (on_disk && *on_disk == state) {
      service.state = std::move(on_disk);
      continue;
    }
    Status written =
        WriteFileAtomically(options_.dir, name + ".json",
                            FormatModeFile(name, state, modes.generation(), clock_.NowMillis()));
    if (!written.ok()) {
      ++service.writes_failed;
      LOG_ERROR << "service " << name << ": cannot write its mode file, so " << Describe(state)
                << " is not in effect: " << written.message();
      continue;
    }
    ++service.writes_ok;
    LOG_INFO << "service " << name << ": mode " << Describe(state) << " (" << PathOf(name) << ")";
    for (const auto& [module, entry] : state.modules) service.modules_seen.insert(module);
    service.state = state;
    if (!options_.hook.empty()) QueueHook(name, service, std::move(state));
  }
}

void ModeEnforcer::QueueHook(const std::string& name, Service& service, ServiceModeState state) {
  service.hook_pending = std::move(state);
  if (service.hook_running || stopping_) return;
  // A finished thread cleared hook_running under mu_ and only returns after
  // that, so this join does not wait for anything that needs mu_.
  if (service.hook_thread.joinable()) service.hook_thread.join();
  service.hook_running = true;
  service.hook_thread = std::thread([this, name] { HookLoop(name); });
}

void ModeEnforcer::HookLoop(const std::string& name) {
  std::unique_lock lock(mu_);
  Service& service = services_.at(name);  // Map nodes never move; the keys are fixed.
  while (service.hook_pending && !stopping_) {
    ServiceModeState state = std::move(*service.hook_pending);
    service.hook_pending.reset();
    lock.unlock();
    std::string failure = RunHook(name, state);
    if (failure.empty()) {
      Status marked = WriteFileAtomically(options_.dir, "." + name + kMarkerSuffix,
                                          Dump(StateJson(name, state), -1) + "\n");
      if (!marked.ok()) {
        LOG_WARN << "service " << name << ": cannot record that its hook ran (" << marked.message()
                 << "); it runs again at the next start";
      }
    }
    lock.lock();
    if (failure.empty()) {
      ++service.hooks_ok;
    } else {
      ++service.hooks_failed;
      last_hook_failure_ = name + ": " + failure;
    }
  }
  service.hook_running = false;
  hooks_idle_.notify_all();
}

std::string ModeEnforcer::RunHook(const std::string& name, const ServiceModeState& state) {
  SubprocessOptions options;
  options.argv = options_.hook;
  options.env = {
      {"VITALS_SERVICE", name},
      {"VITALS_MODE", state.service.mode},
      {"VITALS_MODULES", ModulesList(state)},
      {"VITALS_REASON", state.service.reason},
      {"VITALS_INCIDENT_ID", state.service.incident_id},
      {"VITALS_MODE_FILE", PathOf(name)},
      {"VITALS_SOURCE", state.service.source},
  };
  options.kill_grace = kHookKillGrace;
  std::string failure;
  auto hook = Subprocess::Create(std::move(options));
  auto result = hook.ok() ? hook->Run(std::chrono::steady_clock::now() + options_.hook_timeout)
                          : Result<SubprocessResult>(hook.status());
  if (!result.ok()) {
    failure = "cannot run " + options_.hook[0] + ": " + result.status().message();
  } else if (!result->succeeded()) {
    failure = DescribeFailedRun(*result, options_.hook_timeout);
  } else {
    LOG_INFO << "service " << name << ": on_mode_change hook done for mode " << Describe(state);
    return "";
  }
  LOG_ERROR << "service " << name << ": on_mode_change hook failed for mode " << Describe(state)
            << ": " << failure;
  return failure;
}

void ModeEnforcer::WaitForHooks() {
  std::unique_lock lock(mu_);
  hooks_idle_.wait(lock, [this] {
    for (const auto& [name, service] : services_) {
      if (service.hook_running || (service.hook_pending && !stopping_)) return false;
    }
    return true;
  });
}

void ModeEnforcer::AddMetrics(SampleSet* set) const {
  std::lock_guard lock(mu_);
  set->Add(kModeUpdates, {}, static_cast<double>(updates_));
  for (const auto& [name, service] : services_) {
    set->Add(kModeFileWrites, {{"service", name}, {"result", "success"}},
             static_cast<double>(service.writes_ok));
    set->Add(kModeFileWrites, {{"service", name}, {"result", "failure"}},
             static_cast<double>(service.writes_failed));
    if (!options_.hook.empty()) {
      set->Add(kHookRuns, {{"service", name}, {"result", "success"}},
               static_cast<double>(service.hooks_ok));
      set->Add(kHookRuns, {{"service", name}, {"result", "failure"}},
               static_cast<double>(service.hooks_failed));
    }
    if (!service.state) continue;  // Never heard of: no mode to report.
    auto add_modes = [&](const std::string& module, const std::string& current) {
      bool known = false;
      for (const char* mode : kKnownModes) {
        known |= current == mode;
        set->Add(kServiceMode, {{"service", name}, {"module", module}, {"mode", mode}},
                 current == mode ? 1 : 0);
      }
      if (!known)
        set->Add(kServiceMode, {{"service", name}, {"module", module}, {"mode", current}}, 1);
    };
    add_modes("", service.state->service.mode);
    for (const std::string& module : service.modules_seen) {
      auto it = service.state->modules.find(module);
      add_modes(module, it == service.state->modules.end() ? kNormal : it->second.mode);
    }
  }
}

ModeEnforcerStats ModeEnforcer::stats() const {
  std::lock_guard lock(mu_);
  ModeEnforcerStats stats;
  stats.updates = updates_;
  for (const auto& [name, service] : services_) {
    stats.files_written += service.writes_ok;
    stats.write_errors += service.writes_failed;
    stats.hook_successes += service.hooks_ok;
    stats.hook_failures += service.hooks_failed;
  }
  stats.last_hook_failure = last_hook_failure_;
  return stats;
}

}  // namespace vitals::agent
