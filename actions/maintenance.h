#pragma once

// Maintenance windows: when a service (or one of its modules) is deliberately
// degraded, read-only or down, so alerts about it are expected. This file is
// the schedule arithmetic only: which occurrences a window has, which one is
// active at a given instant, and the operator edits (extend, cancel). Every
// function is pure: the instant it is asked about is a parameter, no clock is
// read. All functions are thread-safe (the time zone database is loaded once,
// on first use, from the system tzdata in /usr/share/zoneinfo).
//
// Recurrence rule. A recurring window repeats the LOCAL wall-clock time of
// start_ms in time_zone: every local day (kDaily) or on each listed local
// weekday (kWeekly), from the local date of start_ms on.
//   - Across DST changes the local time is kept: 02:00 in Europe/Berlin stays
//     02:00 local, so the UTC start moves by an hour.
//   - A local start time that does not exist on a day (spring-forward gap)
//     starts at the first instant after the gap: 02:30 on the day Berlin skips
//     from 02:00 to 03:00 starts at 03:00 local (01:00 UTC).
//   - A local start time that exists twice (fall-back) starts at the first of
//     the two instants: 02:30 on the day Berlin goes back from 03:00 to 02:00
//     starts at 02:30 CEST (00:30 UTC).
//   - The occurrence on the local date of start_ms starts at start_ms itself,
//     even when start_ms is the second of two ambiguous instants.
//   - Duration is elapsed (absolute) time: a 1h occurrence at 01:30 local on a
//     fall-back day ends at 01:30 + 1h of real time, whatever the wall says.
// Future instants use the transitions the system tzdata lists; Debian's files
// list them up to 2037, so later years are computed as if without DST.
//
// Cancelling (see Cancel): a window cancelled before any occurrence started
// has `cancelled` set and no occurrences at all. A window cancelled later
// keeps its past occurrences for history: until_ms is set to the instant of
// cancellation and an occurrence active at that instant is cut short to end
// there (a negative entry in `extensions`), so nothing is active from then on.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vitals::actions {

// How a window repeats.
enum class Recurrence {
  kOnce,    // A single occurrence at start_ms.
  kDaily,   // Every local day at the local time of start_ms.
  kWeekly,  // On the listed local weekdays at the local time of start_ms.
};

// A scheduled maintenance window. A plain value: Validate says whether it is
// well formed; the functions below REQUIRE a window that validates.
struct MaintenanceWindow {
  // Identifies the window to operators and in the audit log; assigned by
  // whoever stores windows (not checked here).
  std::string id;
  // The service under maintenance. Required.
  std::string service;
  // The module of the service under maintenance; "" = the whole service.
  std::string module;
  // What the service does meanwhile: "degraded", "read_only" or "maintenance".
  std::string mode = "maintenance";
  // Why, in the operator's words; shown with alerts the window covers.
  std::string reason;
  // Unix ms of the first occurrence; for recurring windows also the local
  // time of day (in time_zone) every occurrence starts at. For a weekly window
  // whose weekdays omit the local weekday of start_ms, the first occurrence is
  // on the next listed weekday.
  int64_t start_ms = 0;
  // How long each occurrence lasts, in elapsed time. Positive.
  std::chrono::milliseconds duration{0};
  // Whether and how the window repeats.
  Recurrence recurrence = Recurrence::kOnce;
  // kWeekly only: local weekdays the window occurs on, 0 = Sunday .. 6 =
  // Saturday, in time_zone; empty = the local weekday of start_ms. Order and
  // repeats do not matter. Must be empty for other recurrences.
  std::vector<int> weekdays;
  // IANA time zone name ("Europe/Berlin") the recurrence follows.
  std::string time_zone = "UTC";
  // Unix ms; no occurrence starts at or after it. 0 = forever. When set it is
  // after start_ms.
  int64_t until_ms = 0;
  // Occurrence start (Unix ms) -> time added to that occurrence's end. Extend
  // adds positive entries; Cancel may add a negative one that cuts the active
  // occurrence short. An occurrence always keeps a positive length.
  std::map<int64_t, std::chrono::milliseconds> extensions;
  // Starts (Unix ms) of occurrences that were cancelled one by one; they are
  // skipped as if they were not scheduled.
  std::set<int64_t> cancelled_occurrences;
  // The window was withdrawn before any occurrence started: it has none.
  bool cancelled = false;
  // Who scheduled the window (operator or API client name), for the audit log.
  std::string created_by;
  // Unix ms at which the window was scheduled; 0 = unknown.
  int64_t created_ms = 0;
};

// One occurrence of a window: the half-open interval [start_ms, end_ms).
struct Occurrence {
  int64_t start_ms;  // Unix ms, inclusive.
  int64_t end_ms;    // Unix ms, exclusive: start + duration + extension.

