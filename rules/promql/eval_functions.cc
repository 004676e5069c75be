// The implementations of PromQL's functions (their signatures are in
// functions.cc) and how the evaluator calls them.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <exception>
#include <numbers>
#include <thread>
#include <unordered_map>

#include <re2/re2.h>

#include "rules/promql/evaluator.h"
#include "rules/promql/functions.h"

namespace vitals::promql::internal {
namespace {

// Above this many input points times steps, a range function over many series
// runs on two threads (about 10 ms of single-threaded work).
constexpr uint64_t kParallelRangeWork = 2'000'000;

// ---------------------------------------------------------------------------
// Range-vector functions: one series' points in a window -> one value.

// rate(), increase() and delta(): the change over the window, extrapolated
// towards its edges as Prometheus does.
bool ExtrapolatedRate(const RangeWindow& w, bool is_counter, bool is_rate, double* out) {
  const auto& p = w.points;
  if (p.size() < 2) return false;
  double result = p.back().v - p.front().v;
  if (is_counter) {
    double last = 0;
    for (const Point& s : p) {
      if (s.v < last) result += last;
      last = s.v;
    }
  }
  double to_start = static_cast<double>(p.front().t - w.mint) / 1000;
  double to_end = static_cast<double>(w.maxt - p.back().t) / 1000;
  double sampled = static_cast<double>(p.back().t - p.front().t) / 1000;
  double average = sampled / static_cast<double>(p.size() - 1);
  if (is_counter && result > 0 && p.front().v >= 0) {
    // A counter cannot go below zero: extrapolate no further than to zero.
    double to_zero = sampled * (p.front().v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  double threshold = average * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : average / 2;
  interval += to_end < threshold ? to_end : average / 2;
  // In Prometheus's order of operations, so results agree to the last bit.
  double factor = interval / sampled;
  if (is_rate) factor /= static_cast<double>(w.maxt - w.mint) / 1000;
  result *= factor;
  *out = result;
  return true;
}

bool Rate(const RangeWindow& w, double* out) { return ExtrapolatedRate(w, true, true, out); }
bool Increase(const RangeWindow& w, double* out) { return ExtrapolatedRate(w, true, false, out); }
bool Delta(const RangeWindow& w, double* out) { return ExtrapolatedRate(w, false, false, out); }

bool InstantValue(const RangeWindow& w, bool is_rate, double* out) {
  const auto& p = w.points;
  if (p.size() < 2) return false;
  const Point& last = p[p.size() - 1];
  const Point& prev = p[p.size() - 2];
  double result = is_rate && last.v < prev.v ? last.v : last.v - prev.v;
  int64_t interval = last.t - prev.t;
  if (interval == 0) return false;
  if (is_rate) result /= static_cast<double>(interval) / 1000;
  *out = result;
  return true;
}
bool Irate(const RangeWindow& w, double* out) { return InstantValue(w, true, out); }
bool Idelta(const RangeWindow& w, double* out) { return InstantValue(w, false, out); }

// Least squares over (seconds since intercept_time, value).
void LinearRegression(std::span<const Point> p, int64_t intercept_time, double* slope,
                      double* intercept) {
  double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
  const double init_y = p[0].v;
  bool const_y = true;
  for (size_t i = 0; i < p.size(); ++i) {
    if (const_y && i > 0 && p[i].v != init_y) const_y = false;
    n += 1;
    double x = static_cast<double>(p[i].t - intercept_time) / 1e3;
    KahanSumInc(x, &sx, &cx);
    KahanSumInc(p[i].v, &sy, &cy);
    KahanSumInc(x * p[i].v, &sxy, &cxy);
    KahanSumInc(x * x, &sx2, &cx2);
  }
  if (const_y) {
    if (std::isinf(init_y)) {
      *slope = *intercept = NAN;
    } else {
      *slope = 0;
      *intercept = init_y;
    }
    return;
  }
  sx += cx;
  sy += cy;
  sxy += cxy;
  sx2 += cx2;
  double cov = sxy - sx * sy / n;
  double var = sx2 - sx * sx / n;
  *slope = cov / var;
  *intercept = sy / n - *slope * sx / n;
}

bool Deriv(const RangeWindow& w, double* out) {
  if (w.points.size() < 2) return false;
  double intercept;
  LinearRegression(w.points, w.points[0].t, out, &intercept);
  return true;
}

bool PredictLinear(const RangeWindow& w, double* out) {
  if (w.points.size() < 2) return false;
  double slope, intercept;
  LinearRegression(w.points, w.ts, &slope, &intercept);
  *out = slope * w.scalars[1] + intercept;
  return true;
}

std::string GoFloat(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%f", v);
  return buf;
}

bool HoltWinters(const RangeWindow& w, double* out) {
  double sf = w.scalars[1], tf = w.scalars[2];
  if (sf <= 0 || sf >= 1) {
    FailExecution("invalid smoothing factor. Expected: 0 < sf < 1, got: " + GoFloat(sf));
  }
  if (tf <= 0 || tf >= 1) {
    FailExecution("invalid trend factor. Expected: 0 < tf < 1, got: " + GoFloat(tf));
  }
  const auto& p = w.points;
  if (p.size() < 2) return false;
  double s0 = 0, s1 = p[0].v, b = p[1].v - p[0].v;
  for (size_t i = 1; i < p.size(); ++i) {
    double x = sf * p[i].v;
    if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
    double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  *out = s1;
  return true;
}

bool AvgOverTime(const RangeWindow& w, double* out) {
  double mean = 0, count = 0, c = 0;
  for (const Point& p : w.points) {
    count += 1;
    if (std::isinf(mean)) {
      if (std::isinf(p.v) && (mean > 0) == (p.v > 0)) continue;
      if (!std::isinf(p.v) && !std::isnan(p.v)) continue;
    }
    KahanSumInc(p.v / count - mean / count, &mean, &c);
  }
  *out = std::isinf(mean) ? mean : mean + c;
  return true;
}

bool SumOverTime(const RangeWindow& w, double* out) {
  double sum = 0, c = 0;
  for (const Point& p : w.points) KahanSumInc(p.v, &sum, &c);
  *out = std::isinf(sum) ? sum : sum + c;
  return true;
}

bool CountOverTime(const RangeWindow& w, double* out) {
  *out = static_cast<double>(w.points.size());
  return true;
}

bool MaxOverTime(const RangeWindow& w, double* out) {
  double m = w.points[0].v;
  for (const Point& p : w.points) {
    if (p.v > m || std::isnan(m)) m = p.v;
  }
  *out = m;
  return true;
}

bool MinOverTime(const RangeWindow& w, double* out) {
  double m = w.points[0].v;
  for (const Point& p : w.points) {
    if (p.v < m || std::isnan(m)) m = p.v;
  }
  *out = m;
  return true;
}

bool LastOverTime(const RangeWindow& w, double* out) {
  *out = w.points.back().v;
  return true;
}

bool PresentOverTime(const RangeWindow&, double* out) {
  *out = 1;
  return true;
}

bool QuantileOverTime(const RangeWindow& w, double* out) {
  std::vector<double> values;
  values.reserve(w.points.size());
  for (const Point& p : w.points) values.push_back(p.v);
  *out = Quantile(w.scalars[0], &values);
  return true;
}

double VarianceOverTime(const RangeWindow& w) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const Point& p : w.points) {
    count += 1;
    double delta = p.v - (mean + c_mean);
    KahanSumInc(delta / count, &mean, &c_mean);
    KahanSumInc(delta * (p.v - (mean + c_mean)), &aux, &c_aux);
  }
  return (aux + c_aux) / count;
}

bool StdvarOverTime(const RangeWindow& w, double* out) {
  *out = VarianceOverTime(w);
  return true;
}

bool StddevOverTime(const RangeWindow& w, double* out) {
  *out = std::sqrt(VarianceOverTime(w));
  return true;
}

bool Changes(const RangeWindow& w, double* out) {
  int changes = 0;
  double prev = w.points[0].v;
  for (size_t i = 1; i < w.points.size(); ++i) {
    double cur = w.points[i].v;
    if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) ++changes;
    prev = cur;
  }
  *out = changes;
  return true;
}

bool Resets(const RangeWindow& w, double* out) {
  int resets = 0;
  double prev = w.points[0].v;
  for (size_t i = 1; i < w.points.size(); ++i) {
    if (w.points[i].v < prev) ++resets;
    prev = w.points[i].v;
  }
  *out = resets;
  return true;
}

const std::unordered_map<std::string_view, RangeFunction>& RangeFunctions() {
  static const auto* table = new std::unordered_map<std::string_view, RangeFunction>{
      {"absent_over_time", PresentOverTime},
      {"avg_over_time", AvgOverTime},
      {"changes", Changes},
      {"count_over_time", CountOverTime},
      {"delta", Delta},
      {"deriv", Deriv},
      {"holt_winters", HoltWinters},
      {"idelta", Idelta},
      {"increase", Increase},
      {"irate", Irate},
      {"last_over_time", LastOverTime},
      {"max_over_time", MaxOverTime},
      {"min_over_time", MinOverTime},
      {"predict_linear", PredictLinear},
      {"present_over_time", PresentOverTime},
      {"quantile_over_time", QuantileOverTime},
      {"rate", Rate},
      {"resets", Resets},
      {"stddev_over_time", StddevOverTime},
      {"stdvar_over_time", StdvarOverTime},
      {"sum_over_time", SumOverTime},
  };
  return *table;
}

// ---------------------------------------------------------------------------
// Instant-vector functions.

const std::string& StringArg(const Call& call, size_t i) {
  const Expr* e = call.args[i].get();
  while (e->kind() == NodeKind::kParen) e = e->As<ParenExpr>().expr.get();
  return e->As<StringLiteral>().value;
}

template <double (*F)(double)>
Vector Simple(std::span<const Vector> args, const Call&, int64_t ts) {
  Vector out;
  out.reserve(args[0].size());
  for (const Sample& s : args[0]) out.push_back(Sample{DropMetricName(s.labels), ts, F(s.value)});
  return out;
}

double Abs(double v) { return std::fabs(v); }
double Ceil(double v) { return std::ceil(v); }
double Floor(double v) { return std::floor(v); }
double Exp(double v) { return std::exp(v); }
double Sqrt(double v) { return std::sqrt(v); }
double Ln(double v) { return std::log(v); }
double Log2(double v) { return std::log2(v); }
double Log10(double v) { return std::log10(v); }
double Sin(double v) { return std::sin(v); }
double Cos(double v) { return std::cos(v); }
double Tan(double v) { return std::tan(v); }
double Asin(double v) { return std::asin(v); }
double Acos(double v) { return std::acos(v); }
double Atan(double v) { return std::atan(v); }
double Sinh(double v) { return std::sinh(v); }
double Cosh(double v) { return std::cosh(v); }
double Tanh(double v) { return std::tanh(v); }
double Asinh(double v) { return std::asinh(v); }
double Acosh(double v) { return std::acosh(v); }
double Atanh(double v) { return std::atanh(v); }
double Rad(double v) { return v * std::numbers::pi / 180; }
double Deg(double v) { return v * 180 / std::numbers::pi; }
double Sgn(double v) { return v < 0 ? -1 : v > 0 ? 1 : v; }

Vector ScalarResult(double v, int64_t ts) { return Vector{Sample{{}, ts, v}}; }

Vector Time(std::span<const Vector>, const Call&, int64_t ts) {
  return ScalarResult(static_cast<double>(ts) / 1000, ts);
}
Vector Pi(std::span<const Vector>, const Call&, int64_t ts) {
  return ScalarResult(std::numbers::pi, ts);
}
Vector ScalarFn(std::span<const Vector> args, const Call&, int64_t ts) {
  return ScalarResult(args[0].size() == 1 ? args[0][0].value : NAN, ts);
}
Vector VectorFn(std::span<const Vector> args, const Call&, int64_t ts) {
  return Vector{Sample{{}, ts, args[0][0].value}};
}

Vector Timestamp(std::span<const Vector> args, const Call&, int64_t ts) {
  Vector out;
  for (const Sample& s : args[0]) {
    out.push_back(Sample{DropMetricName(s.labels), ts, static_cast<double>(s.timestamp_ms) / 1000});
  }
  return out;
}

// histogram_count(), histogram_sum(), histogram_fraction(): they read native
// histogram samples only and skip floats, so over float data (all Vitals
// stores) they return nothing, as in Prometheus 2.42.
Vector NativeHistogramOnly(std::span<const Vector>, const Call&, int64_t) { return {}; }

Vector Absent(std::span<const Vector> args, const Call& call, int64_t ts) {
  if (!args[0].empty()) return {};
  return Vector{Sample{AbsentLabels(*call.args[0]), ts, 1}};
}

// Go's math.Max/Min: NaN wins.
double GoMax(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  return std::max(a, b);
}
double GoMin(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  return std::min(a, b);
}

Vector Clamp(std::span<const Vector> args, const Call&, int64_t ts) {
  double lo = args[1][0].value, hi = args[2][0].value;
  if (hi < lo) return {};
  Vector out;
  for (const Sample& s : args[0]) {
    out.push_back(Sample{DropMetricName(s.labels), ts, GoMax(lo, GoMin(hi, s.value))});
  }
  return out;
}

Vector ClampMax(std::span<const Vector> args, const Call&, int64_t ts) {
  Vector out;
  for (const Sample& s : args[0]) {
    out.push_back(Sample{DropMetricName(s.labels), ts, GoMin(args[1][0].value, s.value)});
  }
  return out;
}

Vector ClampMin(std::span<const Vector> args, const Call&, int64_t ts) {
  Vector out;
  for (const Sample& s : args[0]) {
    out.push_back(Sample{DropMetricName(s.labels), ts, GoMax(args[1][0].value, s.value)});
  }
  return out;
}

Vector Round(std::span<const Vector> args, const Call&, int64_t ts) {
  double to_nearest = args.size() >= 2 ? args[1][0].value : 1;
  double inverse = 1.0 / to_nearest;
  Vector out;
  for (const Sample& s : args[0]) {
    out.push_back(
        Sample{DropMetricName(s.labels), ts, std::floor(s.value * inverse + 0.5) / inverse});
  }
  return out;
}

// sort() and sort_desc(): NaN last either way.
Vector SortBy(std::span<const Vector> args, bool descending) {
  Vector out(args[0].begin(), args[0].end());
  std::stable_sort(out.begin(), out.end(), [descending](const Sample& a, const Sample& b) {
    if (std::isnan(a.value) || std::isnan(b.value)) {
      return !std::isnan(a.value) && std::isnan(b.value);
    }
    return descending ? a.value > b.value : a.value < b.value;
  });
  return out;
}
Vector Sort(std::span<const Vector> args, const Call&, int64_t) { return SortBy(args, false); }
Vector SortDesc(std::span<const Vector> args, const Call&, int64_t) { return SortBy(args, true); }

// The broken-down UTC time of a Unix timestamp in seconds.
std::tm UtcTime(double seconds) {
  time_t t = static_cast<time_t>(static_cast<int64_t>(seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

bool IsLeap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

template <double (*F)(const std::tm&)>
Vector DateFn(std::span<const Vector> args, const Call&, int64_t ts) {
  if (args.empty()) return Vector{Sample{{}, ts, F(UtcTime(static_cast<double>(ts / 1000)))}};
  Vector out;
  for (const Sample& s : args[0]) {
    double v = std::isnan(s.value) || std::isinf(s.value) ? NAN : F(UtcTime(s.value));
    out.push_back(Sample{DropMetricName(s.labels), ts, v});
  }
  return out;
}

double DaysInMonth(const std::tm& t) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int year = t.tm_year + 1900;
  return t.tm_mon == 1 && IsLeap(year) ? 29 : kDays[t.tm_mon];
}
double DayOfMonth(const std::tm& t) { return t.tm_mday; }
double DayOfWeek(const std::tm& t) { return t.tm_wday; }
double DayOfYear(const std::tm& t) { return t.tm_yday + 1; }
double Hour(const std::tm& t) { return t.tm_hour; }
double Minute(const std::tm& t) { return t.tm_min; }
double Month(const std::tm& t) { return t.tm_mon + 1; }
double Year(const std::tm& t) { return t.tm_year + 1900; }

// Go's regexp.Expand: $1, ${1}, $name, ${name}; $$ is a dollar.
std::string ExpandTemplate(const std::string& tmpl, const RE2& re,
                           const std::vector<re2::StringPiece>& groups) {
  std::string out;
  const auto& names = re.NamedCapturingGroups();
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out += tmpl[i];
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    size_t j = i + 1;
    bool braced = tmpl[j] == '{';
    if (braced) ++j;
    size_t name_start = j;
    while (j < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[j])) || tmpl[j] == '_')) {
      ++j;
    }
    name = tmpl.substr(name_start, j - name_start);
    if (name.empty() || (braced && (j >= tmpl.size() || tmpl[j] != '}'))) {
      out += '$';  // Not a reference: Go copies the dollar literally.
      continue;
    }
    if (braced) ++j;
    int group = -1;
    if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (name.size() < 10) group = std::stoi(name);
    } else if (auto it = names.find(name); it != names.end()) {
      group = it->second;
    }
    if (group >= 0 && static_cast<size_t>(group) < groups.size() && groups[group].data()) {
      out.append(groups[group].data(), groups[group].size());
    }
    i = j - 1;
  }
  return out;
}

