#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/labels.h"
#include "common/samples.h"
#include "common/status.h"
#include "rules/alert.h"
#include "rules/promql/engine.h"
#include "rules/rule_file.h"

namespace vitals::rules {

// Expands a label or annotation template of the alert `rule_name` for one
// alert: its series labels and value at evaluation time `ts_ms`. Returns
// the text, or Prometheus's "<error expanding template: ...>" on failure.
using TemplateExpander = std::function<std::string(
    std::string_view rule_name, std::string_view text, const Labels& labels, double value,
    int64_t ts_ms)>;

// Runs a PromQL instant query at `ts_ms` for the template function `query`.
using RuleQueryFunc =
    std::function<Result<promql::Vector>(std::string_view query, int64_t ts_ms)>;

// The expander Prometheus uses for alerts: templates see $labels, $value,
// $externalLabels and $externalURL, and `query` runs through `query`.
TemplateExpander MakeTemplateExpander(Labels external_labels, std::string external_url,
                                      RuleQueryFunc query);

// The state machine of one alerting rule, as Prometheus's rules.AlertingRule:
// inactive -> pending (expression returns the series) -> firing (after
// `for`) -> inactive/resolved (series gone, after keep_firing_for), with
// resolved alerts kept for `resolved_retention` so they are sent as resolved.
// Pure logic: the caller runs the query and writes the returned series.
// Not thread-safe; the rule manager serialises access.
class AlertingRule {
 public:
  // `desc` must outlive the rule.
  explicit AlertingRule(const RuleDesc& desc,
                        std::chrono::milliseconds resolved_retention = std::chrono::minutes(15));

  const RuleDesc& desc() const { return desc_; }

  // Applies the expression's result at `ts_ms`. Returns the ALERTS and
  // ALERTS_FOR_STATE samples of the pending and firing alerts, to be
  // written to storage. FailedPrecondition when two result series collapse
  // into one alert ("vector contains metrics with the same labelset after
  // applying alert labels") or when more than `limit` (0: no limit) alerts
  // are active ("exceeded limit of N with M alerts"); the alerts are then
  // cleared, as Prometheus does.
  Result<std::vector<Sample>> Update(const promql::Vector& result, int64_t ts_ms,
                                     const TemplateExpander& expand, uint64_t limit);

  // The alerts to hand to notifiers at `ts_ms`: firing ones not sent within
  // `resend_delay`, and resolved ones not yet sent since resolving. Marks
  // them sent and sets their valid_until to ts + 4 * max(resend_delay,
  // interval).
  std::vector<Alert> TakeDue(int64_t ts_ms, std::chrono::milliseconds resend_delay,
                             std::chrono::milliseconds interval);

  // Pending, firing and recently resolved alerts, by label set.
  const std::map<Labels, Alert>& alerts() const { return alerts_; }
  // Replaces the alert state, e.g. restored after a restart or carried
  // over a reload.
  void Restore(std::map<Labels, Alert> alerts) { alerts_ = std::move(alerts); }

  // The most severe state among the alerts.
  AlertState State() const;

 private:
  const RuleDesc& desc_;
  const std::chrono::milliseconds resolved_retention_;
  std::map<Labels, Alert> alerts_;
  // When each firing alert was first missing from the result, for
  // keep_firing_for; absent while the alert is returned.
  std::map<Labels, int64_t> keep_firing_since_;
};

// The label set a recording rule gives a result sample: the rule's name as
// __name__ and its labels set. REQUIRES: `desc` is a recording rule.
Labels RecordingLabels(const RuleDesc& desc, const Labels& series);

}  // namespace vitals::rules
