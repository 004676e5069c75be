#include "common/selector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vitals {
namespace {

// The parsed matchers printed one after another, or the error.
std::string Parsed(std::string_view text) {
  auto matchers = ParseSeriesSelector(text);
  if (!matchers.ok()) return matchers.status().ToString();
  std::string out;
  for (const Matcher& m : *matchers) {
    if (!out.empty()) out += ", ";
    out += m.ToString();
  }
  return out;
}

Matcher MustCreate(MatchType type, std::string name, std::string value) {
  auto m = Matcher::Create(type, std::move(name), std::move(value));
  if (!m.ok()) ADD_FAILURE() << m.status().ToString();
  return std::move(m).value();
}

TEST(ParseSeriesSelectorTest, ParsesBareMetricName) {
  EXPECT_EQ(Parsed("node_load1"), "__name__=\"node_load1\"");
}

TEST(ParseSeriesSelectorTest, ParsesMetricNameWithColons) {
  EXPECT_EQ(Parsed("job:rate:5m"), "__name__=\"job:rate:5m\"");
}

TEST(ParseSeriesSelectorTest, ParsesNameWithMatchers) {
  EXPECT_EQ(Parsed("node_cpu_seconds_total{mode=\"idle\",cpu!=\"0\"}"),
            "__name__=\"node_cpu_seconds_total\", mode=\"idle\", cpu!=\"0\"");
}

TEST(ParseSeriesSelectorTest, ParsesAllFourOperators) {
  EXPECT_EQ(Parsed("m{a=\"1\",b!=\"2\",c=~\"3\",d!~\"4\"}"),
            "__name__=\"m\", a=\"1\", b!=\"2\", c=~\"3\", d!~\"4\"");
}

TEST(ParseSeriesSelectorTest, ParsesRegexOnNameLabelWithoutMetricName) {
  EXPECT_EQ(Parsed("{__name__=~\"node_.*\"}"), "__name__=~\"node_.*\"");
}

TEST(ParseSeriesSelectorTest, AllowsSpacesAroundTokens) {
  EXPECT_EQ(Parsed("  up { job = \"node\" , instance != \"\" }  "),
            "__name__=\"up\", job=\"node\", instance!=\"\"");
}

TEST(ParseSeriesSelectorTest, AllowsTrailingComma) {
  EXPECT_EQ(Parsed("up{job=\"node\",}"), "__name__=\"up\", job=\"node\"");
}

TEST(ParseSeriesSelectorTest, AllowsEmptyBracesAfterName) {
  EXPECT_EQ(Parsed("up{}"), "__name__=\"up\"");
}

TEST(ParseSeriesSelectorTest, ParsesSingleQuotedString) {
  EXPECT_EQ(Parsed("up{job='node'}"), "__name__=\"up\", job=\"node\"");
}

TEST(ParseSeriesSelectorTest, ParsesBackQuotedStringRaw) {
  auto matchers = ParseSeriesSelector("up{path=~`C:\\d+\\n`}");
  ASSERT_TRUE(matchers.ok()) << matchers.status().ToString();
  ASSERT_EQ(matchers->size(), 2u);
  EXPECT_EQ((*matchers)[1].value(), "C:\\d+\\n");
}

TEST(ParseSeriesSelectorTest, DecodesEscapesInDoubleQuotedString) {
  auto matchers = ParseSeriesSelector(R"(up{v="a\"b\\c\nd\te"})");
  ASSERT_TRUE(matchers.ok()) << matchers.status().ToString();
  EXPECT_EQ((*matchers)[1].value(), "a\"b\\c\nd\te");
}

TEST(ParseSeriesSelectorTest, DecodesEscapedQuoteInSingleQuotedString) {
  auto matchers = ParseSeriesSelector(R"(up{v='it\'s'})");
  ASSERT_TRUE(matchers.ok()) << matchers.status().ToString();
  EXPECT_EQ((*matchers)[1].value(), "it's");
}

TEST(ParseSeriesSelectorTest, KeepsRegexEscapesInDoubleQuotedString) {
  auto matchers = ParseSeriesSelector(R"({__name__=~"node_\\d+"})");
  ASSERT_TRUE(matchers.ok()) << matchers.status().ToString();
  EXPECT_EQ((*matchers)[0].value(), "node_\\d+");
  EXPECT_TRUE((*matchers)[0].Matches("node_42"));
}

TEST(ParseSeriesSelectorTest, RejectsOpenBraceAlone) {
  EXPECT_EQ(Parsed("{"), "InvalidArgument: parse error at char 2: expected a label name");
}

TEST(ParseSeriesSelectorTest, RejectsLabelWithoutOperator) {
  EXPECT_EQ(Parsed("foo{bar}"),
            "InvalidArgument: parse error at char 8: expected one of =, !=, =~, !~ after label "
            "\"bar\"");
}

TEST(ParseSeriesSelectorTest, RejectsMissingClosingBrace) {
  EXPECT_EQ(Parsed("foo{bar=\"baz\""),
            "InvalidArgument: parse error at char 14: expected ',' or '}'");
}

TEST(ParseSeriesSelectorTest, RejectsUnterminatedString) {
  EXPECT_EQ(Parsed("foo{bar=\"baz}"),
            "InvalidArgument: parse error at char 14: unterminated quoted string");
}

TEST(ParseSeriesSelectorTest, RejectsUnquotedValue) {
  EXPECT_EQ(Parsed("foo{bar=baz}"),
            "InvalidArgument: parse error at char 9: expected a quoted string");
}

