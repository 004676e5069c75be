#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vitals {

// Parses a duration as Prometheus writes it: one or more <number><unit> with
// units y, w, d, h, m, s, ms in that order ("1h30m", "500ms", "15d"). "0" is
// accepted. InvalidArgument on anything else.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest Prometheus rendering of `d` ("1h30m", "500ms", "0s").
std::string FormatDuration(std::chrono::milliseconds d);

// Parses a size: an integer with an optional unit B, KB, MB, GB, TB (powers of
// 1000) or KiB, MiB, GiB, TiB (powers of 1024). "256MiB" -> 268435456.
Result<uint64_t> ParseBytes(std::string_view text);

// A Unix time in milliseconds as RFC 3339 in UTC with exactly three fraction
// digits: "2026-11-22T10:00:00.000Z".
std::string FormatRfc3339Millis(int64_t unix_ms);

}  // namespace vitals
