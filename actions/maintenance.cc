#include "actions/maintenance.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/units.h"

namespace vitals::actions {
namespace {

using Ms = std::chrono::milliseconds;
using SysMs = date::sys_time<Ms>;
using LocalMs = date::local_time<Ms>;

// 9999-12-31T23:59:59.999Z: the last instant a window may start at, so that
// day arithmetic and start + duration + extension never overflow.
constexpr int64_t kMaxTimeMs = 253'402'300'799'999;
// The longest an occurrence may last, extensions included.
constexpr Ms kMaxDuration{100LL * 365 * 24 * 3600 * 1000};

constexpr std::array<std::string_view, 7> kWeekdayShort = {"sun", "mon", "tue", "wed",
                                                           "thu", "fri", "sat"};
constexpr std::array<std::string_view, 7> kWeekdayLong = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};

Result<const date::time_zone*> FindZone(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("time zone must not be empty");
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return Status::InvalidArgument("unknown time zone \"" + std::string(name) + "\"");
  }
}

// A local wall-clock time as an instant, by the documented rule: a time in a
// spring-forward gap becomes the first instant after the gap; an ambiguous
// one the earlier instant.
int64_t ResolveLocal(const date::time_zone& zone, LocalMs local) {
  const date::local_info info = zone.get_info(date::floor<std::chrono::seconds>(local));
  if (info.result == date::local_info::nonexistent) {
    return std::chrono::time_point_cast<Ms>(info.second.begin).time_since_epoch().count();
  }
  // Unique, or ambiguous: the first offset gives the earlier instant.
  return (local.time_since_epoch() - info.first.offset).count();
}

date::local_days LocalDay(const date::time_zone& zone, int64_t ms) {
  return date::floor<date::days>(zone.to_local(SysMs{Ms{ms}}));
}

// The derived form of a valid window that the enumeration works from.
class Schedule {
 public:
  explicit Schedule(const MaintenanceWindow& window) : window_(window) {
    Result<const date::time_zone*> zone = FindZone(window.time_zone);
    if (!zone.ok()) std::abort();  // REQUIRES: the window validates.
    zone_ = *zone;
    const LocalMs local_start = zone_->to_local(SysMs{Ms{window.start_ms}});
    first_day_ = date::floor<date::days>(local_start);
    time_of_day_ = local_start - first_day_;
    if (window.weekdays.empty()) {
      weekday_mask_ = 1u << date::weekday(first_day_).c_encoding();
    }
    for (int d : window.weekdays) weekday_mask_ |= 1u << d;
    for (const auto& [start, extra] : window.extensions) {
      longest_extension_ = std::max(longest_extension_, extra);
    }
  }

  // Calls `fn` with the start of each non-cancelled occurrence on or after
  // local day `from_day`, in order, until it returns false or the schedule
  // ends (until_ms, or the year 9999).
  void ForEachStart(date::local_days from_day, const std::function<bool(int64_t)>& fn) const {
    if (window_.recurrence == Recurrence::kOnce) {
      if (Allowed(window_.start_ms)) fn(window_.start_ms);
      return;
    }
    for (date::local_days day = std::max(first_day_, from_day);; day += date::days{1}) {
      if (!OccursOn(day)) continue;
      const int64_t start = StartOn(day);
      if (start > kMaxTimeMs || (window_.until_ms != 0 && start >= window_.until_ms)) return;
      if (window_.cancelled_occurrences.count(start) != 0) continue;
      if (!fn(start)) return;
    }
  }

  // The local day to start enumerating from so that no occurrence starting
  // after `ms` is missed. One day early: around a fall-back change the local
  // date of an instant can be a day before the date its occurrence belongs to.
  date::local_days DayBefore(int64_t ms) const {
    return LocalDay(*zone_, std::clamp<int64_t>(ms, 0, kMaxTimeMs)) - date::days{1};
  }

  Occurrence At(int64_t start) const {
    auto it = window_.extensions.find(start);
    const Ms extra = it == window_.extensions.end() ? Ms{0} : it->second;
    return {start, start + (window_.duration + extra).count()};
  }

  // Starts earlier than this cannot reach `ms`.
  int64_t EarliestStartReaching(int64_t ms) const {
    return std::max(window_.start_ms, ms - (window_.duration + longest_extension_).count());
  }

 private:
  bool Allowed(int64_t start) const {
    return (window_.until_ms == 0 || start < window_.until_ms) &&
           window_.cancelled_occurrences.count(start) == 0;
  }

  bool OccursOn(date::local_days day) const {
    return window_.recurrence == Recurrence::kDaily ||
           (weekday_mask_ & (1u << date::weekday(day).c_encoding())) != 0;
  }

