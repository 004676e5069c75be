#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vitals {

inline constexpr std::string_view kMetricNameLabel = "__name__";

struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
  friend auto operator<=>(const Label&, const Label&) = default;
};

// A label set. Canonical form: sorted by name, names unique, no empty values
// (Prometheus treats an empty value as an absent label).
using Labels = std::vector<Label>;

// A label by reference, for hot paths that must not copy strings: the views
// point into strings someone else owns (a decoded wire batch, a Labels).
struct LabelRef {
  std::string_view name;
  std::string_view value;
};

// The owning copy of a label set held by reference.
Labels ToLabels(std::span<const LabelRef> labels);

// Sorts by name and drops labels with empty values. Does not deduplicate.
void Canonicalize(Labels* labels);

// The value of `name`, or "" if absent.
std::string_view GetLabel(const Labels& labels, std::string_view name);

// Sets `name` to `value`, keeping the set sorted; replaces an existing value.
void SetLabel(Labels* labels, std::string_view name, std::string_view value);

// Checks a canonical label set the way Prometheus does on ingest: a valid
// metric name in __name__, label names matching [a-zA-Z_][a-zA-Z0-9_]*, no
// duplicate names, values valid UTF-8. InvalidArgument names the culprit.
Status ValidateSeriesLabels(const Labels& labels);

// Canonicalizes labels that arrived in any order (remote write, imported
// files), then applies ValidateSeriesLabels: the check every ingest path
// makes before storage sees a series.
Status CanonicalizeAndValidate(Labels* labels);

bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);
bool IsValidUtf8(std::string_view text);

// Prometheus's text-format rendering: name{a="1",b="2"} with escaped values.
std::string FormatSeries(const Labels& labels);

// Escapes \, " and newline for a label value in the text format.
std::string EscapeLabelValue(std::string_view value);

// How a matcher compares a label value.
enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

}  // namespace vitals