Vector LabelReplace(std::span<const Vector> args, const Call& call, int64_t ts) {
  const std::string& dst = StringArg(call, 1);
  const std::string& repl = StringArg(call, 2);
  const std::string& src = StringArg(call, 3);
  const std::string& regex = StringArg(call, 4);
  RE2 re("^(?:" + regex + ")$", RE2::Quiet);
  if (!re.ok()) FailExecution("invalid regular expression in label_replace(): " + regex);
  if (!IsValidLabelName(dst)) {
    FailExecution("invalid destination label name in label_replace(): " + dst);
  }
  Vector out;
  std::vector<re2::StringPiece> groups(re.NumberOfCapturingGroups() + 1);
  for (const Sample& s : args[0]) {
    std::string src_value(GetLabel(s.labels, src));
    Labels labels = s.labels;
    if (re.Match(src_value, 0, src_value.size(), RE2::UNANCHORED, groups.data(),
                 static_cast<int>(groups.size()))) {
      std::string value = ExpandTemplate(repl, re, groups);
      std::erase_if(labels, [&](const Label& l) { return l.name == dst; });
      if (!value.empty()) SetLabel(&labels, dst, value);
    }
    out.push_back(Sample{std::move(labels), ts, s.value});
  }
  return out;
}

Vector LabelJoin(std::span<const Vector> args, const Call& call, int64_t ts) {
  const std::string& dst = StringArg(call, 1);
  const std::string& sep = StringArg(call, 2);
  std::vector<std::string> sources;
  for (size_t i = 3; i < call.args.size(); ++i) {
    const std::string& src = StringArg(call, i);
    if (!IsValidLabelName(src)) FailExecution("invalid source label name in label_join(): " + src);
    sources.push_back(src);
  }
  if (!IsValidLabelName(dst)) FailExecution("invalid destination label name in label_join(): " + dst);
  Vector out;
  for (const Sample& s : args[0]) {
    std::string joined;
    for (size_t i = 0; i < sources.size(); ++i) {
      if (i > 0) joined += sep;
      joined += GetLabel(s.labels, sources[i]);
    }
    Labels labels = s.labels;
    std::erase_if(labels, [&](const Label& l) { return l.name == dst; });
    if (!joined.empty()) SetLabel(&labels, dst, joined);
    out.push_back(Sample{std::move(labels), ts, s.value});
  }
  return out;
}

