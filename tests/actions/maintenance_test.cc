#include "actions/maintenance.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace vitals::actions {

// Occurrences print as UTC intervals so a failing comparison reads as times.
void PrintTo(const Occurrence& o, std::ostream* os);

namespace {

using namespace std::chrono_literals;

// Unix ms of a UTC calendar time, through the C library's timegm: independent
// of the code under test. Every expected instant below is a UTC time worked
// out by hand from the zone's offset on that day.
int64_t Utc(int year, int month, int day, int hour, int minute, int second = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string UtcText(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string text = buf;
  if (ms % 1000 != 0) text += "." + std::to_string(ms % 1000);
  return text + "Z";
}

Occurrence Occ(int64_t start_ms, std::chrono::milliseconds length) {
  return {start_ms, start_ms + length.count()};
}

MaintenanceWindow OneOff(int64_t start_ms, std::chrono::milliseconds duration) {
  MaintenanceWindow w;
  w.id = "mw-1";
  w.service = "payments";
  w.start_ms = start_ms;
  w.duration = duration;
  return w;
}

MaintenanceWindow Daily(int64_t start_ms, std::chrono::milliseconds duration,
                        std::string time_zone) {
  MaintenanceWindow w = OneOff(start_ms, duration);
  w.recurrence = Recurrence::kDaily;
  w.time_zone = std::move(time_zone);
  return w;
}

MaintenanceWindow Weekly(int64_t start_ms, std::chrono::milliseconds duration,
                         std::string time_zone, std::vector<int> weekdays) {
  MaintenanceWindow w = Daily(start_ms, duration, std::move(time_zone));
  w.recurrence = Recurrence::kWeekly;
  w.weekdays = std::move(weekdays);
  return w;
}

// The error as text, or "OK".
std::string Error(const Status& status) { return status.ToString(); }

TEST(UtcHelperTest, AgreesWithKnownUnixTimes) {
  EXPECT_EQ(Utc(2026, 1, 1, 0, 0), 1'767'225'600'000);
  EXPECT_EQ(Utc(2026, 3, 29, 1, 0), 1'774'746'000'000);
  EXPECT_EQ(Utc(2023, 6, 1, 20, 0), 1'685'649'600'000);
}

// One-off windows.

TEST(MaintenanceWindowTest, OneOffIsActiveFromStartInclusiveToEndExclusive) {
  const int64_t start = Utc(2026, 11, 22, 2, 0);
  const MaintenanceWindow w = OneOff(start, 1h);
  ASSERT_EQ(Error(Validate(w)), "OK");

  EXPECT_EQ(ActiveAt(w, start - 1), std::nullopt);
  EXPECT_EQ(ActiveAt(w, start), Occ(start, 1h));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 11, 22, 2, 59, 59) + 999), Occ(start, 1h));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 11, 22, 3, 0)), std::nullopt);
}

TEST(MaintenanceWindowTest, OneOffNextAfterIsStrictlyAfter) {
  const int64_t start = Utc(2026, 11, 22, 2, 0);
  const MaintenanceWindow w = OneOff(start, 1h);
  EXPECT_EQ(NextAfter(w, start - 1), Occ(start, 1h));
  EXPECT_EQ(NextAfter(w, start), std::nullopt);
  EXPECT_EQ(NextAfter(w, Utc(2027, 1, 1, 0, 0)), std::nullopt);
}

TEST(MaintenanceWindowTest, OneOffOccurrencesOverlappingHalfOpenRange) {
  const int64_t start = Utc(2026, 11, 22, 2, 0);
  const int64_t end = Utc(2026, 11, 22, 3, 0);
  const MaintenanceWindow w = OneOff(start, 1h);
  EXPECT_EQ(Occurrences(w, start + 30 * 60'000, end + 3'600'000),
            std::vector<Occurrence>{Occ(start, 1h)});
  EXPECT_EQ(Occurrences(w, start - 3'600'000, start + 1), std::vector<Occurrence>{Occ(start, 1h)});
  EXPECT_TRUE(Occurrences(w, start - 3'600'000, start).empty());  // Ends where it starts.
  EXPECT_TRUE(Occurrences(w, end, end + 3'600'000).empty());      // Starts where it ends.
  EXPECT_TRUE(Occurrences(w, start, end, /*limit=*/0).empty());
}

// Daily windows in Europe/Berlin across 2026's DST changes: CET is UTC+1,
// CEST UTC+2; clocks go 02:00 -> 03:00 on 2026-03-29 and 03:00 -> 02:00 on
// 2026-10-25.

TEST(MaintenanceWindowTest, DailyKeepsLocalTimeAcrossSpringForwardAndStartsAfterTheGap) {
  // 02:30 CET on 2026-03-27 = 01:30Z.
  const MaintenanceWindow w = Daily(Utc(2026, 3, 27, 1, 30), 1h, "Europe/Berlin");
  ASSERT_EQ(Error(Validate(w)), "OK");
  EXPECT_EQ(Occurrences(w, Utc(2026, 3, 27, 0, 0), Utc(2026, 3, 31, 0, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 3, 27, 1, 30), 1h),  // 02:30 CET
                Occ(Utc(2026, 3, 28, 1, 30), 1h),  // 02:30 CET
                Occ(Utc(2026, 3, 29, 1, 0), 1h),   // 02:30 does not exist: 03:00 CEST
                Occ(Utc(2026, 3, 30, 0, 30), 1h),  // 02:30 CEST
            }));
}

