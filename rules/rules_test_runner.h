#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "rules/alerting_rule.h"

namespace vitals::rules {

// Runs rule unit-test files in promtool's format (`promtool test rules`):
//
//   rule_files: [rules.yml]         # relative to the test file
//   evaluation_interval: 1m
//   tests:
//     - interval: 1m
//       external_labels: {...}
//       input_series:
//         - series: 'up{job="x"}'
//           values: '0+0x10 _ stale'  # expanding notation
//       alert_rule_test:
//         - eval_time: 10m
//           alertname: InstanceDown
//           exp_alerts: [{exp_labels: {...}, exp_annotations: {...}}]
//       promql_expr_test:
//         - expr: up == 0
//           eval_time: 4m
//           exp_samples: [{labels: 'up{job="x"}', value: 0}]
//
// Each test loads its series into a fresh store, evaluates every group every
// evaluation_interval from time 0 to the last eval_time, compares the firing
// alerts (labels and annotations) at each alert eval_time and the results of
// each expression, as promtool 2.42 does. Writes promtool's report
// ("Unit Testing:  FILE", "  SUCCESS" or "  FAILED:" and the differences)
// to `out`. Returns true if every test of every file passed.
bool RunRuleTestFiles(const std::vector<std::string>& files, std::ostream& out);

}  // namespace vitals::rules