  int64_t StartOn(date::local_days day) const {
    // The first day's occurrence is start_ms itself, even if start_ms is the
    // later of two ambiguous instants.
    if (day == first_day_) return window_.start_ms;
    return ResolveLocal(*zone_, LocalMs{day} + time_of_day_);
  }

  const MaintenanceWindow& window_;
  const date::time_zone* zone_ = nullptr;
  date::local_days first_day_;
  Ms time_of_day_{0};
  unsigned weekday_mask_ = 0;  // Bit d set: occurs on weekday d (0 = Sunday).
  Ms longest_extension_{0};    // The largest extension, or 0.
};

std::string_view RecurrenceName(Recurrence r) {
  switch (r) {
    case Recurrence::kOnce:
      return "once";
    case Recurrence::kDaily:
      return "daily";
    case Recurrence::kWeekly:
      return "weekly";
  }
  return "";
}

Status Invalid(std::string_view field, std::string_view message) {
  return Status::InvalidArgument(std::string(field) + ": " + std::string(message));
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

std::string_view WeekdayName(int weekday) { return kWeekdayShort.at(weekday); }

Status Validate(const MaintenanceWindow& w) {
  if (w.service.empty()) return Invalid("service", "must not be empty");
  if (w.mode != "degraded" && w.mode != "read_only" && w.mode != "maintenance") {
    return Invalid("mode", "must be degraded, read_only or maintenance, not " + Quoted(w.mode));
  }
  if (w.start_ms < 0 || w.start_ms > kMaxTimeMs) {
    return Invalid("start_ms", "must be between 1970 and 9999, not " + std::to_string(w.start_ms));
  }
  if (w.duration <= Ms{0}) {
    return Invalid("duration", "must be positive, not " + FormatDuration(w.duration));
  }
  if (w.duration > kMaxDuration) return Invalid("duration", "must be at most 100y");
  if (RecurrenceName(w.recurrence).empty()) return Invalid("recurrence", "unknown recurrence");
  Result<const date::time_zone*> zone = FindZone(w.time_zone);
  if (!zone.ok()) return Invalid("time_zone", zone.status().message());
  if (!w.weekdays.empty() && w.recurrence != Recurrence::kWeekly) {
    return Invalid("weekdays", "only weekly windows list weekdays");
  }
  for (int d : w.weekdays) {
    if (d < 0 || d > 6) {
      return Invalid("weekdays",
                     std::to_string(d) + " is not a weekday (0 = Sunday .. 6 = Saturday)");
    }
  }
  if (w.until_ms != 0 && w.until_ms <= w.start_ms) {
    return Invalid("until_ms", "must be after start_ms");
  }
  for (const auto& [start, extra] : w.extensions) {
    const Ms total = w.duration + extra;
    if (total <= Ms{0}) {
      return Invalid("extensions",
                     "the occurrence at " + std::to_string(start) + " would end before it starts");
    }
    if (total > kMaxDuration) {
      return Invalid("extensions",
                     "the occurrence at " + std::to_string(start) + " would last over 100y");
    }
  }
  return Status::Ok();
}

std::vector<Occurrence> Occurrences(const MaintenanceWindow& window, int64_t from_ms, int64_t to_ms,
                                    size_t limit) {
  std::vector<Occurrence> out;
  if (window.cancelled || limit == 0 || from_ms >= to_ms || to_ms <= window.start_ms) return out;
  // Every occurrence ends after start_ms, so this changes no answer; it keeps
  // the arithmetic below in range.
  from_ms = std::max(from_ms, window.start_ms);
  const Schedule schedule(window);
  schedule.ForEachStart(schedule.DayBefore(schedule.EarliestStartReaching(from_ms)),
                        [&](int64_t start) {
                          if (start >= to_ms) return false;
                          const Occurrence occurrence = schedule.At(start);
                          if (occurrence.end_ms > from_ms) out.push_back(occurrence);
                          return out.size() < limit;
                        });
  return out;
}

namespace {

// The occurrences covering now_ms (start_ms <= now_ms < end_ms), in start order.
std::vector<Occurrence> Covering(const MaintenanceWindow& window, int64_t now_ms) {
  if (now_ms == std::numeric_limits<int64_t>::max()) return {};
  return Occurrences(window, now_ms, now_ms + 1, std::numeric_limits<size_t>::max());
}

}  // namespace

std::optional<Occurrence> ActiveAt(const MaintenanceWindow& window, int64_t now_ms) {
  std::vector<Occurrence> covering = Covering(window, now_ms);
  if (covering.empty()) return std::nullopt;
  return covering.back();
}

std::optional<Occurrence> NextAfter(const MaintenanceWindow& window, int64_t now_ms) {
  std::optional<Occurrence> next;
  if (window.cancelled) return next;
  const Schedule schedule(window);
  schedule.ForEachStart(schedule.DayBefore(std::max(now_ms, window.start_ms)), [&](int64_t start) {
    if (start <= now_ms) return true;
    next = schedule.At(start);
    return false;
  });
  return next;
}

Status Extend(MaintenanceWindow* window, int64_t now_ms, Ms by) {
  if (by <= Ms{0}) return Invalid("by", "must be positive, not " + FormatDuration(by));
  const std::optional<Occurrence> active = ActiveAt(*window, now_ms);
  if (!active) {
    return Status::FailedPrecondition("maintenance window " + Quoted(window->id) +
                                      " has no occurrence active at " + std::to_string(now_ms));
  }
  const Ms current{active->end_ms - active->start_ms};
  if (by > kMaxDuration - current) {
    return Invalid("by", "the occurrence would last over 100y");
  }
  window->extensions[active->start_ms] += by;
  return Status::Ok();
}

void Cancel(MaintenanceWindow* window, int64_t now_ms) {
  if (window->cancelled) return;
  if (Occurrences(*window, window->start_ms, now_ms, 1).empty()) {
    window->cancelled = true;  // Nothing has started: withdraw it entirely.
    return;
  }
  // Something started before now_ms, so now_ms > start_ms and the window keeps
  // validating with until_ms = now_ms.
  for (const Occurrence& active : Covering(*window, now_ms)) {
    // One starting exactly at now_ms is dropped by until_ms below instead.
    if (active.start_ms < now_ms) {
      window->extensions[active.start_ms] -= Ms{active.end_ms - now_ms};
    }
  }
  if (window->until_ms == 0 || window->until_ms > now_ms) window->until_ms = now_ms;
}

// JSON.

namespace {

Status CheckNoUnknownFields(const nlohmann::json& object, std::string_view where,
                            const std::function<bool(std::string_view)>& known) {
  for (const auto& item : object.items()) {
    if (!known(item.key())) {
      return Status::InvalidArgument(std::string(where) + "unknown field " + Quoted(item.key()));
    }
  }
  return Status::Ok();
}

Result<int64_t> ReadInt(const nlohmann::json& value, std::string_view field) {
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(value.get<uint64_t>());
    }
  } else if (value.is_number_integer()) {
    return value.get<int64_t>();
  }
  return Invalid(field, "must be an integer (Unix ms), not " + value.dump());
}

