#include "common/labels.h"

#include <gtest/gtest.h>

#include <string>

namespace vitals {
namespace {

// Renders every label, including __name__ and empty values, in order, so a
// test can compare the exact structure as one string.
std::string Dump(const Labels& labels) {
  std::string out;
  for (const Label& l : labels) {
    if (!out.empty()) out += ",";
    out += l.name + "=" + l.value;
  }
  return out;
}

TEST(CanonicalizeTest, SortsByName) {
  Labels labels = {{"mode", "idle"}, {"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}};
  Canonicalize(&labels);
  EXPECT_EQ(Dump(labels), "__name__=node_cpu_seconds_total,cpu=0,mode=idle");
}

TEST(CanonicalizeTest, DropsEmptyValues) {
  Labels labels = {{"b", ""}, {"a", "1"}, {"c", ""}};
  Canonicalize(&labels);
  EXPECT_EQ(Dump(labels), "a=1");
}

TEST(CanonicalizeTest, KeepsDuplicateNamesInOriginalOrder) {
  Labels labels = {{"b", "2"}, {"a", "first"}, {"a", "second"}};
  Canonicalize(&labels);
  EXPECT_EQ(Dump(labels), "a=first,a=second,b=2");
}

TEST(CanonicalizeTest, SortsReversedSetsOfEverySize) {
  // Small sets are insertion-sorted, large ones merge-sorted; both keep
  // equal names in their original order.
  for (int n : {2, 5, 16, 17, 40}) {
    Labels labels;
    for (int i = n - 1; i >= 0; --i) {
      labels.push_back({"l" + std::to_string(100 + i), std::to_string(i)});
      labels.push_back({"l" + std::to_string(100 + i), "again"});
    }
    Canonicalize(&labels);
    ASSERT_EQ(labels.size(), static_cast<size_t>(2 * n));
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(labels[2 * i].name, "l" + std::to_string(100 + i)) << n;
      EXPECT_EQ(labels[2 * i].value, std::to_string(i)) << n;
      EXPECT_EQ(labels[2 * i + 1].value, "again") << n;
    }
  }
}

TEST(GetLabelTest, ReturnsValueOfNamedLabel) {
  Labels labels = {{"__name__", "up"}, {"job", "node"}};
  EXPECT_EQ(GetLabel(labels, "job"), "node");
  EXPECT_EQ(GetLabel(labels, kMetricNameLabel), "up");
}

TEST(GetLabelTest, ReturnsEmptyForAbsentLabel) {
  Labels labels = {{"job", "node"}};
  EXPECT_EQ(GetLabel(labels, "instance"), "");
}

TEST(SetLabelTest, InsertsKeepingSortOrder) {
  Labels labels = {{"a", "1"}, {"c", "3"}};
  SetLabel(&labels, "b", "2");
  SetLabel(&labels, "d", "4");
  SetLabel(&labels, "A", "0");
  EXPECT_EQ(Dump(labels), "A=0,a=1,b=2,c=3,d=4");
}

TEST(SetLabelTest, ReplacesExistingValue) {
  Labels labels = {{"a", "1"}, {"b", "2"}};
  SetLabel(&labels, "b", "two");
  EXPECT_EQ(Dump(labels), "a=1,b=two");
}

TEST(SetLabelTest, InsertsIntoEmptySet) {
  Labels labels;
  SetLabel(&labels, "agent", "web-01");
  EXPECT_EQ(Dump(labels), "agent=web-01");
}

TEST(IsValidMetricNameTest, AcceptsLettersDigitsUnderscoresAndColons) {
  EXPECT_TRUE(IsValidMetricName("node_load1"));
  EXPECT_TRUE(IsValidMetricName("job:requests:rate5m"));
  EXPECT_TRUE(IsValidMetricName("_private"));
  EXPECT_TRUE(IsValidMetricName(":leading_colon"));
}

TEST(IsValidMetricNameTest, RejectsBadNames) {
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("1st"));
  EXPECT_FALSE(IsValidMetricName("node-load"));
  EXPECT_FALSE(IsValidMetricName("node load"));
  EXPECT_FALSE(IsValidMetricName("n\xC3\xA9"));
}

TEST(IsValidLabelNameTest, AcceptsLettersDigitsAndUnderscores) {
  EXPECT_TRUE(IsValidLabelName("cpu"));
  EXPECT_TRUE(IsValidLabelName("_x9"));
  EXPECT_TRUE(IsValidLabelName("__name__"));
}

TEST(IsValidLabelNameTest, RejectsColonsAndBadStarts) {
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("9lives"));
  EXPECT_FALSE(IsValidLabelName("a.b"));
}

TEST(IsValidUtf8Test, AcceptsAsciiAndEmpty) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii ~\x7f"));
}

