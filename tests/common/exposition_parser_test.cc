#include "common/exposition_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

namespace vitals::exposition {
namespace {

// Every entry of `text`, one line each: "<line> sample <series> <value> [@<ms>] [exemplar]"
// or "<line> <help|type|unit> <family> <text>"; or "error: <message>".
std::string ParseAll(const std::string& text, Format format, ParserOptions options = {}) {
  std::istringstream in(text);
  Parser parser(in, "test.om", format, options);
  std::string out;
  Entry entry;
  while (true) {
    auto more = parser.Next(&entry);
    if (!more.ok()) return out + "error: " + more.status().message() + "\n";
    if (!*more) return out;
    out += std::to_string(entry.line) + " ";
    switch (entry.kind) {
      case EntryKind::kSample: {
        std::ostringstream value;
        value << entry.value;
        out += "sample " + FormatSeries(entry.labels) + " " + value.str();
        if (entry.timestamp_ms) out += " @" + std::to_string(*entry.timestamp_ms);
        if (entry.has_exemplar) out += " exemplar";
        break;
      }
      case EntryKind::kHelp: out += "help " + entry.family + " " + entry.text; break;
      case EntryKind::kType: out += "type " + entry.family + " " + entry.text; break;
      case EntryKind::kUnit: out += "unit " + entry.family + " " + entry.text; break;
    }
    out += "\n";
  }
}

std::string ParseOpenMetrics(const std::string& text) {
  return ParseAll(text, Format::kOpenMetrics);
}
std::string ParseText(const std::string& text) { return ParseAll(text, Format::kPrometheusText); }

TEST(ExpositionParserTest, ReadsOpenMetricsFamiliesSamplesAndTimestamps) {
  EXPECT_EQ(ParseOpenMetrics("# TYPE http_requests counter\n"
                             "# UNIT http_requests requests\n"
                             "# HELP http_requests Requests \\\"served\\\",\\nby code.\n"
                             "http_requests_total{code=\"200\",path=\"/a\"} 1027 1520879607.789\n"
                             "http_requests_total{code=\"500\"} 3 1520879607\n"
                             "# EOF\n"),
            "1 type http_requests counter\n"
            "2 unit http_requests requests\n"
            "3 help http_requests Requests \"served\",\nby code.\n"
            "4 sample http_requests_total{code=\"200\",path=\"/a\"} 1027 @1520879607789\n"
            "5 sample http_requests_total{code=\"500\"} 3 @1520879607000\n");
}

TEST(ExpositionParserTest, ConvertsOpenMetricsSecondsAsPrometheusDoes) {
  // int64(ts * 1000): 0.0015 s * 1000 = 1.5 ms truncates to 1; negative times truncate
  // towards zero.
  EXPECT_EQ(ParseOpenMetrics("a 1 0.0015\na 2 -1.5\na 3 1e3\n# EOF\n"),
            "1 sample a 1 @1\n2 sample a 2 @-1500\n3 sample a 3 @1000000\n");
}

TEST(ExpositionParserTest, ReadsSpecialValues) {
  std::istringstream in("a NaN 1\nb +Inf 1\nc -Inf 1\nd 1.5e-3 1\ne -0 1\nf 0x10 1\n");
  Parser parser(in, "x.prom", Format::kPrometheusText);
  Entry e;
  ASSERT_TRUE(*parser.Next(&e));
  EXPECT_TRUE(std::isnan(e.value));
  ASSERT_TRUE(*parser.Next(&e));
  EXPECT_EQ(e.value, std::numeric_limits<double>::infinity());
  ASSERT_TRUE(*parser.Next(&e));
  EXPECT_EQ(e.value, -std::numeric_limits<double>::infinity());
  ASSERT_TRUE(*parser.Next(&e));
  EXPECT_DOUBLE_EQ(e.value, 0.0015);
  ASSERT_TRUE(*parser.Next(&e));
  EXPECT_TRUE(std::signbit(e.value));
  auto hex = parser.Next(&e);
  ASSERT_FALSE(hex.ok());
  EXPECT_EQ(hex.status().message(), "x.prom:6:3: invalid value \"0x10\"");
}

TEST(ExpositionParserTest, UnescapesLabelValues) {
  EXPECT_EQ(ParseText(R"(m{a="x\"y",b="back\\slash",c="new\nline",d="keep\q"} 1)"),
            R"(1 sample m{a="x\"y",b="back\\slash",c="new\nline",d="keep\\q"} 1)"
            "\n");
}

TEST(ExpositionParserTest, ReadsPrometheusTextWithMillisecondTimestampsAndComments) {
  EXPECT_EQ(ParseText("# A free comment\n"
                      "\n"
                      "# HELP node_load1 1m load average.\n"
                      "# TYPE node_load1 gauge\n"
                      "node_load1 0.25 1700000000123\n"
                      "node_load1{host=\"a\", } 0.5\n"
                      "  up  1   -5\n"),
            "3 help node_load1 1m load average.\n"
            "4 type node_load1 gauge\n"
            "5 sample node_load1 0.25 @1700000000123\n"
            "6 sample node_load1{host=\"a\"} 0.5\n"
            "7 sample up 1 @-5\n");
}

TEST(ExpositionParserTest, SkipsExemplarsButSaysTheyWereThere) {
  EXPECT_EQ(ParseOpenMetrics("# TYPE foo counter\n"
                             "foo_total 17 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
                             "foo_total 18 # {trace_id=\"x\"} 1 1520879607\n"
                             "# EOF\n"),
            "1 type foo counter\n"
            "2 sample foo_total 17 @1520879607789 exemplar\n"
            "3 sample foo_total 18 exemplar\n");
}

