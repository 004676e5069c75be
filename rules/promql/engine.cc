#include "rules/promql/engine.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "rules/promql/evaluator.h"

namespace vitals::promql {

using internal::Evaluator;
using internal::EvalError;

std::string_view ErrorTypeOf(const Status& status) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument: return "bad_data";
    case Status::Code::kDeadlineExceeded: return "timeout";
    case Status::Code::kCancelled: return "canceled";
    case Status::Code::kIOError:
    case Status::Code::kCorruption:
    case Status::Code::kInternal: return "internal";
    default: return "execution";
  }
}

namespace internal {

void Fail(Status status) { throw EvalError{std::move(status)}; }
void FailExecution(std::string message) { Fail(Status::FailedPrecondition(std::move(message))); }

std::string LabelsKey(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) {
    key += l.name;
    key += '\xff';
    key += l.value;
    key += '\xff';
  }
  return key;
}

std::string SignatureKey(const Labels& labels, bool on, const std::vector<std::string>& names) {
  std::string key;
  key.reserve(96);
  for (const Label& l : labels) {
    bool listed = std::find(names.begin(), names.end(), l.name) != names.end();
    bool take = on ? listed : (!listed && l.name != kMetricNameLabel);
    if (!take) continue;
    key += l.name;
    key += '\xff';
    key += l.value;
    key += '\xff';
  }
  return key;
}

Labels DropMetricName(const Labels& labels) {
  Labels out;
  out.reserve(labels.size());
  for (const Label& l : labels) {
    if (l.name != kMetricNameLabel) out.push_back(l);
  }
  return out;
}

std::string LabelsString(const Labels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels[i].name;
    out += "=\"";
    out += EscapeLabelValue(labels[i].value);
    out += '"';
  }
  out += '}';
  return out;
}

namespace {

// Sorting pointers and comparing neighbours needs no allocation per label set.
bool HasDuplicate(std::vector<const Labels*>& sets) {
  std::sort(sets.begin(), sets.end(), [](const Labels* a, const Labels* b) { return *a < *b; });
  for (size_t i = 1; i < sets.size(); ++i) {
    if (*sets[i - 1] == *sets[i]) return true;
  }
  return false;
}

}  // namespace

bool ContainsSameLabelset(const Vector& vector) {
  if (vector.size() < 2) return false;
  if (vector.size() == 2) return vector[0].labels == vector[1].labels;
  std::vector<const Labels*> sets;
  sets.reserve(vector.size());
  for (const Sample& s : vector) sets.push_back(&s.labels);
  return HasDuplicate(sets);
}

bool ContainsSameLabelset(const Matrix& matrix) {
  if (matrix.size() < 2) return false;
  std::vector<const Labels*> sets;
  sets.reserve(matrix.size());
  for (const Series& s : matrix) sets.push_back(&s.metric);
  return HasDuplicate(sets);
}

void KahanSumInc(double inc, double* sum, double* c) {
  double t = *sum + inc;
  if (std::fabs(*sum) >= std::fabs(inc)) {
    *c += (*sum - t) + inc;
  } else {
    *c += (inc - t) + *sum;
  }
  *sum = t;
}

