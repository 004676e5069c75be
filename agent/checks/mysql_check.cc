#include "agent/checks/mysql_check.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "agent/checks/check_common.h"
#include "agent/checks/secret.h"
#include "agent/checks/shared_library.h"
#include "agent/checks/tcp_check.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// The libmariadb functions the check uses, loaded with the first mysql check.
// (mysql.h spells mysql_server_init as the macro mysql_library_init.)
// clang-format off
#define VITALS_LIBMARIADB_FUNCTIONS(F)                                                     \
  F(mysql_close) F(mysql_errno) F(mysql_error) F(mysql_fetch_lengths) F(mysql_fetch_row) \
  F(mysql_field_count) F(mysql_free_result) F(mysql_get_socket)                          \
  F(mysql_get_timeout_value_ms) F(mysql_init) F(mysql_num_fields) F(mysql_optionsv)      \
  F(mysql_real_connect_cont) F(mysql_real_connect_start) F(mysql_real_query_cont)        \
  F(mysql_real_query_start) F(mysql_server_init) F(mysql_store_result_cont)              \
  F(mysql_store_result_start)
// clang-format on

VITALS_LIBRARY_API(LibmariadbApi, VITALS_LIBMARIADB_FUNCTIONS);

// mysql_init() would initialise the library on first use, which is not
// thread-safe, and checks run on several threads: it is initialised once, here.
Status InitLibmariadb(const LibmariadbApi& api, const SharedLibrary& library) {
  if (api.mysql_server_init(0, nullptr, nullptr) != 0) {
    return Status::Unavailable(library.soname() + ": mysql_server_init failed");
  }
  return Status::Ok();
}

// Loads and initialises libmariadb on the first call; later calls return the
// same outcome.
Result<const LibmariadbApi*> LoadLibmariadb() {
  return LoadLibraryOnce<LibmariadbApi>(kLibmariadbSoname, InitLibmariadb);
}

// REQUIRES: LoadLibmariadb succeeded, which CreateMysqlCheck makes sure of
// before any of the code below runs.
const LibmariadbApi& Mysql() { return **LoadLibmariadb(); }

struct MysqlDeleter {
  void operator()(MYSQL* mysql) const { Mysql().mysql_close(mysql); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlDeleter>;

struct MysqlResultDeleter {
  void operator()(MYSQL_RES* result) const { Mysql().mysql_free_result(result); }
};
using MysqlResultPtr = std::unique_ptr<MYSQL_RES, MysqlResultDeleter>;

// Where and as whom to connect, from the DSN URL.
struct Target {
  std::string host;  // Empty when `socket` is set.
  unsigned int port = 3306;
  std::string user;
  std::string password;
  std::string database;  // Empty for none.
  std::string socket;    // A Unix socket path, or empty for TCP.
};

// Parses mysql://user:password@host:port/database?socket=/path. Error messages
// never repeat the URL: it holds a password.
Result<Target> ParseUrl(std::string_view url) {
  auto error = [](std::string_view what) {
    return Status::InvalidArgument(std::string(what) +
                                   " (expected mysql://user:password@host:port/database)");
  };
  if (url.starts_with("mysql://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("mariadb://")) {
    url.remove_prefix(10);
  } else {
    return error("not a mysql:// URL");
  }
  Target target;
  std::string_view params;
  if (const size_t q = url.find('?'); q != std::string_view::npos) {
    params = url.substr(q + 1);
    url = url.substr(0, q);
  }
  std::string_view path;
  if (const size_t slash = url.find('/'); slash != std::string_view::npos) {
    path = url.substr(slash + 1);
    url = url.substr(0, slash);
  }
  const size_t at = url.rfind('@');
  if (at == std::string_view::npos) return error("no user in the URL");
  const std::string_view userinfo = url.substr(0, at);
  std::string_view hostport = url.substr(at + 1);

  const size_t colon = userinfo.find(':');
  auto user = PercentDecode(userinfo.substr(0, colon));
  auto password = PercentDecode(colon == std::string_view::npos ? "" : userinfo.substr(colon + 1));
  auto database = PercentDecode(path);
  if (!user || !password || !database) return error("malformed %-escape in the URL");
  if (user->empty()) return error("no user in the URL");
  if (database->find('/') != std::string::npos) return error("a database name cannot contain /");
  target.user = std::move(*user);
  target.password = std::move(*password);
  target.database = std::move(*database);

  std::string_view port;
  if (hostport.starts_with('[')) {  // [::1]:3306
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return error("unterminated [ in the host");
    target.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return error("malformed host");
    if (!after.empty()) port = after.substr(1);
  } else if (const size_t c = hostport.rfind(':'); c != std::string_view::npos) {
    target.host = std::string(hostport.substr(0, c));
    port = hostport.substr(c + 1);
  } else {
    target.host = std::string(hostport);
  }
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), target.port);
    if (ec != std::errc() || end != port.data() + port.size() || target.port == 0 ||
        target.port > 65535) {
      return error("the port is not a number from 1 to 65535");
    }
  }

