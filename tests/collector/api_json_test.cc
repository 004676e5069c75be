// Spellings of Prometheus 2.42's HTTP API: numbers, timestamps, strings,
// result shapes, and the time and duration parameters it accepts.

#include "collector/api_json.h"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "collector/query_api.h"

namespace vitals::collector {
namespace {

std::string SampleValue(double v) {
  std::string out;
  json::AppendSampleValue(&out, v);
  return out;
}

std::string Timestamp(int64_t ms) {
  std::string out;
  json::AppendTimestamp(&out, ms);
  return out;
}

std::string GoNumber(double v) {
  std::string out;
  json::AppendGoNumber(&out, v);
  return out;
}

std::string JsonString(std::string_view text) {
  std::string out;
  json::AppendString(&out, text);
  return out;
}

std::string Data(const promql::Value& value) {
  std::string out;
  json::AppendQueryData(&out, value);
  return out;
}

// The result of ParseApiTime as milliseconds, or its error message.
std::string Time(std::string_view text) {
  auto t = ParseApiTime(text);
  return t.ok() ? std::to_string(*t) : t.status().message();
}

std::string Duration(std::string_view text) {
  auto d = ParseApiDuration(text);
  return d.ok() ? std::to_string(d->count()) + "ns" : d.status().message();
}

TEST(ApiJsonTest, SampleValuesAreShortestDecimals) {
  EXPECT_EQ(SampleValue(1), R"("1")");
  EXPECT_EQ(SampleValue(0), R"("0")");
  EXPECT_EQ(SampleValue(-0.0), R"("-0")");
  EXPECT_EQ(SampleValue(0.1), R"("0.1")");
  EXPECT_EQ(SampleValue(-2.5), R"("-2.5")");
  EXPECT_EQ(SampleValue(1234567.8), R"("1234567.8")");
  EXPECT_EQ(SampleValue(0.0000012345678), R"("0.0000012345678")");
  EXPECT_EQ(SampleValue(1e20), R"("100000000000000000000")");
  // Go pads the shortest digits with zeros; it does not print the exact binary value.
  EXPECT_EQ(SampleValue(1.2345678901234568e20), R"("123456789012345680000")");
}

TEST(ApiJsonTest, SampleValuesUseExponentBelowOneMillionthAndFrom1e21) {
  EXPECT_EQ(SampleValue(1e-7), R"("1e-07")");
  EXPECT_EQ(SampleValue(1.2345678e-67), R"("1.2345678e-67")");
  EXPECT_EQ(SampleValue(1e21), R"("1e+21")");
  EXPECT_EQ(SampleValue(-1.5e300), R"("-1.5e+300")");
}

TEST(ApiJsonTest, SpecialValuesAreSpelledLikeGo) {
  EXPECT_EQ(SampleValue(std::numeric_limits<double>::quiet_NaN()), R"("NaN")");
  EXPECT_EQ(SampleValue(std::numeric_limits<double>::infinity()), R"("+Inf")");
  EXPECT_EQ(SampleValue(-std::numeric_limits<double>::infinity()), R"("-Inf")");
  EXPECT_EQ(json::FormatFloatF(std::numeric_limits<double>::infinity()), "+Inf");
}

TEST(ApiJsonTest, FormatFloatFNeverUsesExponent) {
  EXPECT_EQ(json::FormatFloatF(1e-7), "0.0000001");
  EXPECT_EQ(json::FormatFloatF(1e21), "1000000000000000000000");
  EXPECT_EQ(json::FormatFloatF(42), "42");
}

TEST(ApiJsonTest, TimestampsHaveThreeDecimalsWhenFractional) {
  EXPECT_EQ(Timestamp(1435781451781), "1435781451.781");
  EXPECT_EQ(Timestamp(1435781451780), "1435781451.780");
  EXPECT_EQ(Timestamp(1435781451000), "1435781451");
  EXPECT_EQ(Timestamp(5), "0.005");
  EXPECT_EQ(Timestamp(0), "0");
  EXPECT_EQ(Timestamp(-1500), "-1.500");
}

TEST(ApiJsonTest, GoNumbersTrimAndShortenExponent) {
  EXPECT_EQ(GoNumber(1435781451.78), "1435781451.78");
  EXPECT_EQ(GoNumber(1e-7), "1e-7");
  EXPECT_EQ(GoNumber(1.5e21), "1.5e+21");
  EXPECT_EQ(GoNumber(0), "0");
}

TEST(ApiJsonTest, StringsAreEscapedLikeGoEncodingJson) {
  EXPECT_EQ(JsonString("plain"), R"("plain")");
  EXPECT_EQ(JsonString("q\"b\\"), R"("q\"b\\")");
  EXPECT_EQ(JsonString("\n\r\t"), R"("\n\r\t")");
  EXPECT_EQ(JsonString(std::string("\x01\x1f\b\f", 4)), R"("\u0001\u001f\u0008\u000c")");
  EXPECT_EQ(JsonString("<a&b>"), R"("\u003ca\u0026b\u003e")");
  EXPECT_EQ(JsonString("caf\xc3\xa9 \x7f"), "\"caf\xc3\xa9 \x7f\"");
  EXPECT_EQ(JsonString("\xe2\x80\xa8\xe2\x80\xa9"), R"("\u2028\u2029")");
  EXPECT_EQ(JsonString("bad\xff\xc3"), R"("bad\ufffd\ufffd")");
  EXPECT_EQ(JsonString("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // A surrogate.
}

TEST(ApiJsonTest, GoQuoteForMessages) {
  EXPECT_EQ(json::GoQuote("foo-bar"), R"("foo-bar")");
  EXPECT_EQ(json::GoQuote("a\"b\n\x01"), R"("a\"b\n\x01")");
}

TEST(ApiJsonTest, VectorShape) {
  promql::Vector v = {{{{"__name__", "up"}, {"job", "a"}}, 1435781451781, 1},
                      {{}, 1435781451781, std::numeric_limits<double>::quiet_NaN()}};
  EXPECT_EQ(Data(v),
            R"({"resultType":"vector","result":[)"
            R"({"metric":{"__name__":"up","job":"a"},"value":[1435781451.781,"1"]},)"
            R"({"metric":{},"value":[1435781451.781,"NaN"]}]})");
  EXPECT_EQ(Data(promql::Vector{}), R"({"resultType":"vector","result":[]})");
}

TEST(ApiJsonTest, MatrixShape) {
  promql::Matrix m = {{{{"a", "1"}}, {{1000, 1}, {2500, 0.5}}}, {{{"a", "2"}}, {}}};
  EXPECT_EQ(Data(m), R"({"resultType":"matrix","result":[)"
                     R"({"metric":{"a":"1"},"values":[[1,"1"],[2.500,"0.5"]]},)"
                     R"({"metric":{"a":"2"},"values":[]}]})");
}

TEST(ApiJsonTest, ScalarAndStringShapes) {
  EXPECT_EQ(Data(promql::Scalar{1435781451780, 1e-7}),
            R"({"resultType":"scalar","result":[1435781451.78,"0.0000001"]})");
  EXPECT_EQ(Data(promql::String{1000, "a\"b"}),
            R"({"resultType":"string","result":[1,"a\"b"]})");
}

TEST(ApiTimeTest, UnixSecondsRoundToMilliseconds) {
  EXPECT_EQ(Time("1435781451.781"), "1435781451781");
  EXPECT_EQ(Time("1435781451"), "1435781451000");
  EXPECT_EQ(Time("+5"), "5000");
  EXPECT_EQ(Time("1.5"), "1500");
  EXPECT_EQ(Time("-1.5"), "-1500");
  EXPECT_EQ(Time("0.0004"), "0");
  EXPECT_EQ(Time("0.0006"), "1");
  EXPECT_EQ(Time("1e3"), "1000000");
}

TEST(ApiTimeTest, Rfc3339WithFractionAndOffset) {
  EXPECT_EQ(Time("2015-07-01T20:10:51.781Z"), "1435781451781");
  EXPECT_EQ(Time("2015-07-01T20:10:51Z"), "1435781451000");
  EXPECT_EQ(Time("2015-07-01T22:10:51.781+02:00"), "1435781451781");
  EXPECT_EQ(Time("2015-07-01T19:10:51.781-01:00"), "1435781451781");
  EXPECT_EQ(Time("2015-07-01T20:10:51.781999999Z"), "1435781451781");  // Truncated.
  EXPECT_EQ(Time("1969-12-31T23:59:59.5Z"), "-500");
  EXPECT_EQ(Time("2016-02-29T00:00:00Z"), "1456704000000");
}

TEST(ApiTimeTest, PrometheusMinAndMaxTimes) {
  EXPECT_EQ(Time("-292273086-05-16T16:47:06Z"), std::to_string(kApiMinTimeMs));
  EXPECT_EQ(Time("292277025-08-18T07:12:54.999999999Z"), std::to_string(kApiMaxTimeMs));
}

TEST(ApiTimeTest, RefusesOtherText) {
  EXPECT_EQ(Time(""), R"(cannot parse "" to a valid timestamp)");
  EXPECT_EQ(Time("now"), R"(cannot parse "now" to a valid timestamp)");
  EXPECT_EQ(Time("2015-02-29T00:00:00Z"), R"(cannot parse "2015-02-29T00:00:00Z" to a valid timestamp)");
  EXPECT_EQ(Time("2015-07-01 20:10:51Z"), R"(cannot parse "2015-07-01 20:10:51Z" to a valid timestamp)");
  EXPECT_EQ(Time("2015-07-01T20:10:51"), R"(cannot parse "2015-07-01T20:10:51" to a valid timestamp)");
  EXPECT_EQ(Time(" 1"), R"(cannot parse " 1" to a valid timestamp)");
  EXPECT_EQ(Time("1e400"), R"(cannot parse "1e400" to a valid timestamp)");
}

TEST(ApiDurationTest, FloatSecondsOrPrometheusDuration) {
  EXPECT_EQ(Duration("15"), "15000000000ns");
  EXPECT_EQ(Duration("0.5"), "500000000ns");
  EXPECT_EQ(Duration("-1"), "-1000000000ns");
  EXPECT_EQ(Duration("1m30s"), "90000000000ns");
  EXPECT_EQ(Duration("250ms"), "250000000ns");
  EXPECT_EQ(Duration("0"), "0ns");
}

TEST(ApiDurationTest, RefusesOtherTextAndOverflow) {
  EXPECT_EQ(Duration(""), R"(cannot parse "" to a valid duration)");
  EXPECT_EQ(Duration("5 minutes"), R"(cannot parse "5 minutes" to a valid duration)");
  EXPECT_EQ(Duration("1e10"), R"(cannot parse "1e10" to a valid duration. It overflows int64)");
}

}  // namespace
}  // namespace vitals::collector
