#include "common/units.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace vitals {
namespace {

using namespace std::chrono_literals;

// The parsed duration, or the error as text so a failure shows why.
std::string Parsed(std::string_view text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.status().ToString();
  return std::to_string(d->count()) + "ms";
}

TEST(ParseDurationTest, AcceptsSingleUnits) {
  EXPECT_EQ(Parsed("500ms"), "500ms");
  EXPECT_EQ(Parsed("15s"), "15000ms");
  EXPECT_EQ(Parsed("5m"), "300000ms");
  EXPECT_EQ(Parsed("2h"), "7200000ms");
  EXPECT_EQ(Parsed("15d"), "1296000000ms");
  EXPECT_EQ(Parsed("1w"), "604800000ms");
  EXPECT_EQ(Parsed("1y"), "31536000000ms");
}

TEST(ParseDurationTest, AcceptsCombinedUnitsInDescendingOrder) {
  EXPECT_EQ(Parsed("1h30m"), "5400000ms");
  EXPECT_EQ(Parsed("1m30s500ms"), "90500ms");
  EXPECT_EQ(Parsed("1y1w1d1h1m1s1ms"), "32230861001ms");
}

TEST(ParseDurationTest, AcceptsBareZero) { EXPECT_EQ(Parsed("0"), "0ms"); }

TEST(ParseDurationTest, AcceptsZeroWithUnit) { EXPECT_EQ(Parsed("0s"), "0ms"); }

TEST(ParseDurationTest, RejectsUnitsOutOfOrder) {
  EXPECT_FALSE(ParseDuration("1m1h").ok());
  EXPECT_FALSE(ParseDuration("500ms1s").ok());
}

TEST(ParseDurationTest, RejectsRepeatedUnit) { EXPECT_FALSE(ParseDuration("1s1s").ok()); }

TEST(ParseDurationTest, RejectsEmptyText) { EXPECT_FALSE(ParseDuration("").ok()); }

TEST(ParseDurationTest, RejectsNegativeDuration) {
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("1m-30s").ok());
}

TEST(ParseDurationTest, RejectsExplicitPlusSign) { EXPECT_FALSE(ParseDuration("+1s").ok()); }

TEST(ParseDurationTest, RejectsWordsAndSpaces) {
  EXPECT_FALSE(ParseDuration("5 seconds").ok());
  EXPECT_FALSE(ParseDuration("5sec").ok());
  EXPECT_FALSE(ParseDuration(" 5s").ok());
  EXPECT_FALSE(ParseDuration("5s ").ok());
}

TEST(ParseDurationTest, RejectsNumberWithoutUnit) { EXPECT_FALSE(ParseDuration("15").ok()); }

TEST(ParseDurationTest, RejectsUppercaseUnit) { EXPECT_FALSE(ParseDuration("5S").ok()); }

TEST(ParseDurationTest, RejectsFractions) { EXPECT_FALSE(ParseDuration("1.5h").ok()); }

TEST(ParseDurationTest, RejectsSingleComponentOverflow) {
  EXPECT_FALSE(ParseDuration("300000000y").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999ms").ok());
}

TEST(ParseDurationTest, RejectsSumOverflow) {
  // Each part fits in int64 milliseconds; together they do not.
  EXPECT_FALSE(ParseDuration("292471208y52w").ok());
}

TEST(ParseDurationTest, ErrorIsInvalidArgumentQuotingInput) {
  auto d = ParseDuration("5 seconds");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(d.status().message().find("\"5 seconds\""), std::string::npos) << d.status().message();
}

TEST(FormatDurationTest, ZeroIsZeroSeconds) { EXPECT_EQ(FormatDuration(0ms), "0s"); }

TEST(FormatDurationTest, UsesLargestUnitsFirst) {
  EXPECT_EQ(FormatDuration(90min), "1h30m");
  EXPECT_EQ(FormatDuration(500ms), "500ms");
  EXPECT_EQ(FormatDuration(1500ms), "1s500ms");
  EXPECT_EQ(FormatDuration(26h), "1d2h");
}

TEST(FormatDurationTest, UsesYearsAndWeeksOnlyWhenExact) {
  EXPECT_EQ(FormatDuration(365 * 24h), "1y");
  EXPECT_EQ(FormatDuration(14 * 24h), "2w");
  EXPECT_EQ(FormatDuration(15 * 24h), "15d");
  EXPECT_EQ(FormatDuration(90 * 24h), "90d");
  EXPECT_EQ(FormatDuration(366 * 24h), "366d");
  EXPECT_EQ(FormatDuration(365 * 24h + 1s), "365d1s");
}

TEST(FormatDurationTest, RoundTripsThroughParseDuration) {
  for (auto d : {1ms, 999ms, 1000ms, 61000ms, 3600000ms, 5400000ms, 86400000ms, 32230861001ms,
                 1296000000ms}) {
    auto parsed = ParseDuration(FormatDuration(d));
    ASSERT_TRUE(parsed.ok()) << FormatDuration(d) << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, d) << FormatDuration(d);
  }
}

