#pragma once

#include <memory>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

// Builds a check of kind `mysql`: connects to a MySQL or MariaDB server with
// libmariadb, runs a query and optionally compares its first value. Keys:
//   dsn_file | dsn_env  (required) a URL, see ReadSecret:
//                         mysql://user:password@host:port/database
//                         mysql://user:password@/database?socket=/run/mysqld/mysqld.sock
//                       `mariadb://` is accepted too. User, password, database
//                       and socket are percent-decoded; the port defaults to
//                       3306. Without `socket` the check always uses TCP, even
//                       for `localhost`.
//   query               (default "SELECT 1")
//   expect              (optional) the expected first column of the first
//                       row, compared as text.
//
// Uses libmariadb's non-blocking API (MYSQL_OPT_NONBLOCK), so Run returns by
// its deadline. A query cut off by the deadline is abandoned by closing the
// connection; the server may go on running it. Host names are resolved
// without a timeout.
//
// Samples: vitals_check_connect_duration_seconds once connected and
// vitals_check_query_duration_seconds once the query has answered.
//
// Returns InvalidArgument naming file, line and key when the DSN is missing,
// unreadable or not such a URL (the DSN itself is not repeated: it holds a
// password). Reads only its own keys from `fields`.
Result<std::unique_ptr<Check>> CreateMysqlCheck(const CheckSpec& spec, ConfigMap& fields);

}  // namespace vitals::agent