double Quantile(double q, std::vector<double>* values) {
  if (values->empty() || std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(values->begin(), values->end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    return a < b;
  });
  double n = static_cast<double>(values->size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return (*values)[static_cast<size_t>(lower)] * (1 - weight) +
         (*values)[static_cast<size_t>(upper)] * weight;
}

Evaluator::Evaluator(const storage::Store& store, const Limits& limits, int64_t start,
                     int64_t end, int64_t interval, int64_t query_start, int64_t query_end)
    : store_(store),
      limits_(limits),
      start_(start),
      end_(end),
      interval_(interval),
      query_start_(query_start),
      query_end_(query_end) {}

void Evaluator::Charge(uint64_t samples) {
  current_samples_ += samples;
  if (current_samples_ > limits_.max_samples) {
    Fail(Status::ResourceExhausted(
        "query processing would load too many samples into memory in query execution"));
  }
}

void Evaluator::Release(uint64_t samples) {
  current_samples_ = samples > current_samples_ ? 0 : current_samples_ - samples;
}

void Evaluator::CheckInterrupt() const {
  if (limits_.cancel != nullptr && limits_.cancel->load(std::memory_order_relaxed)) {
    Fail(Status::Cancelled("query was canceled in query execution"));
  }
  if (limits_.clock->Now() > limits_.deadline) {
    Fail(Status::DeadlineExceeded("query timed out in query execution"));
  }
}

uint64_t TotalPoints(const Matrix& m) {
  uint64_t n = 0;
  for (const Series& s : m) n += s.points.size();
  return n;
}

namespace {

// The output series of a step-wise evaluation, in order of first appearance.
class SeriesCollector {
 public:
  void Add(const Labels& labels, Point p) {
    auto [it, inserted] = index_.try_emplace(LabelsKey(labels), series_.size());
    if (inserted) series_.push_back(Series{labels, {}});
    series_[it->second].points.push_back(p);
  }
  Matrix Take() { return std::move(series_); }

 private:
  std::unordered_map<std::string, size_t> index_;
  Matrix series_;
};

}  // namespace

int64_t Evaluator::RefTime(AtModifier at, int64_t at_ms, std::chrono::milliseconds offset,
                           int64_t ts) const {
  int64_t base = ts;
  switch (at) {
    case AtModifier::kNone: break;
    case AtModifier::kTimestamp: base = at_ms; break;
    case AtModifier::kStart: base = query_start_; break;
    case AtModifier::kEnd: base = query_end_; break;
  }
  return base - offset.count();
}

std::vector<Evaluator::SelectedSeries> Evaluator::Select(const VectorSelector& vs, int64_t mint,
                                                         int64_t maxt, bool drop_stale) {
  CheckInterrupt();
  std::vector<SelectedSeries> out;
  if (mint > maxt) return out;
  auto set = store_.Select(vs.matchers, mint, maxt);
  if (!set.ok()) Fail(set.status());
  uint64_t loaded = 0;
  while ((*set)->Next()) {
    SelectedSeries s;
    s.labels = (*set)->labels();
    auto it = (*set)->Samples();
    while (it->Next()) {
      if (drop_stale && IsStaleMarker(it->v())) continue;
      s.points.push_back(Point{it->t(), it->v()});
    }
    if (!it->status().ok()) Fail(it->status());
    loaded += s.points.size();
    Charge(s.points.size());
    out.push_back(std::move(s));
    if (out.size() % 1024 == 0) CheckInterrupt();
  }
  if (!(*set)->status().ok()) Fail((*set)->status());
  Release(loaded);  // Re-charged by the caller for what it keeps.
  return out;
}

Matrix Evaluator::EvalVectorSelector(const VectorSelector& vs, bool sample_timestamps) {
  const int64_t lookback = limits_.lookback.count();
  int64_t ref_first = RefTime(vs.at, vs.at_timestamp_ms, vs.offset, start_);
  int64_t ref_last = RefTime(vs.at, vs.at_timestamp_ms, vs.offset, end_);
  if (start_ == end_) {
    // One step: only each series' newest sample in the lookback window
    // matters, which the store finds without decoding whole chunks.
    CheckInterrupt();
    auto latest = store_.SelectLatest(vs.matchers, ref_first - lookback, ref_first);
    if (!latest.ok()) Fail(latest.status());
    Matrix out;
    out.reserve(latest->size());
    for (Sample& s : *latest) {
      if (IsStaleMarker(s.value)) continue;
      double v = sample_timestamps ? static_cast<double>(s.timestamp_ms) / 1000 : s.value;
      out.push_back(Series{std::move(s.labels), {Point{start_, v}}});
    }
    Charge(out.size());
    return out;
  }
  std::vector<SelectedSeries> selected =
      Select(vs, ref_first - lookback, ref_last, /*drop_stale=*/false);
  Matrix out;
  for (SelectedSeries& s : selected) {
    Series series{std::move(s.labels), {}};
    size_t next = 0;  // First point after the reference time.
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      int64_t ref = RefTime(vs.at, vs.at_timestamp_ms, vs.offset, ts);
      while (next < s.points.size() && s.points[next].t <= ref) ++next;
      if (next == 0) continue;
      const Point& p = s.points[next - 1];
      if (p.t < ref - lookback || IsStaleMarker(p.v)) continue;
      series.points.push_back(
          Point{ts, sample_timestamps ? static_cast<double>(p.t) / 1000 : p.v});
    }
    if (series.points.empty()) continue;
    Charge(series.points.size());
    out.push_back(std::move(series));
  }
  return out;
}

