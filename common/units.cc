#include "common/units.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <limits>
#include <utility>

namespace vitals {
namespace {

struct Unit {
  std::string_view name;
  int64_t millis;
};

// In the order Prometheus requires them to appear.
constexpr std::array<Unit, 7> kDurationUnits = {{
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

Status BadDuration(std::string_view text) {
  return Status::InvalidArgument("not a valid duration: \"" + std::string(text) +
                                 "\" (expected e.g. 500ms, 15s, 5m, 1h, 15d)");
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return BadDuration(text);
  int64_t total = 0;
  size_t next_unit = 0;  // Units must appear in decreasing order, each at most once.
  size_t pos = 0;
  while (pos < text.size()) {
    // from_chars would accept a sign; Prometheus durations are unsigned.
    if (text[pos] < '0' || text[pos] > '9') return BadDuration(text);
    int64_t number = 0;
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), number);
    if (ec != std::errc()) return BadDuration(text);
    pos = end - text.data();
    size_t unit_end = pos;
    while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z') ++unit_end;
    std::string_view unit = text.substr(pos, unit_end - pos);
    size_t u = next_unit;
    while (u < kDurationUnits.size() && kDurationUnits[u].name != unit) ++u;
    if (u == kDurationUnits.size()) return BadDuration(text);
    if (number > (std::numeric_limits<int64_t>::max() - total) / kDurationUnits[u].millis) {
      return BadDuration(text);
    }
    total += number * kDurationUnits[u].millis;
    next_unit = u + 1;
    pos = unit_end;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const Unit& u : kDurationUnits) {
    // As Prometheus does, use years and weeks only when they divide exactly:
    // "90d" reads better than "12w6d".
    const bool whole_only = u.name == "y" || u.name == "w";
    if (ms >= u.millis && (!whole_only || ms % u.millis == 0)) {
      out += std::to_string(ms / u.millis);
      out += u.name;
      ms %= u.millis;
    }
  }
  return out;
}

Result<uint64_t> ParseBytes(std::string_view text) {
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) {
    return Status::InvalidArgument("not a valid size: \"" + std::string(text) +
                                   "\" (expected e.g. 512KiB, 256MiB, 1GB)");
  }
  std::string_view unit(end, text.data() + text.size() - end);
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 10> kUnits = {{
      {"", 1},
      {"B", 1},
      {"KB", 1000ULL},
      {"MB", 1000ULL * 1000},
      {"GB", 1000ULL * 1000 * 1000},
      {"TB", 1000ULL * 1000 * 1000 * 1000},
      {"KiB", 1ULL << 10},
      {"MiB", 1ULL << 20},
      {"GiB", 1ULL << 30},
      {"TiB", 1ULL << 40},
  }};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      if (number > std::numeric_limits<uint64_t>::max() / factor) break;
      return number * factor;
    }
  }
  return Status::InvalidArgument("not a valid size: \"" + std::string(text) +
                                 "\" (expected e.g. 512KiB, 256MiB, 1GB)");
}

std::string FormatRfc3339Millis(int64_t unix_ms) {
  // Floor division, so times before 1970 keep a non-negative fraction.
  int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  int millis = static_cast<int>(unix_ms - secs * 1000);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", millis);
  return buf;
}

}  // namespace vitals
