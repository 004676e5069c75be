#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/labels.h"
#include "common/status.h"
#include "rules/promql/engine.h"

namespace vitals::rules {

namespace template_internal {
struct Node;
}  // namespace template_internal

// Runs a PromQL instant query for the `query` template function, at the time
// the template is expanded. The rule manager plugs in its engine and store.
// Errors are shown to the template's user as "error calling query: <message>".
using TemplateQueryFunc = std::function<Result<promql::Vector>(std::string_view query)>;

// What a template can see, as Prometheus's AlertTemplateData plus the
// expander's environment.
struct TemplateData {
  // The alert's labels: `.Labels` and `$labels`.
  Labels labels;
  // The alert's value: `.Value` and `$value` (a Go float64).
  double value = 0;
  // The server's external labels: `.ExternalLabels` and `$externalLabels`.
  Labels external_labels;
  // The server's external URL ("http://host:9090/prefix"): `.ExternalURL`,
  // `$externalURL` and the `externalURL` and `pathPrefix` functions.
  std::string external_url;
  // Backs the `query` function; when empty, `query` fails with "no query
  // engine". Called on the executing thread.
  TemplateQueryFunc query;
  // Evaluation time, Unix milliseconds. Informational: `query` is expected
  // to run at this time, which the callback captures itself.
  int64_t time_ms = 0;
};

// A parsed template in Go's text/template language with Prometheus's function
// set, as Prometheus 2.42 expands alert labels and annotations (template
// package, text mode, option missingkey=zero).
//
// Supported: text, comments and trim markers; if/else if/else, range (slices
// and maps, with `$i, $v :=`, else, break and continue), with/else;
// variables (`:=` and `=`); fields, map keys and method calls on toTime's
// result; pipelines and parenthesised pipelines; every literal kind except
// complex numbers; the built-ins and, or, not, len, index, slice, print,
// printf, println, html, js, urlquery, eq, ne, lt, le, gt, ge; and the
// Prometheus functions (see template.cc). Not supported: define, template,
// block, the `call` built-in and Prometheus's `args` and `tmpl`, which
// only make sense with define; these are parse errors.
//
// Messages follow Go's: parse errors read
// `template: <name>:<line>: <what>` and execution errors
// `template: <name>:<line>:<col>: executing "<name>" at <<node>>: <what>`.
//
// Thread-safe: a Template is immutable once parsed; any number of threads may
// Execute it at once. Copies share the parsed tree.
class Template {
 public:
  // Parses `text`. On failure returns InvalidArgument whose message is Go's
  // parse error, e.g. `template: t:1: function "foo" not defined` or
  // `template: t:1: unclosed action`.
  static Result<Template> Parse(std::string_view name, std::string_view text);

  // Parses an alert label or annotation template as Prometheus does: named
  // "__alert_<alert_name>", with kAlertTemplatePrefix prepended so that
  // $labels, $value, $externalLabels and $externalURL are defined (error
  // columns on line 1 count the prefix, as Prometheus's do). Errors as Parse.
  static Result<Template> ParseAlert(std::string_view alert_name, std::string_view text);

  // Expands the template over `data`. Returns FailedPrecondition with Go's
  // execution error (type errors, failed function calls, failed queries) as
  // the message.
  Result<std::string> Execute(const TemplateData& data) const;

  const std::string& name() const { return name_; }

 private:
  Template(std::string name, std::shared_ptr<const template_internal::Node> root, std::string text)
      : name_(std::move(name)), root_(std::move(root)), text_(std::move(text)) {}

  std::string name_;
  std::shared_ptr<const template_internal::Node> root_;
  std::string text_;  // For error positions.
};

// What Prometheus prepends to every alert template.
inline constexpr std::string_view kAlertTemplatePrefix =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}";

// Parses and executes an alert template as Prometheus's alerting rule does.
// On failure returns Prometheus's in-band error text instead:
//   <error expanding template: error parsing template __alert_<name>: ...>
//   <error expanding template: error executing template __alert_<name>: ...>
std::string ExpandAlertTemplate(std::string_view alert_name, std::string_view text,
                                const TemplateData& data);

// Validates an alert template at rule-file load time, as Prometheus's
// rulefmt does: OK, or the parse error of ParseAlert.
Status CheckAlertTemplate(std::string_view alert_name, std::string_view text);

}  // namespace vitals::rules