// histogram_quantile over classic buckets (series with an `le` label).
struct Bucket {
  double upper;
  double count;
};

double BucketQuantile(double q, std::vector<Bucket> buckets) {
  if (std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const Bucket& a, const Bucket& b) { return a.upper < b.upper; });
  if (!std::isinf(buckets.back().upper) || buckets.back().upper < 0) return NAN;
  // Merge buckets with the same bound, then make counts monotonic.
  std::vector<Bucket> merged;
  for (const Bucket& b : buckets) {
    if (!merged.empty() && merged.back().upper == b.upper) {
      merged.back().count += b.count;
    } else {
      merged.push_back(b);
    }
  }
  double max = -INFINITY;
  for (Bucket& b : merged) {
    if (b.count > max) {
      max = b.count;
    } else if (b.count < max) {
      b.count = max;
    }
  }
  if (merged.size() < 2) return NAN;
  double observations = merged.back().count;
  if (observations == 0) return NAN;
  double rank = q * observations;
  size_t b = 0;
  while (b < merged.size() - 1 && !(merged[b].count >= rank)) ++b;
  if (b == merged.size() - 1) return merged[merged.size() - 2].upper;
  if (b == 0 && merged[0].upper <= 0) return merged[0].upper;
  double start = 0, end = merged[b].upper, count = merged[b].count;
  if (b > 0) {
    start = merged[b - 1].upper;
    count -= merged[b - 1].count;
    rank -= merged[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

// Go's strconv.ParseFloat for a bucket bound: decimal, hex, Inf and NaN
// spellings; nullopt when it does not parse.
std::optional<double> ParseBound(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "+inf" || lower == "inf" || lower == "+infinity" || lower == "infinity") {
    return INFINITY;
  }
  if (lower == "-inf" || lower == "-infinity") return -INFINITY;
  if (lower == "nan") return NAN;
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  if (lower.find("inf") != std::string::npos || lower.find("nan") != std::string::npos) {
    return std::nullopt;
  }
  return v;
}

Vector HistogramQuantile(std::span<const Vector> args, const Call&, int64_t ts) {
  double q = args[0][0].value;
  struct Group {
    Labels labels;
    std::vector<Bucket> buckets;
  };
  std::unordered_map<std::string, size_t> index;
  std::vector<Group> groups;
  for (const Sample& s : args[1]) {
    auto bound = ParseBound(GetLabel(s.labels, "le"));
    if (!bound) continue;
    Labels rest;
    for (const Label& l : s.labels) {
      if (l.name != "le" && l.name != kMetricNameLabel) rest.push_back(l);
    }
    std::string key = LabelsKey(rest) + "\xfe" + std::string(GetLabel(s.labels, kMetricNameLabel));
    auto [it, inserted] = index.try_emplace(std::move(key), groups.size());
    if (inserted) groups.push_back(Group{std::move(rest), {}});
    groups[it->second].buckets.push_back(Bucket{*bound, s.value});
  }
  Vector out;
  for (Group& g : groups) {
    out.push_back(Sample{std::move(g.labels), ts, BucketQuantile(q, std::move(g.buckets))});
  }
  return out;
}

const std::unordered_map<std::string_view, InstantFunction>& InstantFunctions() {
  static const auto* table = new std::unordered_map<std::string_view, InstantFunction>{
      {"abs", Simple<Abs>},
      {"absent", Absent},
      {"acos", Simple<Acos>},
      {"acosh", Simple<Acosh>},
      {"asin", Simple<Asin>},
      {"asinh", Simple<Asinh>},
      {"atan", Simple<Atan>},
      {"atanh", Simple<Atanh>},
      {"ceil", Simple<Ceil>},
      {"clamp", Clamp},
      {"clamp_max", ClampMax},
      {"clamp_min", ClampMin},
      {"cos", Simple<Cos>},
      {"cosh", Simple<Cosh>},
      {"day_of_month", DateFn<DayOfMonth>},
      {"day_of_week", DateFn<DayOfWeek>},
      {"day_of_year", DateFn<DayOfYear>},
      {"days_in_month", DateFn<DaysInMonth>},
      {"deg", Simple<Deg>},
      {"exp", Simple<Exp>},
      {"floor", Simple<Floor>},
      {"histogram_count", NativeHistogramOnly},
      {"histogram_fraction", NativeHistogramOnly},
      {"histogram_quantile", HistogramQuantile},
      {"histogram_sum", NativeHistogramOnly},
      {"hour", DateFn<Hour>},
      {"label_join", LabelJoin},
      {"label_replace", LabelReplace},
      {"ln", Simple<Ln>},
      {"log10", Simple<Log10>},
      {"log2", Simple<Log2>},
      {"minute", DateFn<Minute>},
      {"month", DateFn<Month>},
      {"pi", Pi},
      {"rad", Simple<Rad>},
      {"round", Round},
      {"scalar", ScalarFn},
      {"sgn", Simple<Sgn>},
      {"sin", Simple<Sin>},
      {"sinh", Simple<Sinh>},
      {"sort", Sort},
      {"sort_desc", SortDesc},
      {"sqrt", Simple<Sqrt>},
      {"tan", Simple<Tan>},
      {"tanh", Simple<Tanh>},
      {"time", Time},
      {"timestamp", Timestamp},
      {"vector", VectorFn},
      {"year", DateFn<Year>},
  };
  return *table;
}

const Expr& Unparen(const Expr& e) {
  return e.kind() == NodeKind::kParen ? Unparen(*e.As<ParenExpr>().expr) : e;
}

}  // namespace

