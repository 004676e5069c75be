#include "collector/query_api.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <thread>

#include "collector/api_json.h"
#include "common/units.h"
#include "common/version.h"
#include "rules/promql/parser.h"
#include "rules/promql/printer.h"

namespace vitals::collector {
namespace {

using json::AppendString;

// Prometheus's error types and their HTTP statuses (web/api/v1 respondError;
// canceled as 499, "client closed request", as later Prometheus releases do).
int HttpStatusOf(std::string_view error_type) {
  if (error_type == "bad_data") return 400;
  if (error_type == "execution") return 422;
  if (error_type == "canceled") return 499;
  if (error_type == "timeout") return 503;
  if (error_type == "not_found") return 404;
  return 500;
}

ApiResponse Error(std::string_view error_type, std::string_view message) {
  ApiResponse res;
  res.status = HttpStatusOf(error_type);
  res.body = R"({"status":"error","errorType":)";
  AppendString(&res.body, error_type);
  res.body += R"(,"error":)";
  AppendString(&res.body, message);
  res.body += '}';
  return res;
}

ApiResponse BadData(std::string_view message) { return Error("bad_data", message); }

// Prometheus's invalidParamError: `invalid parameter "<name>": <message>`.
ApiResponse InvalidParam(std::string_view param, std::string_view message) {
  return BadData("invalid parameter " + json::GoQuote(param) + ": " + std::string(message));
}

ApiResponse FromStatus(const Status& status) {
  return Error(promql::ErrorTypeOf(status), status.message());
}

// {"status":"success","data":<what write_data appends>[,"warnings":[...]]}
template <typename WriteData>
ApiResponse Success(WriteData write_data, const std::vector<std::string>& warnings = {},
                    size_t size_hint = 0) {
  ApiResponse res;
  res.body.reserve(size_hint + 64);
  res.body = R"({"status":"success","data":)";
  write_data(&res.body);
  if (!warnings.empty()) {
    res.body += R"(,"warnings":[)";
    for (size_t i = 0; i < warnings.size(); ++i) {
      if (i > 0) res.body += ',';
      AppendString(&res.body, warnings[i]);
    }
    res.body += ']';
  }
  res.body += '}';
  return res;
}

void AppendStringList(std::string* out, const std::vector<std::string>& list) {
  out->push_back('[');
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendString(out, list[i]);
  }
  out->push_back(']');
}

// --- Parameters, as Prometheus parses them ---------------------------------

// Go's strconv.ParseFloat on the whole of `text` (decimal forms, inf, nan),
// false if it is not a float or out of range.
bool ParseGoFloat(std::string_view text, double* out) {
  std::string_view body = text;
  if (!body.empty() && body.front() == '+') body.remove_prefix(1);
  if (body.empty() || body.front() == '+' || (body.front() == '-' && text.front() == '+')) {
    return false;
  }
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), *out);
  if (ec != std::errc() || end != body.data() + body.size()) return false;
  // from_chars takes "nan(...)"; Go does not.
  return body.find('(') == std::string_view::npos;
}

bool ReadDigits(std::string_view text, size_t pos, size_t n, int* out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Go's time.Parse(time.RFC3339Nano, text), truncated to milliseconds.
bool ParseRfc3339(std::string_view s, int64_t* ms) {
  int year, month, day, hour, minute, second;
  if (!ReadDigits(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' ||
      !ReadDigits(s, 5, 2, &month) || s[7] != '-' || !ReadDigits(s, 8, 2, &day) ||
      s[10] != 'T' || !ReadDigits(s, 11, 2, &hour) || s[13] != ':' ||
      !ReadDigits(s, 14, 2, &minute) || s[16] != ':' || !ReadDigits(s, 17, 2, &second)) {
    return false;
  }
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 ||
      day > kDaysIn[month - 1] + (month == 2 && IsLeapYear(year)) || hour > 23 || minute > 59 ||
      second > 59) {
    return false;
  }
  size_t pos = 19;
  int64_t fraction_ms = 0;
  if (pos + 1 < s.size() && s[pos] == '.' && s[pos + 1] >= '0' && s[pos + 1] <= '9') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits++ < 3) fraction_ms = fraction_ms * 10 + (s[pos] - '0');
      ++pos;
    }
    for (; digits < 3; ++digits) fraction_ms *= 10;
  }
  int offset_seconds = 0;
  std::string_view zone = s.substr(pos);
  if (zone != "Z") {
    int zh, zm;
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !ReadDigits(zone, 1, 2, &zh) ||
        zone[3] != ':' || !ReadDigits(zone, 4, 2, &zm) || zh > 23 || zm > 59) {
      return false;
    }
    offset_seconds = (zh * 3600 + zm * 60) * (zone[0] == '-' ? -1 : 1);
  }
  int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                    offset_seconds;
  *ms = seconds * 1000 + fraction_ms;
  return true;
}

