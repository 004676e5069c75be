#include "tests/rules/promql_script.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <regex>
#include <utility>

#include "common/samples.h"
#include "common/units.h"
#include "rules/promql/literals.h"
#include "rules/promql/parser.h"
#include "rules/promql/series_notation.h"
#include "storage/store.h"
#include "tests/support/scratch_store.h"

namespace vitals::promql {
namespace {

using std::chrono::milliseconds;

// test.go's patterns (Go's RE2 and ECMAScript agree on these).
const std::regex& LoadPattern() {
  static const std::regex pattern(R"(^load\s+(.+?)$)");
  return pattern;
}
const std::regex& EvalPattern() {
  static const std::regex pattern(R"(^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$)");
  return pattern;
}

// Go's strings.TrimSpace for ASCII text.
std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// test.go's getLines: trimmed, with comment lines blanked.
std::vector<std::string> GetLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find('\n', start);
    std::string_view line = TrimSpace(text.substr(start, end == std::string_view::npos ? end : end - start));
    lines.emplace_back(line.starts_with("#") ? std::string_view() : line);
    if (end == std::string_view::npos) return lines;
    start = end + 1;
  }
}

// The first word of a command line, lower-cased.
std::string CommandWord(const std::string& line) {
  std::string word = line.substr(0, line.find_first_of(" \t"));
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return word;
}

// Turns a "1:<col>: parse error: ..." message, positioned within one line,
// into "<file>:<line>:<col + column_offset>: parse error: ...".
Status AtLine(const std::string& file, int line, const Status& status, int column_offset = 0) {
  const std::string& message = status.message();
  const std::string prefix = file + ":" + std::to_string(line) + ":";
  int column = 0;
  size_t colon = std::string::npos;
  if (message.starts_with("1:")) {
    colon = message.find(':', 2);
    auto [end, ec] = std::from_chars(message.data() + 2, message.data() + message.size(), column);
    if (ec != std::errc() || colon == std::string::npos || end != message.data() + colon) {
      colon = std::string::npos;
    }
  }
  if (colon == std::string::npos) return Status::InvalidArgument(prefix + " " + message);
  return Status::InvalidArgument(prefix + std::to_string(column + column_offset) +
                                 message.substr(colon));
}

Status Raise(const std::string& file, int line, const std::string& message) {
  return Status::InvalidArgument(file + ":" + std::to_string(line) + ": " + message);
}

// test.go's almostEqual: relative error below 1e-6, and NaN equals NaN.
bool AlmostEqual(double a, double b) {
  constexpr double kEpsilon = 0.000001;
  constexpr double kMinNormal = std::numeric_limits<double>::min();
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  const double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || diff < kMinNormal) return diff < kEpsilon * kMinNormal;
  return diff / (std::fabs(a) + std::fabs(b)) < kEpsilon;
}

