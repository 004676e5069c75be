#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/labels.h"
#include "common/samples.h"
#include "common/status.h"
#include "rules/promql/ast.h"
#include "storage/store.h"

namespace vitals::promql {

// Values a query produces, as Prometheus's promql package has them.
struct Point {
  int64_t t = 0;  // Milliseconds since the epoch.
  double v = 0;
  friend bool operator==(const Point&, const Point&) = default;
};

// One series of a range result: its labels and points, oldest first.
struct Series {
  Labels metric;
  std::vector<Point> points;
};

// An instant vector: one sample per series, all at the evaluation time
// (vitals::Sample: labels, timestamp_ms, value).
using Vector = std::vector<Sample>;
// A range vector or the result of a range query.
using Matrix = std::vector<Series>;
struct Scalar {
  int64_t t = 0;
  double v = 0;
};
struct String {
  int64_t t = 0;
  std::string v;
};
using Value = std::variant<Scalar, String, Vector, Matrix>;

// What a query returned. Instant queries give any of the four kinds (a matrix
// for a range selector or subquery); range queries always give a Matrix,
// sorted by labels.
struct QueryResult {
  Value value;
  std::vector<std::string> warnings;
};

// How a failed query is classified in the HTTP API, from its Status code:
//   InvalidArgument                         -> bad_data  (400)
//   DeadlineExceeded                        -> timeout   (503)
//   Cancelled                               -> canceled  (499)
//   IOError, Corruption, Internal           -> internal  (500)
//   anything else (e.g. ResourceExhausted,
//   FailedPrecondition for evaluation errors) -> execution (422)
std::string_view ErrorTypeOf(const Status& status);

struct EngineOptions {
  // How far back an instant selector looks for a sample (Prometheus's
  // --query.lookback-delta).
  std::chrono::milliseconds lookback_delta{std::chrono::minutes(5)};
  // Most samples a query may hold in memory at once (--query.max-samples).
  // Beyond it the query fails with ResourceExhausted and Prometheus's text
  // "query processing would load too many samples into memory in query
  // execution".
  uint64_t max_samples = 50'000'000;
  // Longest a query may run (--query.timeout); DeadlineExceeded after it.
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  // The step of a subquery written without one, `x[1h:]` (Prometheus uses
  // the global evaluation_interval).
  std::chrono::milliseconds default_subquery_step{std::chrono::minutes(1)};
};

// Per-query settings.
struct QueryOptions {
  // Overrides EngineOptions::timeout when shorter; zero means the default.
  std::chrono::milliseconds timeout{0};
  // When set and it becomes true, the query stops with Cancelled
  // ("query was canceled in query execution"). Not owned.
  const std::atomic<bool>* cancel = nullptr;
};

// Evaluates PromQL over a storage::Store with Prometheus 2.42's semantics:
// lookback and staleness, rate extrapolation, vector matching, aggregation,
// subqueries and the @ modifier.
//
// Thread-safe: an Engine holds only options; any number of queries may run
// at once.
class Engine {
 public:
  // `clock` measures query timeouts; it must outlive the engine.
  explicit Engine(EngineOptions options = {}, const Clock& clock = Clock::Real());

  // Evaluates `expr` at `time_ms`. REQUIRES: `expr` came from ParseExpr.
  // Errors: FailedPrecondition for evaluation errors ("vector cannot
  // contain metrics with the same labelset", many-to-many matching, ...),
  // ResourceExhausted beyond max_samples, DeadlineExceeded, Cancelled, or
  // a storage error.
  Result<QueryResult> InstantQuery(const storage::Store& store, const Expr& expr,
                                   int64_t time_ms, const QueryOptions& options = {}) const;

  // Evaluates `expr` at start_ms, start_ms + step, ... up to end_ms.
  // InvalidArgument if `expr` is not a scalar or instant vector, end is
  // before start, or step is not positive; otherwise errors as InstantQuery.
  Result<QueryResult> RangeQuery(const storage::Store& store, const Expr& expr, int64_t start_ms,
                                 int64_t end_ms, std::chrono::milliseconds step,
                                 const QueryOptions& options = {}) const;

  const EngineOptions& options() const { return options_; }

 private:
  const EngineOptions options_;
  const Clock& clock_;
};

}  // namespace vitals::promql