TEST(MaintenanceWindowTest, DailyDurationIsElapsedTimeOnTheGapDay) {
  const MaintenanceWindow w = Daily(Utc(2026, 3, 27, 1, 30), 1h, "Europe/Berlin");
  // The gap-day occurrence runs 03:00-04:00 CEST = 01:00Z-02:00Z.
  EXPECT_EQ(ActiveAt(w, Utc(2026, 3, 29, 0, 59)), std::nullopt);
  EXPECT_EQ(ActiveAt(w, Utc(2026, 3, 29, 1, 0)), Occ(Utc(2026, 3, 29, 1, 0), 1h));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 3, 29, 2, 0)), std::nullopt);
}

TEST(MaintenanceWindowTest, DailyKeepsLocalTimeAcrossFallBack) {
  // 01:00 CEST on 2026-10-23 = 2026-10-22T23:00Z; 01:00 is not ambiguous.
  const MaintenanceWindow w = Daily(Utc(2026, 10, 22, 23, 0), 30min, "Europe/Berlin");
  EXPECT_EQ(Occurrences(w, Utc(2026, 10, 23, 0, 0), Utc(2026, 10, 27, 12, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 10, 23, 23, 0), 30min),  // 10-24 01:00 CEST
                Occ(Utc(2026, 10, 24, 23, 0), 30min),  // 10-25 01:00 CEST
                Occ(Utc(2026, 10, 26, 0, 0), 30min),   // 10-26 01:00 CET
                Occ(Utc(2026, 10, 27, 0, 0), 30min),   // 10-27 01:00 CET
            }));
}

TEST(MaintenanceWindowTest, DailyAmbiguousLocalTimeStartsAtTheEarlierInstant) {
  // 02:30 CEST on 2026-10-24 = 00:30Z.
  const MaintenanceWindow w = Daily(Utc(2026, 10, 24, 0, 30), 1h, "Europe/Berlin");
  EXPECT_EQ(Occurrences(w, Utc(2026, 10, 24, 0, 0), Utc(2026, 10, 27, 0, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 10, 24, 0, 30), 1h),  // 02:30 CEST
                Occ(Utc(2026, 10, 25, 0, 30), 1h),  // 02:30 twice: the first, CEST
                Occ(Utc(2026, 10, 26, 1, 30), 1h),  // 02:30 CET
            }));
}

TEST(MaintenanceWindowTest, DailyDurationIsElapsedTimeAcrossTheRepeatedHour) {
  // 01:30 CEST on 2026-10-25 = 2026-10-24T23:30Z; 2h of real time later is
  // 01:30Z, which the wall clock shows as 02:30 CET, not 03:30.
  const MaintenanceWindow w = Daily(Utc(2026, 10, 23, 23, 30), 2h, "Europe/Berlin");
  EXPECT_EQ(ActiveAt(w, Utc(2026, 10, 25, 1, 29)), Occ(Utc(2026, 10, 24, 23, 30), 2h));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 10, 25, 1, 30)), std::nullopt);
}

TEST(MaintenanceWindowTest, StartAtTheLaterAmbiguousInstantIsTheFirstOccurrence) {
  // 02:30 CET on 2026-10-25 (the second 02:30) = 01:30Z.
  const MaintenanceWindow w = Daily(Utc(2026, 10, 25, 1, 30), 1h, "Europe/Berlin");
  EXPECT_EQ(Occurrences(w, Utc(2026, 10, 24, 0, 0), Utc(2026, 10, 27, 0, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 10, 25, 1, 30), 1h),  // start_ms itself
                Occ(Utc(2026, 10, 26, 1, 30), 1h),  // 02:30 CET
            }));
}

// Weekly windows in America/New_York: EST is UTC-5, EDT UTC-4; 2026's changes
// are on Sunday 2026-03-08 (02:00 -> 03:00) and Sunday 2026-11-01 (02:00 ->
// 01:00). 2026-03-05 is a Thursday.

TEST(MaintenanceWindowTest, WeeklyMondayThursdayKeepsLocalTimeAcrossSpringForward) {
  // Thursday 2026-03-05 09:00 EST = 14:00Z.
  const MaintenanceWindow w = Weekly(Utc(2026, 3, 5, 14, 0), 30min, "America/New_York", {1, 4});
  ASSERT_EQ(Error(Validate(w)), "OK");
  EXPECT_EQ(Occurrences(w, Utc(2026, 3, 1, 0, 0), Utc(2026, 3, 17, 0, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 3, 5, 14, 0), 30min),   // Thu 09:00 EST
                Occ(Utc(2026, 3, 9, 13, 0), 30min),   // Mon 09:00 EDT
                Occ(Utc(2026, 3, 12, 13, 0), 30min),  // Thu 09:00 EDT
                Occ(Utc(2026, 3, 16, 13, 0), 30min),  // Mon 09:00 EDT
            }));
}

