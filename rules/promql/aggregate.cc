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
      g.value = s.value;
      g.mean = s.value;
      g.count = 1;
      switch (op) {
        case AggregateOp::kStddev:
        case AggregateOp::kStdvar: g.value = 0; break;
        case AggregateOp::kTopk:
          g.heap = std::make_unique<TopHeap>(&ValueLess);
          g.heap->items().push_back(s);
          break;
        case AggregateOp::kBottomk:
          g.heap = std::make_unique<TopHeap>(&ValueGreater);
          g.heap->items().push_back(s);
          break;
        case AggregateOp::kQuantile: g.values.push_back(s.value); break;
        case AggregateOp::kGroup: g.value = 1; break;
        default: break;
      }
      groups.push_back(std::move(g));
      continue;
    }
    Group& g = groups[it->second];
    switch (op) {
      case AggregateOp::kSum: g.value += s.value; break;
      case AggregateOp::kAvg: {
        ++g.count;
        if (std::isinf(g.mean)) {
          // An infinite mean stays as it is unless a NaN or the opposite
          // infinity arrives (Inf - Inf would turn it into NaN).
          if (std::isinf(s.value) && (g.mean > 0) == (s.value > 0)) break;
          if (!std::isinf(s.value) && !std::isnan(s.value)) break;
        }
        double n = static_cast<double>(g.count);
        g.mean += s.value / n - g.mean / n;
        break;
      }
      case AggregateOp::kGroup: break;
      case AggregateOp::kMax:
        if (g.value < s.value || std::isnan(g.value)) g.value = s.value;
        break;
      case AggregateOp::kMin:
        if (g.value > s.value || std::isnan(g.value)) g.value = s.value;
        break;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues: ++g.count; break;
      case AggregateOp::kStddev:
      case AggregateOp::kStdvar: {
        ++g.count;
        double delta = s.value - g.mean;
        g.mean += delta / static_cast<double>(g.count);
        g.value += delta * (s.value - g.mean);
        break;
      }
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
    }
  }

  Vector out;
  for (Group& g : groups) {
    switch (op) {
      case AggregateOp::kAvg: g.value = g.mean; break;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues: g.value = static_cast<double>(g.count); break;
      case AggregateOp::kStdvar: g.value /= static_cast<double>(g.count); break;
      case AggregateOp::kStddev: g.value = std::sqrt(g.value / static_cast<double>(g.count)); break;
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
  return RangeEval({e.param.get(), e.expr.get()}, [&](std::span<Vector> v, int64_t ts) {
    double param = e.param ? v[0][0].value : 0;
    return Aggregate(op, grouping, without, param, "", v[1], ts);
  });
}

}  // namespace vitals::promql::internal
