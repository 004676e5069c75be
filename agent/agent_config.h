#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
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

// One entry of `services:`: a service that runs on this host. Its modes are
// enforced here (see docs/modes-agent.md), and its running version may be
// reported as vitals_build_info{service, version}.
struct ServiceConfig {
  // The service's name, as in the collector's actions and the checks'
  // `service`. Also the mode file's name, so no "/" and no leading ".".
  std::string name;
  // A file whose first line is the running version; empty: none.
  std::string version_file;
  // argv of a program whose first line of output is the running version, run
  // every interval; empty: none. At most one of version_file and
  // version_command is set.
  std::vector<std::string> version_command;
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

  // Where service modes pushed by the collector are written, and what runs
  // when one changes (docs/modes-agent.md).
  struct Modes {
    // Directory of the <service>.json mode files. Defaults to "modes" beside
    // spool.dir (./data/agent-spool -> ./data/modes). Never spool.dir itself.
    std::string dir;
    // argv of the program run after a service's mode file changed; empty:
    // none. A plain string in agent.yml becomes {"/bin/sh", "-c", string}.
    std::vector<std::string> on_mode_change;
    // A hook still running after this long is killed and counted as failed.
    std::chrono::milliseconds hook_timeout{std::chrono::seconds(10)};
  } modes;

  // The services that run on this host (`services:`), in configuration order.
  std::vector<ServiceConfig> services;

  LogLevel log_level = LogLevel::kInfo;
};

// "modes" beside the spool directory: the default of modes.dir.
std::string DefaultModesDir(const std::string& spool_dir);

// Whether `name` can name a service's mode file: not empty, at most 200
// bytes, no "/" and no control characters, not starting with ".".
bool IsValidServiceName(std::string_view name);

// Reads the agent settings from a parsed agent.yml, leaving `checks` unread
// for the caller. InvalidArgument names file, line and key.
Result<AgentConfig> ReadAgentConfig(ConfigMap& root);

}  // namespace vitals::agent
