#include "agent/checks/postgres_check.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "agent/checks/check_common.h"
#include "agent/checks/secret.h"
#include "agent/checks/shared_library.h"
#include "agent/checks/tcp_check.h"

namespace vitals::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The libpq functions the check uses, loaded with the first postgres check.
// clang-format off
#define VITALS_LIBPQ_FUNCTIONS(F)                                                             \
  F(PQcancel) F(PQclear) F(PQconnectPoll) F(PQconnectStartParams) F(PQconninfoFree)         \
  F(PQconninfoParse) F(PQconsumeInput) F(PQerrorMessage) F(PQfinish) F(PQflush)             \
  F(PQfreeCancel) F(PQfreemem) F(PQgetCancel) F(PQgetResult) F(PQgetisnull) F(PQgetlength)  \
  F(PQgetvalue) F(PQisBusy) F(PQnfields) F(PQntuples) F(PQresultErrorField)                 \
  F(PQresultErrorMessage) F(PQresultStatus) F(PQsendQuery) F(PQsetnonblocking) F(PQsocket)  \
  F(PQstatus)
// clang-format on

VITALS_LIBRARY_API(LibpqApi, VITALS_LIBPQ_FUNCTIONS);

// Loads libpq on the first call; later calls return the same outcome.
Result<const LibpqApi*> LoadLibpq() { return LoadLibraryOnce<LibpqApi>(kLibpqSoname); }

// REQUIRES: LoadLibpq succeeded, which CreatePostgresCheck makes sure of
// before any of the code below runs.
const LibpqApi& Pq() { return **LoadLibpq(); }

struct PgConnDeleter {
  void operator()(PGconn* conn) const { Pq().PQfinish(conn); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
  void operator()(PGresult* result) const { Pq().PQclear(result); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

struct PgCancelDeleter {
  void operator()(PGcancel* cancel) const { Pq().PQfreeCancel(cancel); }
};
using PgCancelPtr = std::unique_ptr<PGcancel, PgCancelDeleter>;

// libpq's messages span lines: one per host tried, plus indented hints ("Is the
// server running on that host ...?"). Keeps the unindented lines joined with
// "; " and squeezes runs of blanks, so the message fits on one line.
std::string OneLine(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line.empty() || line[0] == ' ' || line[0] == '\t') continue;
    if (!out.empty()) out += "; ";
    for (char c : line) {
      if (c == '\t' || c == '\r') c = ' ';
      if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
      out += c;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  return out.empty() ? "unknown error" : out;
}

enum class Wait { kReady, kTimedOut, kFailed };

// Waits until `fd` is ready for `events` (or has an error, which the next
// libpq call reports) or the deadline has passed.
Wait WaitForSocket(int fd, short events, const RunDeadline& deadline) {
  if (fd < 0) return Wait::kFailed;
  while (true) {
    const int millis = deadline.PollMillis();
    if (millis == 0) return Wait::kTimedOut;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, millis);
    if (n > 0) return Wait::kReady;
    if (n < 0 && errno != EINTR) return Wait::kFailed;
  }
}

// Asks the server to stop the query running on `conn`. PQcancel has no timeout
// in libpq 15 (it connects, sends the request and waits for the server to
// close), so it runs on a detached thread: a frozen server cannot hold the
// check past its deadline. At most kMaxCancelsInFlight run at once, so such a
// server cannot pile up threads either; past that the query is left to finish.
constexpr int kMaxCancelsInFlight = 4;
std::atomic<int> cancels_in_flight{0};

void CancelInBackground(PGconn* conn) {
  PgCancelPtr cancel(Pq().PQgetCancel(conn));
  if (!cancel) return;
  if (cancels_in_flight.fetch_add(1) >= kMaxCancelsInFlight) {
    cancels_in_flight.fetch_sub(1);
    return;
  }
  try {
    std::thread([cancel = std::move(cancel)] {
      char error[256];
      Pq().PQcancel(cancel.get(), error, sizeof(error));
      cancels_in_flight.fetch_sub(1);
    }).detach();
  } catch (const std::system_error&) {
    cancels_in_flight.fetch_sub(1);
  }
}

// Connects with PQconnectPoll, waiting on the socket until the deadline.
// Returns the connection, or the failure message.
Result<PgConnPtr> Connect(const std::string& dsn, const RunDeadline& deadline) {
  // Listed before the DSN so that the DSN can override them.
  const char* const keywords[] = {"application_name", "dbname", nullptr};
  const char* const values[] = {"vitals-agent", dsn.c_str(), nullptr};
  PgConnPtr conn(Pq().PQconnectStartParams(keywords, values, /*expand_dbname=*/1));
  if (!conn) return Status::Unavailable("connect: out of memory");
  auto failure = [&conn] {
    return Status::Unavailable("connect: " + OneLine(Pq().PQerrorMessage(conn.get())));
  };
  if (Pq().PQstatus(conn.get()) == CONNECTION_BAD) return failure();
  // As the libpq manual says: start as if PQconnectPoll had asked to write.
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) return failure();
    const short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    switch (WaitForSocket(Pq().PQsocket(conn.get()), events, deadline)) {
      case Wait::kReady:
        break;
      case Wait::kTimedOut:
        return Status::Unavailable(TimedOutDuring(deadline, "connect"));
      case Wait::kFailed:
        return failure();
    }
    state = Pq().PQconnectPoll(conn.get());
  }
  return conn;
}

std::string ResultError(const PGresult* result) {
  const char* primary = Pq().PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  return OneLine(primary != nullptr ? primary : Pq().PQresultErrorMessage(result));
}