  while (!params.empty()) {
    const size_t amp = std::min(params.find('&'), params.size());
    const std::string_view param = params.substr(0, amp);
    params.remove_prefix(std::min(amp + 1, params.size()));
    const size_t eq = param.find('=');
    const std::string_view name = param.substr(0, eq);
    if (name != "socket") {
      return error("unknown URL parameter \"" + std::string(name) + "\" (only socket is known)");
    }
    auto socket = PercentDecode(eq == std::string_view::npos ? "" : param.substr(eq + 1));
    if (!socket || socket->empty()) return error("socket= needs a path");
    target.socket = std::move(*socket);
  }
  if (!target.socket.empty()) target.host.clear();
  if (target.host.empty() && target.socket.empty()) return error("no host or ?socket= in the URL");
  return target;
}

enum class Wait { kDone, kTimedOut, kFailed };

// Waits for the events a non-blocking call asked for in `status` until
// `until`. Returns the MYSQL_WAIT_* bits that happened, 0 on timeout, -1 when
// poll fails.
int WaitForEvents(int fd, int status, SteadyClock::time_point until) {
  short events = 0;
  if (status & MYSQL_WAIT_READ) events |= POLLIN;
  if (status & MYSQL_WAIT_WRITE) events |= POLLOUT;
  if (status & MYSQL_WAIT_EXCEPT) events |= POLLPRI;
  while (true) {
    const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(until - SteadyClock::now());
    if (remaining <= 0ms) return 0;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(remaining.count(), INT_MAX)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) continue;  // Re-checks the time left.
    int ready = 0;
    // An error or hang-up is left for the library to read and report.
    if (p.revents & (POLLIN | POLLERR | POLLHUP)) ready |= status & MYSQL_WAIT_READ;
    if (p.revents & (POLLOUT | POLLERR | POLLHUP)) ready |= status & MYSQL_WAIT_WRITE;
    if (p.revents & POLLPRI) ready |= status & MYSQL_WAIT_EXCEPT;
    if (ready != 0) return ready;
    return status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT);
  }
}

// Runs a started non-blocking libmariadb call to completion: `status` is what
// its _start function returned, `resume(events)` calls its _cont function.
//
// When the deadline comes first, the call is told that its I/O timed out, so it
// fails and releases what it holds; the library does not allow closing the
// connection in the middle of a call (a connect in progress would leak its
// socket).
template <typename Resume>
Wait Drive(MYSQL* mysql, int status, const Resume& resume, SteadyClock::time_point deadline) {
  Wait outcome = Wait::kDone;
  while (status != 0 && outcome == Wait::kDone) {
    auto until = deadline;
    bool library_timeout = false;
    if (status & MYSQL_WAIT_TIMEOUT) {
      const auto own =
          SteadyClock::now() + std::chrono::milliseconds(Mysql().mysql_get_timeout_value_ms(mysql));
      library_timeout = own < deadline;
      until = std::min(until, own);
    }
    const int ready = WaitForEvents(Mysql().mysql_get_socket(mysql), status, until);
    if (ready > 0) {
      status = resume(ready);
    } else if (ready == 0 && library_timeout) {
      status = resume(MYSQL_WAIT_TIMEOUT);
    } else {
      outcome = ready == 0 ? Wait::kTimedOut : Wait::kFailed;
    }
  }
  // Each step fails one pending I/O; a connect tries each address of the host.
  constexpr int kMaxAbortSteps = 64;
  for (int i = 0; status != 0 && i < kMaxAbortSteps; ++i) status = resume(MYSQL_WAIT_TIMEOUT);
  return outcome;
}

