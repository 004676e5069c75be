// Aggregation operators: sum, avg, count, min, max, group, stddev, stdvar,
// topk, bottomk, count_values and quantile, by or without labels.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "rules/promql/evaluator.h"
#include "rules/promql/printer.h"

namespace vitals::promql::internal {
namespace {

// Go's container/heap over a slice with a "less" predicate: topk and bottomk
// keep their candidates exactly as Prometheus does, so ties and NaN resolve
// the same way.
template <typename Less>
class GoHeap {
 public:
  explicit GoHeap(Less less) : less_(less) {}
  std::vector<Sample>& items() { return items_; }

  void Push(Sample s) {
    items_.push_back(std::move(s));
    Up(items_.size() - 1);
  }
  void Pop() {
    size_t n = items_.size() - 1;
    std::swap(items_[0], items_[n]);
    Down(0, n);
    items_.pop_back();
  }

 private:
  bool LessAt(size_t i, size_t j) const { return less_(items_[i].value, items_[j].value); }
  void Up(size_t j) {
    while (j > 0) {
      size_t i = (j - 1) / 2;
      if (!LessAt(j, i)) break;
      std::swap(items_[i], items_[j]);
      j = i;
    }
  }
  void Down(size_t i, size_t n) {
    for (;;) {
      size_t j1 = 2 * i + 1;
      if (j1 >= n) break;
      size_t j = j1;
      if (size_t j2 = j1 + 1; j2 < n && LessAt(j2, j1)) j = j2;
      if (!LessAt(j, i)) break;
      std::swap(items_[i], items_[j]);
      i = j;
    }
  }

  Less less_;
  std::vector<Sample> items_;
};

bool ValueLess(double a, double b) { return std::isnan(a) || a < b; }
bool ValueGreater(double a, double b) { return std::isnan(a) || a > b; }
using TopHeap = GoHeap<bool (*)(double, double)>;

struct Group {
  Labels labels;
  double value = 0;
  double mean = 0;
  uint64_t count = 0;
  std::vector<double> values;  // quantile
  std::unique_ptr<TopHeap> heap;  // topk, bottomk
};

std::string GroupingKey(const Labels& labels, const std::vector<std::string>& grouping,
                        bool without) {
  if (!without && grouping.empty()) return {};
  return SignatureKey(labels, !without, grouping);
}

// strconv.FormatFloat(v, 'f', -1, 64).
std::string FormatValueLabel(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

Labels GroupLabels(const Labels& metric, const std::vector<std::string>& grouping, bool without) {
  Labels out;
  for (const Label& l : metric) {
    bool listed = std::find(grouping.begin(), grouping.end(), l.name) != grouping.end();
    if (without ? (!listed && l.name != kMetricNameLabel) : listed) out.push_back(l);
  }
  return out;
}

// sum, avg, count, min, max, group, stddev, stdvar: one value per group,
// updated sample by sample in input order.
bool IsSimple(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
    case AggregateOp::kAvg:
    case AggregateOp::kCount:
    case AggregateOp::kMin:
    case AggregateOp::kMax:
    case AggregateOp::kGroup:
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar: return true;
    default: return false;
  }
}

// The group's state after its first sample `v`.
void StartSimple(AggregateOp op, double v, Group* g) {
  g->value = v;
  g->mean = v;
  g->count = 1;
  if (op == AggregateOp::kStddev || op == AggregateOp::kStdvar) g->value = 0;
  if (op == AggregateOp::kGroup) g->value = 1;
}

// Adds a later sample `v` to the group, exactly as Prometheus's aggregation.
void AddSimple(AggregateOp op, double v, Group* g) {
  switch (op) {
    case AggregateOp::kSum: g->value += v; break;
    case AggregateOp::kAvg: {
      ++g->count;
      if (std::isinf(g->mean)) {
        // An infinite mean stays as it is unless a NaN or the opposite
        // infinity arrives (Inf - Inf would turn it into NaN).
        if (std::isinf(v) && (g->mean > 0) == (v > 0)) break;
        if (!std::isinf(v) && !std::isnan(v)) break;
      }
      double n = static_cast<double>(g->count);
      g->mean += v / n - g->mean / n;
      break;
    }
    case AggregateOp::kGroup: break;
    case AggregateOp::kMax:
      if (g->value < v || std::isnan(g->value)) g->value = v;
      break;
    case AggregateOp::kMin:
      if (g->value > v || std::isnan(g->value)) g->value = v;
      break;
    case AggregateOp::kCount: ++g->count; break;
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar: {
      ++g->count;
      double delta = v - g->mean;
      g->mean += delta / static_cast<double>(g->count);
      g->value += delta * (v - g->mean);
      break;
    }
    default: break;
  }
}

// The group's result.
double FinishSimple(AggregateOp op, const Group& g) {
  switch (op) {
    case AggregateOp::kAvg: return g.mean;
    case AggregateOp::kCount: return static_cast<double>(g.count);
    case AggregateOp::kStdvar: return g.value / static_cast<double>(g.count);
    case AggregateOp::kStddev: return std::sqrt(g.value / static_cast<double>(g.count));
    default: return g.value;
  }
}

Vector Aggregate(AggregateOp op, std::vector<std::string> grouping, bool without, double param,
                 const std::string& value_label, const Vector& vec, int64_t ts) {
  int64_t k = 0;
  if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk) {
    if (!(param <= static_cast<double>(std::numeric_limits<int64_t>::max()) &&
          param >= static_cast<double>(std::numeric_limits<int64_t>::min()))) {
      FailExecution("Scalar value " + FormatNumber(param) + " overflows int64");
    }
    k = static_cast<int64_t>(param);
    if (k < 1) return {};
  }
  if (op == AggregateOp::kCountValues) {
    if (!IsValidLabelName(value_label)) {
      FailExecution("invalid label name \"" + value_label + "\"");
    }
    if (!without) {
      grouping.push_back(value_label);
      std::sort(grouping.begin(), grouping.end());
    }
  }

