#pragma once

// Internal to the engine: the evaluator that engine.cc, binary.cc,
// aggregate.cc and eval_functions.cc share. Not part of the public API.

#include <chrono>
#include <functional>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/promql/ast.h"
#include "rules/promql/engine.h"

namespace vitals::promql::internal {

// Thrown inside the evaluator to unwind to the query entry point, where it
// becomes the query's Status (as Prometheus's engine panics and recovers).
// Never escapes Engine.
struct EvalError {
  Status status;
};

[[noreturn]] void Fail(Status status);
[[noreturn]] void FailExecution(std::string message);

// A byte string identifying a label set, for hashing: name\xff value\xff...
std::string LabelsKey(const Labels& labels);
// The key of only the labels named in `names` (on) or of all but those and
// __name__ (ignoring/without), as Prometheus's signature functions.
std::string SignatureKey(const Labels& labels, bool on, const std::vector<std::string>& names);

Labels DropMetricName(const Labels& labels);
// "{a=\"b\", c=\"d\"}" as Prometheus's labels.String().
std::string LabelsString(const Labels& labels);

// Points in all series of `m`.
uint64_t TotalPoints(const Matrix& m);

// True if two elements of `vector` (two series of `matrix`) share a label set.
bool ContainsSameLabelset(const Vector& vector);
bool ContainsSameLabelset(const Matrix& matrix);
inline constexpr std::string_view kSameLabelsetError =
    "vector cannot contain metrics with the same labelset";

// Neumaier-compensated summation step, as Prometheus's kahanSumInc.
void KahanSumInc(double inc, double* sum, double* c);

// Prometheus's quantile over unsorted values (sorted in place, NaN first).
double Quantile(double q, std::vector<double>* values);

// The evaluation of one query. Every node evaluates over the whole range
// [start, end] in steps of `interval` to a Matrix (one point per step where
// the node has a value), as Prometheus's evaluator does; an instant query is
// a range of one step.
class Evaluator {
 public:
  struct Limits {
    uint64_t max_samples;
    std::chrono::milliseconds lookback;
    std::chrono::milliseconds default_subquery_step;
    std::chrono::system_clock::time_point deadline;
    const std::atomic<bool>* cancel;
    const Clock* clock;
  };

  Evaluator(const storage::Store& store, const Limits& limits, int64_t start, int64_t end,
            int64_t interval, int64_t query_start, int64_t query_end);

  // Evaluates `expr` to a Matrix (or String for string expressions).
  Value Eval(const Expr& expr);
  Matrix EvalMatrix(const Expr& expr);

  int64_t start() const { return start_; }
  int64_t end() const { return end_; }
  int64_t interval() const { return interval_; }
  size_t steps() const { return static_cast<size_t>((end_ - start_) / interval_) + 1; }

  // Sample accounting against max_samples.
  void Charge(uint64_t samples);
  void Release(uint64_t samples);
  // Fails with DeadlineExceeded or Cancelled when the query must stop.
  void CheckInterrupt() const;

  // Evaluates `args` to matrices and calls `fn` once per step with the
  // instant vectors of each argument at that step (scalars as one-element
  // vectors, strings as empty vectors), collecting the results into series.
  // Fails if a step's result has two elements with the same label set.
  // The argument vectors are the function's to consume (move from).
  using StepFunction = std::function<Vector(std::span<Vector> args, int64_t ts)>;
  Matrix RangeEval(const std::vector<const Expr*>& args, const StepFunction& fn);

  // Per-node evaluations, in binary.cc and aggregate.cc.
  Matrix EvalBinary(const BinaryExpr& e);
  Matrix VectorScalarSeriesWise(const Expr& vector, const Expr& scalar, BinaryOp op,
                                bool scalar_on_left, bool return_bool);
  Matrix EvalAggregate(const AggregateExpr& e);
  Matrix AggregateSeriesWise(const Expr* arg, AggregateOp op,
                             const std::vector<std::string>& grouping, bool without);
  Matrix EvalCall(const Call& e);

 private:
  struct SelectedSeries {
    Labels labels;
    std::vector<Point> points;  // Oldest first.
  };
  // The reference time of a selector or subquery at evaluation time `ts`.
  int64_t RefTime(AtModifier at, int64_t at_ms, std::chrono::milliseconds offset,
                  int64_t ts) const;
  std::vector<SelectedSeries> Select(const VectorSelector& vs, int64_t mint, int64_t maxt,
                                     bool drop_stale);
  // With `sample_timestamps` the value of each point is the time of the
  // sample it came from, in seconds (for timestamp()).
  Matrix EvalVectorSelector(const VectorSelector& vs, bool sample_timestamps);
  Matrix EvalMatrixSelector(const MatrixSelector& ms);
  Matrix EvalSubquery(const SubqueryExpr& sq);
  Matrix EvalUnary(const UnaryExpr& e);
  Matrix EvalRangeFunction(const Call& e, size_t matrix_arg);

  const storage::Store& store_;
  const Limits limits_;
  const int64_t start_;
  const int64_t end_;
  const int64_t interval_;
  const int64_t query_start_;  // For @ start() and @ end().
  const int64_t query_end_;
  uint64_t current_samples_ = 0;
};

// A function over an instant vector and scalar arguments at one step: the
// engine calls it through RangeEval. `args` holds one vector per argument
// (a scalar as a one-element vector); `call` gives access to string literals.
using InstantFunction = Vector (*)(std::span<const Vector> args, const Call& call, int64_t ts);
// A function over the points of one series in the window [mint, maxt]
// (stale markers removed) at step `ts`, with scalar arguments by position
// (the matrix argument's slot unused). Returns false when it yields no value.
struct RangeWindow {
  std::span<const Point> points;
  int64_t mint;
  int64_t maxt;
  int64_t ts;
  std::span<const double> scalars;
};
using RangeFunction = bool (*)(const RangeWindow& window, double* out);

// nullptr if `name` has no implementation of that kind.
InstantFunction FindInstantFunction(std::string_view name);
RangeFunction FindRangeFunction(std::string_view name);

// The labels absent() and absent_over_time() give their result: the
// equality matchers of a selector argument, except __name__ and names
// matched more than once or otherwise.
Labels AbsentLabels(const Expr& arg);

}  // namespace vitals::promql::internal