Result<std::string> ReadString(const nlohmann::json& value, std::string_view field) {
  if (!value.is_string()) return Invalid(field, "must be a string, not " + value.dump());
  return value.get<std::string>();
}

// "30m" or "-30m".
Result<Ms> ParseSignedDuration(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  ASSIGN_OR_RETURN(Ms d, ParseDuration(negative ? text.substr(1) : text));
  return negative ? -d : d;
}

Result<Recurrence> ParseRecurrence(std::string_view text) {
  for (Recurrence r : {Recurrence::kOnce, Recurrence::kDaily, Recurrence::kWeekly}) {
    if (text == RecurrenceName(r)) return r;
  }
  return Invalid("recurrence", "must be once, daily or weekly, not " + Quoted(text));
}

Result<int> ParseWeekday(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int d = 0; d < 7; ++d) {
    if (lower == kWeekdayShort[d] || lower == kWeekdayLong[d]) return d;
  }
  return Status::InvalidArgument("unknown weekday " + Quoted(name) +
                                 " (expected sun, mon, tue, wed, thu, fri or sat)");
}

Status ReadExtensions(const nlohmann::json& value, MaintenanceWindow* w) {
  if (!value.is_array()) return Invalid("extensions", "must be an array");
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string where = "extensions[" + std::to_string(i) + "]";
    const nlohmann::json& entry = value[i];
    if (!entry.is_object() || !entry.contains("start_ms") || !entry.contains("extra")) {
      return Invalid(where, "must be an object with start_ms and extra");
    }
    RETURN_IF_ERROR(CheckNoUnknownFields(entry, where + ": ", [](std::string_view key) {
      return key == "start_ms" || key == "extra";
    }));
    ASSIGN_OR_RETURN(int64_t start, ReadInt(entry["start_ms"], where + ".start_ms"));
    ASSIGN_OR_RETURN(std::string text, ReadString(entry["extra"], where + ".extra"));
    Result<Ms> extra = ParseSignedDuration(text);
    if (!extra.ok()) return extra.status().WithContext(where + ".extra");
    w->extensions[start] += *extra;
  }
  return Status::Ok();
}