std::string FormatValue(double v) {
  if (IsStaleMarker(v)) return "stale";
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string FormatLabels(const Labels& labels) {
  std::string text = FormatSeries(labels);
  if (!text.empty() && text.back() == '}') return text;
  return text + "{}";
}

std::string FormatResult(const Value& value) {
  struct Formatter {
    std::string operator()(const Scalar& s) const { return "    scalar " + FormatValue(s.v) + "\n"; }
    std::string operator()(const String& s) const { return "    string " + GoQuote(s.v) + "\n"; }
    std::string operator()(const Vector& vector) const {
      if (vector.empty()) return "    (empty vector)\n";
      std::string out;
      for (const Sample& s : vector) out += "    " + FormatLabels(s.labels) + " " + FormatValue(s.value) + "\n";
      return out;
    }
    std::string operator()(const Matrix& matrix) const {
      if (matrix.empty()) return "    (empty matrix)\n";
      std::string out;
      for (const Series& s : matrix) {
        out += "    " + FormatLabels(s.metric) + " @[";
        for (const Point& p : s.points) {
          out += (&p == &s.points.front() ? "" : " ") + FormatValue(p.v) + "@" + std::to_string(p.t);
        }
        out += "]\n";
      }
      return out;
    }
  };
  return std::visit(Formatter{}, value);
}

std::string FormatExpected(const EvalCommand& cmd) {
  if (cmd.scalar) return "    scalar " + FormatValue(*cmd.scalar) + "\n";
  if (cmd.samples.empty()) return "    (empty vector)\n";
  std::string out;
  for (const auto& s : cmd.samples) out += "    " + FormatLabels(s.labels) + " " + FormatValue(s.value) + "\n";
  return out;
}

// test.go's compareResult: "" if `value` is what `cmd` expects, else why not.
std::string CompareResult(const EvalCommand& cmd, const Value& value) {
  if (std::holds_alternative<Matrix>(value)) return "received range result on instant evaluation";
  if (std::holds_alternative<String>(value)) return "received a string result";
  if (const auto* scalar = std::get_if<Scalar>(&value)) {
    if (!cmd.scalar) return "expected a vector but got scalar " + FormatValue(scalar->v);
    if (!AlmostEqual(*cmd.scalar, scalar->v)) {
      return "expected scalar " + FormatValue(*cmd.scalar) + " but got " + FormatValue(scalar->v);
    }
    return "";
  }
  const Vector& vector = std::get<Vector>(value);
  std::map<Labels, const EvalCommand::ExpectedSample*> expected;
  for (const auto& s : cmd.samples) expected[s.labels] = &s;
  std::set<Labels> seen;
  for (size_t pos = 0; pos < vector.size(); ++pos) {
    const Sample& got = vector[pos];
    auto it = expected.find(got.labels);
    if (it == expected.end()) return "unexpected metric " + FormatLabels(got.labels) + " in result";
    const auto& want = *it->second;
    if (cmd.mode == EvalCommand::Mode::kOrdered && want.position != static_cast<int>(pos) + 1) {
      return "expected metric " + FormatLabels(got.labels) + " at position " +
             std::to_string(want.position) + " but was at " + std::to_string(pos + 1);
    }
    if (!AlmostEqual(want.value, got.value)) {
      return "expected " + FormatValue(want.value) + " for " + FormatLabels(got.labels) +
             " but got " + FormatValue(got.value);
    }
    seen.insert(got.labels);
  }
  if (cmd.scalar) return "expected scalar " + FormatValue(*cmd.scalar) + " but got a vector";
  for (const auto& s : cmd.samples) {
    if (!seen.contains(s.labels)) {
      return "expected metric " + FormatLabels(s.labels) + " with " + FormatValue(s.value) +
             " not found";
    }
  }
  return "";
}

// The points of a range result at `t`, as an instant vector.
Vector PointsAt(const Matrix& matrix, int64_t t) {
  Vector vector;
  for (const Series& series : matrix) {
    for (const Point& p : series.points) {
      if (p.t == t) {
        vector.push_back(Sample{series.metric, p.t, p.v});
        break;
      }
    }
  }
  return vector;
}

// One run's state: the store (reopened empty on `clear`) and the engine.
class Runner {
 public:
  Runner(const PromqlScript& script, const ScriptRunOptions& options)
      : script_(script), options_(options), engine_(options.engine_options) {
    for (const auto& [line, reason] : options.skip) skip_[line] = reason;
  }

  ~Runner() { CloseStore(); }

  ScriptReport Run() {
    ScriptReport report;
    report.error = OpenStore();
    for (size_t i = 0; i < script_.commands().size() && report.error.ok(); ++i) {
      const ScriptCommand& command = script_.commands()[i];
      if (std::holds_alternative<ClearCommand>(command)) {
        CloseStore();
        report.error = OpenStore();
      } else if (const auto* load = std::get_if<LoadCommand>(&command)) {
        report.error = Load(*load);
      } else {
        report.evals.push_back(Eval(std::get<EvalCommand>(command)));
      }
    }
    return report;
  }

 private:
  Status OpenStore() {
    storage::Options options = testing::ScratchStoreOptions(options_.scratch_dir + "/store-" +
                                                            std::to_string(++stores_opened_));
    // Loads may go back in time (a second `load` without `clear`).
    options.out_of_order_window = std::chrono::duration_cast<milliseconds>(std::chrono::hours(24 * 365 * 100));
    auto store = storage::Store::Open(options);
    if (!store.ok()) return store.status().WithContext("opening store " + options.path);
    store_ = std::move(store).value();
    store_path_ = options.path;
    return Status::Ok();
  }

  void CloseStore() {
    store_.reset();
    if (!store_path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(store_path_, ec);
      store_path_.clear();
    }
  }

  Status Load(const LoadCommand& load) {
    std::vector<Sample> samples;
    for (const auto& series : load.series) {
      Status valid = ValidateSeriesLabels(series.labels);
      if (!valid.ok()) return Raise(script_.name(), load.line, "load: " + valid.message());
      for (size_t i = 0; i < series.values.size(); ++i) {
        if (!series.values[i]) continue;
        samples.push_back(Sample{series.labels, static_cast<int64_t>(i) * load.interval.count(),
                                 *series.values[i]});
      }
    }
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample& a, const Sample& b) { return a.timestamp_ms < b.timestamp_ms; });
    auto appended = store_->Append(samples, {});
    if (!appended.ok()) {
      return appended.status().WithContext(script_.name() + ":" + std::to_string(load.line) + ": load");
    }
    if (appended->rejected_total() > 0) {
      return Raise(script_.name(), load.line,
                   "load: the store rejected " + std::to_string(appended->rejected_total()) +
                       " samples, first " + appended->first_rejection);
    }
    return Status::Ok();
  }

  EvalOutcome Eval(const EvalCommand& cmd) {
    EvalOutcome outcome{cmd.line, cmd.Describe(), EvalOutcome::Result::kPassed, ""};
    if (auto it = skip_.find(cmd.line); it != skip_.end()) {
      outcome.result = EvalOutcome::Result::kSkipped;
      outcome.message = it->second;
      return outcome;
    }
    outcome.message = Check(cmd);
    if (!outcome.message.empty()) outcome.result = EvalOutcome::Result::kFailed;
    return outcome;
  }

  // test.go's exec for an eval: "" if it passes, else what went wrong.
  std::string Check(const EvalCommand& cmd) {
    const bool fail = cmd.mode == EvalCommand::Mode::kFail;
    auto instant = engine_.InstantQuery(*store_, *cmd.expr, cmd.time_ms);
    if (!instant.ok()) {
      if (fail) return "";
      return "  error evaluating query: " + instant.status().ToString() + "\n  expected:\n" +
             FormatExpected(cmd);
    }
    if (fail) {
      return "  expected an error but got none\n  got:\n" + FormatResult(instant->value);
    }
    if (std::string why = CompareResult(cmd, instant->value); !why.empty()) {
      return "  " + why + "\n  expected:\n" + FormatExpected(cmd) + "  got:\n" +
             FormatResult(instant->value);
    }

    // Check that a range query gives the same at its middle step.
    auto range = engine_.RangeQuery(*store_, *cmd.expr, cmd.time_ms - 60'000, cmd.time_ms + 60'000,
                                    std::chrono::minutes(1));
    if (!range.ok()) return "  error evaluating query in range mode: " + range.status().ToString();
    if (cmd.mode == EvalCommand::Mode::kOrdered) return "";  // Range results have no order.
    const Matrix* matrix = std::get_if<Matrix>(&range->value);
    if (matrix == nullptr) {
      return "  range mode: the range query did not return a matrix\n  got:\n" +
             FormatResult(range->value);
    }
    Vector at = PointsAt(*matrix, cmd.time_ms);
    Value middle;
    if (std::holds_alternative<Scalar>(instant->value)) {
      if (at.empty()) {
        return "  range mode: no point at " + std::to_string(cmd.time_ms) + "\n  got:\n" +
               FormatResult(range->value);
      }
      middle = Scalar{cmd.time_ms, at[0].value};
    } else {
      middle = std::move(at);
    }
    if (std::string why = CompareResult(cmd, middle); !why.empty()) {
      return "  range mode: " + why + "\n  expected:\n" + FormatExpected(cmd) +
             "  got (at the middle step):\n" + FormatResult(middle);
    }
    return "";
  }

  const PromqlScript& script_;
  const ScriptRunOptions& options_;
  const Engine engine_;
  std::map<int, std::string> skip_;  // Reason by eval line.
  std::unique_ptr<storage::Store> store_;
  std::string store_path_;
  int stores_opened_ = 0;
};

