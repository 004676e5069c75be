// The building blocks of rules/alertmanager.h: what Prometheus 2.42 puts on
// the wire to Alertmanager, byte for byte.

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/go_json.h"
#include "rules/alertmanager.h"

namespace vitals::rules {

namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";

// A label set as Go marshals a map[string]string: keys in byte order.
// `labels` is sorted by name already.
void AppendLabelSet(std::string* out, const Labels& labels) {
  out->push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendGoJsonString(out, labels[i].name);
    out->push_back(':');
    AppendGoJsonString(out, labels[i].value);
  }
  out->push_back('}');
}

// Go's path.Clean of an absolute path.
std::string CleanAbsolutePath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (std::string_view part : parts) {
    out.push_back('/');
    out.append(part);
  }
  return out.empty() ? "/" : out;
}

}  // namespace

NotifierAlert ToNotifierAlert(const Alert& alert, std::string_view rule_expr,
                              const Labels& external_labels, std::string_view external_url) {
  NotifierAlert out;
  out.labels = alert.labels;
  for (const Label& l : external_labels) {
    if (GetLabel(out.labels, l.name).empty()) SetLabel(&out.labels, l.name, l.value);
  }
  out.annotations = alert.annotations;
  out.starts_at_ms = alert.fired_at_ms;
  out.ends_at_ms = alert.resolved_at_ms != 0 ? alert.resolved_at_ms : alert.valid_until_ms;
  out.generator_url = std::string(external_url) + TableLinkForExpression(rule_expr);
  return out;
}

std::string TableLinkForExpression(std::string_view expr) {
  return "/graph?g0.expr=" + QueryEscape(expr) + "&g0.tab=1";
}

std::string QueryEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char b = static_cast<unsigned char>(c);
    if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' ||
        b == '_' || b == '.' || b == '~') {
      out.push_back(c);
    } else if (b == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[b >> 4]);
      out.push_back(kHexUpper[b & 0xF]);
    }
  }
  return out;
}

std::string FormatAlertmanagerTime(int64_t unix_ms) {
  if (unix_ms == 0) return "0001-01-01T00:00:00.000Z";
  using namespace std::chrono;
  sys_time<milliseconds> t{milliseconds(unix_ms)};
  sys_days day = floor<days>(t);
  year_month_day ymd(day);
  hh_mm_ss<milliseconds> hms(t - day);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::string EncodeAlertsV2(const std::vector<NotifierAlert>& alerts) {
  std::string out = "[";
  for (size_t i = 0; i < alerts.size(); ++i) {
    const NotifierAlert& a = alerts[i];
    if (i > 0) out.push_back(',');
    out.push_back('{');
    if (!a.annotations.empty()) {
      out.append("\"annotations\":");
      AppendLabelSet(&out, a.annotations);
      out.push_back(',');
    }
    out.append("\"endsAt\":");
    AppendGoJsonString(&out, FormatAlertmanagerTime(a.ends_at_ms));
    out.append(",\"startsAt\":");
    AppendGoJsonString(&out, FormatAlertmanagerTime(a.starts_at_ms));
    out.push_back(',');
    if (!a.generator_url.empty()) {
      out.append("\"generatorURL\":");
      AppendGoJsonString(&out, a.generator_url);
      out.push_back(',');
    }
    out.append("\"labels\":");
    AppendLabelSet(&out, a.labels);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

Result<std::string> AlertsPostUrl(std::string_view base_url) {
  auto invalid = [&](std::string_view why) {
    return Status::InvalidArgument("alertmanager url \"" + std::string(base_url) +
                                   "\": " + std::string(why));
  };
  size_t scheme_end = base_url.find("://");
  if (scheme_end == std::string_view::npos) return invalid("want http://host[:port][/prefix]");
  std::string_view scheme = base_url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return invalid("scheme must be http or https");
  std::string_view rest = base_url.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return invalid("no query or fragment allowed");
  }
  size_t slash = rest.find('/');
  std::string_view host = rest.substr(0, slash);
  std::string_view prefix = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (host.empty()) return invalid("missing host");
  if (host.find('@') != std::string_view::npos) {
    return invalid("credentials go in basic_auth, not the URL");
  }
  std::string path = CleanAbsolutePath(std::string("/") + std::string(prefix) + "/api/v2/alerts");
  return std::string(scheme) + "://" + std::string(host) + path;
}

}  // namespace vitals::rules
