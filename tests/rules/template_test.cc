// Alert templates behave as in Prometheus 2.42. Expected outputs marked
// "Prometheus:" are taken from Prometheus's template/template_test.go; the
// rest follow Go's text/template documentation and source.

#include "rules/template.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace vitals::rules {
namespace {

Sample MakeSample(Labels labels, double value) {
  Sample s;
  s.labels = std::move(labels);
  s.value = value;
  return s;
}

TemplateData Data() {
  TemplateData data;
  data.labels = {{"instance", "host1:9100"}, {"job", "node"}};
  data.value = 0.5;
  data.external_labels = {{"region", "eu"}};
  data.external_url = "http://testhost:9090/path/prefix";
  return data;
}

// A query function that answers every query with `result`.
TemplateQueryFunc Answer(promql::Vector result) {
  return [result](std::string_view) -> Result<promql::Vector> { return result; };
}

// The output of `text` named "test", or "ERROR: <message>".
std::string Expand(std::string_view text, const TemplateData& data = Data()) {
  Result<Template> tmpl = Template::Parse("test", text);
  if (!tmpl.ok()) return "ERROR: " + tmpl.status().message();
  Result<std::string> out = tmpl->Execute(data);
  if (!out.ok()) return "ERROR: " + out.status().message();
  return *out;
}

std::string ExpandWithQuery(std::string_view text, promql::Vector result) {
  TemplateData data = Data();
  data.query = Answer(std::move(result));
  return Expand(text, data);
}

// --- Text and actions.

TEST(TemplateTest, PlainTextIsCopied) { EXPECT_EQ(Expand("plain text"), "plain text"); }

TEST(TemplateTest, PrintsConstants) {
  EXPECT_EQ(Expand("{{ 1 }}"), "1");  // Prometheus.
  EXPECT_EQ(Expand("{{ 1.5 }} {{ true }} {{ \"<b>\" }}"), "1.5 true <b>");
  EXPECT_EQ(Expand("{{ 0x1F }} {{ 1e3 }} {{ 'a' }}"), "31 1000 97");
}

TEST(TemplateTest, DecodesGoStringEscapesAndRawStrings) {
  EXPECT_EQ(Expand(R"({{ "a\tb\n\"c\"\u00e9\x41" }})"), "a\tb\n\"c\"\xc3\xa9" "A");
  EXPECT_EQ(Expand("{{ `a\\nb` }}"), "a\\nb");
}

TEST(TemplateTest, TrimMarkersRemoveAdjacentWhitespace) {
  EXPECT_EQ(Expand("a  \n {{- 1 -}} \n  b"), "a1b");
  EXPECT_EQ(Expand("a {{- 1 }} b"), "a1 b");
  EXPECT_EQ(Expand("a {{ 1 -}} b"), "a 1b");
  // Without the space, "-1" is a number.
  EXPECT_EQ(Expand("a {{-1}} b"), "a -1 b");
}

TEST(TemplateTest, CommentsPrintNothing) {
  EXPECT_EQ(Expand("a{{/* a comment */}}b"), "ab");
  EXPECT_EQ(Expand("a \n{{- /* trimmed */ -}}\n b"), "ab");
}

TEST(TemplateTest, ActionsMaySpanLines) {
  EXPECT_EQ(Expand("{{ printf \"%s-%s\"\n  \"a\"\n  \"b\" }}"), "a-b");
}

// --- Data.

TEST(TemplateTest, AlertDataThroughDot) {
  EXPECT_EQ(Expand("{{ .Labels.instance }} {{ .Labels.job }} {{ .Value }}"), "host1:9100 node 0.5");
  EXPECT_EQ(Expand("{{ .ExternalLabels.region }} {{ .ExternalURL }}"),
            "eu http://testhost:9090/path/prefix");
}

TEST(TemplateTest, AlertVariablesFromThePrefix) {
  Result<Template> tmpl = Template::ParseAlert(
      "HighLoad", "{{ $labels.instance }} {{ $value }} {{ $externalLabels.region }} {{ $externalURL }}");
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().message();
  EXPECT_EQ(tmpl->name(), "__alert_HighLoad");
  EXPECT_EQ(*tmpl->Execute(Data()), "host1:9100 0.5 eu http://testhost:9090/path/prefix");
}

TEST(TemplateTest, MissingLabelIsEmpty) {
  EXPECT_EQ(Expand("[{{ .Labels.nope }}]"), "[]");  // missingkey=zero.
  EXPECT_EQ(Expand("[{{ index .Labels \"nope\" }}]"), "[]");
}