Matrix Evaluator::EvalMatrixSelector(const MatrixSelector& ms) {
  // Only reached for a range selector at the top of an instant query.
  const VectorSelector& vs = *ms.vector_selector;
  int64_t maxt = RefTime(vs.at, vs.at_timestamp_ms, vs.offset, start_);
  int64_t mint = maxt - ms.range.count();
  std::vector<SelectedSeries> selected = Select(vs, mint, maxt, /*drop_stale=*/true);
  Matrix out;
  for (SelectedSeries& s : selected) {
    if (s.points.empty()) continue;
    Charge(s.points.size());
    out.push_back(Series{std::move(s.labels), std::move(s.points)});
  }
  return out;
}

Matrix Evaluator::EvalSubquery(const SubqueryExpr& sq) {
  int64_t step = sq.step.count() > 0 ? sq.step.count() : limits_.default_subquery_step.count();
  int64_t first_ref = RefTime(sq.at, sq.at_timestamp_ms, sq.offset, start_);
  int64_t last_ref = RefTime(sq.at, sq.at_timestamp_ms, sq.offset, end_);
  int64_t from = first_ref - sq.range.count();
  // The first step-aligned time at or after `from`.
  int64_t sub_start = step * (from / step);
  if (sub_start < from) sub_start += step;
  Evaluator sub(store_, limits_, sub_start, last_ref, step, query_start_, query_end_);
  sub.current_samples_ = current_samples_;
  if (sub_start > last_ref) return {};
  Matrix result = sub.EvalMatrix(*sq.expr);
  current_samples_ = sub.current_samples_;
  return result;
}

Matrix Evaluator::EvalUnary(const UnaryExpr& e) {
  Matrix m = EvalMatrix(*e.expr);
  if (!e.negate) return m;
  for (Series& s : m) {
    s.metric = DropMetricName(s.metric);
    for (Point& p : s.points) p.v = -p.v;
  }
  if (ContainsSameLabelset(m)) FailExecution(std::string(kSameLabelsetError));
  return m;
}

Matrix Evaluator::RangeEval(const std::vector<const Expr*>& args, const StepFunction& fn) {
  std::vector<Matrix> inputs(args.size());
  uint64_t input_points = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == nullptr || args[i]->type() == ValueType::kString) continue;
    inputs[i] = EvalMatrix(*args[i]);
    input_points += TotalPoints(inputs[i]);
  }
  std::vector<std::vector<size_t>> cursors(args.size());
  for (size_t i = 0; i < args.size(); ++i) cursors[i].assign(inputs[i].size(), 0);

  std::vector<Vector> vectors(args.size());
  SeriesCollector collector;
  Matrix instant_result;
  const bool instant = start_ == end_;
  uint64_t output_points = 0;
  size_t step_index = 0;
  for (int64_t ts = start_; ts <= end_; ts += interval_, ++step_index) {
    if (step_index % 64 == 0) CheckInterrupt();
    for (size_t i = 0; i < args.size(); ++i) {
      vectors[i].clear();
      for (size_t si = 0; si < inputs[i].size(); ++si) {
        const Series& s = inputs[i][si];
        size_t& c = cursors[i][si];
        if (c < s.points.size() && s.points[c].t == ts) {
          // After its last point a series is not read again: hand over its labels.
          if (c + 1 == s.points.size()) {
            vectors[i].push_back(Sample{std::move(inputs[i][si].metric), ts, s.points[c].v});
          } else {
            vectors[i].push_back(Sample{s.metric, ts, s.points[c].v});
          }
          ++c;
        }
      }
    }
    Vector result = fn(vectors, ts);
    if (ContainsSameLabelset(result)) FailExecution(std::string(kSameLabelsetError));
    Charge(result.size());
    output_points += result.size();
    if (instant) {
      for (Sample& s : result) {
        instant_result.push_back(Series{std::move(s.labels), {Point{ts, s.value}}});
      }
      break;
    }
    for (const Sample& s : result) collector.Add(s.labels, Point{ts, s.value});
  }
  Release(input_points);
  (void)output_points;
  return instant ? std::move(instant_result) : collector.Take();
}

Value Evaluator::Eval(const Expr& expr) {
  if (expr.kind() == NodeKind::kStringLiteral) {
    return String{start_, expr.As<StringLiteral>().value};
  }
  if (expr.kind() == NodeKind::kParen) return Eval(*expr.As<ParenExpr>().expr);
  return EvalMatrix(expr);
}

