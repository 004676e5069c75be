// Rule files as Prometheus 2.42's rulefmt reads them. Expected messages are
// promtool 2.42's (`promtool check rules`), with the positions Vitals adds
// where Prometheus has none.

#include "rules/rule_file.h"

#include <gtest/gtest.h>

namespace vitals::rules {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// The message of a file that must not load.
std::string Error(const std::string& yaml) {
  auto file = ParseRuleFile("r.yml", yaml);
  if (file.ok()) return "loaded";
  EXPECT_EQ(file.status().code(), Status::Code::kInvalidArgument);
  return file.status().message();
}

RuleFile Load(const std::string& yaml) {
  auto file = ParseRuleFile("r.yml", yaml);
  EXPECT_TRUE(file.ok()) << file.status().message();
  return file.ok() ? std::move(file).value() : RuleFile{};
}

const char kAlert[] = R"(groups:
  - name: node
    interval: 30s
    limit: 10
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          team: infra
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 10m
        labels:
          severity: page
          owner: "{{ $labels.team }}"
        annotations:
          summary: "{{ $labels.instance }} is down"
)";

TEST(RuleFileTest, LoadsGroupsAndRulesAsWritten) {
  RuleFile file = Load(kAlert);
  EXPECT_EQ(file.path, "r.yml");
  ASSERT_EQ(file.groups.size(), 1u);
  const RuleGroupDesc& g = file.groups[0];
  EXPECT_EQ(g.name, "node");
  EXPECT_EQ(g.file, "r.yml");
  EXPECT_EQ(g.interval, seconds(30));
  EXPECT_EQ(g.limit, 10u);
  EXPECT_EQ(g.trigger, EvalTrigger::kInterval);
  EXPECT_EQ(g.line, 2);
  ASSERT_EQ(g.rules.size(), 2u);
  EXPECT_EQ(g.rules[0].record, "job:up:sum");
  EXPECT_FALSE(g.rules[0].is_alert());
  EXPECT_EQ(g.rules[0].line, 6);
  const RuleDesc& alert = g.rules[1];
  EXPECT_TRUE(alert.is_alert());
  EXPECT_EQ(alert.name(), "InstanceDown");
  EXPECT_EQ(alert.expr, "up == 0");
  ASSERT_NE(alert.parsed, nullptr);
  EXPECT_EQ(alert.for_duration, minutes(5));
  EXPECT_EQ(alert.keep_firing_for, minutes(10));
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(alert.labels, (Pairs{{"severity", "page"}, {"owner", "{{ $labels.team }}"}}));
  EXPECT_EQ(alert.annotations, (Pairs{{"summary", "{{ $labels.instance }} is down"}}));
  EXPECT_EQ(alert.line, 10);
  EXPECT_EQ(file.RuleCount(), 2u);
}

TEST(RuleFileTest, EmptyFileHasNoGroups) {
  EXPECT_TRUE(Load("").groups.empty());
  EXPECT_TRUE(Load("groups:\n").groups.empty());
}

TEST(RuleFileTest, OnlyTheFirstYamlDocumentCounts) {
  EXPECT_EQ(Load("groups: []\n---\ngroups: [{name: a}]\n").groups.size(), 0u);
}

TEST(RuleFileTest, NullListItemsAreSkipped) {
  RuleFile file =
      Load("groups:\n  - ~\n  - name: g\n    rules:\n      - ~\n      - {record: a, expr: up}\n");
  ASSERT_EQ(file.groups.size(), 1u);
  EXPECT_EQ(file.groups[0].rules.size(), 1u);
}

TEST(RuleFileTest, MergeKeysAreExpanded) {
  RuleFile file = Load(
      "groups:\n  - name: g\n    rules:\n      - &r {record: a, expr: up}\n"
      "      - <<: *r\n        record: b\n");
  ASSERT_EQ(file.groups[0].rules.size(), 2u);
  EXPECT_EQ(file.groups[0].rules[1].record, "b");
  EXPECT_EQ(file.groups[0].rules[1].expr, "up");
}

TEST(RuleFileTest, NegativeLimitMeansNoLimit) {
  EXPECT_EQ(Load("groups:\n  - name: g\n    limit: -1\n").groups[0].limit, 0u);
}

TEST(RuleFileTest, ExpressionResultTypeIsNotChecked) {
  // Prometheus fails such a recording rule at evaluation, not at load.
  Load("groups:\n  - name: g\n    rules:\n      - {record: r, expr: 'up[5m]'}\n");
}

TEST(RuleFileTest, UnknownFieldsAreListedTogether) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    labels: {a: b}\n    rules:\n"
                  "      - alert: A\n        expr: up\n        severity: page\n"),
            "r.yml: yaml: unmarshal errors:\n"
            "  line 3: field labels not found in type rulefmt.RuleGroup\n"
            "  line 7: field severity not found in type rulefmt.RuleNode");
}

TEST(RuleFileTest, UnknownTopLevelFieldIsAnError) {
  EXPECT_EQ(Error("rule_files: [a.yml]\n"),
            "r.yml: yaml: unmarshal errors:\n"
            "  line 1: field rule_files not found in type rulefmt.RuleGroups");
}

