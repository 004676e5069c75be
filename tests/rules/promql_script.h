#pragma once

// Runs PromQL engine test scripts in the format of Prometheus 2.42's
// promql/test.go over the real engine and a real storage::Store:
//
//   load 5m                                   # samples at 0, 5m, 10m, ...
//     http_requests{job="api"} 0+10x10        # expanding series notation
//
//   eval instant at 50m sum(http_requests)    # also eval_ordered, eval_fail
//     {} 100                                  # expected sample (or a scalar)
//
//   clear                                     # start again with no data
//
// Lines are trimmed; a line starting with `#` is blank; a blank line ends a
// command's block. As in test.go, every `eval` is also run as a range query
// from at-1m to at+1m with a 1m step, and the point at `at` must match too
// (not for eval_ordered: range results have no defined order).
//
// One deliberate difference from test.go: a failing eval does not stop the
// script, so a report lists every failing case; a failing load or storage
// error does (later results would mean nothing).

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/labels.h"
#include "common/status.h"
#include "rules/promql/ast.h"
#include "rules/promql/engine.h"

namespace vitals::promql {

// `load <interval>`: the i-th value of each series is a sample at i*interval.
struct LoadCommand {
  int line = 0;  // 1-based, of the `load` line.
  std::chrono::milliseconds interval{0};
  struct SeriesValues {
    Labels labels;
    std::vector<std::optional<double>> values;
  };
  // By label set; a series described twice keeps its last description.
  std::vector<SeriesValues> series;
};

// `clear`: drop all data.
struct ClearCommand {
  int line = 0;
};

// `eval[_fail|_ordered] instant at <duration> <expr>` and its expectation.
struct EvalCommand {
  enum class Mode { kUnordered, kOrdered, kFail };

  int line = 0;
  Mode mode = Mode::kUnordered;
  std::string at;        // As written ("50m").
  int64_t time_ms = 0;   // Evaluation time: `at` after the epoch.
  std::string expr_text;
  ExprPtr expr;  // Parsed when the script is.

  struct ExpectedSample {
    Labels labels;
    double value = 0;
    int position = 0;  // 1-based, among the expectation lines (for eval_ordered).
  };
  // By label set; a label set given twice keeps its last line.
  std::vector<ExpectedSample> samples;
  // Set when the expectation is a bare number (a scalar result).
  std::optional<double> scalar;

  // "eval_ordered instant at 50m topk(3, x)", as the script had it.
  std::string Describe() const;
};

using ScriptCommand = std::variant<LoadCommand, ClearCommand, EvalCommand>;

// What running one eval gave.
struct EvalOutcome {
  enum class Result { kPassed, kFailed, kSkipped };
  int line = 0;
  std::string description;  // EvalCommand::Describe().
  Result result = Result::kPassed;
  // For kFailed: what was expected and what came back, possibly several
  // lines. For kSkipped: why.
  std::string message;
};

// The outcome of a whole run.
struct ScriptReport {
  std::vector<EvalOutcome> evals;
  // Not OK if a load or the store failed; the run stopped there and the evals
  // after it are missing from `evals`.
  Status error;

  int Count(EvalOutcome::Result result) const;
  // "12 passed, 1 failed, 0 skipped" and, if the run stopped, why.
  std::string Summary() const;
  // Each failure as "<file>:<line>: <description>\n<message>", separated by
  // blank lines.
  std::string Failures(std::string_view file_name) const;
};

struct ScriptRunOptions {
  // Where stores are created (one subdirectory per `clear`); must exist.
  // The run removes what it created.
  std::string scratch_dir;
  // The engine settings test.go uses: 10000 max samples, 100s timeout,
  // 1m default subquery step, 5m lookback.
  EngineOptions engine_options = TestEngineOptions();
  // Line numbers of eval commands not to run, with the reason for each.
  std::vector<std::pair<int, std::string>> skip;

  static EngineOptions TestEngineOptions();
};

// A parsed script. Move-only (it owns parsed expressions).
class PromqlScript {
 public:
  // Parses `text` as test.go would. InvalidArgument on any error, as
  // "<name>:<line>: <what>", e.g. an unknown command, a bad duration, a
  // series description or expression that does not parse, or more than one
  // value on an expectation line.
  static Result<PromqlScript> Parse(std::string_view text, std::string name);

  PromqlScript(PromqlScript&&) = default;
  PromqlScript& operator=(PromqlScript&&) = default;

  // Runs the commands in order over a fresh store. REQUIRES: every line in
  // options.skip is an eval command's line (see EvalLines()).
  ScriptReport Run(const ScriptRunOptions& options) const;

  const std::string& name() const { return name_; }
  const std::vector<ScriptCommand>& commands() const { return commands_; }
  // The lines of the eval commands, in order.
  std::set<int> EvalLines() const;

 private:
  PromqlScript(std::string name, std::vector<ScriptCommand> commands)
      : name_(std::move(name)), commands_(std::move(commands)) {}

  std::string name_;
  std::vector<ScriptCommand> commands_;
};

}  // namespace vitals::promql