Status ReadField(std::string_view key, const nlohmann::json& value, MaintenanceWindow* w) {
  const auto read_string = [&](std::string* out) -> Status {
    ASSIGN_OR_RETURN(*out, ReadString(value, key));
    return Status::Ok();
  };
  const auto read_int = [&](int64_t* out) -> Status {
    ASSIGN_OR_RETURN(*out, ReadInt(value, key));
    return Status::Ok();
  };
  if (key == "id") return read_string(&w->id);
  if (key == "service") return read_string(&w->service);
  if (key == "module") return read_string(&w->module);
  if (key == "mode") return read_string(&w->mode);
  if (key == "reason") return read_string(&w->reason);
  if (key == "time_zone") return read_string(&w->time_zone);
  if (key == "created_by") return read_string(&w->created_by);
  if (key == "start_ms") return read_int(&w->start_ms);
  if (key == "until_ms") return read_int(&w->until_ms);
  if (key == "created_ms") return read_int(&w->created_ms);
  if (key == "duration") {
    ASSIGN_OR_RETURN(std::string text, ReadString(value, key));
    Result<Ms> d = ParseDuration(text);
    if (!d.ok()) return d.status().WithContext(key);
    w->duration = *d;
    return Status::Ok();
  }
  if (key == "recurrence") {
    ASSIGN_OR_RETURN(std::string text, ReadString(value, key));
    ASSIGN_OR_RETURN(w->recurrence, ParseRecurrence(text));
    return Status::Ok();
  }
  if (key == "weekdays") {
    if (!value.is_array()) return Invalid(key, "must be an array of weekday names");
    for (const nlohmann::json& name : value) {
      ASSIGN_OR_RETURN(std::string text, ReadString(name, key));
      Result<int> d = ParseWeekday(text);
      if (!d.ok()) return d.status().WithContext(key);
      w->weekdays.push_back(*d);
    }
    return Status::Ok();
  }
  if (key == "extensions") return ReadExtensions(value, w);
  if (key == "cancelled_occurrences") {
    if (!value.is_array()) return Invalid(key, "must be an array of Unix ms");
    for (const nlohmann::json& start : value) {
      ASSIGN_OR_RETURN(int64_t ms, ReadInt(start, key));
      w->cancelled_occurrences.insert(ms);
    }
    return Status::Ok();
  }
  if (key == "cancelled") {
    if (!value.is_boolean()) return Invalid(key, "must be true or false, not " + value.dump());
    w->cancelled = value.get<bool>();
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown field " + Quoted(key));
}

}  // namespace

nlohmann::json MaintenanceWindowToJson(const MaintenanceWindow& w) {
  nlohmann::json weekdays = nlohmann::json::array();
  for (int d : w.weekdays) {
    if (d >= 0 && d <= 6) {
      weekdays.push_back(WeekdayName(d));
    } else {
      weekdays.push_back(d);  // Invalid; written as is so reading it back fails.
    }
  }
  nlohmann::json extensions = nlohmann::json::array();
  for (const auto& [start, extra] : w.extensions) {
    extensions.push_back({{"start_ms", start}, {"extra", FormatDuration(extra)}});
  }
  return {
      {"id", w.id},
      {"service", w.service},
      {"module", w.module},
      {"mode", w.mode},
      {"reason", w.reason},
      {"start_ms", w.start_ms},
      {"duration", FormatDuration(w.duration)},
      {"recurrence", RecurrenceName(w.recurrence)},
      {"weekdays", std::move(weekdays)},
      {"time_zone", w.time_zone},
      {"until_ms", w.until_ms},
      {"extensions", std::move(extensions)},
      {"cancelled_occurrences", w.cancelled_occurrences},
      {"cancelled", w.cancelled},
      {"created_by", w.created_by},
      {"created_ms", w.created_ms},
  };
}

Result<MaintenanceWindow> MaintenanceWindowFromJson(const nlohmann::json& json) {
  if (!json.is_object()) {
    return Status::InvalidArgument("maintenance window must be a JSON object");
  }
  for (std::string_view required : {"service", "start_ms", "duration"}) {
    if (!json.contains(required)) return Invalid(required, "required");
  }
  MaintenanceWindow w;
  for (const auto& item : json.items()) {
    RETURN_IF_ERROR(ReadField(item.key(), item.value(), &w));
  }
  RETURN_IF_ERROR(Validate(w));
  return w;
}

// Times and weekdays as operators type them.