TEST(TemplateTest, ValuePrintsAsGoFloat) {
  TemplateData data = Data();
  for (const auto& [value, want] : std::vector<std::pair<double, std::string>>{
           {1234567, "1.234567e+06"}, {123456, "123456"}, {0.0001, "0.0001"}, {0.00001, "1e-05"},
           {std::numeric_limits<double>::infinity(), "+Inf"}, {std::nan(""), "NaN"}, {-2, "-2"}}) {
    data.value = value;
    EXPECT_EQ(Expand("{{ $.Value }}", data), want) << value;
  }
}

TEST(TemplateTest, PrintsMapsSorted) {
  EXPECT_EQ(Expand("{{ .Labels }}"), "map[instance:host1:9100 job:node]");
}

TEST(TemplateTest, UnknownFieldIsAnExecutionError) {
  EXPECT_EQ(Expand("{{ .Foo }}"),
            "ERROR: template: test:1:3: executing \"test\" at <.Foo>: can't evaluate field Foo in "
            "type struct { Labels map[string]string; ExternalLabels map[string]string; "
            "ExternalURL string; Value float64 }");
}

// --- Variables and control structures.

TEST(TemplateTest, VariablesDeclareAndAssign) {
  EXPECT_EQ(Expand("{{ $x := 1 }}{{ $x }}{{ $x = \"two\" }}{{ $x }}"), "1two");
  EXPECT_EQ(Expand("{{ $x := 1 }}{{ $x := 2 }}{{ $x }}"), "2");  // Redeclaring shadows.
}

TEST(TemplateTest, VariablesAreScopedToTheirBlock) {
  EXPECT_EQ(Expand("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}"),
            "ERROR: template: test:1: undefined variable \"$y\"");
  EXPECT_EQ(Expand("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"), "2");
}

TEST(TemplateTest, IfElseIfElse) {
  const std::string t = "{{ if gt $.Value 0.9 }}high{{ else if gt .Value 0.4 }}medium{{ else }}low{{ end }}";
  TemplateData data = Data();
  data.value = 0.95;
  EXPECT_EQ(Expand(t, data), "high");
  data.value = 0.5;
  EXPECT_EQ(Expand(t, data), "medium");
  data.value = 0.1;
  EXPECT_EQ(Expand(t, data), "low");
}

TEST(TemplateTest, TruthOfValues) {
  EXPECT_EQ(Expand("{{ if 0 }}t{{ else }}f{{ end }}{{ if \"\" }}t{{ else }}f{{ end }}"
                   "{{ if .Labels }}t{{ else }}f{{ end }}{{ if .ExternalLabels.x }}t{{ else }}f{{ end }}"),
            "fftf");
}

TEST(TemplateTest, AndOrNot) {
  EXPECT_EQ(Expand("{{ and 1 0 2 }} {{ or 0 \"\" \"x\" }} {{ not 0 }} {{ and 1 2 }}"), "0 x true 2");
  // and/or stop at the deciding argument: the failing query is never run.
  EXPECT_EQ(Expand("{{ or 1 (query \"x\") }}"), "1");
}

TEST(TemplateTest, RangeOverMapIsSortedByKey) {
  EXPECT_EQ(Expand("{{ range $k, $v := .Labels }}{{ $k }}={{ $v }};{{ end }}"),
            "instance=host1:9100;job=node;");
  EXPECT_EQ(Expand("{{ range .Labels }}{{ . }},{{ end }}"), "host1:9100,node,");
}

TEST(TemplateTest, RangeElseBreakContinue) {
  promql::Vector v = {MakeSample({{"i", "a"}}, 1), MakeSample({{"i", "b"}}, 2),
                      MakeSample({{"i", "c"}}, 3)};
  EXPECT_EQ(ExpandWithQuery("{{ range query \"x\" }}{{ if eq .Labels.i \"b\" }}{{ continue }}{{ end }}"
                            "{{ .Labels.i }}{{ end }}",
                            v),
            "ac");
  EXPECT_EQ(ExpandWithQuery("{{ range $i, $s := query \"x\" }}{{ if ge $i 1 }}{{ break }}{{ end }}"
                            "{{ $i }}:{{ $s.Value }}{{ end }}",
                            v),
            "0:1");
  EXPECT_EQ(ExpandWithQuery("{{ range query \"x\" }}x{{ else }}empty{{ end }}", {}), "empty");
  EXPECT_EQ(Expand("{{ break }}"), "ERROR: template: test:1: {{break}} outside {{range}}");
}

