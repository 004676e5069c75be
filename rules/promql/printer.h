#pragma once

#include <string>

#include "rules/promql/ast.h"

namespace vitals::promql {

// The expression as PromQL in Prometheus's canonical style (its String()
// methods): `sum by (job) (rate(x[5m]))`, `a + on (b) group_left (c) d`,
// matchers sorted, durations like 1h30m. Parsing the result gives back an
// equivalent tree, and printing that gives the same text again.
std::string Print(const Expr& expr);

// A number as Go's fmt.Sprint prints a float64: "1", "0.5", "1e+06", "+Inf", "NaN".
std::string FormatNumber(double value);

}  // namespace vitals::promql