TEST(RuleFileTest, WrongTypesNameTheValueAndTheTarget) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    limit: true\n    interval: [1]\n    rules: 5\n"
                  "  - 7\n  - name: h\n    limit: 99999999999999999999\n"),
            "r.yml: yaml: unmarshal errors:\n"
            "  line 3: cannot unmarshal !!bool `true` into int\n"
            "  line 4: cannot unmarshal !!seq into string\n"
            "  line 5: cannot unmarshal !!int `5` into []rulefmt.RuleNode\n"
            "  line 6: cannot unmarshal !!int `7` into rulefmt.RuleGroup\n"
            "  line 8: cannot unmarshal !!float `9999999...` into int");
}

TEST(RuleFileTest, ScalarsAreReadAsStrings) {
  RuleFile file = Load(
      "groups:\n  - name: 5\n    rules:\n      - {alert: 1, expr: 1, labels: {a: 1, b: true, c: "
      "}}\n");
  EXPECT_EQ(file.groups[0].name, "5");
  EXPECT_EQ(file.groups[0].rules[0].alert, "1");
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(file.groups[0].rules[0].labels, (Pairs{{"a", "1"}, {"b", "true"}, {"c", ""}}));
}

TEST(RuleFileTest, WrongTopLevelShapeIsReportedByBothDecodes) {
  EXPECT_EQ(Error("groups: 5\n"),
            "r.yml: yaml: unmarshal errors:\n"
            "  line 1: cannot unmarshal !!int `5` into []rulefmt.RuleGroup\n"
            "r.yml: yaml: unmarshal errors:\n"
            "  line 1: cannot unmarshal !!int `5` into []yaml.Node");
}

TEST(RuleFileTest, DuplicateKeyIsAnError) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    name: h\n"),
            "r.yml: yaml: unmarshal errors:\n"
            "  line 3: mapping key \"name\" already defined at line 2");
}

TEST(RuleFileTest, BadDurationEndsDecodingWithItsPosition) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    limit: abc\n    rules:\n"
                  "      - {alert: A, expr: up, for: 1.5m}\n"),
            "r.yml: 5:35: not a valid duration string: \"1.5m\"");
  EXPECT_EQ(Error("groups:\n  - name: g\n    interval: \"\"\n"),
            "r.yml: 3:15: empty duration string");
}

TEST(RuleFileTest, YamlSyntaxErrorNamesTheLine) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - alert: A\n       expr: up\n"),
            "r.yml: yaml: line 5: end of sequence not found");
}

TEST(RuleFileTest, GroupNamesMustBePresentAndUnique) {
  EXPECT_EQ(Error("groups:\n  - name: g\n  - name: g\n  - name: \"\"\n"),
            "r.yml: 3:5: groupname: \"g\" is repeated in the same file\n"
            "r.yml: 4:5: Groupname must not be empty");
}

TEST(RuleFileTest, RuleNeedsRecordOrAlertAtAnAbsentPosition) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - expr: up\n"),
            "r.yml: 0:0: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set");
}

TEST(RuleFileTest, RuleMustNotHaveBothRecordAndAlert) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - record: r\n        alert: A\n"
                  "        expr: up\n"),
            "r.yml: 4:17: 5:16: group \"g\", rule 1, \"A\": only one of 'record' and 'alert' "
            "must be set");
}

TEST(RuleFileTest, RuleNeedsExpr) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - alert: A\n"),
            "r.yml: 0:0: group \"g\", rule 1, \"A\": field 'expr' must be set in rule");
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: [up]\n"),
            "r.yml: 5:15: group \"g\", rule 1, \"A\": field 'expr' must be set in rule");
}

TEST(RuleFileTest, PromqlErrorIsPositionedAtTheExpr) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - record: x\n        expr: |\n"
                  "          sum(\n            rate(x[5m]\n          )\n"),
            "r.yml: 5:15: group \"g\", rule 1, \"x\": could not parse expression: 4:1: parse "
            "error: unclosed left parenthesis");
}

TEST(RuleFileTest, RecordingRuleNameMustBeAMetricName) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - record: 0\n        expr: up\n"),
            "r.yml: 4:17: group \"g\", rule 1, \"0\": invalid recording rule name: 0");
}

TEST(RuleFileTest, RecordingRuleRejectsAlertingFields) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: up\n"
                  "        for: 1m\n        keep_firing_for: 10m\n        annotations: {x: y}\n"),
            "r.yml: 4:17: group \"g\", rule 1, \"a:b\": invalid field 'annotations' in recording "
            "rule\n"
            "r.yml: 4:17: group \"g\", rule 1, \"a:b\": invalid field 'for' in recording rule\n"
            "r.yml: 4:17: group \"g\", rule 1, \"a:b\": invalid field 'keep_firing_for' in "
            "recording rule");
}

TEST(RuleFileTest, ZeroDurationsAndEmptyAnnotationsAreFineOnRecordingRules) {
  Load(
      "groups:\n  - name: g\n    rules:\n      - {record: r, expr: up, for: 0s, annotations: "
      "{}}\n");
}