TEST(MaintenanceWindowTest, WeeklyMondayThursdayKeepsLocalTimeAcrossFallBack) {
  const MaintenanceWindow w = Weekly(Utc(2026, 3, 5, 14, 0), 30min, "America/New_York", {1, 4});
  EXPECT_EQ(Occurrences(w, Utc(2026, 10, 26, 0, 0), Utc(2026, 11, 6, 0, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 10, 26, 13, 0), 30min),  // Mon 09:00 EDT
                Occ(Utc(2026, 10, 29, 13, 0), 30min),  // Thu 09:00 EDT
                Occ(Utc(2026, 11, 2, 14, 0), 30min),   // Mon 09:00 EST
                Occ(Utc(2026, 11, 5, 14, 0), 30min),   // Thu 09:00 EST
            }));
  EXPECT_EQ(NextAfter(w, Utc(2026, 10, 30, 0, 0)), Occ(Utc(2026, 11, 2, 14, 0), 30min));
}

TEST(MaintenanceWindowTest, WeeklyOnTheSpringForwardSundayStartsAfterTheGap) {
  // Sunday 2026-03-01 02:30 EST = 07:30Z; on 03-08 02:30 does not exist.
  const MaintenanceWindow w = Weekly(Utc(2026, 3, 1, 7, 30), 1h, "America/New_York", {});
  EXPECT_EQ(Occurrences(w, Utc(2026, 3, 1, 0, 0), Utc(2026, 3, 16, 0, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 3, 1, 7, 30), 1h),   // 02:30 EST
                Occ(Utc(2026, 3, 8, 7, 0), 1h),    // 03:00 EDT, the end of the gap
                Occ(Utc(2026, 3, 15, 6, 30), 1h),  // 02:30 EDT
            }));
}

TEST(MaintenanceWindowTest, WeeklyWithoutWeekdaysRepeatsTheWeekdayOfStart) {
  const MaintenanceWindow w = Weekly(Utc(2026, 3, 5, 14, 0), 30min, "America/New_York", {});
  EXPECT_EQ(Occurrences(w, Utc(2026, 3, 1, 0, 0), Utc(2026, 3, 20, 0, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 3, 5, 14, 0), 30min),
                Occ(Utc(2026, 3, 12, 13, 0), 30min),
                Occ(Utc(2026, 3, 19, 13, 0), 30min),
            }));
}

TEST(MaintenanceWindowTest, WeeklyStartOnAnUnlistedWeekdayBeginsOnTheNextListedOne) {
  // Tuesday 2026-03-03 09:00 EST = 14:00Z; only Thursdays are listed.
  const MaintenanceWindow w = Weekly(Utc(2026, 3, 3, 14, 0), 30min, "America/New_York", {4});
  EXPECT_EQ(NextAfter(w, Utc(2026, 3, 1, 0, 0)), Occ(Utc(2026, 3, 5, 14, 0), 30min));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 3, 3, 14, 0)), std::nullopt);
}

TEST(MaintenanceWindowTest, WeeklyWeekdayIsTheLocalOne) {
  // Monday 2026-03-09 23:30 EDT is Tuesday 03:30Z: the Monday occurrence
  // falls on a UTC Tuesday.
  const MaintenanceWindow w = Weekly(Utc(2026, 3, 10, 3, 30), 15min, "America/New_York", {1});
  EXPECT_EQ(NextAfter(w, Utc(2026, 3, 10, 3, 30)), Occ(Utc(2026, 3, 17, 3, 30), 15min));
}

// Windows far from their start.

TEST(MaintenanceWindowTest, ActiveAtForDailyWindowStartedThreeYearsAgo) {
  // 22:00 CEST on 2023-06-01 = 20:00Z, four hours, so it runs past midnight.
  const MaintenanceWindow w = Daily(Utc(2023, 6, 1, 20, 0), 4h, "Europe/Berlin");
  // Summer: 2026-07-15 22:00 CEST = 20:00Z.
  EXPECT_EQ(ActiveAt(w, Utc(2026, 7, 15, 21, 30)), Occ(Utc(2026, 7, 15, 20, 0), 4h));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 7, 15, 23, 59)), Occ(Utc(2026, 7, 15, 20, 0), 4h));
  // Winter, after midnight: 2026-12-01 22:00 CET = 21:00Z, ends 01:00Z.
  EXPECT_EQ(ActiveAt(w, Utc(2026, 12, 2, 0, 59)), Occ(Utc(2026, 12, 1, 21, 0), 4h));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 12, 2, 1, 0)), std::nullopt);
  EXPECT_EQ(NextAfter(w, Utc(2026, 12, 2, 1, 0)), Occ(Utc(2026, 12, 2, 21, 0), 4h));
}

TEST(MaintenanceWindowTest, ActiveAtMillenniaAfterStartDoesNotWalkEveryDay) {
  const MaintenanceWindow w = Daily(0, 1h, "UTC");
  EXPECT_EQ(ActiveAt(w, Utc(9000, 6, 1, 0, 30)), Occ(Utc(9000, 6, 1, 0, 0), 1h));
  EXPECT_EQ(NextAfter(w, Utc(9000, 6, 1, 0, 30)), Occ(Utc(9000, 6, 2, 0, 0), 1h));
}

TEST(MaintenanceWindowTest, OccurrencesBeforeStartAreNone) {
  const MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "UTC");
  EXPECT_TRUE(Occurrences(w, Utc(2026, 4, 1, 0, 0), Utc(2026, 5, 1, 8, 0)).empty());
  EXPECT_EQ(ActiveAt(w, Utc(2026, 4, 30, 8, 30)), std::nullopt);
  EXPECT_EQ(NextAfter(w, Utc(2020, 1, 1, 0, 0)), Occ(Utc(2026, 5, 1, 8, 0), 1h));
}

