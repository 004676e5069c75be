#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/labels.h"
#include "common/status.h"
#include "rules/promql/ast.h"

namespace vitals::rules {

// A rule of a Prometheus rule file: recording (`record`) or alerting (`alert`).
struct RuleDesc {
  // Exactly one of `record` and `alert` is set.
  std::string record;
  std::string alert;
  std::string expr;                              // As written in the file.
  promql::ExprPtr parsed;                        // ParseExpr(expr); never null once loaded.
  std::chrono::milliseconds for_duration{0};     // Alerting only.
  std::chrono::milliseconds keep_firing_for{0};  // Alerting only.
  // Label name -> value as written, in file order (alerting: templates,
  // expanded per alert). An empty value is kept: it removes the label.
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, std::string>> annotations;  // Alerting only.
  int line = 0;  // Line of the rule in its file (1-based), for messages.

  bool is_alert() const { return !alert.empty(); }
  const std::string& name() const { return is_alert() ? alert : record; }
};

// When a group is evaluated besides its interval.
enum class EvalTrigger {
  kInterval,  // Every `interval`, like Prometheus.
  kOnIngest,  // Also as soon as samples arrive for a series its rules read.
};

// A `groups:` entry.
struct RuleGroupDesc {
  std::string name;
  std::string file;  // The file it came from.
  // 0: the global evaluation_interval.
  std::chrono::milliseconds interval{0};
  // Most series or alerts one rule may produce; 0 is no limit (a negative
  // `limit`, which Prometheus accepts and ignores, also gives 0).
  uint64_t limit = 0;
  // Set by a `# vitals: eval=on_ingest` comment on the group (docs/rules.md):
  // a comment, so the file stays one that promtool and Prometheus accept.
  EvalTrigger trigger = EvalTrigger::kInterval;
  std::vector<RuleDesc> rules;
  int line = 0;  // Line of the group's first key (1-based).
};

struct RuleFile {
  std::string path;
  std::vector<RuleGroupDesc> groups;

  // Rules in all groups, what promtool reports as "N rules found".
  size_t RuleCount() const;
};

// Parses and validates a Prometheus rule file exactly as Prometheus 2.42's
// rulefmt (and so `promtool check rules`) does: the YAML shape with unknown
// keys rejected, durations, group names non-empty and unique within the file,
// each rule exactly one of record/alert with an expr that parses as PromQL,
// valid recording rule names, label and annotation names, no `for`,
// `keep_firing_for` or annotations on recording rules, alert templates that
// parse. Like Prometheus it does not type-check what an expression returns.
//
// On failure, InvalidArgument whose message lists every problem promtool
// would list, in its order, one per line (a YAML type-error list spans
// several), each starting with "<path>: ", e.g.
//   rules.yml: 7:15: group "g", rule 1, "x": could not parse expression: 1:7: parse error: ...
// The texts are Prometheus's; where Prometheus gives no position (label,
// annotation and template errors, bad durations), "line:column: " is added.
// Vitals' own `# vitals:` group directives are checked too.
Result<RuleFile> ParseRuleFile(const std::string& path, const std::string& yaml_text);
// As ParseRuleFile, reading `path`. NotFound or IOError when it cannot be
// read ("<path>: open <path>: No such file or directory").
Result<RuleFile> LoadRuleFile(const std::string& path);

// Rules that share a name and label set (after sorting labels), what
// promtool's default lint ("duplicate-rules") reports. Each repeated
// (name, labels) appears once, sorted by name then labels.
struct DuplicateRule {
  std::string name;
  Labels labels;  // Sorted by name; empty values kept, as written.
};
std::vector<DuplicateRule> FindDuplicateRules(const RuleFile& file);

// promtool's lint message for `duplicates` (not empty):
//   "lint error N duplicate rule(s) found.\nMetric: ...\nLabel(s):\n\tname: value\n...
//    Might cause inconsistency while recording expressions"
std::string FormatDuplicateRules(const std::vector<DuplicateRule>& duplicates);

}  // namespace vitals::rules
