// Binary operators: arithmetic, comparison and set operations between
// scalars and vectors, with Prometheus's vector matching.

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "rules/promql/evaluator.h"

namespace vitals::promql::internal {
namespace {

// The value of `lhs op rhs` and whether a comparison keeps the element.
struct ElemResult {
  double value;
  bool keep;
};

ElemResult ApplyOp(BinaryOp op, double lhs, double rhs) {
  switch (op) {
    case BinaryOp::kAdd: return {lhs + rhs, true};
    case BinaryOp::kSub: return {lhs - rhs, true};
    case BinaryOp::kMul: return {lhs * rhs, true};
    case BinaryOp::kDiv: return {lhs / rhs, true};
    case BinaryOp::kPow: return {std::pow(lhs, rhs), true};
    case BinaryOp::kMod: return {std::fmod(lhs, rhs), true};
    case BinaryOp::kAtan2: return {std::atan2(lhs, rhs), true};
    case BinaryOp::kEql: return {lhs, lhs == rhs};
    case BinaryOp::kNeq: return {lhs, lhs != rhs};
    case BinaryOp::kGtr: return {lhs, lhs > rhs};
    case BinaryOp::kLss: return {lhs, lhs < rhs};
    case BinaryOp::kGte: return {lhs, lhs >= rhs};
    case BinaryOp::kLte: return {lhs, lhs <= rhs};
    case BinaryOp::kAnd:
    case BinaryOp::kOr:
    case BinaryOp::kUnless: break;
  }
  Fail(Status::Internal("not a value operator: " + std::string(BinaryOpName(op))));
}

// Arithmetic drops the metric name; comparisons, set operators and (in
// Prometheus 2.42) atan2 keep it.
bool DropsMetricName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kPow:
    case BinaryOp::kMod: return true;
    default: return false;
  }
}

double ScalarOp(BinaryOp op, double lhs, double rhs) {
  ElemResult r = ApplyOp(op, lhs, rhs);
  if (IsComparison(op)) return r.keep ? 1 : 0;
  return r.value;
}

// One element of a vector-scalar operation: false if a comparison filters it
// out, else true with the result in *out.
bool VectorScalarElem(BinaryOp op, double element, double scalar, bool scalar_on_left,
                      bool return_bool, double* out) {
  double lv = element, rv = scalar;
  if (scalar_on_left) std::swap(lv, rv);
  ElemResult r = ApplyOp(op, lv, rv);
  // A comparison keeps the vector element's value, whichever side it is on.
  if (IsComparison(op) && scalar_on_left) r.value = rv;
  if (return_bool) {
    r.value = r.keep ? 1 : 0;
    r.keep = true;
  }
  *out = r.value;
  return r.keep;
}

Vector VectorScalarOp(BinaryOp op, Vector& vec, double scalar, bool scalar_on_left,
                      bool return_bool) {
  Vector out;
  out.reserve(vec.size());
  for (Sample& s : vec) {
    double value;
    if (!VectorScalarElem(op, s.value, scalar, scalar_on_left, return_bool, &value)) continue;
    ElemResult r{value, true};
    if (DropsMetricName(op) || return_bool) {
      out.push_back(Sample{DropMetricName(s.labels), s.timestamp_ms, r.value});
    } else {
      out.push_back(Sample{std::move(s.labels), s.timestamp_ms, r.value});
    }
  }
  return out;
}

Vector VectorAnd(const Vector& lhs, const Vector& rhs, const VectorMatching& m) {
  if (lhs.empty() || rhs.empty()) return {};
  std::unordered_set<std::string> right;
  for (const Sample& s : rhs) right.insert(SignatureKey(s.labels, m.on, m.matching_labels));
  Vector out;
  for (const Sample& s : lhs) {
    if (right.contains(SignatureKey(s.labels, m.on, m.matching_labels))) out.push_back(s);
  }
  return out;
}

Vector VectorOr(const Vector& lhs, const Vector& rhs, const VectorMatching& m) {
  if (lhs.empty()) return rhs;
  if (rhs.empty()) return lhs;
  std::unordered_set<std::string> left;
  Vector out = lhs;
  for (const Sample& s : lhs) left.insert(SignatureKey(s.labels, m.on, m.matching_labels));
  for (const Sample& s : rhs) {
    if (!left.contains(SignatureKey(s.labels, m.on, m.matching_labels))) out.push_back(s);
  }
  return out;
}