Matrix Evaluator::EvalMatrix(const Expr& expr) {
  CheckInterrupt();
  switch (expr.kind()) {
    case NodeKind::kNumberLiteral: {
      double v = expr.As<NumberLiteral>().value;
      return RangeEval({}, [v](std::span<Vector>, int64_t ts) {
        return Vector{Sample{{}, ts, v}};
      });
    }
    case NodeKind::kStringLiteral:
      Fail(Status::Internal("string literal evaluated as a matrix"));
    case NodeKind::kVectorSelector:
      return EvalVectorSelector(expr.As<VectorSelector>(), /*sample_timestamps=*/false);
    case NodeKind::kMatrixSelector: return EvalMatrixSelector(expr.As<MatrixSelector>());
    case NodeKind::kSubquery: return EvalSubquery(expr.As<SubqueryExpr>());
    case NodeKind::kParen: return EvalMatrix(*expr.As<ParenExpr>().expr);
    case NodeKind::kUnary: return EvalUnary(expr.As<UnaryExpr>());
    case NodeKind::kBinary: return EvalBinary(expr.As<BinaryExpr>());
    case NodeKind::kAggregate: return EvalAggregate(expr.As<AggregateExpr>());
    case NodeKind::kCall: return EvalCall(expr.As<Call>());
  }
  Fail(Status::Internal("unknown expression kind"));
}

}  // namespace internal

Engine::Engine(EngineOptions options, const Clock& clock) : options_(options), clock_(clock) {}

namespace {

Evaluator::Limits MakeLimits(const EngineOptions& engine, const QueryOptions& query,
                             const Clock& clock) {
  std::chrono::milliseconds timeout = engine.timeout;
  if (query.timeout.count() > 0 && query.timeout < timeout) timeout = query.timeout;
  return Evaluator::Limits{engine.max_samples,
                           engine.lookback_delta,
                           engine.default_subquery_step,
                           clock.Now() + timeout,
                           query.cancel,
                           &clock};
}

const Expr& Unparen(const Expr& e) {
  return e.kind() == NodeKind::kParen ? Unparen(*e.As<ParenExpr>().expr) : e;
}

}  // namespace

Result<QueryResult> Engine::InstantQuery(const storage::Store& store, const Expr& expr,
                                         int64_t time_ms, const QueryOptions& options) const {
  Evaluator ev(store, MakeLimits(options_, options, clock_), time_ms, time_ms, 1, time_ms,
               time_ms);
  try {
    Value value = ev.Eval(expr);
    QueryResult result;
    if (auto* s = std::get_if<String>(&value)) {
      result.value = std::move(*s);
      return result;
    }
    Matrix m = std::move(std::get<Matrix>(value));
    switch (expr.type()) {
      case ValueType::kScalar:
        result.value = Scalar{time_ms, m.empty() || m[0].points.empty() ? NAN : m[0].points[0].v};
        break;
      case ValueType::kVector: {
        Vector vector;
        vector.reserve(m.size());
        for (Series& s : m) vector.push_back(Sample{std::move(s.metric), time_ms, s.points[0].v});
        result.value = std::move(vector);
        break;
      }
      default: result.value = std::move(m); break;
    }
    return result;
  } catch (const EvalError& e) {
    return e.status;
  }
}

Result<QueryResult> Engine::RangeQuery(const storage::Store& store, const Expr& expr,
                                       int64_t start_ms, int64_t end_ms,
                                       std::chrono::milliseconds step,
                                       const QueryOptions& options) const {
  if (expr.type() != ValueType::kScalar && expr.type() != ValueType::kVector) {
    return Status::InvalidArgument("invalid expression type \"" +
                                   std::string(DocumentedTypeName(expr.type())) +
                                   "\" for range query, must be Scalar or instant Vector");
  }
  if (end_ms < start_ms) {
    return Status::InvalidArgument("end timestamp must not be before start time");
  }
  if (step.count() <= 0) {
    return Status::InvalidArgument(
        "zero or negative query resolution step widths are not accepted. Try a positive "
        "integer");
  }
  Evaluator ev(store, MakeLimits(options_, options, clock_), start_ms, end_ms, step.count(),
               start_ms, end_ms);
  try {
    Matrix m = ev.EvalMatrix(Unparen(expr));
    std::sort(m.begin(), m.end(),
              [](const Series& a, const Series& b) { return a.metric < b.metric; });
    QueryResult result;
    result.value = std::move(m);
    return result;
  } catch (const EvalError& e) {
    return e.status;
  }
}

}  // namespace vitals::promql