// Parses `load <interval>` at lines[*i] and its series; leaves *i on the
// last line read.
Result<LoadCommand> ParseLoad(const std::string& file, const std::vector<std::string>& lines, size_t* i) {
  const int line = static_cast<int>(*i) + 1;
  std::smatch match;
  if (!std::regex_match(lines[*i], match, LoadPattern())) {
    return Raise(file, line, "invalid load command. (load <step:duration>)");
  }
  auto interval = ParseDuration(match[1].str());
  if (!interval.ok()) {
    return Raise(file, line, "invalid step definition \"" + match[1].str() + "\": " + interval.status().message());
  }
  LoadCommand cmd{line, *interval, {}};
  std::map<Labels, size_t> index;  // Into cmd.series.
  while (*i + 1 < lines.size() && !lines[*i + 1].empty()) {
    ++*i;
    auto desc = ParseSeriesDescription(lines[*i]);
    if (!desc.ok()) return AtLine(file, static_cast<int>(*i) + 1, desc.status());
    auto [it, inserted] = index.emplace(desc->labels, cmd.series.size());
    if (inserted) {
      cmd.series.push_back({std::move(desc->labels), std::move(desc->values)});
    } else {
      cmd.series[it->second].values = std::move(desc->values);
    }
  }
  return cmd;
}