// libmariadb ends socket errors with a bare errno, "Can't connect to server on
// '10.0.0.5' (111)"; this spells it out: "(111: connection refused)".
std::string SpellOutErrno(std::string message) {
  const size_t open = message.rfind('(');
  if (open == std::string::npos || !message.ends_with(')')) return message;
  const char* first = message.data() + open + 1;
  const char* last = message.data() + message.size() - 1;
  int code = 0;
  auto [end, ec] = std::from_chars(first, last, code);
  if (ec != std::errc() || end != last || code <= 0) return message;
  message.insert(message.size() - 1, ": " + ErrnoMessage(code));
  return message;
}

// "connect: <error>", naming authentication failures as such.
std::string ConnectError(MYSQL* mysql) {
  const unsigned int code = Mysql().mysql_errno(mysql);
  if (code == ER_ACCESS_DENIED_ERROR || code == ER_ACCESS_DENIED_NO_PASSWORD_ERROR) {
    return std::string("connect: authentication failed: ") + Mysql().mysql_error(mysql);
  }
  if (code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR) {
    return "connect: " + SpellOutErrno(Mysql().mysql_error(mysql));
  }
  return std::string("connect: ") + Mysql().mysql_error(mysql);
}

// "" when the first column of the first row of `result` is `expect`, else why not.
std::string CompareFirstValue(MYSQL_RES* result, const std::string& expect) {
  MYSQL_ROW row = result != nullptr && Mysql().mysql_num_fields(result) > 0
                      ? Mysql().mysql_fetch_row(result)
                      : nullptr;
  if (row == nullptr) return "query returned no rows, expected " + QuoteForMessage(expect);
  if (row[0] == nullptr) return "query returned NULL, expected " + QuoteForMessage(expect);
  const std::string_view value(row[0], Mysql().mysql_fetch_lengths(result)[0]);
  if (value == expect) return "";
  return "query returned " + QuoteForMessage(value) + ", expected " + QuoteForMessage(expect);
}

class MysqlCheck final : public Check {
 public:
  MysqlCheck(Target target, std::string query, std::optional<std::string> expect)
      : target_(std::move(target)), query_(std::move(query)), expect_(std::move(expect)) {}