InstantFunction FindInstantFunction(std::string_view name) {
  auto it = InstantFunctions().find(name);
  return it == InstantFunctions().end() ? nullptr : it->second;
}

RangeFunction FindRangeFunction(std::string_view name) {
  auto it = RangeFunctions().find(name);
  return it == RangeFunctions().end() ? nullptr : it->second;
}

Labels AbsentLabels(const Expr& arg) {
  const VectorSelector* vs = nullptr;
  if (arg.kind() == NodeKind::kVectorSelector) vs = &arg.As<VectorSelector>();
  if (arg.kind() == NodeKind::kMatrixSelector) vs = arg.As<MatrixSelector>().vector_selector.get();
  Labels out;
  if (vs == nullptr) return out;
  std::vector<std::string> ambiguous;
  for (const Matcher& m : vs->matchers) {
    if (m.name() == kMetricNameLabel) continue;
    if (m.type() == MatchType::kEqual && GetLabel(out, m.name()).empty() &&
        std::none_of(out.begin(), out.end(), [&](const Label& l) { return l.name == m.name(); })) {
      SetLabel(&out, m.name(), m.value());
    } else {
      ambiguous.push_back(m.name());
    }
  }
  for (const std::string& name : ambiguous) {
    std::erase_if(out, [&](const Label& l) { return l.name == name; });
  }
  // An equality matcher with an empty value matches absence: no label.
  std::erase_if(out, [](const Label& l) { return l.value.empty(); });
  return out;
}