  std::unordered_map<std::string, size_t> index;
  std::vector<Group> groups;
  for (const Sample& s : vec) {
    Labels counted;
    const Labels* metric = &s.labels;
    if (op == AggregateOp::kCountValues) {
      counted = s.labels;
      SetLabel(&counted, value_label, FormatValueLabel(s.value));
      metric = &counted;
    }
    auto [it, inserted] = index.try_emplace(GroupingKey(*metric, grouping, without), groups.size());
    if (inserted) {
      Group g;
      g.labels = GroupLabels(*metric, grouping, without);
      StartSimple(op, s.value, &g);
      switch (op) {
        case AggregateOp::kTopk:
          g.heap = std::make_unique<TopHeap>(&ValueLess);
          g.heap->items().push_back(s);
          break;
        case AggregateOp::kBottomk:
          g.heap = std::make_unique<TopHeap>(&ValueGreater);
          g.heap->items().push_back(s);
          break;
        case AggregateOp::kQuantile: g.values.push_back(s.value); break;
        default: break;
      }
      groups.push_back(std::move(g));
      continue;
    }
    Group& g = groups[it->second];
    if (IsSimple(op)) {
      AddSimple(op, s.value, &g);
      continue;
    }
    switch (op) {
      case AggregateOp::kTopk:
      case AggregateOp::kBottomk: {
        auto& items = g.heap->items();
        double top = items[0].value;
        bool better = op == AggregateOp::kTopk ? top < s.value : top > s.value;
        if (static_cast<int64_t>(items.size()) < k || better || std::isnan(top)) {
          if (static_cast<int64_t>(items.size()) == k) {
            if (k == 1) {
              items[0] = s;
              break;
            }
            g.heap->Pop();
          }
          g.heap->Push(s);
        }
        break;
      }
      case AggregateOp::kQuantile: g.values.push_back(s.value); break;
      case AggregateOp::kCountValues: ++g.count; break;
      default: break;
    }
  }