TEST(ExpositionParserTest, OpenMetricsMustEndWithEof) {
  EXPECT_EQ(ParseOpenMetrics("a 1 1\n"),
            "1 sample a 1 @1000\n"
            "error: test.om:1: unexpected end of input: OpenMetrics data must end with \"# EOF\"\n");
}

TEST(ExpositionParserTest, NothingMayFollowEof) {
  EXPECT_EQ(ParseOpenMetrics("a 1 1\n# EOF\nb 2 2\n"),
            "1 sample a 1 @1000\nerror: test.om:3:1: content after \"# EOF\"\n");
}

TEST(ExpositionParserTest, AcceptsALastLineWithoutNewline) {
  EXPECT_EQ(ParseOpenMetrics("a 1 1\n# EOF"), "1 sample a 1 @1000\n");
  EXPECT_EQ(ParseText("a 1 1"), "1 sample a 1 @1\n");
}

TEST(ExpositionParserTest, ReportsLineAndColumnOfSyntaxErrors) {
  struct Case {
    std::string input;
    Format format;
    std::string error;
  };
  const Case cases[] = {
      {"ok 1\n{a=\"b\"} 1\n", Format::kPrometheusText, "test.om:2:1: expected a metric name"},
      {"m{a=\"b\" 1\n", Format::kPrometheusText,
       "test.om:1:9: expected ',' or '}' after a label value"},
      {"m{a=b} 1\n", Format::kPrometheusText,
       "test.om:1:5: expected '\"' to start the label value"},
      {"m{a=\"b} 1\n", Format::kPrometheusText, "test.om:1:10: unterminated label value"},
      {"m{1a=\"b\"} 1\n", Format::kPrometheusText,
       "test.om:1:3: expected a label name or '}'"},
      {"m 1 2 3\n", Format::kPrometheusText, "test.om:1:7: unexpected text after the sample"},
      {"m one\n", Format::kPrometheusText, "test.om:1:3: invalid value \"one\""},
      {"m 1 1.5\n", Format::kPrometheusText,
       "test.om:1:5: invalid timestamp \"1.5\" (integer milliseconds)"},
      {"m\n", Format::kPrometheusText, "test.om:1:2: expected a space before the value"},
      {"# TYPE m histogramm\n", Format::kPrometheusText,
       "test.om:1:10: invalid metric type \"histogramm\""},
      {"# TYPE m info\n", Format::kPrometheusText, "test.om:1:10: invalid metric type \"info\""},
      {"# TYPE 9m gauge\n", Format::kPrometheusText, "test.om:1:8: invalid metric name in TYPE"},
      {"m 1 NaN\n# EOF\n", Format::kOpenMetrics, "test.om:1:5: invalid timestamp \"NaN\""},
      {"a 1 1\n\n# EOF\n", Format::kOpenMetrics,
       "test.om:2:1: blank lines are not allowed in OpenMetrics"},
      {"# free comment\n# EOF\n", Format::kOpenMetrics,
       "test.om:1:3: expected HELP, TYPE, UNIT or EOF after '#', got \"free\""},
      {"m{a=\"\\x\"} 1\n# EOF\n", Format::kOpenMetrics,
       "test.om:1:6: invalid escape sequence \"\\x\""},
      {"m 1 1 #x\n# EOF\n", Format::kOpenMetrics,
       "test.om:1:8: expected an exemplar \"# {labels} value\""},
      {"# EOF trailing\n", Format::kOpenMetrics,
       "test.om:1:7: unexpected text after \"# EOF\""},
  };
  for (const Case& c : cases) {
    std::string out = ParseAll(c.input, c.format);
    EXPECT_NE(out.find("error: " + c.error + "\n"), std::string::npos)
        << "input: " << c.input << "\ngot: " << out;
  }
}

TEST(ExpositionParserTest, RefusesLinesLongerThanTheLimit) {
  ParserOptions options;
  options.max_line_bytes = 16;
  EXPECT_EQ(ParseAll("short 1\nthis_line_is_far_too_long 1\n", Format::kPrometheusText, options),
            "1 sample short 1\nerror: test.om:2: line longer than 16 bytes\n");
}

TEST(ExpositionParserTest, RefusesLabelValuesThatAreNotUtf8) {
  EXPECT_EQ(ParseText("m{a=\"\xff\"} 1\n"), "error: test.om:1:3: label \"a\" value is not UTF-8\n");
}

TEST(ExpositionParserTest, StreamsAcrossReadChunks) {
  // More than one 64 KiB read, with lines straddling the chunk boundaries.
  std::string text;
  for (int i = 0; i < 10000; ++i) {
    text += "series_" + std::to_string(i) + "{instance=\"host-" + std::to_string(i) + "\"} " +
            std::to_string(i) + " " + std::to_string(i) + "\n";
  }
  text += "# EOF\n";
  std::istringstream in(text);
  Parser parser(in, "big.om", Format::kOpenMetrics);
  Entry e;
  int n = 0;
  while (true) {
    auto more = parser.Next(&e);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    ASSERT_EQ(e.value, n);
    ASSERT_EQ(e.line, n + 1);
    ASSERT_EQ(GetLabel(e.labels, "instance"), "host-" + std::to_string(n));
    ++n;
  }
  EXPECT_EQ(n, 10000);
}

TEST(ParseValueTest, FollowsGoParseFloat) {
  EXPECT_EQ(ParseValue("1e3"), 1000.0);
  EXPECT_EQ(ParseValue("inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseValue("-infinity"), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(*ParseValue("nan")));
  EXPECT_FALSE(ParseValue("1e999"));  // Out of range, as Go reports it.
  EXPECT_FALSE(ParseValue(" 1"));
  EXPECT_FALSE(ParseValue("nan(1)"));
  EXPECT_FALSE(ParseValue(""));
}

}  // namespace
}  // namespace vitals::exposition