Matrix Evaluator::EvalCall(const Call& e) {
  const std::string_view name = e.func->name;
  for (size_t i = 0; i < e.args.size(); ++i) {
    NodeKind kind = Unparen(*e.args[i]).kind();
    if (kind == NodeKind::kMatrixSelector || kind == NodeKind::kSubquery) {
      return EvalRangeFunction(e, i);
    }
  }
  InstantFunction fn = FindInstantFunction(name);
  if (fn == nullptr) Fail(Status::Internal("no implementation of function " + std::string(name)));
  if (name == "timestamp") {
    // timestamp(selector) gives the sample's own time, not the step's.
    const Expr& arg = Unparen(*e.args[0]);
    if (arg.kind() == NodeKind::kVectorSelector) {
      Matrix m = EvalVectorSelector(arg.As<VectorSelector>(), /*sample_timestamps=*/true);
      for (Series& s : m) s.metric = DropMetricName(s.metric);
      if (ContainsSameLabelset(m)) FailExecution(std::string(kSameLabelsetError));
      return m;
    }
  }
  std::vector<const Expr*> args;
  for (const auto& a : e.args) args.push_back(a.get());
  return RangeEval(args, [fn, &e](std::span<Vector> v, int64_t ts) { return fn(v, e, ts); });
}

