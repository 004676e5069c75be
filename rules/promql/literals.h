#pragma once

// Internal to the parser: how Prometheus reads the values of literals.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vitals::promql {

// The value of a string token, quotes included ("...", '...' or `...`), with
// Go's escapes decoded. REQUIRES: the lexer accepted the token.
std::string Unquote(std::string_view token);

// A number token read as Prometheus does: Go's strconv.ParseInt(s, 0, 64)
// (so 0x1f is hex and 010 is octal), else strconv.ParseFloat. nullopt and
// Go's error text in `error` on failure.
std::optional<double> ParseNumber(std::string_view text, std::string* error);

// Seconds to milliseconds as Go's int64(math.Round(ts * 1000)) on amd64,
// where a value out of int64's range becomes the minimum.
int64_t ToMillis(double seconds);

// Turns Matcher::Create's regex error (RE2's wording) into Go's
// "error parsing regexp: <what>: `<where>`" that Prometheus users see.
std::string RegexErrorMessage(const std::string& matcher_message);

}  // namespace vitals::promql