// Parses an eval command at lines[*i] and its expectation; leaves *i on the
// last line read.
Result<EvalCommand> ParseEval(const std::string& file, const std::vector<std::string>& lines, size_t* i) {
  const int line = static_cast<int>(*i) + 1;
  std::smatch match;
  if (!std::regex_match(lines[*i], match, EvalPattern())) {
    return Raise(file, line,
                 "invalid evaluation command. (eval[_fail|_ordered] instant [at <offset:duration>] <query>");
  }
  EvalCommand cmd;
  cmd.line = line;
  cmd.mode = match[1] == "fail"      ? EvalCommand::Mode::kFail
             : match[1] == "ordered" ? EvalCommand::Mode::kOrdered
                                     : EvalCommand::Mode::kUnordered;
  cmd.at = match[2].str();
  cmd.expr_text = match[3].str();
  auto expr = ParseExpr(cmd.expr_text);
  if (!expr.ok()) {
    return AtLine(file, line, expr.status(), static_cast<int>(match.position(3)));
  }
  cmd.expr = std::move(expr).value();
  auto at = ParseDuration(cmd.at);
  if (!at.ok()) return Raise(file, line, "invalid step definition \"" + cmd.at + "\": " + at.status().message());
  cmd.time_ms = at->count();

  for (int position = 1; *i + 1 < lines.size() && !lines[*i + 1].empty(); ++position) {
    ++*i;
    const std::string& text = lines[*i];
    const int expect_line = static_cast<int>(*i) + 1;
    std::string number_error;
    if (auto number = ParseNumber(text, &number_error)) {
      cmd.scalar = *number;
      break;
    }
    auto desc = ParseSeriesDescription(text);
    if (!desc.ok()) return AtLine(file, expect_line, desc.status());
    if (desc->values.size() > 1) {
      return Raise(file, expect_line, "expecting multiple values in instant evaluation not allowed");
    }
    if (desc->values.empty()) return Raise(file, expect_line, "expected sample has no value");
    EvalCommand::ExpectedSample sample{std::move(desc->labels), desc->values[0].value_or(0), position};
    auto same = std::find_if(cmd.samples.begin(), cmd.samples.end(),
                             [&](const auto& s) { return s.labels == sample.labels; });
    if (same != cmd.samples.end()) {
      *same = std::move(sample);
    } else {
      cmd.samples.push_back(std::move(sample));
    }
  }
  return cmd;
}

}  // namespace