TEST(TemplateTest, RangeOverANumberFails) {
  EXPECT_EQ(Expand("{{ range 5 }}{{ end }}"),
            "ERROR: template: test:1:9: executing \"test\" at <5>: range can't iterate over 5");
}

TEST(TemplateTest, WithSetsDot) {
  EXPECT_EQ(Expand("{{ with .Labels.job }}job={{ . }}{{ end }}"), "job=node");
  EXPECT_EQ(Expand("{{ with .Labels.nope }}x{{ else }}none{{ end }}"), "none");
}

TEST(TemplateTest, PipelinesPassTheLastArgument) {
  EXPECT_EQ(Expand("{{ .Labels.job | printf \"%s-%s\" \"x\" | toUpper }}"), "X-NODE");
  EXPECT_EQ(Expand("{{ (printf \"%s\" \"a\") }}{{ (1) }}"), "a1");
}

// --- Built-in functions.

TEST(TemplateTest, Comparisons) {
  EXPECT_EQ(Expand("{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} "
                   "{{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}"),
            "true true true true true true false");
}

TEST(TemplateTest, ComparingFloatWithIntegerFails) {
  // As in Prometheus: $value is a float64, 1 an int; write 1.0.
  TemplateData data = Data();
  EXPECT_EQ(ExpandAlertTemplate("HighLatency", "{{ if gt $value 1 }}high{{ end }}", data),
            "<error expanding template: error executing template __alert_HighLatency: template: "
            "__alert_HighLatency:1:118: executing \"__alert_HighLatency\" at <gt $value 1>: error "
            "calling gt: incompatible types for comparison>");
  EXPECT_EQ(ExpandAlertTemplate("HighLatency", "{{ if gt $value 0.1 }}high{{ end }}", data), "high");
}

TEST(TemplateTest, LenIndexSlice) {
  EXPECT_EQ(Expand("{{ len .Labels }} {{ len \"abc\" }} {{ index .Labels \"job\" }} "
                   "{{ slice \"abcdef\" 1 3 }}"),
            "2 3 node bc");
  EXPECT_EQ(Expand("{{ len 3 }}"),
            "ERROR: template: test:1:3: executing \"test\" at <len 3>: error calling len: len of "
            "type int");
  EXPECT_EQ(Expand("{{ slice \"abc\" 2 1 }}"),
            "ERROR: template: test:1:3: executing \"test\" at <slice \"abc\" 2 1>: error calling "
            "slice: invalid slice index: 2 > 1");
}

TEST(TemplateTest, PrintAndPrintln) {
  EXPECT_EQ(Expand("{{ print 1 2 \"a\" \"b\" 3 }}"), "1 2ab3");
  EXPECT_EQ(Expand("{{ println 1 \"a\" }}"), "1 a\n");
}

TEST(TemplateTest, PrintfVerbs) {
  EXPECT_EQ(Expand("{{ printf \"%.2f\" .Value }}"), "0.50");
  EXPECT_EQ(Expand("{{ printf \"%s is %d\" \"x\" 3 }}"), "x is 3");
  EXPECT_EQ(Expand("{{ printf \"%v %g %e %.3g\" 1.5 1e21 123456.0 123456.0 }}"),
            "1.5 1e+21 1.234560e+05 1.23e+05");
  EXPECT_EQ(Expand("{{ printf \"%q %x %X %5.1f|%-5s|%05d|%+d\" \"a\\\"b\" \"hi\" 255 3.14159 \"ab\" 42 7 }}"),
            "\"a\\\"b\" 6869 FF   3.1|ab   |00042|+7");
  EXPECT_EQ(Expand("{{ printf \"%t %v %%\" true .Labels.job }}"), "true node %");
}

TEST(TemplateTest, PrintfReportsBadVerbsInline) {
  EXPECT_EQ(Expand("{{ printf \"%d\" \"x\" }}"), "%!d(string=x)");
  EXPECT_EQ(Expand("{{ printf \"%s\" 1.5 }}"), "%!s(float64=1.5)");
  EXPECT_EQ(Expand("{{ printf \"%d %d\" 1 }}"), "1 %!d(MISSING)");
  EXPECT_EQ(Expand("{{ printf \"%d\" 1 \"x\" }}"), "1%!(EXTRA string=x)");
}

