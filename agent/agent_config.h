#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/log.h"
#include "common/status.h"

namespace vitals::agent {

// Where and how to deliver batches: one entry of `collector:` / `collectors:`.
struct CollectorTarget {
  // The collector's ZeroMQ endpoint.
  std::string endpoint;
  // A batch not acknowledged within this time is sent again.
  std::chrono::milliseconds ack_timeout{std::chrono::seconds(5)};
  // Cap of the exponential retry back-off while the collector is unreachable.
  std::chrono::milliseconds max_retry_backoff{std::chrono::seconds(30)};
  // Batches per second at most when replaying the spool after an outage.
  double replay_rate = 200;
  // The collector's CURVE public key (Z85); empty for plain TCP.
  std::string server_public_key;
};

// Everything in agent.yml except the checks (see agent/checks/check_config.h).
// See docs/configuration.md.
struct AgentConfig {
  // Name of this agent; every series carries agent="<id>" and instance="<id>".
  // Defaults to the host name.
  std::string agent_id;
  // Extra labels on every series of this agent.
  std::map<std::string, std::string> labels;
  // How often host vitals are measured and sent.
  std::chrono::milliseconds interval{std::chrono::seconds(15)};

  // One collector, or two for high availability: every batch goes to each.
  std::vector<CollectorTarget> collectors;

  struct Spool {
    // Directory of the on-disk spool. Required.
    std::string dir;
    // Bound of the spool's size; the oldest batches are dropped beyond it.
    uint64_t max_size = 256ull << 20;
    // fsync every batch before sending it. Without it a spooled batch still
    // survives the agent being killed, but not a power cut or kernel crash.
    bool fsync = true;
  } spool;

  struct Curve {
    // This agent's key pair (Z85), read from public_key_file/secret_key_file.
    std::string public_key;
    std::string secret_key;
  } curve;

  struct Host {
    std::string proc_path = "/proc";  // Where procfs is mounted.
    std::string sys_path = "/sys";    // Where sysfs is mounted.
  } host;

  LogLevel log_level = LogLevel::kInfo;
};

// Reads the agent settings from a parsed agent.yml, leaving `checks` unread
// for the caller. InvalidArgument names file, line and key.
Result<AgentConfig> ReadAgentConfig(ConfigMap& root);

}  // namespace vitals::agent
