#include "ctl/rules.h"

#include <sys/stat.h>

#include <sstream>

#include "rules/rule_file.h"
#include "rules/rules_test_runner.h"

namespace vitals::ctl {

namespace {

constexpr int kFailure = 1;
constexpr int kLintFailure = 3;

// The problems of one file, as promtool lists them; empty when it is valid.
// `lint_only` tells whether all of them are lint findings.
std::vector<std::string> CheckFile(const std::string& path, const RulesCheckOptions& options,
                                   size_t* rule_count, bool* lint_only) {
  *lint_only = false;
  auto file = rules::LoadRuleFile(path);
  if (!file.ok()) return {file.status().message()};
  *rule_count = file->RuleCount();
  if (options.lint == RulesLint::kDuplicateRules) {
    auto duplicates = rules::FindDuplicateRules(*file);
    if (!duplicates.empty()) {
      *lint_only = true;
      return {rules::FormatDuplicateRules(duplicates)};
    }
  }
  return {};
}

}  // namespace

int RulesCheck(const std::vector<std::string>& files, const RulesCheckOptions& options,
               std::FILE* out, std::FILE* err) {
  // promtool's argument parser refuses a missing path before checking any.
  for (const std::string& path : files) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      std::fprintf(err, "vitalsctl: error: path '%s' does not exist\n", path.c_str());
      return kFailure;
    }
  }
  bool failed = false, has_errors = false;
  for (const std::string& path : files) {
    std::fprintf(out, "Checking %s\n", path.c_str());
    std::fflush(out);
    size_t rule_count = 0;
    bool lint_only = false;
    std::vector<std::string> problems = CheckFile(path, options, &rule_count, &lint_only);
    if (problems.empty()) {
      std::fprintf(out, "  SUCCESS: %zu rules found\n", rule_count);
    } else {
      std::fprintf(err, "  FAILED:\n");
      for (const std::string& p : problems) std::fprintf(err, "%s\n", p.c_str());
      std::fflush(err);
      failed = true;
      has_errors = has_errors || !lint_only;
    }
    std::fprintf(out, "\n");
    std::fflush(out);
  }
  if (failed && has_errors) return kFailure;
  if (failed && options.lint_fatal) return kLintFailure;
  return 0;
}

int RulesTest(const std::vector<std::string>& files, std::FILE* out) {
  std::ostringstream report;
  bool ok = rules::RunRuleTestFiles(files, report);
  std::fputs(report.str().c_str(), out);
  return ok ? 0 : 1;
}

}  // namespace vitals::ctl
