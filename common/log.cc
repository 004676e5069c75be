#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>

namespace vitals {
namespace {

std::atomic<LogLevel> g_min_level{LogLevel::kInfo};
std::mutex g_write_mu;

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (LevelName(l) == name) return l;
  }
  return Status::InvalidArgument("unknown log level \"" + std::string(name) +
                                 "\" (expected debug, info, warn or error)");
}

void SetMinLogLevel(LogLevel level) { g_min_level = level; }
LogLevel MinLogLevel() { return g_min_level; }

LogMessage::~LogMessage() {
  std::string msg = stream_.str();
  std::string line = "ts=" + Timestamp() + " level=" + std::string(LevelName(level_)) + " msg=\"";
  for (char c : msg) {
    if (c == '"' || c == '\\') line += '\\';
    if (c == '\n') {
      line += "\\n";
      continue;
    }
    line += c;
  }
  line += "\"\n";
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

bool LogRateLimiter::Allow(std::string_view key, uint64_t* suppressed) {
  int64_t now = clock_.NowMillis();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) it = entries_.emplace(std::string(key), Entry{}).first;
  Entry& e = it->second;
  if (e.seen && now - e.last_ms < interval_.count()) {
    ++e.suppressed;
    return false;
  }
  *suppressed = e.suppressed;
  e = Entry{now, 0, true};
  return true;
}

}  // namespace vitals
