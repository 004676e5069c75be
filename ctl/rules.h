#pragma once

#include <cstdio>
#include <string>
#include <vector>

// vitalsctl rules ...: Prometheus rule files.
namespace vitals::ctl {

// Which lint checks `rules check` applies, as promtool's --lint.
enum class RulesLint { kNone, kDuplicateRules };

struct RulesCheckOptions {
  RulesLint lint = RulesLint::kDuplicateRules;  // promtool's default.
  // Lint findings alone exit 3 instead of 0 (promtool's --lint-fatal).
  bool lint_fatal = false;
};

// `vitalsctl rules check FILE...`, with `promtool check rules`' output and
// exit status: per file "Checking FILE" and "  SUCCESS: N rules found" on
// `out`, or "  FAILED:" and every problem on `err`, then a blank line on
// `out`. Returns 0 when every file is valid (lint findings are reported but
// do not fail), 1 when any is not or a path does not exist (then nothing is
// checked), 3 for lint findings alone under lint_fatal.
int RulesCheck(const std::vector<std::string>& files, const RulesCheckOptions& options,
               std::FILE* out = stdout, std::FILE* err = stderr);

// Runs rule unit-test files in promtool's format and prints promtool's
// report ("Unit Testing:  FILE", "  SUCCESS" / "  FAILED:"). Returns 0 if
// every test passed, 1 otherwise (promtool test rules' exit status).
int RulesTest(const std::vector<std::string>& files, std::FILE* out = stdout);

}  // namespace vitals::ctl