// The value of a time parameter, or `default_ms` when it is absent or empty
// (Prometheus's parseTimeParam).
Result<int64_t> ParseTimeParam(const Form& form, std::string_view name, int64_t default_ms) {
  std::string_view text = form.Get(name);
  if (text.empty()) return default_ms;
  auto t = ParseApiTime(text);
  if (!t.ok()) {
    return Status::InvalidArgument("Invalid time value for '" + std::string(name) +
                                   "': " + t.status().message());
  }
  return t;
}

Result<std::vector<std::vector<Matcher>>> ParseMatchers(const std::vector<std::string>& texts) {
  std::vector<std::vector<Matcher>> sets;
  for (const std::string& text : texts) {
    ASSIGN_OR_RETURN(auto matchers, promql::ParseMetricSelector(text));
    sets.push_back(std::move(matchers));
  }
  return sets;
}

// The engine's per-query options from an optional timeout parameter.
Result<promql::QueryOptions> QueryOptionsFrom(const Form& form, const std::atomic<bool>* cancel) {
  promql::QueryOptions options;
  options.cancel = cancel;
  std::string_view text = form.Get("timeout");
  if (text.empty()) return options;
  ASSIGN_OR_RETURN(std::chrono::nanoseconds timeout, ParseApiDuration(text));
  // The engine counts whole milliseconds; zero would mean "its default".
  options.timeout = std::max(std::chrono::milliseconds(1),
                             std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  return options;
}

ApiResponse QuerySuccess(const promql::QueryResult& result) {
  size_t hint = 0;
  if (auto* v = std::get_if<promql::Vector>(&result.value)) hint = v->size() * 96;
  if (auto* m = std::get_if<promql::Matrix>(&result.value)) {
    for (const auto& s : *m) hint += 64 + s.points.size() * 24;
  }
  return Success([&](std::string* out) { json::AppendQueryData(out, result.value); },
                 result.warnings, hint);
}

// True if `expr` contains a vector selector (Prometheus's ExtractSelectors
// is non-empty).
bool HasSelector(const promql::Expr& expr) {
  using namespace promql;
  switch (expr.kind()) {
    case NodeKind::kVectorSelector: return true;
    case NodeKind::kMatrixSelector: return true;
    case NodeKind::kSubquery: return HasSelector(*expr.As<SubqueryExpr>().expr);
    case NodeKind::kParen: return HasSelector(*expr.As<ParenExpr>().expr);
    case NodeKind::kUnary: return HasSelector(*expr.As<UnaryExpr>().expr);
    case NodeKind::kBinary: {
      const auto& b = expr.As<BinaryExpr>();
      return HasSelector(*b.lhs) || HasSelector(*b.rhs);
    }
    case NodeKind::kAggregate: {
      const auto& a = expr.As<AggregateExpr>();
      return HasSelector(*a.expr) || (a.param && HasSelector(*a.param));
    }
    case NodeKind::kCall:
      for (const auto& arg : expr.As<Call>().args) {
        if (arg && HasSelector(*arg)) return true;
      }
      return false;
    case NodeKind::kNumberLiteral:
    case NodeKind::kStringLiteral: return false;
  }
  return false;
}

// Go's time.Time JSON form: RFC 3339 in UTC with the fraction's trailing
// zeros dropped, "2023-11-14T22:13:20.5Z".
std::string FormatGoTime(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int fraction = static_cast<int>(ms - static_cast<int64_t>(seconds) * 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (fraction != 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", fraction);
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

}  // namespace

// --- Form ------------------------------------------------------------------

std::string_view Form::Get(std::string_view name) const {
  for (const auto& [key, value] : values_) {
    if (key == name) return value;
  }
  return {};
}

std::vector<std::string> Form::GetAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : values_) {
    if (key == name) out.push_back(value);
  }
  return out;
}

// --- Parsing ----------------------------------------------------------------

Result<int64_t> ParseApiTime(std::string_view text) {
  double t = 0;
  if (ParseGoFloat(text, &t)) {
    // Prometheus: s, ns := math.Modf(t); ns = math.Round(ns*1000)/1000;
    // time.Unix(int64(s), int64(ns*1e9)), then whole milliseconds.
    if (std::isfinite(t) && std::fabs(t) < 9.2e15) {
      double whole = std::trunc(t);
      double ns = std::round((t - whole) * 1000) / 1000;
      int64_t sec = static_cast<int64_t>(whole);
      int64_t nsec = static_cast<int64_t>(ns * 1e9);
      if (nsec < 0) {
        sec -= 1;
        nsec += 1'000'000'000;
      } else if (nsec >= 1'000'000'000) {
        sec += 1;
        nsec -= 1'000'000'000;
      }
      return sec * 1000 + nsec / 1'000'000;
    }
  } else {
    int64_t ms = 0;
    if (ParseRfc3339(text, &ms)) return ms;
    // Years beyond four digits are only accepted as Prometheus's own bounds.
    if (text == "-292273086-05-16T16:47:06Z") return kApiMinTimeMs;
    if (text == "292277025-08-18T07:12:54.999999999Z") return kApiMaxTimeMs;
  }
  return Status::InvalidArgument("cannot parse " + json::GoQuote(text) + " to a valid timestamp");
}

Result<std::chrono::nanoseconds> ParseApiDuration(std::string_view text) {
  double d = 0;
  if (ParseGoFloat(text, &d) && !std::isnan(d)) {
    double ns = d * 1e9;
    if (ns >= 9.223372036854775807e18 || ns < -9.223372036854775807e18) {
      return Status::InvalidArgument("cannot parse " + json::GoQuote(text) +
                                     " to a valid duration. It overflows int64");
    }
    return std::chrono::nanoseconds(static_cast<int64_t>(ns));
  }
  auto ms = ParseDuration(text);
  if (ms.ok() && ms->count() <= INT64_MAX / 1'000'000) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(*ms);
  }
  return Status::InvalidArgument("cannot parse " + json::GoQuote(text) + " to a valid duration");
}