TEST(MaintenanceWindowTest, OccurrencesStopAtLimit) {
  const MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "UTC");
  EXPECT_EQ(
      Occurrences(w, Utc(2026, 5, 1, 0, 0), Utc(2027, 1, 1, 0, 0), 2),
      (std::vector<Occurrence>{Occ(Utc(2026, 5, 1, 8, 0), 1h), Occ(Utc(2026, 5, 2, 8, 0), 1h)}));
  EXPECT_EQ(Occurrences(w, Utc(2026, 5, 1, 0, 0), Utc(2027, 1, 1, 0, 0)).size(), 100u);
}

TEST(MaintenanceWindowTest, OccurrencesIncludeOneStartedBeforeTheRange) {
  const MaintenanceWindow w = Daily(Utc(2026, 5, 1, 22, 0), 4h, "UTC");
  EXPECT_EQ(Occurrences(w, Utc(2026, 5, 3, 1, 0), Utc(2026, 5, 3, 2, 0)),
            std::vector<Occurrence>{Occ(Utc(2026, 5, 2, 22, 0), 4h)});
}

// until_ms.

TEST(MaintenanceWindowTest, NoOccurrenceStartsAtOrAfterUntil) {
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 2h, "UTC");
  w.until_ms = Utc(2026, 5, 4, 8, 0);
  ASSERT_EQ(Error(Validate(w)), "OK");
  EXPECT_EQ(Occurrences(w, Utc(2026, 5, 1, 0, 0), Utc(2026, 6, 1, 0, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 5, 1, 8, 0), 2h),
                Occ(Utc(2026, 5, 2, 8, 0), 2h),
                Occ(Utc(2026, 5, 3, 8, 0), 2h),
            }));
  EXPECT_EQ(NextAfter(w, Utc(2026, 5, 3, 8, 0)), std::nullopt);
  EXPECT_EQ(ActiveAt(w, Utc(2026, 5, 4, 8, 30)), std::nullopt);
}

TEST(MaintenanceWindowTest, UntilLimitsStartsNotTheLastOccurrencesLength) {
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 2h, "UTC");
  w.until_ms = Utc(2026, 5, 2, 9, 0);
  EXPECT_EQ(ActiveAt(w, Utc(2026, 5, 2, 9, 30)), Occ(Utc(2026, 5, 2, 8, 0), 2h));
}

// Extending.

TEST(MaintenanceWindowTest, ExtendLengthensTheActiveOccurrence) {
  const int64_t start = Utc(2026, 11, 22, 2, 0);
  MaintenanceWindow w = OneOff(start, 1h);
  ASSERT_EQ(Error(Extend(&w, start + 30 * 60'000, 30min)), "OK");
  EXPECT_EQ(ActiveAt(w, Utc(2026, 11, 22, 3, 10)), Occ(start, 90min));
  // Extending again, during the extension, adds up.
  ASSERT_EQ(Error(Extend(&w, Utc(2026, 11, 22, 3, 10), 15min)), "OK");
  EXPECT_EQ(ActiveAt(w, Utc(2026, 11, 22, 3, 40)), Occ(start, 105min));
  EXPECT_EQ(w.extensions, (std::map<int64_t, std::chrono::milliseconds>{{start, 45min}}));
  EXPECT_EQ(Error(Validate(w)), "OK");
}

TEST(MaintenanceWindowTest, ExtendTouchesOnlyTheActiveOccurrenceOfARecurringWindow) {
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "UTC");
  ASSERT_EQ(Error(Extend(&w, Utc(2026, 5, 2, 8, 30), 1h)), "OK");
  EXPECT_EQ(Occurrences(w, Utc(2026, 5, 1, 0, 0), Utc(2026, 5, 4, 0, 0)),
            (std::vector<Occurrence>{
                Occ(Utc(2026, 5, 1, 8, 0), 1h),
                Occ(Utc(2026, 5, 2, 8, 0), 2h),
                Occ(Utc(2026, 5, 3, 8, 0), 1h),
            }));
}

TEST(MaintenanceWindowTest, ExtendedOccurrenceIsFoundFromLaterRanges) {
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "UTC");
  // The 05-02 occurrence now runs 74h, to 05-05 10:00Z.
  ASSERT_EQ(Error(Extend(&w, Utc(2026, 5, 2, 8, 30), 73h)), "OK");
  // Three days on it still covers now, as does that day's own occurrence;
  // ActiveAt answers with the one that started last.
  EXPECT_EQ(
      Occurrences(w, Utc(2026, 5, 5, 8, 30), Utc(2026, 5, 5, 8, 31)),
      (std::vector<Occurrence>{Occ(Utc(2026, 5, 2, 8, 0), 74h), Occ(Utc(2026, 5, 5, 8, 0), 1h)}));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 5, 5, 8, 30)), Occ(Utc(2026, 5, 5, 8, 0), 1h));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 5, 5, 9, 30)), Occ(Utc(2026, 5, 2, 8, 0), 74h));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 5, 5, 10, 0)), std::nullopt);
}

TEST(MaintenanceWindowTest, ExtendWithNothingActiveFailsAndChangesNothing) {
  const int64_t start = Utc(2026, 11, 22, 2, 0);
  MaintenanceWindow w = OneOff(start, 1h);
  const Status before = Extend(&w, start - 1, 30min);
  EXPECT_EQ(before.code(), Status::Code::kFailedPrecondition) << before.ToString();
  const Status after = Extend(&w, Utc(2026, 11, 22, 3, 0), 30min);
  EXPECT_EQ(after.code(), Status::Code::kFailedPrecondition) << after.ToString();
  EXPECT_TRUE(w.extensions.empty());
}

