#include "collector/rules_api.h"

#include <charconv>
#include <cmath>
#include <ctime>

#include "collector/api_json.h"
#include "rules/promql/printer.h"

namespace vitals::collector {

std::string FormatRfc3339(int64_t ms) {
  if (ms == 0) return "0001-01-01T00:00:00Z";
  time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int64_t frac = ms - static_cast<int64_t>(secs) * 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    char f[8];
    std::snprintf(f, sizeof f, ".%03d", static_cast<int>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out + "Z";
}

namespace {

using json::AppendGoNumber;
using json::AppendLabels;
using json::AppendString;

// strconv.FormatFloat(v, 'e', -1, 64), as Prometheus prints an alert's value.
std::string FormatFloatE(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  // C++ writes e+05 / e-07 / e+100 like Go: at least two exponent digits.
  return s;
}

void AppendAlert(std::string* out, const rules::Alert& a) {
  *out += "{\"labels\":";
  AppendLabels(out, a.labels);
  *out += ",\"annotations\":";
  AppendLabels(out, a.annotations);
  *out += ",\"state\":";
  AppendString(out, rules::AlertStateName(a.state));
  *out += ",\"activeAt\":";
  AppendString(out, FormatRfc3339(a.active_at_ms));
  *out += ",\"value\":";
  AppendString(out, FormatFloatE(a.value));
  *out += "}";
}

void AppendPairs(std::string* out, const std::vector<std::pair<std::string, std::string>>& pairs) {
  Labels labels;
  for (const auto& [k, v] : pairs) labels.push_back(Label{k, v});
  std::sort(labels.begin(), labels.end());
  AppendLabels(out, labels);
}

void AppendSeconds(std::string* out, double seconds) {
  if (std::isfinite(seconds)) {
    AppendGoNumber(out, seconds);
  } else {
    *out += "0";
  }
}

void AppendRule(std::string* out, const rules::RuleStatus& r) {
  const rules::RuleDesc& d = *r.desc;
  *out += "{";
  if (d.is_alert()) {
    *out += "\"state\":";
    AppendString(out, rules::AlertStateName(r.state));
    *out += ",";
  }
  *out += "\"name\":";
  AppendString(out, d.name());
  *out += ",\"query\":";
  AppendString(out, promql::Print(*d.parsed));
  if (d.is_alert()) {
    *out += ",\"duration\":";
    AppendSeconds(out, std::chrono::duration<double>(d.for_duration).count());
    *out += ",\"keepFiringFor\":";
    AppendSeconds(out, std::chrono::duration<double>(d.keep_firing_for).count());
  }
  *out += ",\"labels\":";
  AppendPairs(out, d.labels);
  if (d.is_alert()) {
    *out += ",\"annotations\":";
    AppendPairs(out, d.annotations);
    *out += ",\"alerts\":[";
    for (size_t i = 0; i < r.alerts.size(); ++i) {
      if (i > 0) *out += ",";
      AppendAlert(out, r.alerts[i]);
    }
    *out += "]";
  }
  *out += ",\"health\":";
  AppendString(out, r.health);
  if (!r.last_error.empty()) {
    *out += ",\"lastError\":";
    AppendString(out, r.last_error);
  }
  *out += ",\"evaluationTime\":";
  AppendSeconds(out, r.evaluation_seconds);
  *out += ",\"lastEvaluation\":";
  AppendString(out, FormatRfc3339(r.last_evaluation_ms));
  *out += ",\"type\":";
  AppendString(out, d.is_alert() ? "alerting" : "recording");
  *out += "}";
}

ApiResponse BadData(const std::string& message) {
  std::string body = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":";
  AppendString(&body, message);
  return ApiResponse{400, body + "}"};
}

}  // namespace

RulesApi::RulesApi(const rules::RuleManager& manager, std::function<Status()> reload)
    : manager_(manager), reload_(std::move(reload)) {}

ApiResponse RulesApi::Rules(const Form& form) const {
  std::string_view type = form.Get("type");
  bool alerts = type.empty() || type == "alert";
  bool records = type.empty() || type == "record";
  if (!alerts && !records) return BadData("invalid query parameter type='" + std::string(type) + "'");
  std::string body = "{\"status\":\"success\",\"data\":{\"groups\":[";
  bool first_group = true;
  for (const rules::GroupStatus& g : manager_.Groups()) {
    std::string rules_json;
    bool first_rule = true;
    for (const rules::RuleStatus& r : g.rules) {
      if (r.desc->is_alert() ? !alerts : !records) continue;
      if (!first_rule) rules_json += ",";
      first_rule = false;
      AppendRule(&rules_json, r);
    }
    // As Prometheus: a filter that leaves a group empty drops the group.
    if (first_rule && !type.empty()) continue;
    if (!first_group) body += ",";
    first_group = false;
    body += "{\"name\":";
    AppendString(&body, g.name);
    body += ",\"file\":";
    AppendString(&body, g.file);
    body += ",\"rules\":[" + rules_json + "],\"interval\":";
    AppendSeconds(&body, std::chrono::duration<double>(g.interval).count());
    body += ",\"limit\":" + std::to_string(g.limit);
    body += ",\"evaluationTime\":";
    AppendSeconds(&body, g.evaluation_seconds);
    body += ",\"lastEvaluation\":";
    AppendString(&body, FormatRfc3339(g.last_evaluation_ms));
    body += "}";
  }
  return ApiResponse{200, body + "]}}"};
}

ApiResponse RulesApi::Alerts() const {
  std::string body = "{\"status\":\"success\",\"data\":{\"alerts\":[";
  bool first = true;
  for (const rules::Alert& a : manager_.ActiveAlerts()) {
    if (!first) body += ",";
    first = false;
    AppendAlert(&body, a);
  }
  return ApiResponse{200, body + "]}}"};
}

ApiResponse RulesApi::Reload() const {
  Status st = reload_();
  if (st.ok()) return ApiResponse{200, ""};
  return ApiResponse{500, "failed to reload config: " + st.message() + "\n"};
}

}  // namespace vitals::collector
