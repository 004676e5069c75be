#pragma once

// Prometheus's "expanding series notation": the text that describes a series
// and its samples in PromQL engine test scripts (`load 5m` blocks, expected
// results of `eval`) and in promtool rule unit tests (`input_series`, where
// promtool joins `series` and `values` with a space). As Prometheus 2.42's
// parser.ParseSeriesDesc reads it:
//
//   metric{a="b"} 1+2x3 _ stale 5 -1-1x2 1x4 Inf -Inf NaN _x3
//
// A metric name, label set or both, then values separated by spaces, one per
// step:
//   N          one value; a Go number (`1`, `-2.5`, `1e3`, `010` is octal 8,
//              `Inf`, `-inf`, `NaN`; no hexadecimal, since `0x10` reads as
//              `0` repeated ten more times)
//   NxK        N repeated K+1 times (`1x4` is five 1s)
//   N+DxK      N, N+D, ..., N+K*D: K+1 values (`1+2x3` is 1 3 5 7), likewise
//   N-DxK      with D subtracted; each value adds D to the previous one
//   _          no sample at this step
//   _xK        no sample for K steps (K, not K+1)
//   stale      a staleness marker (vitals::StaleMarker())

#include <optional>
#include <string_view>
#include <vector>

#include "common/labels.h"
#include "common/status.h"

namespace vitals::promql {

struct SeriesDescription {
  // Canonical (sorted, no empty values), including __name__ when the
  // description names a metric. May be empty for `{}`.
  Labels labels;
  // One entry per step, the first at step 0; nullopt where there is no sample.
  std::vector<std::optional<double>> values;
};

// The most values one description may expand to; beyond it ParseSeriesDescription
// fails instead of allocating without bound (`1x999999999999`).
inline constexpr size_t kMaxSeriesDescriptionValues = 10'000'000;

// Parses one series description (see above).
//
// InvalidArgument on malformed input, positioned like Prometheus's parse
// errors ("1:14: parse error: unexpected ..."; column in bytes, 1-based): an
// unclosed or malformed label set, an unknown word where a value belongs,
// a repetition that is not a non-negative integer, a label name given twice,
// or more than kMaxSeriesDescriptionValues values.
//
// Thread-safe: no shared state.
Result<SeriesDescription> ParseSeriesDescription(std::string_view input);

}  // namespace vitals::promql