std::string EvalCommand::Describe() const {
  const char* command = mode == Mode::kFail      ? "eval_fail"
                        : mode == Mode::kOrdered ? "eval_ordered"
                                                 : "eval";
  return std::string(command) + " instant at " + at + " " + expr_text;
}

int ScriptReport::Count(EvalOutcome::Result result) const {
  return static_cast<int>(std::count_if(evals.begin(), evals.end(),
                                        [&](const EvalOutcome& e) { return e.result == result; }));
}

std::string ScriptReport::Summary() const {
  std::string summary = std::to_string(Count(EvalOutcome::Result::kPassed)) + " passed, " +
                        std::to_string(Count(EvalOutcome::Result::kFailed)) + " failed, " +
                        std::to_string(Count(EvalOutcome::Result::kSkipped)) + " skipped";
  if (!error.ok()) summary += "; stopped: " + error.ToString();
  return summary;
}

std::string ScriptReport::Failures(std::string_view file_name) const {
  std::string out;
  for (const EvalOutcome& e : evals) {
    if (e.result != EvalOutcome::Result::kFailed) continue;
    if (!out.empty()) out += "\n";
    out += std::string(file_name) + ":" + std::to_string(e.line) + ": " + e.description + "\n" + e.message;
    if (!out.ends_with("\n")) out += "\n";
  }
  return out;
}

EngineOptions ScriptRunOptions::TestEngineOptions() {
  EngineOptions options;
  options.max_samples = 10000;
  options.timeout = std::chrono::seconds(100);
  options.default_subquery_step = std::chrono::minutes(1);
  options.lookback_delta = std::chrono::minutes(5);
  return options;
}

Result<PromqlScript> PromqlScript::Parse(std::string_view text, std::string name) {
  const std::vector<std::string> lines = GetLines(text);
  std::vector<ScriptCommand> commands;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const std::string word = CommandWord(lines[i]);
    if (word == "clear") {
      commands.emplace_back(std::in_place_type<ClearCommand>, static_cast<int>(i) + 1);
    } else if (word == "load") {
      ASSIGN_OR_RETURN(LoadCommand load, ParseLoad(name, lines, &i));
      commands.emplace_back(std::in_place_type<LoadCommand>, std::move(load));
    } else if (word.starts_with("eval")) {
      ASSIGN_OR_RETURN(EvalCommand eval, ParseEval(name, lines, &i));
      commands.emplace_back(std::in_place_type<EvalCommand>, std::move(eval));
    } else {
      return Raise(name, static_cast<int>(i) + 1, "invalid command " + GoQuote(lines[i]));
    }
  }
  return PromqlScript(std::move(name), std::move(commands));
}

ScriptReport PromqlScript::Run(const ScriptRunOptions& options) const {
  return Runner(*this, options).Run();
}

std::set<int> PromqlScript::EvalLines() const {
  std::set<int> lines;
  for (const ScriptCommand& command : commands_) {
    if (const auto* eval = std::get_if<EvalCommand>(&command)) lines.insert(eval->line);
  }
  return lines;
}

}  // namespace vitals::promql