TEST(MaintenanceWindowTest, ExtendRejectsNonPositiveAmounts) {
  const int64_t start = Utc(2026, 11, 22, 2, 0);
  MaintenanceWindow w = OneOff(start, 1h);
  EXPECT_EQ(Error(Extend(&w, start, 0ms)), "InvalidArgument: by: must be positive, not 0s");
  EXPECT_EQ(Extend(&w, start, -5min).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(w.extensions.empty());
}

// Cancelling.

TEST(MaintenanceWindowTest, CancelBeforeStartWithdrawsTheWindow) {
  const int64_t start = Utc(2026, 11, 22, 2, 0);
  MaintenanceWindow w = OneOff(start, 1h);
  Cancel(&w, start - 60'000);
  EXPECT_TRUE(w.cancelled);
  EXPECT_EQ(Error(Validate(w)), "OK");
  EXPECT_TRUE(Occurrences(w, 0, Utc(2030, 1, 1, 0, 0)).empty());
  EXPECT_EQ(ActiveAt(w, start), std::nullopt);
  EXPECT_EQ(NextAfter(w, 0), std::nullopt);
}

TEST(MaintenanceWindowTest, CancelDuringTheOccurrenceEndsItNowAndKeepsItAsHistory) {
  const int64_t start = Utc(2026, 11, 22, 2, 0);
  const int64_t now = Utc(2026, 11, 22, 2, 20);
  MaintenanceWindow w = OneOff(start, 1h);
  Cancel(&w, now);
  EXPECT_FALSE(w.cancelled);
  EXPECT_EQ(Error(Validate(w)), "OK");
  EXPECT_EQ(ActiveAt(w, now - 1), Occ(start, 20min));
  EXPECT_EQ(ActiveAt(w, now), std::nullopt);
  EXPECT_EQ(Occurrences(w, 0, Utc(2030, 1, 1, 0, 0)), std::vector<Occurrence>{Occ(start, 20min)});
}

TEST(MaintenanceWindowTest, CancelRecurringWhileActiveKeepsPastOccurrencesAndEndsTheSchedule) {
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "Europe/Berlin");
  const int64_t now = Utc(2026, 5, 3, 8, 15);
  Cancel(&w, now);
  EXPECT_EQ(Error(Validate(w)), "OK");
  EXPECT_EQ(w.until_ms, now);
  EXPECT_EQ(ActiveAt(w, now), std::nullopt);
  EXPECT_EQ(NextAfter(w, now), std::nullopt);
  EXPECT_EQ(Occurrences(w, 0, Utc(2030, 1, 1, 0, 0)), (std::vector<Occurrence>{
                                                          Occ(Utc(2026, 5, 1, 8, 0), 1h),
                                                          Occ(Utc(2026, 5, 2, 8, 0), 1h),
                                                          Occ(Utc(2026, 5, 3, 8, 0), 15min),
                                                      }));
}

TEST(MaintenanceWindowTest, CancelRecurringBetweenOccurrencesKeepsPastOnes) {
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "UTC");
  Cancel(&w, Utc(2026, 5, 2, 12, 0));
  EXPECT_TRUE(w.extensions.empty());
  EXPECT_EQ(NextAfter(w, Utc(2026, 5, 2, 12, 0)), std::nullopt);
  EXPECT_EQ(Occurrences(w, 0, Utc(2030, 1, 1, 0, 0)).size(), 2u);
}

TEST(MaintenanceWindowTest, CancelAtAnOccurrenceStartDropsThatOccurrence) {
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "UTC");
  Cancel(&w, Utc(2026, 5, 2, 8, 0));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 5, 2, 8, 0)), std::nullopt);
  EXPECT_EQ(Occurrences(w, 0, Utc(2030, 1, 1, 0, 0)),
            std::vector<Occurrence>{Occ(Utc(2026, 5, 1, 8, 0), 1h)});
}

TEST(MaintenanceWindowTest, CancelTwiceChangesNothingMore) {
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "UTC");
  Cancel(&w, Utc(2026, 5, 3, 8, 15));
  const std::string once = MaintenanceWindowToJson(w).dump();
  Cancel(&w, Utc(2026, 5, 4, 8, 15));
  EXPECT_EQ(Occurrences(w, 0, Utc(2030, 1, 1, 0, 0)).size(), 3u);
  Cancel(&w, Utc(2026, 5, 3, 8, 30));
  EXPECT_EQ(MaintenanceWindowToJson(w).dump(), once);
}

TEST(MaintenanceWindowTest, CancelledOccurrenceIsSkipped) {
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "UTC");
  w.cancelled_occurrences.insert(Utc(2026, 5, 2, 8, 0));
  EXPECT_EQ(
      Occurrences(w, Utc(2026, 5, 1, 0, 0), Utc(2026, 5, 4, 0, 0)),
      (std::vector<Occurrence>{Occ(Utc(2026, 5, 1, 8, 0), 1h), Occ(Utc(2026, 5, 3, 8, 0), 1h)}));
  EXPECT_EQ(ActiveAt(w, Utc(2026, 5, 2, 8, 30)), std::nullopt);
  EXPECT_EQ(NextAfter(w, Utc(2026, 5, 1, 8, 0)), Occ(Utc(2026, 5, 3, 8, 0), 1h));
}

