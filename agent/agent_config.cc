#include "agent/agent_config.h"

#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/host_name.h"
#include "common/curve_keys.h"
#include "common/labels.h"
#include "common/subprocess.h"

namespace vitals::agent {
namespace {

// Reads a key file named by `key` (a path) into *out.
Status ReadKey(ConfigMap& map, std::string_view key, std::string* out, Presence p) {
  std::string path;
  RETURN_IF_ERROR(map.ReadString(key, &path, p));
  if (path.empty()) return Status::Ok();
  auto value = ReadCurveKeyFile(path);
  if (!value.ok()) return map.Error(key, value.status().message());
  *out = *value;
  return Status::Ok();
}

// `path` with trailing "/" removed (but "/" stays "/").
std::filesystem::path WithoutTrailingSlash(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  return trimmed;
}

// Whether two directory names mean the same directory, judged lexically.
bool SameDirectory(const std::string& a, const std::string& b) {
  std::error_code ec;
  auto normal = [&ec](const std::string& p) {
    return WithoutTrailingSlash(std::filesystem::absolute(p, ec).lexically_normal().string());
  };
  return normal(a) == normal(b);
}

// Reads a command: a list [program, arg, ...] run without a shell, or a
// string run with /bin/sh -c. The program must exist and be executable, found
// as it will be when run. Leaves *out unchanged when the key is absent.
Status ReadCommand(ConfigMap& map, std::string_view key, std::vector<std::string>* out) {
  std::string shell_command;
  std::vector<std::string> argv;
  if (map.ReadString(key, &shell_command).ok()) {
    if (!map.Has(key)) return Status::Ok();
    if (shell_command.empty()) return map.Error(key, "must not be empty");
    argv = {"/bin/sh", "-c", shell_command};
  } else if (!map.ReadStringList(key, &argv).ok()) {
    return map.Error(key,
                     "expected a command: a list [program, arg, ...] or a string for /bin/sh -c");
  }
  if (argv.empty() || argv[0].empty()) {
    return map.Error(key, "must name a program: [program, arg, ...]");
  }
  // Resolving the program the way it will be run, so a typo stops start-up.
  SubprocessOptions options;
  options.argv = argv;
  auto runnable = Subprocess::Create(std::move(options));
  if (!runnable.ok()) return map.Error(key, "cannot execute: " + runnable.status().message());
  *out = std::move(argv);
  return Status::Ok();
}

Result<ServiceConfig> ReadService(ConfigMap& entry) {
  ServiceConfig service;
  RETURN_IF_ERROR(entry.ReadString("name", &service.name, Presence::kRequired));
  if (!IsValidServiceName(service.name)) {
    return entry.Error("name", "\"" + service.name +
                                   "\" cannot name a mode file (not empty, at most 200 bytes, "
                                   "no \"/\", no control characters, no leading \".\")");
  }
  RETURN_IF_ERROR(entry.ReadString("version_file", &service.version_file));
  if (entry.Has("version_file") && service.version_file.empty()) {
    return entry.Error("version_file", "must not be empty");
  }
  RETURN_IF_ERROR(ReadCommand(entry, "version_command", &service.version_command));
  if (!service.version_file.empty() && !service.version_command.empty()) {
    return entry.Error("version_command", "give either version_file or version_command, not both");
  }
  RETURN_IF_ERROR(entry.CheckUnknownKeys());
  return service;
}

Result<CollectorTarget> ReadCollector(ConfigMap& map) {
  CollectorTarget target;
  RETURN_IF_ERROR(map.ReadString("endpoint", &target.endpoint, Presence::kRequired));
  if (target.endpoint.find("://") == std::string::npos) {
    return map.Error("endpoint", "expected a ZeroMQ endpoint like tcp://collector:4740");
  }
  RETURN_IF_ERROR(map.ReadDuration("ack_timeout", &target.ack_timeout));
  RETURN_IF_ERROR(map.ReadDuration("max_retry_backoff", &target.max_retry_backoff));
  int64_t replay_rate = static_cast<int64_t>(target.replay_rate);
  RETURN_IF_ERROR(map.ReadInt("replay_rate", &replay_rate));
  target.replay_rate = static_cast<double>(replay_rate);
  RETURN_IF_ERROR(ReadKey(map, "server_public_key_file", &target.server_public_key,
                          Presence::kOptional));
  if (target.ack_timeout < std::chrono::milliseconds(10)) {
    return map.Error("ack_timeout", "must be at least 10ms");
  }
  if (target.max_retry_backoff < std::chrono::milliseconds(100)) {
    return map.Error("max_retry_backoff", "must be at least 100ms");
  }
  if (replay_rate < 1) return map.Error("replay_rate", "must be at least 1 batch per second");
  RETURN_IF_ERROR(map.CheckUnknownKeys());
  return target;
}

}  // namespace

std::string DefaultModesDir(const std::string& spool_dir) {
  return (WithoutTrailingSlash(spool_dir).parent_path() / "modes").string();
}

bool IsValidServiceName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.') return false;
  for (char c : name) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Result<AgentConfig> ReadAgentConfig(ConfigMap& root) {
  AgentConfig config;
  config.agent_id = HostName();
  RETURN_IF_ERROR(root.ReadString("agent_id", &config.agent_id));
  if (config.agent_id.empty()) return root.Error("agent_id", "must not be empty");

  RETURN_IF_ERROR(root.ReadStringMap("labels", &config.labels));
  for (const auto& [name, value] : config.labels) {
    if (!IsValidLabelName(name) || name.starts_with("__")) {
      return root.Error("labels", "\"" + name + "\" is not a valid label name");
    }
    if (name == "agent" || name == "instance") {
      return root.Error("labels", "\"" + name + "\" is set from agent_id and cannot be overridden");
    }
  }

  RETURN_IF_ERROR(root.ReadDuration("interval", &config.interval));
  if (config.interval < std::chrono::milliseconds(100)) {
    return root.Error("interval", "must be at least 100ms");
  }

  // Exactly one of `collector` (a mapping) and `collectors` (a list of them).
  if (root.Has("collector") && root.Has("collectors")) {
    return root.Error("collectors", "give either collector or collectors, not both");
  }
  if (root.Has("collectors")) {
    ASSIGN_OR_RETURN(std::vector<ConfigMap> maps, root.ReadMapList("collectors"));
    if (maps.empty() || maps.size() > 2) {
      return root.Error("collectors", "list one collector, or two for high availability");
    }
    for (ConfigMap& map : maps) {
      ASSIGN_OR_RETURN(CollectorTarget target, ReadCollector(map));
      config.collectors.push_back(std::move(target));
    }
  } else {
    ASSIGN_OR_RETURN(ConfigMap map, root.ReadMap("collector"));
    ASSIGN_OR_RETURN(CollectorTarget target, ReadCollector(map));
    config.collectors.push_back(std::move(target));
  }

  ASSIGN_OR_RETURN(ConfigMap spool, root.ReadMap("spool"));
  RETURN_IF_ERROR(spool.ReadString("dir", &config.spool.dir, Presence::kRequired));
  RETURN_IF_ERROR(spool.ReadBytes("max_size", &config.spool.max_size));
  RETURN_IF_ERROR(spool.ReadBool("fsync", &config.spool.fsync));
  if (config.spool.max_size < (64u << 10)) return spool.Error("max_size", "must be at least 64KiB");
  RETURN_IF_ERROR(spool.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap curve, root.ReadMap("curve"));
  RETURN_IF_ERROR(ReadKey(curve, "public_key_file", &config.curve.public_key, Presence::kOptional));
  RETURN_IF_ERROR(ReadKey(curve, "secret_key_file", &config.curve.secret_key, Presence::kOptional));
  RETURN_IF_ERROR(curve.CheckUnknownKeys());
  if (config.curve.public_key.empty() != config.curve.secret_key.empty()) {
    return curve.Error(config.curve.public_key.empty() ? "public_key_file" : "secret_key_file",
                       "missing: the key pair needs both public_key_file and secret_key_file");
  }
  bool any_server_key = false;
  for (const CollectorTarget& t : config.collectors) any_server_key |= !t.server_public_key.empty();
  bool have_pair = !config.curve.public_key.empty() && !config.curve.secret_key.empty();
  if (any_server_key && !have_pair) {
    return curve.Error("", "a collector has server_public_key_file, so curve.public_key_file and "
                           "curve.secret_key_file are required");
  }
  if (have_pair) {
    for (size_t i = 0; i < config.collectors.size(); ++i) {
      if (config.collectors[i].server_public_key.empty()) {
        return root.Error(config.collectors.size() == 1 ? "collector" : "collectors",
                          "curve keys are set, so every collector needs server_public_key_file");
      }
    }
  }

  ASSIGN_OR_RETURN(ConfigMap host, root.ReadMap("host"));
  RETURN_IF_ERROR(host.ReadString("proc_path", &config.host.proc_path));
  RETURN_IF_ERROR(host.ReadString("sys_path", &config.host.sys_path));
  RETURN_IF_ERROR(host.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap modes, root.ReadMap("modes"));
  config.modes.dir = DefaultModesDir(config.spool.dir);
  RETURN_IF_ERROR(modes.ReadString("dir", &config.modes.dir));
  if (config.modes.dir.empty()) return modes.Error("dir", "must not be empty");
  if (SameDirectory(config.modes.dir, config.spool.dir)) {
    return modes.Error(modes.Has("dir") ? "dir" : "",
                       "the mode files need a directory of their own, not spool.dir" +
                           std::string(modes.Has("dir") ? "" : " (set modes.dir)"));
  }
  RETURN_IF_ERROR(ReadCommand(modes, "on_mode_change", &config.modes.on_mode_change));
  RETURN_IF_ERROR(modes.ReadDuration("hook_timeout", &config.modes.hook_timeout));
  if (config.modes.hook_timeout < std::chrono::milliseconds(100)) {
    return modes.Error("hook_timeout", "must be at least 100ms");
  }
  RETURN_IF_ERROR(modes.CheckUnknownKeys());

  ASSIGN_OR_RETURN(std::vector<ConfigMap> services, root.ReadMapList("services"));
  std::set<std::string, std::less<>> service_names;
  for (ConfigMap& entry : services) {
    ASSIGN_OR_RETURN(ServiceConfig service, ReadService(entry));
    if (!service_names.insert(service.name).second) {
      return entry.Error("name", "service \"" + service.name + "\" is listed twice");
    }
    config.services.push_back(std::move(service));
  }

  ASSIGN_OR_RETURN(ConfigMap log, root.ReadMap("log"));
  std::string level = "info";
  RETURN_IF_ERROR(log.ReadString("level", &level));
  auto parsed = ParseLogLevel(level);
  if (!parsed.ok()) return log.Error("level", parsed.status().message());
  config.log_level = *parsed;
  RETURN_IF_ERROR(log.CheckUnknownKeys());
  return config;
}

}  // namespace vitals::agent