Vector VectorUnless(const Vector& lhs, const Vector& rhs, const VectorMatching& m) {
  if (lhs.empty() || rhs.empty()) return lhs;
  std::unordered_set<std::string> right;
  for (const Sample& s : rhs) right.insert(SignatureKey(s.labels, m.on, m.matching_labels));
  Vector out;
  for (const Sample& s : lhs) {
    if (!right.contains(SignatureKey(s.labels, m.on, m.matching_labels))) out.push_back(s);
  }
  return out;
}

// The labels of `labels` that vector matching looks at, as a label set.
Labels MatchedLabels(const Labels& labels, const VectorMatching& m) {
  Labels out;
  for (const Label& l : labels) {
    bool listed =
        std::find(m.matching_labels.begin(), m.matching_labels.end(), l.name) !=
        m.matching_labels.end();
    if (m.on ? listed : (!listed && l.name != kMetricNameLabel)) out.push_back(l);
  }
  return out;
}

Labels ResultMetric(const Labels& lhs, const Labels& rhs, BinaryOp op, const VectorMatching& m) {
  Labels out;
  out.reserve(lhs.size());
  for (const Label& l : lhs) {
    if (DropsMetricName(op) && l.name == kMetricNameLabel) continue;
    if (m.card == Cardinality::kOneToOne) {
      bool listed = std::find(m.matching_labels.begin(), m.matching_labels.end(), l.name) !=
                    m.matching_labels.end();
      if (m.on != listed) continue;
    }
    out.push_back(l);
  }
  for (const std::string& name : m.include) {
    std::string_view v = GetLabel(rhs, name);
    if (!v.empty()) {
      SetLabel(&out, name, v);
    } else {
      std::erase_if(out, [&](const Label& l) { return l.name == name; });
    }
  }
  return out;
}