TEST(RuleFileTest, LabelAndAnnotationNamesMustBeValid) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                  "        labels:\n          bad-label: x\n          __name__: y\n"
                  "        annotations:\n          bad-ann: z\n"),
            "r.yml: 7:11: group \"g\", rule 1, \"A\": invalid label name: bad-label\n"
            "r.yml: 8:11: group \"g\", rule 1, \"A\": invalid label name: __name__\n"
            "r.yml: 10:11: group \"g\", rule 1, \"A\": invalid annotation name: bad-ann");
}

TEST(RuleFileTest, AlertTemplatesMustParse) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                  "        labels:\n          x: \"{{ $labels.foo \"\n"),
            "r.yml: 7:11: group \"g\", rule 1, \"A\": label \"x\": template: __alert_A:1: "
            "unclosed action");
}

TEST(RuleFileTest, AlertTemplateErrorsAreGoTemplateErrors) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                  "        annotations:\n          s: \"{{ nosuchfunc }}\"\n"),
            "r.yml: 7:11: group \"g\", rule 1, \"A\": annotation \"s\": template: __alert_A:1: "
            "function \"nosuchfunc\" not defined");
}

TEST(RuleFileTest, RecordingRuleLabelsAreNotTemplates) {
  Load("groups:\n  - name: g\n    rules:\n      - {record: r, expr: up, labels: {x: '{{'}}\n");
}

TEST(RuleFileTest, ListsEveryProblemInPrometheusOrder) {
  EXPECT_EQ(Error("groups:\n  - name: g\n    rules:\n      - expr: up\n      - alert: B\n"
                  "        expr: sum(\n  - name: g\n"),
            "r.yml: 0:0: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set\n"
            "r.yml: 6:15: group \"g\", rule 2, \"B\": could not parse expression: 1:5: parse "
            "error: unclosed left parenthesis\n"
            "r.yml: 7:5: groupname: \"g\" is repeated in the same file");
}

TEST(RuleFileTest, OnIngestCommentAboveTheGroup) {
  RuleFile file = Load("groups:\n  # vitals: eval=on_ingest\n  - name: fast\n  - name: slow\n");
  EXPECT_EQ(file.groups[0].trigger, EvalTrigger::kOnIngest);
  EXPECT_EQ(file.groups[1].trigger, EvalTrigger::kInterval);
}

TEST(RuleFileTest, OnIngestCommentAfterTheGroupName) {
  RuleFile file = Load("groups:\n  - interval: 1m\n    name: fast   # vitals: eval=on_ingest\n");
  EXPECT_EQ(file.groups[0].trigger, EvalTrigger::kOnIngest);
}

TEST(RuleFileTest, OtherCommentsDoNotSetTheTrigger) {
  RuleFile file = Load("groups:\n  # evaluated on ingest would be nice\n  - name: g # vitals\n");
  EXPECT_EQ(file.groups[0].trigger, EvalTrigger::kInterval);
}

TEST(RuleFileTest, VitalsDirectiveMistakesAreErrors) {
  EXPECT_EQ(Error("groups:\n  # vitals: evaluate=on_ingest\n  - name: g\n"),
            "r.yml: 2:3: group \"g\": vitals directive: unknown setting \"evaluate\"");
  EXPECT_EQ(Error("groups:\n  - name: g  # vitals: eval=often\n"),
            "r.yml: 2:14: group \"g\": vitals directive: eval must be on_ingest or interval, not "
            "\"often\"");
  EXPECT_EQ(Error("groups:\n  - name: g  # vitals: on_ingest\n"),
            "r.yml: 2:14: group \"g\": vitals directive: expected key=value, got \" on_ingest\"");
}

TEST(RuleFileTest, MissingFileIsNotFound) {
  auto file = LoadRuleFile("/nonexistent/r.yml");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(file.status().message(),
            "/nonexistent/r.yml: open /nonexistent/r.yml: No such file or directory");
}

TEST(DuplicateRulesTest, SameNameAndLabelsInAnyOrderAndGroup) {
  RuleFile file = Load(R"(groups:
  - name: g
    rules:
      - {record: r, expr: up, labels: {a: "1", b: "2"}}
      - {record: r, expr: down, labels: {b: "2", a: "1"}}
      - {record: r, expr: x, labels: {b: "2", a: "1"}}
      - {alert: r, expr: x}
  - name: h
    rules:
      - {alert: r, expr: y}
      - {alert: q, expr: x}
      - {alert: q, expr: x, labels: {z: ""}}
)");
  auto duplicates = FindDuplicateRules(file);
  ASSERT_EQ(duplicates.size(), 2u);
  EXPECT_EQ(FormatDuplicateRules(duplicates),
            "lint error 2 duplicate rule(s) found.\n"
            "Metric: r\nLabel(s):\n"
            "Metric: r\nLabel(s):\n\ta: 1\n\tb: 2\n"
            "Might cause inconsistency while recording expressions");
}

TEST(DuplicateRulesTest, DistinctRulesHaveNone) {
  EXPECT_TRUE(FindDuplicateRules(Load(kAlert)).empty());
}

}  // namespace
}  // namespace vitals::rules