  Vector out;
  for (Group& g : groups) {
    if (IsSimple(op)) {
      out.push_back(Sample{std::move(g.labels), ts, FinishSimple(op, g)});
      continue;
    }
    switch (op) {
      case AggregateOp::kCountValues: g.value = static_cast<double>(g.count); break;
      case AggregateOp::kQuantile: g.value = Quantile(param, &g.values); break;
      case AggregateOp::kTopk:
      case AggregateOp::kBottomk: {
        // Best first, NaN last; ties keep the heap's order like Go's
        // insertion sort does for small k.
        auto& items = g.heap->items();
        const bool top = op == AggregateOp::kTopk;
        std::stable_sort(items.begin(), items.end(), [top](const Sample& a, const Sample& b) {
          if (std::isnan(a.value) || std::isnan(b.value)) {
            return !std::isnan(a.value) && std::isnan(b.value);
          }
          return top ? a.value > b.value : a.value < b.value;
        });
        for (Sample& s : items) out.push_back(Sample{std::move(s.labels), ts, s.value});
        continue;
      }
      default: break;
    }
    out.push_back(Sample{std::move(g.labels), ts, g.value});
  }
  return out;
}

}  // namespace

Matrix Evaluator::EvalAggregate(const AggregateExpr& e) {
  std::vector<std::string> grouping = e.grouping;
  std::sort(grouping.begin(), grouping.end());
  const AggregateOp op = e.op;
  const bool without = e.without;
  if (e.param && e.param->type() == ValueType::kString) {
    const Expr* p = e.param.get();
    while (p->kind() == NodeKind::kParen) p = p->As<ParenExpr>().expr.get();
    std::string label = p->As<StringLiteral>().value;
    return RangeEval({e.expr.get()}, [&](std::span<Vector> v, int64_t ts) {
      return Aggregate(op, grouping, without, 0, label, v[0], ts);
    });
  }
  if (IsSimple(op) && start_ != end_) return AggregateSeriesWise(e.expr.get(), op, grouping, without);
  return RangeEval({e.param.get(), e.expr.get()}, [&](std::span<Vector> v, int64_t ts) {
    double param = e.param ? v[0][0].value : 0;
    return Aggregate(op, grouping, without, param, "", v[1], ts);
  });
}

// A range evaluation of sum, avg, count, min, max, group, stddev or stdvar
// without building a vector per step: each input series' group is found once,
// then every step folds the series' points into their groups in input order,
// the order the per-step path would see them in. Same results, far fewer
// label copies and key computations on dashboards' `sum by (x) (rate(...))`.
Matrix Evaluator::AggregateSeriesWise(const Expr* arg, AggregateOp op,
                                      const std::vector<std::string>& grouping, bool without) {
  Matrix input = EvalMatrix(*arg);
  std::unordered_map<std::string, size_t> index;
  std::vector<Labels> group_labels;
  std::vector<size_t> group_of(input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    auto [it, inserted] =
        index.try_emplace(GroupingKey(input[i].metric, grouping, without), group_labels.size());
    if (inserted) group_labels.push_back(GroupLabels(input[i].metric, grouping, without));
    group_of[i] = it->second;
  }
  std::vector<Group> state(group_labels.size());
  std::vector<int64_t> started_at(group_labels.size(), INT64_MIN);  // Step of each group's state.
  std::vector<size_t> cursor(input.size(), 0);
  std::vector<std::vector<Point>> points(group_labels.size());
  size_t step_index = 0;
  for (int64_t ts = start_; ts <= end_; ts += interval_, ++step_index) {
    if (step_index % 64 == 0) CheckInterrupt();
    for (size_t i = 0; i < input.size(); ++i) {
      const std::vector<Point>& p = input[i].points;
      if (cursor[i] >= p.size() || p[cursor[i]].t != ts) continue;
      double v = p[cursor[i]++].v;
      size_t g = group_of[i];
      if (started_at[g] != ts) {
        started_at[g] = ts;
        StartSimple(op, v, &state[g]);
      } else {
        AddSimple(op, v, &state[g]);
      }
    }
    for (size_t g = 0; g < state.size(); ++g) {
      if (started_at[g] == ts) points[g].push_back(Point{ts, FinishSimple(op, state[g])});
    }
  }
  Matrix out;
  uint64_t n = 0;
  for (size_t g = 0; g < group_labels.size(); ++g) {
    if (points[g].empty()) continue;
    n += points[g].size();
    out.push_back(Series{std::move(group_labels[g]), std::move(points[g])});
  }
  Charge(n);
  return out;
}

}  // namespace vitals::promql::internal