// --- Handlers ---------------------------------------------------------------

QueryApi::QueryApi(const storage::Store& store, const promql::Engine& engine, const Clock& clock,
                   QueryApiOptions options)
    : store_(store),
      engine_(engine),
      clock_(clock),
      options_(std::move(options)),
      start_time_ms_(clock.NowMillis()) {}

ApiResponse QueryApi::Query(const Form& form) const {
  auto time = ParseTimeParam(form, "time", clock_.NowMillis());
  if (!time.ok()) return InvalidParam("time", time.status().message());
  auto options = QueryOptionsFrom(form, &cancel_);
  if (!options.ok()) return InvalidParam("timeout", options.status().message());
  auto expr = promql::ParseExpr(form.Get("query"));
  if (!expr.ok()) return InvalidParam("query", expr.status().message());
  auto result = engine_.InstantQuery(store_, **expr, *time, *options);
  if (!result.ok()) return FromStatus(result.status());
  return QuerySuccess(*result);
}

ApiResponse QueryApi::QueryRange(const Form& form) const {
  auto start = ParseApiTime(form.Get("start"));
  if (!start.ok()) return InvalidParam("start", start.status().message());
  auto end = ParseApiTime(form.Get("end"));
  if (!end.ok()) return InvalidParam("end", end.status().message());
  if (*end < *start) return InvalidParam("end", "end timestamp must not be before start time");
  auto step = ParseApiDuration(form.Get("step"));
  if (!step.ok()) return InvalidParam("step", step.status().message());
  // The engine steps in whole milliseconds, as Prometheus's does.
  auto step_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*step);
  if (step_ms.count() <= 0) {
    return InvalidParam("step",
                        "zero or negative query resolution step widths are not accepted. "
                        "Try a positive integer");
  }
  // end.Sub(start)/step > 11000, in nanoseconds saturated like Go's Sub.
  int64_t span_ms = 0, span_ns = 0;
  if (__builtin_sub_overflow(*end, *start, &span_ms) ||
      __builtin_mul_overflow(span_ms, int64_t{1'000'000}, &span_ns)) {
    span_ns = INT64_MAX;
  }
  if (span_ns / step->count() > 11000) {
    return BadData(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
        "query resolution (?step=XX)");
  }
  auto options = QueryOptionsFrom(form, &cancel_);
  if (!options.ok()) return InvalidParam("timeout", options.status().message());
  auto expr = promql::ParseExpr(form.Get("query"));
  if (!expr.ok()) return BadData(expr.status().message());
  promql::ValueType type = (*expr)->type();
  if (type != promql::ValueType::kVector && type != promql::ValueType::kScalar) {
    return BadData("invalid expression type \"" +
                   std::string(promql::DocumentedTypeName(type)) +
                   "\" for range query, must be Scalar or instant Vector");
  }
  auto result = engine_.RangeQuery(store_, **expr, *start, *end, step_ms, *options);
  if (!result.ok()) return FromStatus(result.status());
  return QuerySuccess(*result);
}

