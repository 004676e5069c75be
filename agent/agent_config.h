#pragma once

#include <chrono>
#include <map>
#include <string>

#include "common/log.h"
#include "common/status.h"

namespace vitals::agent {

// Everything in agent.yml. See docs/configuration.md.
struct AgentConfig {
  // Name of this agent; every series carries agent="<id>" and instance="<id>".
  // Defaults to the host name.
  std::string agent_id;
  // Extra labels on every series of this agent.
  std::map<std::string, std::string> labels;
  // How often host vitals are measured and sent.
  std::chrono::milliseconds interval{std::chrono::seconds(15)};

  struct Collector {
    // The collector's ZeroMQ endpoint. Required.
    std::string endpoint;
    // A batch not acknowledged within this time is sent again.
    std::chrono::milliseconds ack_timeout{std::chrono::seconds(5)};
    // Cap of the exponential retry back-off while the collector is unreachable.
    std::chrono::milliseconds max_retry_backoff{std::chrono::seconds(30)};
    // Unacknowledged batches kept in memory; the oldest are dropped beyond this.
    int64_t max_pending_batches = 720;
  } collector;

  struct Host {
    std::string proc_path = "/proc";  // Where procfs is mounted.
    std::string sys_path = "/sys";    // Where sysfs is mounted.
  } host;

  LogLevel log_level = LogLevel::kInfo;
};

// Reads and validates an agent.yml. InvalidArgument names file, line and key.
Result<AgentConfig> LoadAgentConfig(const std::string& path);
Result<AgentConfig> ParseAgentConfig(const std::string& yaml, const std::string& file_name);

}  // namespace vitals::agent