TEST(MaintenanceWindowTest, CancelledOneOffOccurrenceLeavesNothing) {
  const int64_t start = Utc(2026, 11, 22, 2, 0);
  MaintenanceWindow w = OneOff(start, 1h);
  w.cancelled_occurrences.insert(start);
  EXPECT_EQ(ActiveAt(w, start), std::nullopt);
  EXPECT_EQ(NextAfter(w, 0), std::nullopt);
}

// Validation.

TEST(MaintenanceWindowValidateTest, NamesTheOffendingField) {
  const MaintenanceWindow good = Weekly(Utc(2026, 3, 5, 14, 0), 30min, "America/New_York", {1});
  ASSERT_EQ(Error(Validate(good)), "OK");
  auto error_with = [&](auto&& edit) {
    MaintenanceWindow w = good;
    edit(w);
    return Error(Validate(w));
  };
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.service = ""; }),
            "InvalidArgument: service: must not be empty");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.mode = "off"; }),
            "InvalidArgument: mode: must be degraded, read_only or maintenance, not \"off\"");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.duration = 0ms; }),
            "InvalidArgument: duration: must be positive, not 0s");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.duration = -1h; }),
            "InvalidArgument: duration: must be positive, not -1h");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.time_zone = "Mars/Olympus"; }),
            "InvalidArgument: time_zone: unknown time zone \"Mars/Olympus\"");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) {
              w.weekdays = {1, 7};
            }),
            "InvalidArgument: weekdays: 7 is not a weekday (0 = Sunday .. 6 = Saturday)");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.weekdays = {-1}; }),
            "InvalidArgument: weekdays: -1 is not a weekday (0 = Sunday .. 6 = Saturday)");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.recurrence = Recurrence::kDaily; }),
            "InvalidArgument: weekdays: only weekly windows list weekdays");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.until_ms = w.start_ms; }),
            "InvalidArgument: until_ms: must be after start_ms");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.start_ms = -1; }),
            "InvalidArgument: start_ms: must be between 1970 and 9999, not -1");
  EXPECT_EQ(error_with([](MaintenanceWindow& w) { w.extensions[w.start_ms] = -30min; }),
            "InvalidArgument: extensions: the occurrence at 1772719200000 would end before it "
            "starts");
}

TEST(MaintenanceWindowValidateTest, AcceptsEveryMode) {
  for (const char* mode : {"degraded", "read_only", "maintenance"}) {
    MaintenanceWindow w = OneOff(Utc(2026, 11, 22, 2, 0), 1h);
    w.mode = mode;
    EXPECT_EQ(Error(Validate(w)), "OK") << mode;
  }
}

// JSON.

MaintenanceWindow FullWindow() {
  MaintenanceWindow w = Weekly(Utc(2026, 3, 5, 14, 0), 90min, "America/New_York", {1, 4});
  w.id = "mw-42";
  w.module = "ledger";
  w.mode = "read_only";
  w.reason = "schema migration";
  w.until_ms = Utc(2026, 12, 31, 0, 0);
  w.extensions[Utc(2026, 3, 9, 13, 0)] = 30min;
  w.extensions[Utc(2026, 3, 12, 13, 0)] = -10min;
  w.cancelled_occurrences.insert(Utc(2026, 3, 16, 13, 0));
  w.created_by = "alice";
  w.created_ms = Utc(2026, 3, 1, 12, 0);
  return w;
}

TEST(MaintenanceWindowJsonTest, WritesSnakeCaseFieldsWithReadableValues) {
  EXPECT_EQ(MaintenanceWindowToJson(FullWindow()).dump(),
            R"({"cancelled":false,"cancelled_occurrences":[1773666000000],)"
            R"("created_by":"alice","created_ms":1772366400000,"duration":"1h30m",)"
            R"("extensions":[{"extra":"30m","start_ms":1773061200000},)"
            R"({"extra":"-10m","start_ms":1773320400000}],"id":"mw-42","mode":"read_only",)"
            R"("module":"ledger","reason":"schema migration","recurrence":"weekly",)"
            R"("service":"payments","start_ms":1772719200000,"time_zone":"America/New_York",)"
            R"("until_ms":1798675200000,"weekdays":["mon","thu"]})");
}

TEST(MaintenanceWindowJsonTest, RoundTripsEveryField) {
  const MaintenanceWindow original = FullWindow();
  Result<MaintenanceWindow> read = MaintenanceWindowFromJson(MaintenanceWindowToJson(original));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->id, original.id);
  EXPECT_EQ(read->service, original.service);
  EXPECT_EQ(read->module, original.module);
  EXPECT_EQ(read->mode, original.mode);
  EXPECT_EQ(read->reason, original.reason);
  EXPECT_EQ(read->start_ms, original.start_ms);
  EXPECT_EQ(read->duration, original.duration);
  EXPECT_EQ(read->recurrence, original.recurrence);
  EXPECT_EQ(read->weekdays, original.weekdays);
  EXPECT_EQ(read->time_zone, original.time_zone);
  EXPECT_EQ(read->until_ms, original.until_ms);
  EXPECT_EQ(read->extensions, original.extensions);
  EXPECT_EQ(read->cancelled_occurrences, original.cancelled_occurrences);
  EXPECT_EQ(read->cancelled, original.cancelled);
  EXPECT_EQ(read->created_by, original.created_by);
  EXPECT_EQ(read->created_ms, original.created_ms);
}

