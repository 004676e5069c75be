#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

// What a `kind: exec` check does: run a program that follows the Nagios
// plugin conventions.
struct ExecCheckOptions {
  // argv, run without a shell. command[0] is a path, or a name looked up in
  // PATH (env's PATH if it sets one, else the agent's) when it has no slash.
  std::vector<std::string> command;
  // Added to, or replacing entries of, the agent's own environment.
  std::map<std::string, std::string> env;
};

// Returns a check that runs the program in its own process group with stdin
// from /dev/null, reads its stdout (and stderr, used as the message only when
// stdout is empty), and maps its exit status the Nagios way: 0 OK, 1 WARNING,
// 2 CRITICAL, anything else (or death by a signal) UNKNOWN. The message is the
// first line of output before "|"; the performance data become samples
// vitals_check_perfdata{label, uom} (see ParsePerfData). At the deadline the
// whole process group is killed with SIGKILL and the run is CRITICAL
// "timed out after ...".
//
// InvalidArgument when the program does not exist or is not executable (the
// lookup happens once, here), or the environment is malformed.
Result<std::unique_ptr<Check>> NewExecCheck(ExecCheckOptions options);

// Reads `command` (required, a non-empty list) and `env` (a mapping).
// InvalidArgument naming file, line and key, e.g. for a missing program.
Result<std::unique_ptr<Check>> CreateExecCheck(const CheckSpec& spec, ConfigMap& fields);

// One performance-data item, converted to base units.
struct PerfDatum {
  std::string label;
  double value = 0;
  // "seconds" (from s, ms, us), "ratio" (from %, divided by 100), "bytes"
  // (from B, KB, MB, GB, TB in powers of 1024), "counter" (from c), "" (no
  // unit), or an unrecognised unit as given (value unchanged).
  std::string uom;
  friend bool operator==(const PerfDatum&, const PerfDatum&) = default;
};

// Parses performance data as the Nagios plugin guidelines define it:
// space-separated 'label'=value[UOM];[warn];[crit];[min];[max], labels
// optionally in single quotes ('' is a quote inside them). Thresholds are
// ignored. Items that do not parse, and values of "U", are skipped; a label
// seen twice keeps its first value.
std::vector<PerfDatum> ParsePerfData(std::string_view text);

// A plugin's output split per the guidelines: the first line's text before
// "|" is the message; performance data follow "|" on the first line and on
// the first long-text line that has one, and every line after that.
struct PluginOutput {
  std::string message;  // Trimmed.
  std::string perfdata;
};
PluginOutput SplitPluginOutput(std::string_view output);

}  // namespace vitals::agent
