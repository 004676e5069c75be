#include "agent/checks/exec_check.h"

#include <charconv>
#include <set>

#include "agent/checks/tcp_check.h"
#include "common/subprocess.h"

namespace vitals::agent {
namespace {

using Steady = std::chrono::steady_clock;

const MetricDesc kPerfData{"vitals_check_perfdata", MetricType::kGauge,
                           "Performance data reported by an exec check's plugin, in base units "
                           "(see the uom label)."};

constexpr size_t kMaxOutputBytes = 64 * 1024;  // Per stream; the rest is read and dropped.

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view FirstLine(std::string_view text) { return Trim(text.substr(0, text.find('\n'))); }

struct BaseUnit {
  double divisor;  // value / divisor is in base units; dividing keeps 40us exactly 40e-6.
  double multiplier;
  std::string name;
};

// How a Nagios UOM converts to base units.
BaseUnit ToBaseUnit(std::string_view uom) {
  if (uom.empty()) return {1, 1, ""};
  if (uom == "s") return {1, 1, "seconds"};
  if (uom == "ms") return {1e3, 1, "seconds"};
  if (uom == "us") return {1e6, 1, "seconds"};
  if (uom == "%") return {100, 1, "ratio"};
  if (uom == "B") return {1, 1, "bytes"};
  if (uom == "KB") return {1, 1024.0, "bytes"};
  if (uom == "MB") return {1, 1024.0 * 1024, "bytes"};
  if (uom == "GB") return {1, 1024.0 * 1024 * 1024, "bytes"};
  if (uom == "TB") return {1, 1024.0 * 1024 * 1024 * 1024, "bytes"};
  if (uom == "c") return {1, 1, "counter"};
  return {1, 1, std::string(uom)};
}

// Reads a label at the start of `*text`, quoted or not, and the "=" after it.
std::optional<std::string> ReadLabel(std::string_view* text) {
  std::string label;
  std::string_view s = *text;
  if (s.starts_with('\'')) {
    size_t i = 1;
    while (true) {
      if (i >= s.size()) return std::nullopt;
      if (s[i] == '\'') {
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          label += '\'';
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      label += s[i++];
    }
    s.remove_prefix(i);
    if (!s.starts_with('=')) return std::nullopt;
    s.remove_prefix(1);
  } else {
    size_t eq = s.find('=');
    size_t space = s.find_first_of(" \t\n");
    if (eq == std::string_view::npos || (space != std::string_view::npos && space < eq)) {
      *text = space == std::string_view::npos ? std::string_view() : s.substr(space);
      return std::nullopt;
    }
    label = std::string(s.substr(0, eq));
    s.remove_prefix(eq + 1);
  }
  *text = s;
  if (label.empty()) return std::nullopt;
  return label;
}

class ExecCheck final : public Check {
 public:
  explicit ExecCheck(Subprocess process) : process_(std::move(process)) {}

  CheckOutcome Run(Steady::time_point deadline_point) override {
    RunDeadline deadline(deadline_point);
    CheckOutcome outcome;
    Result<SubprocessResult> result = process_.Run(deadline_point);
    if (!result.ok()) {
      outcome.status = CheckStatus::kUnknown;
      outcome.message = "run " + process_.path() + ": " + result.status().message();
      return outcome;
    }
    if (result->timed_out) {
      outcome.status = CheckStatus::kCritical;
      outcome.message =
          process_.path() + ": " + deadline.TimedOutMessage() + "; killed its process group";
      return outcome;
    }
    Interpret(*result, &outcome);
    return outcome;
  }

 private:
  void Interpret(const SubprocessResult& result, CheckOutcome* outcome) const {
    const std::string& path = process_.path();
    PluginOutput output = SplitPluginOutput(result.out);
    std::string message = output.message;
    if (message.empty()) message = std::string(FirstLine(result.err));
    if (result.signal != 0) {
      outcome->status = CheckStatus::kUnknown;
      std::string reason = path + " killed by signal " + std::to_string(result.signal);
      outcome->message = message.empty() ? reason : reason + ": " + message;
    } else {
      const int code = result.exit_code;
      outcome->status =
          code >= 0 && code <= 3 ? static_cast<CheckStatus>(code) : CheckStatus::kUnknown;
      if (code > 3) {
        std::string reason = path + " exited with status " + std::to_string(code);
        outcome->message = message.empty() ? reason : reason + ": " + message;
      } else {
        outcome->message =
            message.empty() && code != 0 ? "exit status " + std::to_string(code) : message;
      }
    }
    for (const PerfDatum& datum : ParsePerfData(output.perfdata)) {
      outcome->samples.Add(kPerfData, {{"label", datum.label}, {"uom", datum.uom}}, datum.value);
    }
  }

  const Subprocess process_;  // The program, resolved and with its environment, at start-up.
};

}  // namespace

std::vector<PerfDatum> ParsePerfData(std::string_view text) {
  std::vector<PerfDatum> out;
  std::set<std::string, std::less<>> seen;
  while (true) {
    size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    std::optional<std::string> label = ReadLabel(&text);
    size_t end = text.find_first_of(" \t\r\n");
    std::string_view item = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end);
    if (!label) continue;
    std::string_view value_text = item.substr(0, item.find(';'));
    double value = 0;
    auto [ptr, ec] =
        std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);
    if (ec != std::errc()) continue;  // Includes "U" (undetermined).
    BaseUnit unit = ToBaseUnit(value_text.substr(static_cast<size_t>(ptr - value_text.data())));
    if (!seen.insert(*label).second) continue;
    out.push_back(
        PerfDatum{std::move(*label), value / unit.divisor * unit.multiplier, std::move(unit.name)});
  }
  return out;
}

