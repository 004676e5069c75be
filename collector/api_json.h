#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/labels.h"
#include "rules/promql/engine.h"

// JSON spelled byte for byte as Prometheus 2.42's HTTP API writes it (Go's
// encoding/json and the jsoniter encoders Prometheus registers). Appends to a
// std::string, so a large result is one growing buffer and no DOM. Stateless
// and thread-safe.
namespace vitals::collector::json {

// A JSON string literal, escaped as Go's encoding/json does: \" \\ \n \r \t;
// other control characters as \u00XX; <, > and & as \u003c, \u003e, \u0026;
// U+2028 and U+2029 escaped; each invalid UTF-8 byte as \ufffd.
void AppendString(std::string* out, std::string_view text);

// A sample value of a vector or matrix, quoted: "1", "0.25", "1e-07",
// "1e+21", "NaN", "+Inf", "-Inf" (Prometheus's jsonutil.MarshalFloat: the
// shortest round-trip digits, exponent form below 1e-6 and from 1e21).
void AppendSampleValue(std::string* out, double v);

// A sample timestamp (milliseconds) as seconds: 1435781451.781,
// 1435781451.780, 1435781451, -1.5 (Prometheus's jsonutil.MarshalTimestamp:
// always three decimals when there is a fraction).
void AppendTimestamp(std::string* out, int64_t ms);

// A float64 as Go's encoding/json writes a number: shortest round-trip
// digits, exponent form below 1e-6 and from 1e21 ("1e-7", "1.5e+21").
// REQUIRES: v is finite.
void AppendGoNumber(std::string* out, double v);

// strconv.FormatFloat(v, 'f', -1, 64): "1", "0.0000001",
// "123456789012345680000", "NaN", "+Inf", "-Inf".
std::string FormatFloatF(double v);

// A label set as a JSON object in label order: {"__name__":"up","job":"a"}.
void AppendLabels(std::string* out, const Labels& labels);

// The "data" of a query response:
//   {"resultType":"vector","result":[{"metric":{...},"value":[t,"v"]},...]}
// with "scalar" [t,"v"], "string" [t,"s"] and "matrix"
// {"metric":{...},"values":[[t,"v"],...]} as Prometheus writes them.
void AppendQueryData(std::string* out, const promql::Value& value);

// Go's %q quoting of a string, for error messages: "a\"b\n".
std::string GoQuote(std::string_view text);

}  // namespace vitals::collector::json
