#include "common/log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace vitals {
namespace {

using namespace std::chrono_literals;

TEST(LogRateLimiterTest, AllowsFirstMessageWithNothingSuppressed) {
  FakeClock clock;
  LogRateLimiter limiter(clock, 1s);
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.Allow("bad_batch", &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(LogRateLimiterTest, SuppressesMessagesWithinInterval) {
  FakeClock clock;
  LogRateLimiter limiter(clock, 1s);
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.Allow("bad_batch", &suppressed));
  EXPECT_FALSE(limiter.Allow("bad_batch", &suppressed));
  clock.Advance(999ms);
  EXPECT_FALSE(limiter.Allow("bad_batch", &suppressed));
}

TEST(LogRateLimiterTest, AllowsAgainOnceIntervalHasPassed) {
  FakeClock clock;
  LogRateLimiter limiter(clock, 1s);
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.Allow("bad_batch", &suppressed));
  clock.Advance(1s);
  EXPECT_TRUE(limiter.Allow("bad_batch", &suppressed));
}

TEST(LogRateLimiterTest, ReportsSuppressedCountOnNextAllowedMessage) {
  FakeClock clock;
  LogRateLimiter limiter(clock, 1s);
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.Allow("bad_batch", &suppressed));
  for (int i = 0; i < 3; ++i) {
    clock.Advance(100ms);
    ASSERT_FALSE(limiter.Allow("bad_batch", &suppressed));
  }
  clock.Advance(1s);
  ASSERT_TRUE(limiter.Allow("bad_batch", &suppressed));
  EXPECT_EQ(suppressed, 3u);
}

TEST(LogRateLimiterTest, ResetsSuppressedCountAfterReporting) {
  FakeClock clock;
  LogRateLimiter limiter(clock, 1s);
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.Allow("k", &suppressed));
  ASSERT_FALSE(limiter.Allow("k", &suppressed));
  clock.Advance(1s);
  ASSERT_TRUE(limiter.Allow("k", &suppressed));
  ASSERT_EQ(suppressed, 1u);
  clock.Advance(1s);
  ASSERT_TRUE(limiter.Allow("k", &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(LogRateLimiterTest, IntervalRestartsFromLastAllowedMessage) {
  FakeClock clock;
  LogRateLimiter limiter(clock, 1s);
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.Allow("k", &suppressed));
  clock.Advance(1500ms);
  ASSERT_TRUE(limiter.Allow("k", &suppressed));
  clock.Advance(600ms);  // 2.1s after the first, 0.6s after the last allowed one.
  EXPECT_FALSE(limiter.Allow("k", &suppressed));
}

TEST(LogRateLimiterTest, KeysAreIndependent) {
  FakeClock clock;
  LogRateLimiter limiter(clock, 1s);
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.Allow("too_large", &suppressed));
  ASSERT_FALSE(limiter.Allow("too_large", &suppressed));
  EXPECT_TRUE(limiter.Allow("malformed", &suppressed));
  EXPECT_EQ(suppressed, 0u);
  clock.Advance(1s);
  ASSERT_TRUE(limiter.Allow("too_large", &suppressed));
  EXPECT_EQ(suppressed, 1u);
}

TEST(LogRateLimiterTest, UsesOneSecondIntervalByDefault) {
  FakeClock clock;
  LogRateLimiter limiter(clock);
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.Allow("k", &suppressed));
  clock.Advance(999ms);
  EXPECT_FALSE(limiter.Allow("k", &suppressed));
  clock.Advance(1ms);
  EXPECT_TRUE(limiter.Allow("k", &suppressed));
}

TEST(ParseLogLevelTest, AcceptsKnownLevels) {
  EXPECT_EQ(ParseLogLevel("debug").value(), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("info").value(), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warn").value(), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("error").value(), LogLevel::kError);
}

TEST(ParseLogLevelTest, RejectsUnknownLevel) {
  auto level = ParseLogLevel("verbose");
  ASSERT_FALSE(level.ok());
  EXPECT_EQ(level.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace vitals