  bool operator==(const Occurrence&) const = default;
};

// OK if `window` is well formed; otherwise InvalidArgument whose message
// starts with the offending field ("time_zone: unknown time zone
// \"Mars/Olympus\""): empty service; mode not one of the three; duration not
// positive or over 100 years; start_ms outside 1970..9999; unknown time zone;
// weekdays out of 0..6 or given for a window that is not weekly; until_ms not
// after start_ms; an extension that would leave an occurrence without positive
// length.
Status Validate(const MaintenanceWindow& window);

// The occurrences of `window` overlapping [from_ms, to_ms) (start < to_ms and
// end > from_ms), in start order, at most `limit` of them. Skips cancelled
// occurrences; none if the window is cancelled. Starts enumerating near
// from_ms, so the cost does not grow with the window's age; it grows with
// (duration + longest extension) / period when occurrences overlap.
// REQUIRES: Validate(window).ok().
std::vector<Occurrence> Occurrences(const MaintenanceWindow& window, int64_t from_ms, int64_t to_ms,
                                    size_t limit = 100);

// The occurrence covering now_ms (start_ms <= now_ms < end_ms), if any. When
// occurrences overlap (a duration or extension longer than the period), the
// one that started last.
// REQUIRES: Validate(window).ok().
std::optional<Occurrence> ActiveAt(const MaintenanceWindow& window, int64_t now_ms);

// The first occurrence starting strictly after now_ms, if any.
// REQUIRES: Validate(window).ok().
std::optional<Occurrence> NextAfter(const MaintenanceWindow& window, int64_t now_ms);

// Lengthens the occurrence active at now_ms by `by` (adds to its entry in
// window->extensions). InvalidArgument if `by` is not positive or the
// occurrence would exceed 100 years; FailedPrecondition if no occurrence is
// active at now_ms. On error the window is unchanged.
// REQUIRES: window != nullptr and Validate(*window).ok().
Status Extend(MaintenanceWindow* window, int64_t now_ms, std::chrono::milliseconds by);

// Cancels the whole window (one-off or recurring) as of now_ms. If no
// occurrence has started before now_ms, sets `cancelled`: the window has no
// occurrences. Otherwise past occurrences stay listable: until_ms becomes
// now_ms (or stays, if earlier) and an occurrence active at now_ms is cut
// short to end at now_ms, so ActiveAt returns nothing from now_ms on and
// NextAfter nothing at all. Cancelling again changes nothing that matters.
// The result still validates.
// REQUIRES: window != nullptr and Validate(*window).ok().
void Cancel(MaintenanceWindow* window, int64_t now_ms);

// The window as a JSON object with snake_case fields named like the struct's:
// times as numbers of Unix ms (start_ms, until_ms, created_ms), duration as a
// Prometheus duration string ("1h30m"), recurrence as "once", "daily" or
// "weekly", weekdays as ["mon", "thu"], extensions as
// [{"start_ms": N, "extra": "30m"}] ("-10m" when cut short),
// cancelled_occurrences as [N, ...]. Fields at their default are written too.
// Does not require a valid window.
nlohmann::json MaintenanceWindowToJson(const MaintenanceWindow& window);

// Reads what MaintenanceWindowToJson writes. service, start_ms and duration
// are required; other fields default as in the struct. InvalidArgument naming
// the field on a missing or mistyped field, an unknown field, or a window that
// does not Validate.
Result<MaintenanceWindow> MaintenanceWindowFromJson(const nlohmann::json& json);

// Parses an instant an operator typed, into Unix ms:
//   - RFC 3339 with an offset or Z: "2026-11-22T02:00:00Z",
//     "2026-11-22T02:00:00.250+01:00" (time_zone not consulted);
//   - a local date-time without offset, in time_zone: "2026-11-22T02:00",
//     "2026-11-22 02:00", "2026-11-22 02:00:30"; a time inside a
//     spring-forward gap gives the first instant after the gap, an ambiguous
//     one the earlier instant;
//   - Unix seconds, optionally with a fraction: "1763776800", "1763776800.5".
// Fractions beyond milliseconds are truncated. InvalidArgument on anything
// else, including an unknown time zone (checked whatever the form).
Result<int64_t> ParseTimeInZone(std::string_view text, std::string_view time_zone);

// Parses a weekday list: comma-separated names ("mon,thu", "sun", "Monday"),
// case-insensitive, three-letter or full, and ranges that may wrap
// ("mon-fri", "fri-mon"). Returns 0 = Sunday .. 6 = Saturday, ascending,
// without repeats. InvalidArgument on an empty list or an unknown name.
Result<std::vector<int>> ParseWeekdays(std::string_view text);

// "mon", "tue", ... for 0 .. 6. REQUIRES: 0 <= weekday <= 6.
std::string_view WeekdayName(int weekday);

}  // namespace vitals::actions
