#pragma once

#include <string_view>
#include <vector>

#include "common/selector.h"
#include "common/status.h"
#include "rules/promql/ast.h"

namespace vitals::promql {

// Parses and type-checks a PromQL expression the way Prometheus 2.42 does
// (native histograms aside). On success the tree is well typed: every call has
// a known function with the right arguments, every matrix selector wraps a
// vector selector, and so on.
//
// InvalidArgument on any error, with Prometheus's message, positioned by line
// and column (1-based, column in bytes), e.g.
//   "1:5: parse error: unexpected <op:+>"
// When several errors exist, the first one Prometheus would report.
// Thread-safe: no shared state.
Result<ExprPtr> ParseExpr(std::string_view input);

// Parses a series selector, `metric{label="value", ...}` or `{...}`, as used
// by match[] parameters: the matchers, the metric name last. Errors as
// ParseExpr, including a selector that would match every series (no matcher
// that rejects the empty string) and anything that is not a plain selector.
Result<std::vector<Matcher>> ParseMetricSelector(std::string_view input);

}  // namespace vitals::promql