ApiResponse QueryApi::QueryExemplars(const Form& form) const {
  auto start = ParseTimeParam(form, "start", kApiMinTimeMs);
  if (!start.ok()) return InvalidParam("start", start.status().message());
  auto end = ParseTimeParam(form, "end", kApiMaxTimeMs);
  if (!end.ok()) return InvalidParam("end", end.status().message());
  if (*end < *start) return BadData("end timestamp must not be before start timestamp");
  auto expr = promql::ParseExpr(form.Get("query"));
  if (!expr.ok()) return BadData(expr.status().message());
  // Prometheus answers 204 when the query selects nothing; the collector
  // stores no exemplars, so every other answer is an empty list.
  if (!HasSelector(**expr)) return ApiResponse{204, ""};
  return Success([](std::string* out) { *out += "[]"; });
}

ApiResponse QueryApi::FormatQuery(const Form& form) const {
  auto expr = promql::ParseExpr(form.Get("query"));
  if (!expr.ok()) return InvalidParam("query", expr.status().message());
  std::string printed = promql::Print(**expr);
  return Success([&](std::string* out) { AppendString(out, printed); });
}

ApiResponse QueryApi::Series(const Form& form) const {
  std::vector<std::string> match = form.GetAll("match[]");
  if (match.empty()) return BadData("no match[] parameter provided");
  auto start = ParseTimeParam(form, "start", kApiMinTimeMs);
  if (!start.ok()) return InvalidParam("start", start.status().message());
  auto end = ParseTimeParam(form, "end", kApiMaxTimeMs);
  if (!end.ok()) return InvalidParam("end", end.status().message());
  auto sets = ParseMatchers(match);
  if (!sets.ok()) return InvalidParam("match[]", sets.status().message());

  std::vector<Labels> series;
  for (const auto& matchers : *sets) {
    auto set = store_.Select(matchers, *start, *end);
    if (!set.ok()) return Error("execution", set.status().message());
    while ((*set)->Next()) series.push_back((*set)->labels());
    if (!(*set)->status().ok()) return Error("execution", (*set)->status().message());
  }
  if (sets->size() > 1) {  // Each set is sorted; merge them without duplicates.
    std::sort(series.begin(), series.end());
    series.erase(std::unique(series.begin(), series.end()), series.end());
  }
  return Success(
      [&](std::string* out) {
        out->push_back('[');
        for (size_t i = 0; i < series.size(); ++i) {
          if (i > 0) out->push_back(',');
          json::AppendLabels(out, series[i]);
        }
        out->push_back(']');
      },
      {}, series.size() * 80);
}