TEST(ParseSeriesSelectorTest, RejectsTrailingGarbage) {
  EXPECT_EQ(Parsed("foo bar"), "InvalidArgument: parse error at char 5: unexpected character 'b'");
}

TEST(ParseSeriesSelectorTest, RejectsEmptyText) {
  EXPECT_EQ(Parsed(""), "InvalidArgument: parse error at char 1: empty selector");
}

TEST(ParseSeriesSelectorTest, RejectsSelectorWhoseMatchersAllMatchEmpty) {
  EXPECT_EQ(Parsed("{x=\"\"}"),
            "InvalidArgument: vector selector must contain at least one non-empty matcher");
  EXPECT_FALSE(ParseSeriesSelector("{x=~\".*\"}").ok());
  EXPECT_FALSE(ParseSeriesSelector("{x!=\"a\"}").ok());
}

TEST(ParseSeriesSelectorTest, AcceptsEmptyMatcherNextToNonEmptyOne) {
  EXPECT_TRUE(ParseSeriesSelector("{x=\"\",y=\"1\"}").ok());
}

TEST(ParseSeriesSelectorTest, RejectsInvalidRegex) {
  auto matchers = ParseSeriesSelector("{job=~\"(unclosed\"}");
  ASSERT_FALSE(matchers.ok());
  EXPECT_EQ(matchers.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(matchers.status().message().find("invalid regular expression"), std::string::npos)
      << matchers.status().message();
}

TEST(MatcherTest, EqualMatchesExactValueOnly) {
  Matcher m = MustCreate(MatchType::kEqual, "job", "node");
  EXPECT_TRUE(m.Matches("node"));
  EXPECT_FALSE(m.Matches("node2"));
  EXPECT_FALSE(m.Matches(""));
}

TEST(MatcherTest, NotEqualMatchesEverythingElse) {
  Matcher m = MustCreate(MatchType::kNotEqual, "job", "node");
  EXPECT_FALSE(m.Matches("node"));
  EXPECT_TRUE(m.Matches("node2"));
  EXPECT_TRUE(m.Matches(""));
}

TEST(MatcherTest, RegexIsFullyAnchored) {
  Matcher m = MustCreate(MatchType::kRegexMatch, "__name__", "node");
  EXPECT_TRUE(m.Matches("node"));
  EXPECT_FALSE(m.Matches("node_load1"));
  EXPECT_FALSE(m.Matches("my_node"));
}

TEST(MatcherTest, RegexAlternationIsAnchoredAsAWhole) {
  Matcher m = MustCreate(MatchType::kRegexMatch, "mode", "idle|user");
  EXPECT_TRUE(m.Matches("user"));
  EXPECT_FALSE(m.Matches("idlex"));
  EXPECT_FALSE(m.Matches("xuser"));
}

TEST(MatcherTest, RegexDotMatchesNewline) {
  Matcher m = MustCreate(MatchType::kRegexMatch, "v", "a.b");
  EXPECT_TRUE(m.Matches("a\nb"));
}

TEST(MatcherTest, NegativeRegexIsFullyAnchored) {
  Matcher m = MustCreate(MatchType::kRegexNoMatch, "__name__", "node");
  EXPECT_FALSE(m.Matches("node"));
  EXPECT_TRUE(m.Matches("node_load1"));
}

TEST(MatcherTest, CreateRejectsInvalidRegex) {
  EXPECT_FALSE(Matcher::Create(MatchType::kRegexMatch, "a", "[").ok());
  EXPECT_FALSE(Matcher::Create(MatchType::kRegexNoMatch, "a", "(").ok());
}

TEST(MatcherTest, CreateAcceptsAnyValueForEquality) {
  EXPECT_TRUE(Matcher::Create(MatchType::kEqual, "a", "[").ok());
}

TEST(MatcherTest, ToStringEscapesValue) {
  Matcher m = MustCreate(MatchType::kNotEqual, "v", "a\"b\\c");
  EXPECT_EQ(m.ToString(), "v!=\"a\\\"b\\\\c\"");
}

TEST(MatchesAllTest, RequiresEveryMatcher) {
  auto matchers = ParseSeriesSelector("node_cpu_seconds_total{mode=\"idle\",cpu!=\"0\"}");
  ASSERT_TRUE(matchers.ok());
  Labels cpu1_idle = {{"__name__", "node_cpu_seconds_total"}, {"cpu", "1"}, {"mode", "idle"}};
  Labels cpu0_idle = {{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"mode", "idle"}};
  Labels cpu1_user = {{"__name__", "node_cpu_seconds_total"}, {"cpu", "1"}, {"mode", "user"}};
  EXPECT_TRUE(MatchesAll(*matchers, cpu1_idle));
  EXPECT_FALSE(MatchesAll(*matchers, cpu0_idle));
  EXPECT_FALSE(MatchesAll(*matchers, cpu1_user));
}

TEST(MatchesAllTest, TreatsAbsentLabelAsEmpty) {
  auto matchers = ParseSeriesSelector("up{job=\"\"}");
  ASSERT_TRUE(matchers.ok());
  EXPECT_TRUE(MatchesAll(*matchers, {{"__name__", "up"}}));
  EXPECT_FALSE(MatchesAll(*matchers, {{"__name__", "up"}, {"job", "node"}}));
}

}  // namespace
}  // namespace vitals