TEST(TemplateTest, HtmlJsUrlquery) {
  EXPECT_EQ(Expand("{{ html \"<a href=\\\"x\\\">'&'</a>\" }}"),
            "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(Expand("{{ js \"it's <b>=\" }}"), "it\\'s \\u003Cb\\u003E\\u003D");
  EXPECT_EQ(Expand("{{ urlquery \"a b&c/d\" }}"), "a+b%26c%2Fd");
}

// --- Prometheus functions: queries.

TEST(TemplateTest, QueryFirstValue) {  // Prometheus.
  EXPECT_EQ(ExpandWithQuery("{{ query \"1.5\" | first | value }}", {MakeSample({}, 1.5)}), "1.5");
  EXPECT_EQ(ExpandWithQuery("{{ query \"metric{instance='a'}\" | first | value }}",
                            {MakeSample({{"__name__", "metric"}, {"instance", "a"}}, 11)}),
            "11");
}

TEST(TemplateTest, QueryLabel) {  // Prometheus.
  const promql::Vector v = {MakeSample({{"__name__", "metric"}, {"instance", "a"}}, 11)};
  EXPECT_EQ(ExpandWithQuery("{{ query \"metric{instance='a'}\" | first | label \"instance\" }}", v), "a");
  EXPECT_EQ(ExpandWithQuery("{{ query \"metric{instance='a'}\" | first | label \"foo\" }}", v), "");
  EXPECT_EQ(ExpandWithQuery("{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}", v), "");
  EXPECT_EQ(ExpandWithQuery("{{ (query \"metric\" | first).Labels.instance }}", v), "a");
  EXPECT_EQ(ExpandWithQuery("{{ query \"metric{__value__='a'}\" | first | strvalue }}",
                            {MakeSample({{"__name__", "metric"}, {"__value__", "a"}}, 11)}),
            "a");
}

TEST(TemplateTest, QueryRangeSortedByLabel) {  // Prometheus.
  EXPECT_EQ(ExpandWithQuery("{{ range query \"metric\" | sortByLabel \"instance\" }}"
                            "{{.Labels.instance}}:{{.Value}}: {{end}}",
                            {MakeSample({{"__name__", "metric"}, {"instance", "b"}}, 21),
                             MakeSample({{"__name__", "metric"}, {"instance", "a"}}, 11)}),
            "a:11: b:21: ");
}

TEST(TemplateTest, QueryWithHumanize) {
  EXPECT_EQ(ExpandWithQuery("{{ with query \"x\" }}{{ . | first | value | humanize }}{{ end }}",
                            {MakeSample({}, 1234567)}),
            "1.235M");
  EXPECT_EQ(ExpandWithQuery("{{ with query \"x\" }}{{ . | first | value | humanize }}{{ end }}", {}), "");
}

TEST(TemplateTest, FirstOfEmptyResultFails) {  // Prometheus.
  EXPECT_EQ(ExpandWithQuery("{{ query \"missing\" | first }}", {}),
            "ERROR: template: test:1:21: executing \"test\" at <first>: error calling first: "
            "first() called on vector with no elements");
}

TEST(TemplateTest, FieldOfQueryResultFails) {  // Prometheus.
  EXPECT_EQ(ExpandWithQuery("{{ (query \"missing\").banana }}", {}),
            "ERROR: template: test:1:10: executing \"test\" at <\"missing\">: can't evaluate field "
            "banana in type template.queryResult");
}

TEST(TemplateTest, QueryErrorsAreExecutionErrors) {
  TemplateData data = Data();
  data.query = [](std::string_view q) -> Result<promql::Vector> {
    return Status::InvalidArgument("1:4: parse error: unexpected end of input");
  };
  EXPECT_EQ(Expand("{{ query \"up{\" }}", data),
            "ERROR: template: test:1:3: executing \"test\" at <query \"up{\">: error calling "
            "query: 1:4: parse error: unexpected end of input");
}

TEST(TemplateTest, QueryReceivesTheQueryText) {
  TemplateData data = Data();
  std::string seen;
  data.query = [&seen](std::string_view q) -> Result<promql::Vector> {
    seen = std::string(q);
    return promql::Vector{};
  };
  EXPECT_EQ(Expand("{{ printf \"up{instance=%q}\" .Labels.instance | query | len }}", data), "0");
  EXPECT_EQ(seen, "up{instance=\"host1:9100\"}");
}

// --- Prometheus functions: numbers.

TEST(TemplateTest, Humanize) {  // Prometheus.
  EXPECT_EQ(Expand("{{ humanize 0.0 }}:{{ humanize 1.0 }}:{{ humanize 1234567.0 }}:{{ humanize .12 }}"),
            "0:1:1.235M:120m");
  EXPECT_EQ(Expand("{{ humanize \"0.0\" }}:{{ humanize \"1.0\" }}:{{ humanize \"1234567.0\" }}:"
                   "{{ humanize \".12\" }}"),
            "0:1:1.235M:120m");
  EXPECT_EQ(Expand("{{ humanize 0 }}:{{ humanize -1 }}:{{ humanize 1 }}:{{ humanize 1234567 }}:"
                   "{{ humanize 9223372036854775807 }}"),
            "0:-1:1:1.235M:9.223E");
  EXPECT_EQ(Expand("{{ humanize 0.000001234 }}:{{ humanize -0.5 }}"), "1.234u:-500m");
}

TEST(TemplateTest, HumanizeOfBadStringFails) {  // Prometheus.
  EXPECT_EQ(Expand("{{ humanize \"one\" }}"),
            "ERROR: template: test:1:3: executing \"test\" at <humanize \"one\">: error calling "
            "humanize: strconv.ParseFloat: parsing \"one\": invalid syntax");
  EXPECT_EQ(Expand("{{ humanize true }}"),
            "ERROR: template: test:1:3: executing \"test\" at <humanize true>: error calling "
            "humanize: can't convert bool to float");
}

TEST(TemplateTest, Humanize1024) {  // Prometheus.
  EXPECT_EQ(Expand("{{ humanize1024 0.0 }}:{{ humanize1024 1.0 }}:{{ humanize1024 1048576.0 }}:"
                   "{{ humanize1024 .12 }}"),
            "0:1:1Mi:0.12");
  EXPECT_EQ(Expand("{{ humanize1024 -1 }}:{{ humanize1024 1234567 }}:{{ humanize1024 9223372036854775807 }}"),
            "-1:1.177Mi:8Ei");
  EXPECT_EQ(Expand("{{ humanize1024 \"1048576.0\" }}:{{ humanize1024 1288 }}"), "1Mi:1.258ki");
}

TEST(TemplateTest, HumanizeDuration) {  // Prometheus.
  EXPECT_EQ(Expand("{{ humanizeDuration 0 }}:{{ humanizeDuration 1 }}:{{ humanizeDuration 60 }}:"
                   "{{ humanizeDuration 3600 }}:{{ humanizeDuration 86400 }}:"
                   "{{ humanizeDuration 90000 }}:{{ humanizeDuration -183845 }}:"
                   "{{ humanizeDuration 899.99 }}"),
            "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s");
  EXPECT_EQ(Expand("{{ humanizeDuration .1 }}:{{ humanizeDuration .0001 }}:{{ humanizeDuration .12345 }}:"
                   "{{ humanizeDuration 60.1 }}:{{ humanizeDuration 60.5 }}:{{ humanizeDuration 1.2345 }}:"
                   "{{ humanizeDuration 12.345 }}"),
            "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s");
  EXPECT_EQ(Expand("{{ humanizeDuration \".12345\" }}:{{ humanizeDuration 1234567 }}"),
            "123.5ms:14d 6h 56m 7s");
}

TEST(TemplateTest, HumanizeInfAndNaN) {  // Prometheus.
  EXPECT_EQ(Expand("{{ humanize \"+Inf\" }}:{{ humanize1024 \"+Inf\" }}:{{ humanizeDuration \"+Inf\" }}:"
                   "{{ humanizeTimestamp \"+Inf\" }}:{{ humanize \"-Inf\" }}:{{ humanize1024 \"-Inf\" }}:"
                   "{{ humanizeDuration \"-Inf\" }}:{{ humanizeTimestamp \"-Inf\" }}:{{ humanize \"NaN\" }}:"
                   "{{ humanize1024 \"NaN\" }}:{{ humanizeDuration \"NaN\" }}:{{ humanizeTimestamp \"NaN\" }}"),
            "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN");
}

TEST(TemplateTest, HumanizePercentage) {  // Prometheus.
  EXPECT_EQ(Expand("{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:"
                   "{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}"),
            "-22.22%:0%:12.35%:123.5%");
  EXPECT_EQ(Expand("{{ \"-0.22222\" | humanizePercentage }}:{{ \"0.0\" | humanizePercentage }}:"
                   "{{ \"0.1234567\" | humanizePercentage }}:{{ \"1.23456\" | humanizePercentage }}"),
            "-22.22%:0%:12.35%:123.5%");
  EXPECT_EQ(Expand("{{ humanizePercentage 1234567 }}:{{ humanizePercentage 9223372036854775807 }}"),
            "1.235e+08%:9.223e+20%");
  EXPECT_EQ(Expand("{{ \"one\" | humanizePercentage }}"),
            "ERROR: template: test:1:11: executing \"test\" at <humanizePercentage>: error calling "
            "humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax");
}

TEST(TemplateTest, HumanizeTimestamp) {  // Prometheus.
  EXPECT_EQ(Expand("{{ humanizeTimestamp 0 }}:{{ humanizeTimestamp -1 }}:{{ humanizeTimestamp 1 }}:"
                   "{{ humanizeTimestamp 1234567 }}:{{ humanizeTimestamp 9223372036 }}"),
            "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 "
            "UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC");
  EXPECT_EQ(Expand("{{ 1435065584.128 | humanizeTimestamp }}"), "2015-06-23 13:19:44.128 +0000 UTC");
  EXPECT_EQ(Expand("{{ \"1435065584.128\" | humanizeTimestamp }}"), "2015-06-23 13:19:44.128 +0000 UTC");
  EXPECT_EQ(Expand("{{ humanizeTimestamp -9223372036854775808 }}"),
            "ERROR: template: test:1:3: executing \"test\" at <humanizeTimestamp -9...>: error calling "
            "humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds "
            "timestamp since it overflows int64");
}

TEST(TemplateTest, ToTimeGivesAGoTime) {  // Prometheus.
  EXPECT_EQ(Expand("{{ (1435065584.128 | toTime).Format \"2006\" }}"), "2015");
  EXPECT_EQ(Expand("{{ (\"1435065584.128\" | toTime).Format \"2006\" }}"), "2015");
  EXPECT_EQ(Expand("{{ (toTime 1435065584.128).Format \"Mon Jan _2 15:04:05.000 2006\" }}"),
            "Tue Jun 23 13:19:44.128 2015");
  EXPECT_EQ(Expand("{{ (toTime 1435065584.128).Unix }} {{ toTime 1435065584 }}"),
            "1435065584 2015-06-23 13:19:44 +0000 UTC");
}

TEST(TemplateTest, ParseDuration) {  // Prometheus.
  EXPECT_EQ(Expand("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}"), "3720.01");
  EXPECT_EQ(Expand("{{ parseDuration \"1x\" }}"),
            "ERROR: template: test:1:3: executing \"test\" at <parseDuration \"1x\">: error "
            "calling parseDuration: not a valid duration string: \"1x\"");
}

// --- Prometheus functions: strings and links.

TEST(TemplateTest, CaseFunctions) {  // Prometheus.
  EXPECT_EQ(Expand("{{ \"aa bb CC\" | title }}"), "Aa Bb CC");
  EXPECT_EQ(Expand("{{ \"aa bb CC\" | toUpper }}"), "AA BB CC");
  EXPECT_EQ(Expand("{{ \"aA bB CC\" | toLower }}"), "aa bb cc");
  EXPECT_EQ(Expand("{{ \"disk-full on_host\" | title }}"), "Disk-Full On_host");
}

TEST(TemplateTest, MatchAndReReplaceAll) {  // Prometheus.
  EXPECT_EQ(Expand("{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}"), "true false");
  EXPECT_EQ(Expand("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}"), "xa");
  EXPECT_EQ(Expand("{{ reReplaceAll \"(?P<host>[^:]+):.*\" \"${host}!\" .Labels.instance }}"), "host1!");
  EXPECT_EQ(Expand("{{ reReplaceAll \"a*\" \"-\" \"baaac\" }}"), "-b-c-");
}

TEST(TemplateTest, BadRegexpsFail) {
  EXPECT_EQ(Expand("{{ match \"(\" \"x\" }}"),
            "ERROR: template: test:1:3: executing \"test\" at <match \"(\" \"x\">: error calling "
            "match: error parsing regexp: missing closing ): `(`");
  EXPECT_EQ(Expand("{{ reReplaceAll \"(\" \"\" \"x\" }}"),
            "ERROR: template: test:1:3: executing \"test\" at <reReplaceAll \"(\" \"\" ...>: error "
            "calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): "
            "`(`");
}

TEST(TemplateTest, StripPort) {  // Prometheus.
  EXPECT_EQ(Expand("{{ \"foo.example.com\" | stripPort }}"), "foo.example.com");
  EXPECT_EQ(Expand("{{ \"foo.example.com:12345\" | stripPort }}"), "foo.example.com");
  EXPECT_EQ(Expand("{{ \"192.0.2.1\" | stripPort }}"), "192.0.2.1");
  EXPECT_EQ(Expand("{{ \"192.0.2.1:12345\" | stripPort }}"), "192.0.2.1");
  EXPECT_EQ(Expand("{{ \"2001:0DB8::1\" | stripPort }}"), "2001:0DB8::1");
  EXPECT_EQ(Expand("{{ \"[2001:0DB8::1]:12345\" | stripPort }}"), "2001:0DB8::1");
  EXPECT_EQ(Expand("{{ \"[2001:0DB8::1]::12345\" | stripPort }}"), "[2001:0DB8::1]::12345");
}

TEST(TemplateTest, StripDomain) {  // Prometheus.
  EXPECT_EQ(Expand("{{ \"foo.example.com\" | stripDomain }}"), "foo");
  EXPECT_EQ(Expand("{{ \"foo.example.com:12345\" | stripDomain }}"), "foo:12345");
  EXPECT_EQ(Expand("{{ \"192.0.2.1\" | stripDomain }}"), "192.0.2.1");
  EXPECT_EQ(Expand("{{ \"192.0.2.1:12345\" | stripDomain }}"), "192.0.2.1:12345");
  EXPECT_EQ(Expand("{{ \"2001:0DB8::1\" | stripDomain }}"), "2001:0DB8::1");
  EXPECT_EQ(Expand("{{ \"[2001:0DB8::1]:12345\" | stripDomain }}"), "[2001:0DB8::1]:12345");
  EXPECT_EQ(Expand("{{ \"[2001:0DB8::1]::12345\" | stripDomain }}"), "[2001:0DB8::1]::12345");
}

TEST(TemplateTest, LinksAndExternalURL) {  // Prometheus.
  EXPECT_EQ(Expand("{{ graphLink \"up\" }}"), "/graph?g0.expr=up&g0.tab=0");
  EXPECT_EQ(Expand("{{ tableLink \"up\" }}"), "/graph?g0.expr=up&g0.tab=1");
  EXPECT_EQ(Expand("{{ graphLink \"rate(x[5m]) > 1\" }}"),
            "/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=0");
  EXPECT_EQ(Expand("{{ pathPrefix }}"), "/path/prefix");
  EXPECT_EQ(Expand("{{ externalURL }}"), "http://testhost:9090/path/prefix");
}

TEST(TemplateTest, SafeHtmlIsNotAString) {
  EXPECT_EQ(Expand("{{ \"<b>\" | safeHtml }}"), "<b>");
  EXPECT_EQ(Expand("{{ \"<b>\" | safeHtml | toUpper }}"),
            "ERROR: template: test:1:22: executing \"test\" at <toUpper>: wrong type for value; "
            "expected string; got template.HTML");
}

// --- Parse errors: reported when a rule file is loaded.

TEST(TemplateTest, UnknownFunctionIsAParseError) {
  EXPECT_EQ(CheckAlertTemplate("HighLatency", "{{ foo $labels }}").message(),
            "template: __alert_HighLatency:1: function \"foo\" not defined");
  EXPECT_TRUE(CheckAlertTemplate("HighLatency", "{{ $labels.instance }} is {{ humanize $value }}").ok());
}

TEST(TemplateTest, ParseErrors) {
  EXPECT_EQ(Expand("{{"), "ERROR: template: test:1: unclosed action");  // Prometheus.
  EXPECT_EQ(Expand("{{ \xc2\xa0}}"),  // Prometheus: a non-ASCII space.
            "ERROR: template: test:1: unrecognized character in action: U+00A0");
  EXPECT_EQ(Expand("{{ .Labels.instance"), "ERROR: template: test:1: unclosed action");
  EXPECT_EQ(Expand("a\n{{ if true }}x"), "ERROR: template: test:2: unexpected EOF");
  EXPECT_EQ(Expand("{{ end }}"), "ERROR: template: test:1: unexpected {{end}}");
  EXPECT_EQ(Expand("{{ else }}"), "ERROR: template: test:1: unexpected {{else}}");
  EXPECT_EQ(Expand("line1\n{{ foo }}"), "ERROR: template: test:2: function \"foo\" not defined");
  EXPECT_EQ(Expand("{{ $x }}"), "ERROR: template: test:1: undefined variable \"$x\"");
  EXPECT_EQ(Expand("{{ \"abc }}"), "ERROR: template: test:1: unterminated quoted string");
  EXPECT_EQ(Expand("{{ ) }}"), "ERROR: template: test:1: unexpected \")\" in command");
  EXPECT_EQ(Expand("{{ (1 }}"), "ERROR: template: test:1: unclosed left paren");
  EXPECT_EQ(Expand("{{ 1 | 2 }}"), "ERROR: template: test:1: non executable command in pipeline stage 2");
  EXPECT_EQ(Expand("{{ }}"), "ERROR: template: test:1: missing value for command");
  EXPECT_EQ(Expand("{{ /* x */ }}"), "ERROR: template: test:1: unexpected \"/\" in command");
  EXPECT_EQ(Expand("{{/* x */ 1 }}"), "ERROR: template: test:1: comment ends before closing delimiter");
  EXPECT_EQ(Expand("{{ 1.2.3 }}"), "ERROR: template: test:1: unexpected \".3\" in operand");
  EXPECT_EQ(Expand("{{ \"a\".b }}"), "ERROR: template: test:1: unexpected . after term \"\\\"a\\\"\"");
  EXPECT_EQ(Expand("{{ 3k }}"), "ERROR: template: test:1: bad number syntax: \"3k\"");
}

TEST(TemplateTest, DefineAndTemplateAreNotSupported) {
  EXPECT_FALSE(Template::Parse("t", "{{ define \"x\" }}a{{ end }}").ok());
  EXPECT_FALSE(Template::Parse("t", "{{ template \"x\" }}").ok());
  EXPECT_EQ(Template::Parse("t", "{{ tmpl \"x\" . }}").status().message(),
            "template: t:1: function \"tmpl\" not defined");
}

// --- Execution errors.

TEST(TemplateTest, TypeErrorsAtExecution) {
  EXPECT_EQ(Expand("{{ toUpper 1 }}"),
            "ERROR: template: test:1:11: executing \"test\" at <1>: expected string; found 1");
  EXPECT_EQ(Expand("{{ .Value | toUpper }}"),
            "ERROR: template: test:1:12: executing \"test\" at <toUpper>: wrong type for value; "
            "expected string; got float64");
  EXPECT_EQ(Expand("{{ humanize 1 2 }}"),
            "ERROR: template: test:1:3: executing \"test\" at <humanize>: wrong number of args for "
            "humanize: want 1 got 2");
  EXPECT_EQ(Expand("{{ nil }}"), "ERROR: template: test:1:3: executing \"test\" at <nil>: nil is not a command");
  EXPECT_EQ(Expand("{{ .Labels.job 1 }}"),
            // Go positions a field chain at its last element.
            "ERROR: template: test:1:10: executing \"test\" at <.Labels.job>: job is not a method but "
            "has arguments");
}

TEST(TemplateTest, ErrorPositionsCountLinesAndColumns) {
  EXPECT_EQ(Expand("a\nbc {{ humanize \"x\" }}"),
            "ERROR: template: test:2:6: executing \"test\" at <humanize \"x\">: error calling "
            "humanize: strconv.ParseFloat: parsing \"x\": invalid syntax");
}

TEST(TemplateTest, ExpandAlertTemplateReportsErrorsInBand) {
  const TemplateData data = Data();
  EXPECT_EQ(ExpandAlertTemplate("HighLatency", "{{ $labels.instance }} at {{ humanize $value }}", data),
            "host1:9100 at 500m");
  EXPECT_EQ(ExpandAlertTemplate("HighLatency", "{{ foo }}", data),
            "<error expanding template: error parsing template __alert_HighLatency: template: "
            "__alert_HighLatency:1: function \"foo\" not defined>");
  EXPECT_EQ(ExpandAlertTemplate("HighLatency", "{{ humanize \"x\" }}", data),
            "<error expanding template: error executing template __alert_HighLatency: template: "
            "__alert_HighLatency:1:115: executing \"__alert_HighLatency\" at <humanize \"x\">: error "
            "calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax>");
}

TEST(TemplateTest, ExecutesConcurrentlyFromOneParse) {
  Result<Template> tmpl = Template::Parse("t", "{{ range .Labels }}{{ . }}{{ end }}");
  ASSERT_TRUE(tmpl.ok());
  const Template copy = *tmpl;
  EXPECT_EQ(*copy.Execute(Data()), "host1:9100node");
  EXPECT_EQ(*tmpl->Execute(Data()), "host1:9100node");
}

}  // namespace
}  // namespace vitals::rules
