#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace vitals {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error"; InvalidArgument otherwise.
Result<LogLevel> ParseLogLevel(std::string_view name);
void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

// One log line, written to stderr on destruction as
//   ts=2026-11-21T10:00:00.123Z level=warn msg="..."
// Thread-safe: lines from different threads never interleave.
class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Lets through one message per key per interval, so a flood of bad input
// produces one log line per second per reason, not one per message.
// Thread-safe.
class LogRateLimiter {
 public:
  explicit LogRateLimiter(const Clock& clock,
                          std::chrono::milliseconds interval = std::chrono::seconds(1))
      : clock_(clock), interval_(interval) {}

  // True if a message for `key` may be logged now. When true, *suppressed
  // receives how many were held back since the last one.
  bool Allow(std::string_view key, uint64_t* suppressed);

 private:
  struct Entry {
    int64_t last_ms = 0;
    uint64_t suppressed = 0;
    bool seen = false;
  };
  const Clock& clock_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // GUARDED_BY(mu_)
};

// Turns the stream expression into void so it can sit in a conditional
// expression; this keeps the macro safe inside an unbraced if/else.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace vitals

#define VITALS_LOG(level)                                      \
  (::vitals::LogLevel::level < ::vitals::MinLogLevel())        \
      ? (void)0                                                \
      : ::vitals::LogVoidify() & ::vitals::LogMessage(::vitals::LogLevel::level).stream()

#define LOG_DEBUG VITALS_LOG(kDebug)
#define LOG_INFO VITALS_LOG(kInfo)
#define LOG_WARN VITALS_LOG(kWarn)
#define LOG_ERROR VITALS_LOG(kError)