TEST(MaintenanceWindowJsonTest, RoundTripsACancelledWindow) {
  // Daily at 10:00 CEST = 08:00Z, cancelled at 10:15 CEST on the third day.
  MaintenanceWindow w = Daily(Utc(2026, 5, 1, 8, 0), 1h, "Europe/Berlin");
  Cancel(&w, Utc(2026, 5, 3, 8, 15));
  Result<MaintenanceWindow> read = MaintenanceWindowFromJson(MaintenanceWindowToJson(w));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(Occurrences(*read, 0, Utc(2030, 1, 1, 0, 0)), Occurrences(w, 0, Utc(2030, 1, 1, 0, 0)));
  EXPECT_EQ(Occurrences(*read, 0, Utc(2030, 1, 1, 0, 0)).back(), Occ(Utc(2026, 5, 3, 8, 0), 15min));
}

TEST(MaintenanceWindowJsonTest, MissingOptionalFieldsTakeDefaults) {
  Result<MaintenanceWindow> read = MaintenanceWindowFromJson(
      nlohmann::json::parse(R"({"service":"db","start_ms":1772719200000,"duration":"2h"})"));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->mode, "maintenance");
  EXPECT_EQ(read->recurrence, Recurrence::kOnce);
  EXPECT_EQ(read->time_zone, "UTC");
  EXPECT_EQ(read->duration, 2h);
  EXPECT_EQ(read->until_ms, 0);
}

std::string FromJsonError(std::string_view text) {
  Result<MaintenanceWindow> read = MaintenanceWindowFromJson(nlohmann::json::parse(text));
  return read.ok() ? "OK" : read.status().ToString();
}

TEST(MaintenanceWindowJsonTest, ErrorsNameTheField) {
  EXPECT_EQ(FromJsonError(R"([])"), "InvalidArgument: maintenance window must be a JSON object");
  EXPECT_EQ(FromJsonError(R"({"start_ms":1,"duration":"1h"})"),
            "InvalidArgument: service: required");
  EXPECT_EQ(FromJsonError(R"({"service":"db","duration":"1h"})"),
            "InvalidArgument: start_ms: required");
  EXPECT_EQ(FromJsonError(R"({"service":"db","start_ms":"soon","duration":"1h"})"),
            "InvalidArgument: start_ms: must be an integer (Unix ms), not \"soon\"");
  EXPECT_EQ(FromJsonError(R"({"service":"db","start_ms":1,"duration":"1 hour"})"),
            "InvalidArgument: duration: not a valid duration: \"1 hour\" (expected e.g. "
            "500ms, 15s, 5m, 1h, 15d)");
  EXPECT_EQ(FromJsonError(R"({"service":"db","start_ms":1,"duration":"1h","recurrence":"hourly"})"),
            "InvalidArgument: recurrence: must be once, daily or weekly, not \"hourly\"");
  EXPECT_EQ(FromJsonError(R"({"service":"db","start_ms":1,"duration":"1h",)"
                          R"("recurrence":"weekly","weekdays":["mon","someday"]})"),
            "InvalidArgument: weekdays: unknown weekday \"someday\" (expected sun, mon, tue, "
            "wed, thu, fri or sat)");
  EXPECT_EQ(FromJsonError(R"({"service":"db","start_ms":1,"duration":"1h","colour":"red"})"),
            "InvalidArgument: unknown field \"colour\"");
  EXPECT_EQ(FromJsonError(R"({"service":"db","start_ms":1,"duration":"1h","cancelled":"no"})"),
            "InvalidArgument: cancelled: must be true or false, not \"no\"");
  EXPECT_EQ(FromJsonError(R"({"service":"db","start_ms":1,"duration":"1h",)"
                          R"("extensions":[{"start_ms":1,"extra":"soon"}]})"),
            "InvalidArgument: extensions[0].extra: not a valid duration: \"soon\" (expected "
            "e.g. 500ms, 15s, 5m, 1h, 15d)");
  EXPECT_EQ(FromJsonError(R"({"service":"db","start_ms":1,"duration":"1h",)"
                          R"("time_zone":"Mars/Olympus"})"),
            "InvalidArgument: time_zone: unknown time zone \"Mars/Olympus\"");
}

// ParseTimeInZone.

std::string Parsed(std::string_view text, std::string_view zone) {
  Result<int64_t> ms = ParseTimeInZone(text, zone);
  return ms.ok() ? UtcText(*ms) : ms.status().ToString();
}

TEST(ParseTimeInZoneTest, Rfc3339WithZOrOffsetIgnoresTheZone) {
  EXPECT_EQ(Parsed("2026-11-22T02:00:00Z", "Europe/Berlin"), "2026-11-22T02:00:00Z");
  EXPECT_EQ(Parsed("2026-11-22T02:00:00+01:00", "America/New_York"), "2026-11-22T01:00:00Z");
  EXPECT_EQ(Parsed("2026-11-22T02:00:00-05:30", "UTC"), "2026-11-22T07:30:00Z");
  EXPECT_EQ(Parsed("2026-11-22t02:00:00.25z", "UTC"), "2026-11-22T02:00:00.250Z");
  EXPECT_EQ(Parsed("2026-11-22T02:00:00.123456789Z", "UTC"), "2026-11-22T02:00:00.123Z");
  EXPECT_EQ(ParseTimeInZone("2026-11-22T02:00:00Z", "UTC").value(), 1'795'312'800'000);
}

