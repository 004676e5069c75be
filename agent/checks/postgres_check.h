#pragma once

#include <memory>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

// Builds a check of kind `postgres`: connects to a PostgreSQL server with
// libpq, runs a query and optionally compares its first value. Keys:
//   dsn_file | dsn_env  (required) a libpq connection string, keyword=value
//                       pairs or a postgresql:// URI; see ReadSecret.
//   query               (default "SELECT 1") run with the simple protocol.
//   expect              (optional) the expected first column of the first
//                       row, compared as text.
//
// Connecting and querying are non-blocking (PQconnectPoll, PQsendQuery), so
// Run returns by its deadline. A query cut off by the deadline is cancelled on
// the server. Host names are resolved by libpq without a timeout; use
// `hostaddr` where DNS may hang.
//
// Samples: vitals_check_connect_duration_seconds once connected and
// vitals_check_query_duration_seconds once the query has answered.
//
// Returns InvalidArgument naming file, line and key when the DSN is missing,
// unreadable or not a connection string libpq can parse (the DSN itself is not
// repeated: it may hold a password). Reads only its own keys from `fields`.
Result<std::unique_ptr<Check>> CreatePostgresCheck(const CheckSpec& spec, ConfigMap& fields);

}  // namespace vitals::agent