TEST(FormatDurationTest, ParsedTextFormatsBackToItself) {
  for (const char* text : {"1h30m", "500ms", "15d", "2w", "1y", "380d4h5m6s7ms", "0s"}) {
    auto parsed = ParseDuration(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(FormatDuration(*parsed), text);
  }
}

// The parsed size, or the error as text so a failure shows why.
std::string ParsedBytes(std::string_view text) {
  auto b = ParseBytes(text);
  if (!b.ok()) return b.status().ToString();
  return std::to_string(*b);
}

TEST(ParseBytesTest, AcceptsPlainNumberAsBytes) { EXPECT_EQ(ParsedBytes("512"), "512"); }

TEST(ParseBytesTest, AcceptsExplicitByteUnit) { EXPECT_EQ(ParsedBytes("512B"), "512"); }

TEST(ParseBytesTest, DecimalUnitsArePowersOfThousand) {
  EXPECT_EQ(ParsedBytes("2KB"), "2000");
  EXPECT_EQ(ParsedBytes("3MB"), "3000000");
  EXPECT_EQ(ParsedBytes("1GB"), "1000000000");
  EXPECT_EQ(ParsedBytes("1TB"), "1000000000000");
}

TEST(ParseBytesTest, BinaryUnitsArePowersOf1024) {
  EXPECT_EQ(ParsedBytes("512KiB"), "524288");
  EXPECT_EQ(ParsedBytes("256MiB"), "268435456");
  EXPECT_EQ(ParsedBytes("1GiB"), "1073741824");
  EXPECT_EQ(ParsedBytes("1TiB"), "1099511627776");
}

TEST(ParseBytesTest, AcceptsLargestValue) {
  EXPECT_EQ(ParsedBytes("18446744073709551615"), "18446744073709551615");
}

TEST(ParseBytesTest, RejectsUnknownUnit) {
  EXPECT_FALSE(ParseBytes("12XB").ok());
  EXPECT_FALSE(ParseBytes("12kb").ok());
  EXPECT_FALSE(ParseBytes("12 MiB").ok());
}

TEST(ParseBytesTest, RejectsEmptyText) { EXPECT_FALSE(ParseBytes("").ok()); }

TEST(ParseBytesTest, RejectsMissingNumber) { EXPECT_FALSE(ParseBytes("MiB").ok()); }

TEST(ParseBytesTest, RejectsNegativeNumber) { EXPECT_FALSE(ParseBytes("-1MiB").ok()); }

TEST(ParseBytesTest, RejectsNumberTooLargeForUint64) {
  EXPECT_FALSE(ParseBytes("18446744073709551616").ok());
}

TEST(ParseBytesTest, RejectsOverflowFromUnit) {
  EXPECT_FALSE(ParseBytes("20000000TB").ok());
  EXPECT_FALSE(ParseBytes("16777216TiB").ok());
}

TEST(ParseBytesTest, ErrorIsInvalidArgumentQuotingInput) {
  auto b = ParseBytes("12XB");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(b.status().message().find("\"12XB\""), std::string::npos) << b.status().message();
}

}  // namespace
}  // namespace vitals