Matrix Evaluator::EvalRangeFunction(const Call& e, size_t matrix_arg) {
  const std::string_view name = e.func->name;
  RangeFunction fn = FindRangeFunction(name);
  if (fn == nullptr) Fail(Status::Internal("no implementation of function " + std::string(name)));

  // The scalar arguments, one value per step.
  std::vector<Matrix> scalar_args(e.args.size());
  for (size_t i = 0; i < e.args.size(); ++i) {
    if (i != matrix_arg) scalar_args[i] = EvalMatrix(*e.args[i]);
  }

  // The series and how each step's window is placed.
  const Expr& arg = Unparen(*e.args[matrix_arg]);
  std::vector<Series> input;
  AtModifier at;
  int64_t at_ms;
  std::chrono::milliseconds offset, range;
  if (arg.kind() == NodeKind::kMatrixSelector) {
    const auto& ms = arg.As<MatrixSelector>();
    const VectorSelector& vs = *ms.vector_selector;
    at = vs.at;
    at_ms = vs.at_timestamp_ms;
    offset = vs.offset;
    range = ms.range;
    int64_t mint = RefTime(at, at_ms, offset, start_) - range.count();
    int64_t maxt = RefTime(at, at_ms, offset, end_);
    for (SelectedSeries& s : Select(vs, mint, maxt, /*drop_stale=*/true)) {
      input.push_back(Series{std::move(s.labels), std::move(s.points)});
    }
  } else {
    const auto& sq = arg.As<SubqueryExpr>();
    at = sq.at;
    at_ms = sq.at_timestamp_ms;
    offset = sq.offset;
    range = sq.range;
    input = EvalSubquery(sq);
    for (Series& s : input) {
      std::erase_if(s.points, [](const Point& p) { return IsStaleMarker(p.v); });
    }
  }
  uint64_t input_points = 0;
  for (const Series& s : input) input_points += s.points.size();
  Charge(input_points);

  const bool keep_name = name == "last_over_time";
  // One series' result; `scalars` is the caller's scratch space.
  auto evaluate = [&](const Series& s, std::vector<double>& scalars) {
    Series result{keep_name ? s.metric : DropMetricName(s.metric), {}};
    size_t lo = 0, hi = 0;  // The window is points [lo, hi).
    size_t step = 0;
    for (int64_t ts = start_; ts <= end_; ts += interval_, ++step) {
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i == matrix_arg) continue;
        const Matrix& m = scalar_args[i];
        scalars[i] = !m.empty() && step < m[0].points.size() ? m[0].points[step].v : NAN;
      }
      int64_t maxt = RefTime(at, at_ms, offset, ts);
      int64_t mint = maxt - range.count();
      if (at != AtModifier::kNone) lo = hi = 0;  // Fixed windows: no sliding.
      while (lo < s.points.size() && s.points[lo].t < mint) ++lo;
      if (hi < lo) hi = lo;
      while (hi < s.points.size() && s.points[hi].t <= maxt) ++hi;
      if (hi == lo) continue;
      RangeWindow window{std::span<const Point>(s.points.data() + lo, hi - lo), mint, maxt, ts,
                         scalars};
      double v;
      if (fn(window, &v)) result.points.push_back(Point{ts, v});
    }
    return result;
  };
  std::vector<Series> results(input.size());
  // Series are independent: a big evaluation (a dashboard's predict_linear
  // over an hour at 15 s for a thousand series) is shared with a second
  // thread, block by block. Only this thread checks for interruption; the
  // helper stops after its block when told to.
  constexpr size_t kBlock = 32;
  const size_t blocks = (input.size() + kBlock - 1) / kBlock;
  std::atomic<size_t> next_block{0};
  std::atomic<bool> abort{false};
  auto run_blocks = [&](bool main_thread) {
    std::vector<double> scalars(e.args.size());
    for (size_t b; !abort.load(std::memory_order_relaxed) && (b = next_block++) < blocks;) {
      if (main_thread) CheckInterrupt();
      for (size_t si = b * kBlock; si < std::min(input.size(), (b + 1) * kBlock); ++si) {
        results[si] = evaluate(input[si], scalars);
      }
    }
  };
  const bool parallel = blocks > 1 && input_points * steps() >= kParallelRangeWork &&
                        std::thread::hardware_concurrency() > 1;
  if (parallel) {
    std::exception_ptr helper_error;
    std::thread helper([&] {
      try {
        run_blocks(false);
      } catch (...) {
        helper_error = std::current_exception();
        abort = true;
      }
    });
    try {
      run_blocks(true);
    } catch (...) {
      abort = true;
      helper.join();
      throw;
    }
    helper.join();
    if (helper_error) std::rethrow_exception(helper_error);
  } else {
    run_blocks(true);
  }
  Matrix out;
  for (Series& result : results) {
    if (result.points.empty()) continue;
    Charge(result.points.size());
    out.push_back(std::move(result));
  }
  Release(input_points);

  if (name == "absent_over_time") {
    // 1 at every step where no series had a point in its window.
    std::vector<bool> present(steps(), false);
    for (const Series& s : out) {
      for (const Point& p : s.points) present[static_cast<size_t>((p.t - start_) / interval_)] = true;
    }
    Series absent{AbsentLabels(arg), {}};
    for (size_t i = 0; i < present.size(); ++i) {
      if (!present[i]) absent.points.push_back(Point{start_ + static_cast<int64_t>(i) * interval_, 1});
    }
    if (absent.points.empty()) return {};
    return Matrix{std::move(absent)};
  }

  if (ContainsSameLabelset(out)) FailExecution(std::string(kSameLabelsetError));
  return out;
}

}  // namespace vitals::promql::internal
