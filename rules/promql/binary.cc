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

Vector VectorScalarOp(BinaryOp op, Vector& vec, double scalar, bool scalar_on_left,
                      bool return_bool) {
  Vector out;
  out.reserve(vec.size());
  for (Sample& s : vec) {
    double lv = s.value, rv = scalar;
    if (scalar_on_left) std::swap(lv, rv);
    ElemResult r = ApplyOp(op, lv, rv);
    // A comparison keeps the vector element's value, whichever side it is on.
    if (IsComparison(op) && scalar_on_left) r.value = rv;
    if (return_bool) {
      r.value = r.keep ? 1 : 0;
      r.keep = true;
    }
    if (!r.keep) continue;
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
    return RangeEval({e.lhs.get(), e.rhs.get()}, [op, rb](std::span<Vector> v, int64_t) {
      return VectorScalarOp(op, v[0], v[1][0].value, false, rb);
    });
  }
  if (lt == ValueType::kScalar && rt == ValueType::kVector) {
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