// Sends `query` and reads every result, cancelling it when the deadline
// passes. Returns the first result, or the failure message.
Result<PgResultPtr> RunQuery(PGconn* conn, const std::string& query, const RunDeadline& deadline) {
  auto failure = [conn] {
    return Status::Unavailable("query: " + OneLine(Pq().PQerrorMessage(conn)));
  };
  if (Pq().PQsetnonblocking(conn, 1) != 0 || Pq().PQsendQuery(conn, query.c_str()) == 0)
    return failure();
  // A long query may not fit the socket buffer; the server may answer (with
  // an error) before reading all of it, so input is consumed meanwhile.
  while (true) {
    const int flushed = Pq().PQflush(conn);
    if (flushed == 0) break;
    if (flushed < 0) return failure();
    switch (WaitForSocket(Pq().PQsocket(conn), POLLIN | POLLOUT, deadline)) {
      case Wait::kReady:
        break;
      case Wait::kTimedOut:
        return Status::Unavailable(TimedOutDuring(deadline, "query"));
      case Wait::kFailed:
        return failure();
    }
    if (Pq().PQconsumeInput(conn) == 0) return failure();
  }
  PgResultPtr first;
  while (true) {
    while (Pq().PQisBusy(conn)) {
      switch (WaitForSocket(Pq().PQsocket(conn), POLLIN, deadline)) {
        case Wait::kReady:
          break;
        case Wait::kTimedOut:
          CancelInBackground(conn);
          return Status::Unavailable(TimedOutDuring(deadline, "query"));
        case Wait::kFailed:
          return failure();
      }
      if (Pq().PQconsumeInput(conn) == 0) return failure();
    }
    PgResultPtr result(Pq().PQgetResult(conn));
    if (!result) break;
    switch (Pq().PQresultStatus(result.get())) {
      case PGRES_FATAL_ERROR:
        return Status::Unavailable("query: " + ResultError(result.get()));
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        // The connection stays in COPY mode; PQfinish ends it.
        return Status::Unavailable("query: COPY is not supported");
      default:
        break;
    }
    if (!first) first = std::move(result);
  }
  if (!first) return Status::Unavailable("query: no result");
  return first;
}

// "" when the first column of the first row of `result` is `expect`, else why not.
std::string CompareFirstValue(const PGresult* result, const std::string& expect) {
  if (Pq().PQntuples(result) == 0 || Pq().PQnfields(result) == 0) {
    return "query returned no rows, expected " + QuoteForMessage(expect);
  }
  if (Pq().PQgetisnull(result, 0, 0))
    return "query returned NULL, expected " + QuoteForMessage(expect);
  const std::string_view value(Pq().PQgetvalue(result, 0, 0), Pq().PQgetlength(result, 0, 0));
  if (value == expect) return "";
  return "query returned " + QuoteForMessage(value) + ", expected " + QuoteForMessage(expect);
}

class PostgresCheck final : public Check {
 public:
  PostgresCheck(std::string dsn, std::string query, std::optional<std::string> expect)
      : dsn_(std::move(dsn)), query_(std::move(query)), expect_(std::move(expect)) {}

  CheckOutcome Run(SteadyClock::time_point run_deadline) override {
    const auto start = SteadyClock::now();
    const RunDeadline deadline(run_deadline);
    CheckOutcome outcome;
    outcome.status = CheckStatus::kCritical;
    Result<PgConnPtr> conn = Connect(dsn_, deadline);
    if (!conn.ok()) {
      outcome.message = conn.status().message();
      return outcome;
    }
    const auto connected = SteadyClock::now();
    outcome.samples.Add(kConnectDurationDesc, {}, Seconds(connected - start));
    Result<PgResultPtr> result = RunQuery(conn->get(), query_, deadline);
    if (!result.ok()) {
      outcome.message = result.status().message();
      return outcome;
    }
    outcome.samples.Add(kQueryDurationDesc, {}, Seconds(SteadyClock::now() - connected));
    if (expect_) {
      outcome.message = CompareFirstValue(result->get(), *expect_);
      if (!outcome.message.empty()) return outcome;
    }
    outcome.status = CheckStatus::kOk;
    return outcome;
  }

 private:
  const std::string dsn_;
  const std::string query_;
  const std::optional<std::string> expect_;
};

}  // namespace

Result<std::unique_ptr<Check>> CreatePostgresCheck(const CheckSpec& spec, ConfigMap& fields) {
  if (auto loaded = LoadLibpq(); !loaded.ok()) {
    return fields.Error("kind", "postgres checks: " + loaded.status().message());
  }
  ASSIGN_OR_RETURN(std::optional<std::string> dsn, ReadSecret(fields, "dsn", Presence::kRequired));
  const std::string dsn_key = fields.Has("dsn_file") ? "dsn_file" : "dsn_env";
  if (dsn->empty()) return fields.Error(dsn_key, "the connection string is empty");
  // libpq's parse errors quote parts of the string, which may be a password.
  char* parse_error = nullptr;
  PQconninfoOption* options = Pq().PQconninfoParse(dsn->c_str(), &parse_error);
  Pq().PQfreemem(parse_error);
  if (options == nullptr) {
    return fields.Error(dsn_key,
                        "not a valid libpq connection string (keyword=value pairs or a "
                        "postgresql:// URI)");
  }
  Pq().PQconninfoFree(options);

  std::string query = "SELECT 1";
  RETURN_IF_ERROR(fields.ReadString("query", &query));
  if (query.empty()) return fields.Error("query", "must not be empty");
  std::string expect;
  RETURN_IF_ERROR(fields.ReadString("expect", &expect));
  std::optional<std::string> expected;
  if (fields.Has("expect")) expected = std::move(expect);

  return std::unique_ptr<Check>(
      std::make_unique<PostgresCheck>(std::move(*dsn), std::move(query), std::move(expected)));
}

}  // namespace vitals::agent