namespace {

Status BadTime(std::string_view text) {
  return Status::InvalidArgument(
      "not a time: " + Quoted(text) +
      " (expected RFC 3339 like 2026-11-22T02:00:00Z, a local date-time like "
      "2026-11-22 02:00, or Unix seconds like 1763776800)");
}

// Reads a text left to right.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ == text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }

  // Exactly `width` decimal digits.
  bool Digits(size_t width, int* out) {
    if (text_.size() - pos_ < width) return false;
    int value = 0;
    for (size_t i = 0; i < width; ++i) {
      const char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    pos_ += width;
    *out = value;
    return true;
  }

  // One or more digits as a fraction of a second, in ms (truncated).
  bool FractionMs(int* out) {
    size_t count = 0;
    int ms = 0;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
      if (count < 3) ms = ms * 10 + (Peek() - '0');
      ++count;
      ++pos_;
    }
    for (size_t i = count; i < 3; ++i) ms *= 10;
    *out = ms;
    return count > 0 && count <= 9;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

bool IsUnixSeconds(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const auto all_digits = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return all_digits(whole) && (dot == std::string_view::npos || all_digits(text.substr(dot + 1)));
}

Result<int64_t> ParseUnixSeconds(std::string_view text) {
  const size_t dot = std::min(text.find('.'), text.size());
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + dot, seconds);
  if (ec != std::errc() || seconds > kMaxTimeMs / 1000) return BadTime(text);
  int ms = 0;
  Cursor fraction(text.substr(std::min(dot + 1, text.size())));
  if (dot < text.size() && !fraction.FractionMs(&ms)) return BadTime(text);
  return seconds * 1000 + ms;
}

}  // namespace

Result<int64_t> ParseTimeInZone(std::string_view text, std::string_view time_zone) {
  Result<const date::time_zone*> zone = FindZone(time_zone);
  if (!zone.ok()) return zone.status();
  if (IsUnixSeconds(text)) return ParseUnixSeconds(text);

  Cursor c(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, ms = 0;
  if (!c.Digits(4, &year) || !c.Consume('-') || !c.Digits(2, &month) || !c.Consume('-') ||
      !c.Digits(2, &day)) {
    return BadTime(text);
  }
  if (!c.Consume('T') && !c.Consume('t') && !c.Consume(' ')) return BadTime(text);
  if (!c.Digits(2, &hour) || !c.Consume(':') || !c.Digits(2, &minute)) return BadTime(text);
  if (c.Consume(':')) {
    if (!c.Digits(2, &second)) return BadTime(text);
    if (c.Consume('.') && !c.FractionMs(&ms)) return BadTime(text);
  }
  const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                                 date::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) {
    return Status::InvalidArgument("not a valid date and time: " + Quoted(text));
  }
  const LocalMs local = LocalMs{date::local_days{ymd}} + std::chrono::hours{hour} +
                        std::chrono::minutes{minute} + std::chrono::seconds{second} + Ms{ms};

  if (c.AtEnd()) return ResolveLocal(**zone, local);
  if (c.Consume('Z') || c.Consume('z')) {
    if (!c.AtEnd()) return BadTime(text);
    return local.time_since_epoch().count();
  }
  const bool negative = c.Peek() == '-';
  if (!c.Consume('+') && !c.Consume('-')) return BadTime(text);
  int offset_hours = 0, offset_minutes = 0;
  if (!c.Digits(2, &offset_hours) || !c.Consume(':') || !c.Digits(2, &offset_minutes) ||
      !c.AtEnd() || offset_hours > 23 || offset_minutes > 59) {
    return BadTime(text);
  }
  const Ms offset = std::chrono::hours{offset_hours} + std::chrono::minutes{offset_minutes};
  return (local.time_since_epoch() - (negative ? -offset : offset)).count();
}

Result<std::vector<int>> ParseWeekdays(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty weekday list");
  unsigned mask = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    std::string_view item = text.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) return Status::InvalidArgument("empty weekday in " + Quoted(text));
    const size_t dash = item.find('-');
    ASSIGN_OR_RETURN(const int first, ParseWeekday(item.substr(0, dash)));
    int last = first;
    if (dash != std::string_view::npos) {
      ASSIGN_OR_RETURN(last, ParseWeekday(item.substr(dash + 1)));
    }
    for (int d = first;; d = (d + 1) % 7) {  // A range may wrap: "fri-mon".
      mask |= 1u << d;
      if (d == last) break;
    }
    pos = comma + 1;
  }
  std::vector<int> days;
  for (int d = 0; d < 7; ++d) {
    if ((mask & (1u << d)) != 0) days.push_back(d);
  }
  return days;
}

}  // namespace vitals::actions