TEST(IsValidUtf8Test, AcceptsMultiByteSequences) {
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));               // U+00E9, ends the string
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC 5"));            // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));              // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xF0\x9D\x84\x9E"));          // U+1D11E
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));          // U+10FFFF, the last code point
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF\xEE\x80\x80"));  // U+D7FF and U+E000 around surrogates
}

TEST(IsValidUtf8Test, RejectsOverlongEncodings) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // '/' in two bytes
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in three bytes
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(IsValidUtf8Test, RejectsSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));  // U+DFFF
}

TEST(IsValidUtf8Test, RejectsCodePointsPastMax) {
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
}

TEST(IsValidUtf8Test, RejectsTruncatedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("ab\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9D\x84"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82\x41"));  // Continuation byte replaced by "A".
}

TEST(IsValidUtf8Test, RejectsStrayContinuationAndInvalidLeadBytes) {
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("a\xBF\x62"));
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(ValidateSeriesLabelsTest, AcceptsCanonicalLabels) {
  Labels labels = {{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"mode", "caf\xC3\xA9"}};
  EXPECT_TRUE(ValidateSeriesLabels(labels).ok());
}

TEST(ValidateSeriesLabelsTest, RejectsMissingMetricName) {
  Status status = ValidateSeriesLabels({{"cpu", "0"}});
  EXPECT_EQ(status.ToString(), "InvalidArgument: series has no metric name");
}

TEST(ValidateSeriesLabelsTest, RejectsBadMetricName) {
  Status status = ValidateSeriesLabels({{"__name__", "node-load1"}});
  EXPECT_EQ(status.ToString(), "InvalidArgument: invalid metric name \"node-load1\"");
}

TEST(ValidateSeriesLabelsTest, RejectsBadLabelName) {
  Status status = ValidateSeriesLabels({{"__name__", "up"}, {"bad-name", "x"}});
  EXPECT_EQ(status.ToString(), "InvalidArgument: invalid label name \"bad-name\"");
}

TEST(ValidateSeriesLabelsTest, RejectsLabelNameWithColon) {
  EXPECT_FALSE(ValidateSeriesLabels({{"__name__", "up"}, {"a:b", "x"}}).ok());
}

TEST(ValidateSeriesLabelsTest, RejectsDuplicateLabelNames) {
  Status status = ValidateSeriesLabels({{"__name__", "up"}, {"job", "a"}, {"job", "b"}});
  EXPECT_EQ(status.ToString(), "InvalidArgument: duplicate label name \"job\"");
}

TEST(ValidateSeriesLabelsTest, RejectsDuplicateMetricName) {
  Status status = ValidateSeriesLabels({{"__name__", "up"}, {"__name__", "down"}});
  EXPECT_EQ(status.ToString(), "InvalidArgument: duplicate label name \"__name__\"");
}

TEST(ValidateSeriesLabelsTest, RejectsUnsortedLabels) {
  Status status = ValidateSeriesLabels({{"__name__", "up"}, {"b", "1"}, {"a", "2"}});
  EXPECT_EQ(status.ToString(), "InvalidArgument: labels not sorted by name");
}

TEST(ValidateSeriesLabelsTest, RejectsValueWithOverlongEncoding) {
  Status status = ValidateSeriesLabels({{"__name__", "up"}, {"path", "\xC0\xAF"}});
  EXPECT_EQ(status.ToString(), "InvalidArgument: label \"path\" has a value that is not UTF-8");
}

TEST(ValidateSeriesLabelsTest, RejectsValueWithSurrogate) {
  EXPECT_FALSE(ValidateSeriesLabels({{"__name__", "up"}, {"x", "\xED\xA0\x80"}}).ok());
}

TEST(ValidateSeriesLabelsTest, RejectsValueWithTruncatedSequence) {
  EXPECT_FALSE(ValidateSeriesLabels({{"__name__", "up"}, {"x", "ok\xE2\x82"}}).ok());
}

TEST(FormatSeriesTest, PrintsNameAloneWithoutBraces) {
  EXPECT_EQ(FormatSeries({{"__name__", "node_load1"}}), "node_load1");
}

TEST(FormatSeriesTest, PrintsLabelsInOrderAfterName) {
  Labels labels = {{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"mode", "idle"}};
  EXPECT_EQ(FormatSeries(labels), "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}");
}

TEST(FormatSeriesTest, PrintsLabelsWithoutName) {
  EXPECT_EQ(FormatSeries({{"a", "1"}}), "{a=\"1\"}");
}

TEST(FormatSeriesTest, EscapesBackslashQuoteAndNewline) {
  Labels labels = {{"__name__", "m"}, {"v", "a\\b\"c\nd\te"}};
  EXPECT_EQ(FormatSeries(labels), "m{v=\"a\\\\b\\\"c\\nd\te\"}");
}

TEST(EscapeLabelValueTest, LeavesOrdinaryTextAlone) {
  EXPECT_EQ(EscapeLabelValue("caf\xC3\xA9 {x}"), "caf\xC3\xA9 {x}");
}

}  // namespace
}  // namespace vitals
