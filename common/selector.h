#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/labels.h"
#include "common/status.h"

namespace re2 {
class RE2;
}

namespace vitals {

// One label matcher of a series selector: name, operator, value. Regular
// expressions use RE2 syntax (Go's, as Prometheus) and are fully anchored.
// Immutable after Create; safe to share between threads.
class Matcher {
 public:
  // InvalidArgument if `type` is a regex match and `value` does not compile.
  static Result<Matcher> Create(MatchType type, std::string name, std::string value);

  // True if `value` (the label's value, "" when absent) satisfies the matcher.
  bool Matches(std::string_view value) const;

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  // name="value" with the operator spelled as in PromQL.
  std::string ToString() const;

 private:
  Matcher(MatchType type, std::string name, std::string value, std::shared_ptr<const re2::RE2> re)
      : type_(type), name_(std::move(name)), value_(std::move(value)), re_(std::move(re)) {}

  MatchType type_;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;  // Set for regex matchers only.
};

// True if every matcher accepts `labels`.
bool MatchesAll(const std::vector<Matcher>& matchers, const Labels& labels);

// Parses a PromQL series selector as used by match[] parameters:
//   metric_name, metric_name{label="v", ...}, {label=~"re", ...}
// with operators =, !=, =~, !~ and double-, single- or back-quoted strings.
// As in Prometheus, at least one matcher must not match the empty string.
// InvalidArgument says where parsing stopped.
Result<std::vector<Matcher>> ParseSeriesSelector(std::string_view text);

}  // namespace vitals