ApiResponse QueryApi::LabelNames(const Form& form) const {
  auto start = ParseTimeParam(form, "start", kApiMinTimeMs);
  if (!start.ok()) return InvalidParam("start", start.status().message());
  auto end = ParseTimeParam(form, "end", kApiMaxTimeMs);
  if (!end.ok()) return InvalidParam("end", end.status().message());
  auto sets = ParseMatchers(form.GetAll("match[]"));
  if (!sets.ok()) return BadData(sets.status().message());
  if (sets->empty()) sets->emplace_back();  // No match[]: every series.
  std::vector<std::string> names;
  for (const auto& matchers : *sets) {
    auto some = store_.LabelNames(matchers, *start, *end);
    if (!some.ok()) return Error("execution", some.status().message());
    names.insert(names.end(), some->begin(), some->end());
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return Success([&](std::string* out) { AppendStringList(out, names); });
}

ApiResponse QueryApi::LabelValues(std::string_view name, const Form& form) const {
  if (!IsValidLabelName(name)) {
    return BadData("invalid label name: " + json::GoQuote(name));
  }
  auto start = ParseTimeParam(form, "start", kApiMinTimeMs);
  if (!start.ok()) return InvalidParam("start", start.status().message());
  auto end = ParseTimeParam(form, "end", kApiMaxTimeMs);
  if (!end.ok()) return InvalidParam("end", end.status().message());
  auto sets = ParseMatchers(form.GetAll("match[]"));
  if (!sets.ok()) return BadData(sets.status().message());
  if (sets->empty()) sets->emplace_back();
  std::vector<std::string> values;
  for (const auto& matchers : *sets) {
    auto some = store_.LabelValues(std::string(name), matchers, *start, *end);
    if (!some.ok()) return Error("execution", some.status().message());
    values.insert(values.end(), some->begin(), some->end());
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return Success([&](std::string* out) { AppendStringList(out, values); }, {},
                 values.size() * 24);
}

ApiResponse QueryApi::Metadata(const Form& form) const {
  int64_t limit = -1;
  std::string_view limit_text = form.Get("limit");
  if (!limit_text.empty()) {
    std::string_view digits = limit_text;
    if (digits.front() == '+') digits.remove_prefix(1);  // strconv.Atoi takes a sign.
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), limit);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
      return BadData("limit must be a number");
    }
  }
  std::string_view metric = form.Get("metric");
  std::map<std::string, MetricDesc> all = store_.AllMetadata();
  return Success([&](std::string* out) {
    out->push_back('{');
    int64_t n = 0;
    for (const auto& [name, desc] : all) {
      if (!metric.empty() && name != metric) continue;
      if (limit >= 0 && n >= limit) break;
      if (n++ > 0) out->push_back(',');
      AppendString(out, name);
      out->append(R"(:[{"type":)");
      // Prometheus calls an untyped metric "unknown".
      AppendString(out, desc.type == MetricType::kUntyped ? "unknown" : MetricTypeName(desc.type));
      out->append(R"(,"help":)");
      AppendString(out, desc.help);
      out->append(R"(,"unit":""}])");
    }
    out->push_back('}');
  });
}

ApiResponse QueryApi::BuildInfo() const {
  return Success([](std::string* out) {
    out->append(R"({"version":)");
    AppendString(out, kVersion);
    out->append(R"(,"revision":)");
    AppendString(out, kRevision);
    out->append(R"(,"branch":"","buildUser":"","buildDate":"","goVersion":""})");
  });
}

ApiResponse QueryApi::RuntimeInfo() const {
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  int64_t threads = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++threads;
  }
  std::string start = FormatGoTime(start_time_ms_);
  return Success([&](std::string* out) {
    out->append(R"({"startTime":)");
    AppendString(out, start);
    out->append(R"(,"CWD":)");
    AppendString(out, cwd);
    out->append(R"(,"reloadConfigSuccess":true,"lastConfigTime":)");
    AppendString(out, start);
    out->append(R"(,"corruptionCount":0,"goroutineCount":)");
    out->append(std::to_string(threads));
    out->append(R"(,"GOMAXPROCS":)");
    out->append(std::to_string(std::max(1u, std::thread::hardware_concurrency())));
    out->append(R"(,"GOGC":"","GODEBUG":"","storageRetention":)");
    AppendString(out, options_.storage_retention);
    out->push_back('}');
  });
}

ApiResponse QueryApi::Flags() const {
  return Success([&](std::string* out) {
    out->push_back('{');
    bool first = true;
    for (const auto& [name, value] : options_.flags) {
      if (!first) out->push_back(',');
      first = false;
      AppendString(out, name);
      out->push_back(':');
      AppendString(out, value);
    }
    out->push_back('}');
  });
}

}  // namespace vitals::collector