  CheckOutcome Run(SteadyClock::time_point run_deadline) override {
    const auto start = SteadyClock::now();
    const RunDeadline deadline(run_deadline);
    CheckOutcome outcome;
    outcome.status = CheckStatus::kCritical;
    MysqlPtr mysql = NewHandle();
    if (!mysql) {
      outcome.message = "connect: cannot set up the client library";
      return outcome;
    }
    MYSQL* const m = mysql.get();

    MYSQL* connected_handle = nullptr;
    const int connect_status = Mysql().mysql_real_connect_start(
        &connected_handle, m, target_.host.empty() ? nullptr : target_.host.c_str(),
        target_.user.c_str(), target_.password.c_str(),
        target_.database.empty() ? nullptr : target_.database.c_str(), target_.port,
        target_.socket.empty() ? nullptr : target_.socket.c_str(), 0);
    const Wait connect = Drive(
        m, connect_status,
        [&](int events) { return Mysql().mysql_real_connect_cont(&connected_handle, m, events); },
        deadline.deadline());
    if (connect != Wait::kDone) {
      outcome.message = connect == Wait::kTimedOut ? TimedOutDuring(deadline, "connect")
                                                   : "connect: cannot wait for the socket";
      return outcome;
    }
    if (connected_handle == nullptr) {
      outcome.message = ConnectError(m);
      return outcome;
    }
    const auto connected = SteadyClock::now();
    outcome.samples.Add(kConnectDurationDesc, {}, Seconds(connected - start));

    int query_error = 0;
    MYSQL_RES* stored = nullptr;
    Wait query = Drive(
        m, Mysql().mysql_real_query_start(&query_error, m, query_.data(), query_.size()),
        [&](int events) { return Mysql().mysql_real_query_cont(&query_error, m, events); },
        deadline.deadline());
    if (query == Wait::kDone && query_error == 0) {
      query = Drive(
          m, Mysql().mysql_store_result_start(&stored, m),
          [&](int events) { return Mysql().mysql_store_result_cont(&stored, m, events); },
          deadline.deadline());
    }
    MysqlResultPtr result(stored);
    if (query != Wait::kDone) {
      outcome.message = query == Wait::kTimedOut ? TimedOutDuring(deadline, "query")
                                                 : "query: cannot wait for the socket";
      return outcome;
    }
    if (query_error != 0 || (result == nullptr && Mysql().mysql_field_count(m) != 0)) {
      outcome.message = std::string("query: ") + Mysql().mysql_error(m);
      return outcome;
    }
    outcome.samples.Add(kQueryDurationDesc, {}, Seconds(SteadyClock::now() - connected));
    if (expect_) {
      outcome.message = CompareFirstValue(result.get(), *expect_);
      if (!outcome.message.empty()) return outcome;
    }
    outcome.status = CheckStatus::kOk;
    return outcome;
  }

 private:
  // A handle set up for non-blocking use, or null.
  MysqlPtr NewHandle() const {
    MysqlPtr mysql(Mysql().mysql_init(nullptr));
    if (!mysql) return nullptr;
    // Without an explicit protocol, "localhost" would mean the default socket.
    const unsigned int protocol =
        target_.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
    // A server must not be able to ask for local files (LOAD DATA LOCAL).
    const unsigned int local_infile = 0;
    if (Mysql().mysql_optionsv(mysql.get(), MYSQL_OPT_NONBLOCK, 0) != 0 ||
        Mysql().mysql_optionsv(mysql.get(), MYSQL_OPT_PROTOCOL, &protocol) != 0 ||
        Mysql().mysql_optionsv(mysql.get(), MYSQL_OPT_LOCAL_INFILE, &local_infile) != 0) {
      return nullptr;
    }
    return mysql;
  }

  const Target target_;
  const std::string query_;
  const std::optional<std::string> expect_;
};

}  // namespace

Result<std::unique_ptr<Check>> CreateMysqlCheck(const CheckSpec& spec, ConfigMap& fields) {
  if (auto loaded = LoadLibmariadb(); !loaded.ok()) {
    return fields.Error("kind", "mysql checks: " + loaded.status().message());
  }
  ASSIGN_OR_RETURN(std::optional<std::string> dsn, ReadSecret(fields, "dsn", Presence::kRequired));
  const std::string dsn_key = fields.Has("dsn_file") ? "dsn_file" : "dsn_env";
  Result<Target> target = ParseUrl(*dsn);
  if (!target.ok()) return fields.Error(dsn_key, target.status().message());

  std::string query = "SELECT 1";
  RETURN_IF_ERROR(fields.ReadString("query", &query));
  if (query.empty()) return fields.Error("query", "must not be empty");
  std::string expect;
  RETURN_IF_ERROR(fields.ReadString("expect", &expect));
  std::optional<std::string> expected;
  if (fields.Has("expect")) expected = std::move(expect);

  return std::unique_ptr<Check>(std::make_unique<MysqlCheck>(
      std::move(target).value(), std::move(query), std::move(expected)));
}

}  // namespace vitals::agent