PluginOutput SplitPluginOutput(std::string_view output) {
  PluginOutput result;
  std::string_view first = output.substr(0, output.find('\n'));
  std::string_view rest =
      first.size() < output.size() ? output.substr(first.size() + 1) : std::string_view();
  size_t bar = first.find('|');
  result.message = std::string(Trim(first.substr(0, bar)));
  if (bar != std::string_view::npos) result.perfdata = std::string(first.substr(bar + 1));
  // Long text lines follow; the first "|" in them starts more performance
  // data, which runs to the end of the output.
  size_t long_bar = rest.find('|');
  if (long_bar != std::string_view::npos) {
    result.perfdata += " ";
    result.perfdata += rest.substr(long_bar + 1);
  }
  return result;
}

Result<std::unique_ptr<Check>> NewExecCheck(ExecCheckOptions options) {
  SubprocessOptions process;
  process.argv = std::move(options.command);
  process.env = std::move(options.env);
  process.max_output_bytes = kMaxOutputBytes;
  ASSIGN_OR_RETURN(Subprocess subprocess, Subprocess::Create(std::move(process)));
  return std::unique_ptr<Check>(std::make_unique<ExecCheck>(std::move(subprocess)));
}

Result<std::unique_ptr<Check>> CreateExecCheck(const CheckSpec& spec, ConfigMap& fields) {
  ExecCheckOptions options;
  RETURN_IF_ERROR(fields.ReadStringList("command", &options.command, Presence::kRequired));
  if (options.command.empty() || options.command[0].empty()) {
    return fields.Error("command", "must name a program: [program, arg, ...]");
  }
  RETURN_IF_ERROR(fields.ReadStringMap("env", &options.env));
  for (const auto& [name, value] : options.env) {
    if (name.empty() || name.find('=') != std::string::npos) {
      return fields.Error("env", "\"" + name + "\" is not a valid environment variable name");
    }
  }
  auto check = NewExecCheck(std::move(options));
  if (!check.ok()) return fields.Error("command", "cannot execute: " + check.status().message());
  return check;
}

}  // namespace vitals::agent
