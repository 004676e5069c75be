#include "agent/agent_config.h"

#include <unistd.h>

#include "common/config.h"
#include "common/labels.h"

namespace vitals::agent {
namespace {

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

Result<AgentConfig> FromConfigMap(ConfigMap root) {
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

  // Optional so that an absent or empty section reports the key it lacks, collector.endpoint.
  ASSIGN_OR_RETURN(ConfigMap collector, root.ReadMap("collector"));
  RETURN_IF_ERROR(collector.ReadString("endpoint", &config.collector.endpoint, Presence::kRequired));
  if (config.collector.endpoint.find("://") == std::string::npos) {
    return collector.Error("endpoint", "expected a ZeroMQ endpoint like tcp://collector:4740");
  }
  RETURN_IF_ERROR(collector.ReadDuration("ack_timeout", &config.collector.ack_timeout));
  RETURN_IF_ERROR(collector.ReadDuration("max_retry_backoff", &config.collector.max_retry_backoff));
  RETURN_IF_ERROR(collector.ReadInt("max_pending_batches", &config.collector.max_pending_batches));
  if (config.collector.ack_timeout < std::chrono::milliseconds(10)) {
    return collector.Error("ack_timeout", "must be at least 10ms");
  }
  if (config.collector.max_retry_backoff < std::chrono::milliseconds(100)) {
    return collector.Error("max_retry_backoff", "must be at least 100ms");
  }
  if (config.collector.max_pending_batches < 1) {
    return collector.Error("max_pending_batches", "must be at least 1");
  }
  RETURN_IF_ERROR(collector.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap host, root.ReadMap("host"));
  RETURN_IF_ERROR(host.ReadString("proc_path", &config.host.proc_path));
  RETURN_IF_ERROR(host.ReadString("sys_path", &config.host.sys_path));
  RETURN_IF_ERROR(host.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap log, root.ReadMap("log"));
  std::string level = "info";
  RETURN_IF_ERROR(log.ReadString("level", &level));
  auto parsed = ParseLogLevel(level);
  if (!parsed.ok()) return log.Error("level", parsed.status().message());
  config.log_level = *parsed;
  RETURN_IF_ERROR(log.CheckUnknownKeys());

  RETURN_IF_ERROR(root.CheckUnknownKeys());
  return config;
}

}  // namespace

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigMap root, ConfigMap::LoadFile(path));
  return FromConfigMap(std::move(root));
}

Result<AgentConfig> ParseAgentConfig(const std::string& yaml, const std::string& file_name) {
  ASSIGN_OR_RETURN(ConfigMap root, ConfigMap::LoadString(yaml, file_name));
  return FromConfigMap(std::move(root));
}

}  // namespace vitals::agent
