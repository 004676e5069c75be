#include "agent/checks/check_common.h"

#include <charconv>

namespace vitals::agent {

const MetricDesc kConnectDurationDesc{"vitals_check_connect_duration_seconds", MetricType::kGauge,
                                      "Time to connect and authenticate, in seconds."};
const MetricDesc kQueryDurationDesc{"vitals_check_query_duration_seconds", MetricType::kGauge,
                                    "Time from sending the check's query to its last result, in "
                                    "seconds."};

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string TimedOutDuring(const RunDeadline& deadline, std::string_view phase) {
  return deadline.TimedOutMessage() + " during " + std::string(phase);
}

std::string QuoteForMessage(std::string_view value) {
  constexpr size_t kMaxBytes = 80;
  std::string out = "\"";
  for (char c : value.substr(0, kMaxBytes)) out += (c >= 0 && c < ' ') ? ' ' : c;
  out += value.size() > kMaxBytes ? "...\"" : "\"";
  return out;
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned int byte = 0;
    if (i + 2 >= text.size()) return std::nullopt;
    auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, byte, 16);
    if (ec != std::errc() || end != text.data() + i + 3) return std::nullopt;
    out += static_cast<char>(byte);
    i += 2;
  }
  return out;
}

}  // namespace vitals::agent
