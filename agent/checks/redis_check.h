#pragma once

#include <memory>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

// Builds a check of kind `redis`: connects with hiredis, authenticates if
// configured, sends PING and expects PONG. Keys:
//   address            host:port or [v6-address]:port; or
//   unix_socket        the path of the server's socket. Exactly one of the two.
//   password_file | password_env
//                      (optional) see ReadSecret; sent with AUTH before PING.
//   username           (optional, needs a password) a Redis 6+ ACL user:
//                      AUTH username password.
//   expect_role        (optional) master, or replica (alias slave): the role
//                      INFO replication must report.
//
// Connecting and every command wait at most the time left before the deadline
// (hiredis's connect timeout, then socket timeouts), so Run returns by it.
// Host names are resolved without a timeout.
//
// REQUIRES: SIGPIPE is ignored in the process (the agent does so at start-up):
// hiredis writes to its socket without MSG_NOSIGNAL.
//
// Samples: vitals_check_connect_duration_seconds once connected; with
// expect_role, vitals_check_redis_role{role="master"} (or "slave") = 1.
//
// Returns InvalidArgument naming file, line and key for a missing or malformed
// address, an unreadable password, or an unknown role. Reads only its own keys
// from `fields`.
Result<std::unique_ptr<Check>> CreateRedisCheck(const CheckSpec& spec, ConfigMap& fields);

}  // namespace vitals::agent