Vector VectorBinop(BinaryOp op, const Vector& lhs_in, const Vector& rhs_in,
                   const VectorMatching& m, bool return_bool) {
  if (lhs_in.empty() || rhs_in.empty()) return {};
  // One-to-many is many-to-one with the sides swapped.
  const bool swapped = m.card == Cardinality::kOneToMany;
  const Vector& lhs = swapped ? rhs_in : lhs_in;
  const Vector& rhs = swapped ? lhs_in : rhs_in;

  std::unordered_map<std::string, size_t> right;
  right.reserve(rhs.size());
  for (size_t i = 0; i < rhs.size(); ++i) {
    auto [it, inserted] =
        right.try_emplace(SignatureKey(rhs[i].labels, m.on, m.matching_labels), i);
    if (!inserted) {
      const Sample& dup = rhs[it->second];
      FailExecution("found duplicate series for the match group " +
                    LabelsString(MatchedLabels(rhs[i].labels, m)) + " on the " +
                    (swapped ? "left" : "right") + " hand-side of the operation: [" +
                    LabelsString(rhs[i].labels) + ", " + LabelsString(dup.labels) +
                    "];many-to-many matching not allowed: matching labels must be unique on "
                    "one side");
    }
  }

  // Signatures already matched; for many-to-one the result label sets per
  // signature, to detect duplicates.
  std::unordered_map<std::string, std::unordered_set<std::string>> matched;
  Vector out;
  for (const Sample& ls : lhs) {
    std::string sig = SignatureKey(ls.labels, m.on, m.matching_labels);
    auto found = right.find(sig);
    if (found == right.end()) continue;
    const Sample& rs = rhs[found->second];
    double vl = ls.value, vr = rs.value;
    if (swapped) std::swap(vl, vr);
    ElemResult r = ApplyOp(op, vl, vr);
    if (return_bool) {
      r.value = r.keep ? 1 : 0;
    } else if (!r.keep) {
      continue;
    }
    Labels metric = ResultMetric(ls.labels, rs.labels, op, m);
    if (return_bool) metric = DropMetricName(metric);
    auto [entry, first] = matched.try_emplace(std::move(sig));
    if (m.card == Cardinality::kOneToOne) {
      if (!first) {
        FailExecution(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else if (!entry->second.insert(LabelsKey(metric)).second) {
      FailExecution("multiple matches for labels: grouping labels must ensure unique matches");
    }
    out.push_back(Sample{std::move(metric), ls.timestamp_ms, r.value});
  }
  return out;
}

}  // namespace

// A range evaluation of a vector-scalar operation one series at a time: what
// the per-step path gives, without copying each series' labels at every step
// (alert expressions such as `predict_linear(...) < 0` on dashboards).
Matrix Evaluator::VectorScalarSeriesWise(const Expr& vector, const Expr& scalar, BinaryOp op,
                                         bool scalar_on_left, bool return_bool) {
  Matrix input = EvalMatrix(vector);
  Matrix scalar_matrix = EvalMatrix(scalar);
  const uint64_t input_points = TotalPoints(input) + TotalPoints(scalar_matrix);
  std::vector<double> scalars(steps(), NAN);
  if (!scalar_matrix.empty()) {
    for (const Point& p : scalar_matrix[0].points) {
      scalars[static_cast<size_t>((p.t - start_) / interval_)] = p.v;
    }
  }
  const bool drop_name = DropsMetricName(op) || return_bool;
  Matrix out;
  std::unordered_map<std::string, size_t> by_labels;  // Only when names are dropped.
  uint64_t output_points = 0;
  for (size_t si = 0; si < input.size(); ++si) {
    if (si % 256 == 0) CheckInterrupt();
    Series& s = input[si];
    size_t kept = 0;
    for (const Point& p : s.points) {
      double v;
      if (VectorScalarElem(op, p.v, scalars[static_cast<size_t>((p.t - start_) / interval_)],
                           scalar_on_left, return_bool, &v)) {
        s.points[kept++] = Point{p.t, v};
      }
    }
    s.points.resize(kept);
    if (kept == 0) continue;
    output_points += kept;
    if (!drop_name) {
      out.push_back(std::move(s));
      continue;
    }
    s.metric = DropMetricName(s.metric);
    auto [it, inserted] = by_labels.try_emplace(LabelsKey(s.metric), out.size());
    if (inserted) {
      out.push_back(std::move(s));
      continue;
    }
    // Two series that differ only in their name: fine unless both have a
    // point at the same step, which the per-step path refuses.
    std::vector<Point>& have = out[it->second].points;
    std::vector<Point> merged;
    merged.reserve(have.size() + s.points.size());
    std::merge(have.begin(), have.end(), s.points.begin(), s.points.end(),
               std::back_inserter(merged), [](const Point& a, const Point& b) { return a.t < b.t; });
    for (size_t i = 1; i < merged.size(); ++i) {
      if (merged[i].t == merged[i - 1].t) FailExecution(std::string(kSameLabelsetError));
    }
    have = std::move(merged);
  }
  Charge(output_points);
  Release(input_points);
  return out;
}

Matrix Evaluator::EvalBinary(const BinaryExpr& e) {
  const ValueType lt = e.lhs->type(), rt = e.rhs->type();
  const BinaryOp op = e.op;
  const bool rb = e.return_bool;
  if (lt == ValueType::kScalar && rt == ValueType::kScalar) {
    return RangeEval({e.lhs.get(), e.rhs.get()}, [op](std::span<Vector> v, int64_t ts) {
      return Vector{Sample{{}, ts, ScalarOp(op, v[0][0].value, v[1][0].value)}};
    });
  }
  if (lt == ValueType::kVector && rt == ValueType::kScalar) {
    if (start_ != end_) return VectorScalarSeriesWise(*e.lhs, *e.rhs, op, false, rb);
    return RangeEval({e.lhs.get(), e.rhs.get()}, [op, rb](std::span<Vector> v, int64_t) {
      return VectorScalarOp(op, v[0], v[1][0].value, false, rb);
    });
  }
  if (lt == ValueType::kScalar && rt == ValueType::kVector) {
    if (start_ != end_) return VectorScalarSeriesWise(*e.rhs, *e.lhs, op, true, rb);
    return RangeEval({e.lhs.get(), e.rhs.get()}, [op, rb](std::span<Vector> v, int64_t) {
      return VectorScalarOp(op, v[1], v[0][0].value, true, rb);
    });
  }
  static const VectorMatching kDefaultMatching;
  const VectorMatching& m = e.matching ? *e.matching : kDefaultMatching;
  switch (op) {
    case BinaryOp::kAnd:
      return RangeEval({e.lhs.get(), e.rhs.get()}, [&m](std::span<Vector> v, int64_t) {
        return VectorAnd(v[0], v[1], m);
      });
    case BinaryOp::kOr:
      return RangeEval({e.lhs.get(), e.rhs.get()}, [&m](std::span<Vector> v, int64_t) {
        return VectorOr(v[0], v[1], m);
      });
    case BinaryOp::kUnless:
      return RangeEval({e.lhs.get(), e.rhs.get()}, [&m](std::span<Vector> v, int64_t) {
        return VectorUnless(v[0], v[1], m);
      });
    default:
      return RangeEval({e.lhs.get(), e.rhs.get()},
                       [&m, op, rb](std::span<Vector> v, int64_t) {
                         return VectorBinop(op, v[0], v[1], m, rb);
                       });
  }
}

}  // namespace vitals::promql::internal