TEST(ParseTimeInZoneTest, LocalDateTimeIsInTheZone) {
  // 2026-11-22 is in winter time: CET = UTC+1, EST = UTC-5.
  EXPECT_EQ(Parsed("2026-11-22T02:00", "Europe/Berlin"), "2026-11-22T01:00:00Z");
  EXPECT_EQ(Parsed("2026-11-22 02:00", "Europe/Berlin"), "2026-11-22T01:00:00Z");
  EXPECT_EQ(Parsed("2026-11-22 02:00:30", "America/New_York"), "2026-11-22T07:00:30Z");
  EXPECT_EQ(Parsed("2026-07-01 12:00", "Europe/Berlin"), "2026-07-01T10:00:00Z");  // CEST
  EXPECT_EQ(Parsed("2026-11-22 02:00", "UTC"), "2026-11-22T02:00:00Z");
}

TEST(ParseTimeInZoneTest, LocalTimeInTheGapIsTheFirstInstantAfterIt) {
  EXPECT_EQ(Parsed("2026-03-29 02:30", "Europe/Berlin"), "2026-03-29T01:00:00Z");
  EXPECT_EQ(Parsed("2026-03-29 02:00", "Europe/Berlin"), "2026-03-29T01:00:00Z");
  EXPECT_EQ(Parsed("2026-03-29 03:00", "Europe/Berlin"), "2026-03-29T01:00:00Z");
  EXPECT_EQ(Parsed("2026-03-08 02:30", "America/New_York"), "2026-03-08T07:00:00Z");
}

TEST(ParseTimeInZoneTest, AmbiguousLocalTimeIsTheEarlierInstant) {
  EXPECT_EQ(Parsed("2026-10-25 02:30", "Europe/Berlin"), "2026-10-25T00:30:00Z");
  EXPECT_EQ(Parsed("2026-11-01 01:30", "America/New_York"), "2026-11-01T05:30:00Z");
}

TEST(ParseTimeInZoneTest, UnixSeconds) {
  EXPECT_EQ(ParseTimeInZone("1763776800", "UTC").value(), 1'763'776'800'000);
  EXPECT_EQ(ParseTimeInZone("1763776800.5", "Europe/Berlin").value(), 1'763'776'800'500);
  EXPECT_EQ(ParseTimeInZone("0", "UTC").value(), 0);
}

TEST(ParseTimeInZoneTest, RejectsUnknownZoneAndMalformedTimes) {
  EXPECT_EQ(Parsed("2026-11-22T02:00:00Z", "Mars/Olympus"),
            "InvalidArgument: unknown time zone \"Mars/Olympus\"");
  EXPECT_EQ(Parsed("2026-02-30 10:00", "UTC"),
            "InvalidArgument: not a valid date and time: \"2026-02-30 10:00\"");
  EXPECT_EQ(Parsed("2026-11-22 24:00", "UTC"),
            "InvalidArgument: not a valid date and time: \"2026-11-22 24:00\"");
  for (const char* bad :
       {"", "yesterday", "2026-11-22", "2026-11-22T02", "2026-11-22T02:00:00+0100",
        "2026-11-22T02:00:00Zulu", "2026-11-22T02:00:00.Z", "1763776800.", "-1763776800",
        "1763776800.5s", "99999999999999999999"}) {
    Result<int64_t> ms = ParseTimeInZone(bad, "UTC");
    EXPECT_FALSE(ms.ok()) << "\"" << bad << "\" parsed as " << (ms.ok() ? UtcText(*ms) : "");
  }
}

// ParseWeekdays.

std::string Weekdays(std::string_view text) {
  Result<std::vector<int>> days = ParseWeekdays(text);
  if (!days.ok()) return days.status().ToString();
  std::string out;
  for (int d : *days) out += (out.empty() ? "" : ",") + std::string(WeekdayName(d));
  return out;
}

TEST(ParseWeekdaysTest, NamesListsAndRanges) {
  EXPECT_EQ(Weekdays("mon,thu"), "mon,thu");
  EXPECT_EQ(Weekdays("sun"), "sun");
  EXPECT_EQ(Weekdays("thu, Monday ,MON"), "mon,thu");
  EXPECT_EQ(Weekdays("mon-fri"), "mon,tue,wed,thu,fri");
  EXPECT_EQ(Weekdays("fri-mon"), "sun,mon,fri,sat");
  EXPECT_EQ(ParseWeekdays("sat,sun").value(), (std::vector<int>{0, 6}));
}

TEST(ParseWeekdaysTest, RejectsEmptyAndUnknownNames) {
  EXPECT_EQ(Weekdays(""), "InvalidArgument: empty weekday list");
  EXPECT_EQ(Weekdays("mon,"), "InvalidArgument: empty weekday in \"mon,\"");
  EXPECT_EQ(Weekdays("mon,funday"),
            "InvalidArgument: unknown weekday \"funday\" (expected sun, mon, tue, wed, thu, fri "
            "or sat)");
  EXPECT_FALSE(ParseWeekdays("mon-").ok());
}

}  // namespace

void PrintTo(const Occurrence& o, std::ostream* os) {
  *os << "[" << UtcText(o.start_ms) << ", " << UtcText(o.end_ms) << ")";
}

}  // namespace vitals::actions
