#include "rules/promql/series_notation.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <string>

#include "common/samples.h"

namespace vitals::promql {
namespace {

// The values of `input` as text: numbers in shortest form, `_` for a missing
// sample, `stale` for a staleness marker; or "error: <message>".
std::string Values(std::string_view input) {
  auto desc = ParseSeriesDescription(input);
  if (!desc.ok()) return "error: " + desc.status().message();
  std::string out;
  for (const auto& v : desc->values) {
    if (!out.empty()) out += ' ';
    if (!v) {
      out += '_';
    } else if (IsStaleMarker(*v)) {
      out += "stale";
    } else if (std::isnan(*v)) {
      out += "NaN";
    } else if (std::isinf(*v)) {
      out += *v > 0 ? "+Inf" : "-Inf";
    } else {
      char buf[32];
      out.append(buf, std::to_chars(buf, buf + sizeof buf, *v).ptr);
    }
  }
  return out;
}

// The labels of `input` in the text format, or "error: <message>".
std::string LabelsOf(std::string_view input) {
  auto desc = ParseSeriesDescription(input);
  if (!desc.ok()) return "error: " + desc.status().message();
  std::string out;
  for (const Label& l : desc->labels) out += l.name + "=" + l.value + ";";
  return out;
}

TEST(SeriesNotationTest, PlainNumbersAreOneValueEach) {
  EXPECT_EQ(Values("m 1 2.5 -3 +4 1e3 .5"), "1 2.5 -3 4 1000 0.5");
}

TEST(SeriesNotationTest, RepetitionGivesOneMoreValueThanTheCount) {
  EXPECT_EQ(Values("m 1x4"), "1 1 1 1 1");
  EXPECT_EQ(Values("m 7x0"), "7");
}

TEST(SeriesNotationTest, ProgressionAddsTheStepCountTimes) {
  EXPECT_EQ(Values("m 1+2x3"), "1 3 5 7");
  EXPECT_EQ(Values("m 10-5x2"), "10 5 0");
  EXPECT_EQ(Values("m -1-1x2"), "-1 -2 -3");
  EXPECT_EQ(Values("m 0+0x2"), "0 0 0");
}

TEST(SeriesNotationTest, ProgressionAccumulatesLikePrometheus) {
  // Each value is the previous plus the step, so rounding builds up as in Go.
  auto desc = ParseSeriesDescription("m 0+0.1x3");
  ASSERT_TRUE(desc.ok()) << desc.status().ToString();
  ASSERT_EQ(desc->values.size(), 4u);
  EXPECT_EQ(*desc->values[3], 0.1 + 0.1 + 0.1);
}

TEST(SeriesNotationTest, BlankIsAMissingSample) {
  EXPECT_EQ(Values("m 1 _ 3"), "1 _ 3");
}

TEST(SeriesNotationTest, RepeatedBlankGivesExactlyTheCount) {
  EXPECT_EQ(Values("m _x3 1"), "_ _ _ 1");
  EXPECT_EQ(Values("m 1 _x0 2"), "1 2");
}

TEST(SeriesNotationTest, StaleIsAStalenessMarker) {
  EXPECT_EQ(Values("m 0 1 stale 2"), "0 1 stale 2");
  EXPECT_EQ(Values("m stalex2"), "error: 1:3: parse error: unexpected identifier \"stalex2\" in series "
                                 "values, expected number or \"stale\"");
}

TEST(SeriesNotationTest, InfinitiesAndNaNInAnyCase) {
  EXPECT_EQ(Values("m Inf -Inf +inf NaN nan"), "+Inf -Inf +Inf NaN NaN");
  EXPECT_EQ(Values("m Inf+0x1"), "+Inf +Inf");
}

TEST(SeriesNotationTest, NumbersFollowGoRulesWithoutHexadecimal) {
  EXPECT_EQ(Values("m 010"), "8");           // Octal, as strconv.ParseInt(s, 0, 64).
  EXPECT_EQ(Values("m 0x3"), "0 0 0 0");     // `0` repeated: no hex in series values.
  EXPECT_EQ(Values("m 1e3x1"), "1000 1000");
}

TEST(SeriesNotationTest, ItemsMix) {
  EXPECT_EQ(Values("m 1+2x3 _ stale 5 -1-1x2 1x4 Inf -Inf NaN _x3"),
            "1 3 5 7 _ stale 5 -1 -2 -3 1 1 1 1 1 +Inf -Inf NaN _ _ _");
}

TEST(SeriesNotationTest, ExtraSpacesAreIgnored) {
  EXPECT_EQ(Values("m   1 \t 2  "), "1 2");
}

TEST(SeriesNotationTest, NoValuesIsEmpty) {
  EXPECT_EQ(Values("m"), "");
  EXPECT_EQ(Values("m{a=\"b\"}"), "");
  EXPECT_EQ(Values("{}"), "");
}

TEST(SeriesNotationTest, LabelsAreCanonicalWithTheMetricName) {
  EXPECT_EQ(LabelsOf("http_requests{job=\"api\", group=\"canary\"} 1"),
            "__name__=http_requests;group=canary;job=api;");
  EXPECT_EQ(LabelsOf("{__name__=\"m\",b='x',} 1"), "__name__=m;b=x;");
  EXPECT_EQ(LabelsOf("{} 1"), "");
  EXPECT_EQ(LabelsOf("ns:rule:sum 1"), "__name__=ns:rule:sum;");
}

TEST(SeriesNotationTest, LabelValuesAreUnquotedAndEmptyOnesDropped) {
  EXPECT_EQ(LabelsOf(R"(m{a="x\"y\n", b=""} 1)"), "__name__=m;a=x\"y\n;");
}

TEST(SeriesNotationTest, KeywordsCanBeMetricNames) {
  EXPECT_EQ(LabelsOf("sum{a=\"b\"} 1"), "__name__=sum;a=b;");
  EXPECT_EQ(LabelsOf("offset 1"), "__name__=offset;");
}

TEST(SeriesNotationTest, RepeatedLabelNameIsAnError) {
  EXPECT_EQ(Values("m{a=\"1\",a=\"2\"} 1"), "error: 1:2: parse error: label name \"a\" is given twice");
}

TEST(SeriesNotationTest, UnclosedLabelSetIsAnErrorAtTheOffendingCharacter) {
  EXPECT_EQ(Values("up{job=\"prometheus\", instance=\"localhost:9090\" 0+0x1440"),
            "error: 1:48: parse error: unexpected character inside braces: '0'");
}

TEST(SeriesNotationTest, MalformedLabelSetsAreErrors) {
  EXPECT_EQ(Values("m{a!=\"1\"} 1"),
            "error: 1:4: parse error: unexpected <op:!=> in label set, expected \"=\"");
  EXPECT_EQ(Values("m{a=1} 1"), "error: 1:5: parse error: unexpected character inside braces: '1'");
  EXPECT_EQ(Values("m{a=\"1\" b=\"2\"} 1"),
            "error: 1:9: parse error: unexpected identifier \"b\" in label set, expected \",\" or \"}\"");
}

TEST(SeriesNotationTest, ValuesMustBeSeparatedBySpaces) {
  EXPECT_EQ(Values("m{}1"), "error: 1:4: parse error: unexpected number \"1\" in series values");
  EXPECT_EQ(Values("m _1"), "error: 1:4: parse error: unexpected number \"1\" in series values");
}

TEST(SeriesNotationTest, UnknownWordsAreErrors) {
  EXPECT_EQ(Values("m 1 foo"), "error: 1:5: parse error: unexpected identifier \"foo\" in series "
                               "values, expected number or \"stale\"");
}

TEST(SeriesNotationTest, ProgressionNeedsARepetition) {
  EXPECT_EQ(Values("m 1+1"), "error: 1:6: parse error: unexpected end of input in series values, "
                             "expected \"x\"");
}

TEST(SeriesNotationTest, RepetitionMustBeANonNegativeInteger) {
  EXPECT_EQ(Values("m 1x2.5"), "error: 1:5: parse error: invalid repetition in series values: "
                               "strconv.ParseUint: parsing \"2.5\": invalid syntax");
  EXPECT_EQ(Values("m 1x-2"), "error: 1:5: parse error: unexpected <op:-> in series values, "
                              "expected number");
}

TEST(SeriesNotationTest, BadCharactersAndNumbersAreErrors) {
  EXPECT_EQ(Values("m 1 %"), "error: 1:5: parse error: unexpected character in series sequence: '%'");
  EXPECT_EQ(Values("m 12a"), "error: 1:3: parse error: bad number syntax: \"12\"");
}

TEST(SeriesNotationTest, HugeExpansionIsRefused) {
  EXPECT_TRUE(Values("m 1x99999999999").starts_with("error: 1:3: parse error: too many values"));
}

}  // namespace
}  // namespace vitals::promql
