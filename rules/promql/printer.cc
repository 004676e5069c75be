#include "rules/promql/printer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/units.h"
#include "rules/promql/functions.h"
#include "rules/promql/lexer.h"

namespace vitals::promql {
namespace {

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

std::string Duration(std::chrono::milliseconds d) { return FormatDuration(d); }

// " @ 123.000" / " @ start()" and " offset 5m" / " offset -5m".
std::string Modifiers(std::chrono::milliseconds offset, AtModifier at, int64_t at_ms) {
  std::string out;
  switch (at) {
    case AtModifier::kNone: break;
    case AtModifier::kTimestamp: {
      char buf[64];
      std::snprintf(buf, sizeof buf, " @ %.3f", static_cast<double>(at_ms) / 1000.0);
      out += buf;
      break;
    }
    case AtModifier::kStart: out += " @ start()"; break;
    case AtModifier::kEnd: out += " @ end()"; break;
  }
  if (offset.count() > 0) out += " offset " + Duration(offset);
  if (offset.count() < 0) out += " offset -" + Duration(-offset);
  return out;
}

// metric{matchers} without modifiers.
std::string SelectorBody(const VectorSelector& vs) {
  static constexpr std::string_view kOps[] = {"=", "!=", "=~", "!~"};
  std::vector<std::string> matchers;
  for (const Matcher& m : vs.matchers) {
    if (m.name() == "__name__" && m.type() == MatchType::kEqual && m.value() == vs.name) continue;
    matchers.push_back(m.name() + std::string(kOps[static_cast<int>(m.type())]) +
                       GoQuote(m.value()));
  }
  if (matchers.empty()) return vs.name;
  std::sort(matchers.begin(), matchers.end());
  return vs.name + "{" + Join(matchers, ",") + "}";
}

std::string MatchingModifiers(const BinaryExpr& bin) {
  const VectorMatching* vm = bin.matching.get();
  if (vm == nullptr || (vm->matching_labels.empty() && !vm->on)) return "";
  std::string out = vm->on ? " on (" : " ignoring (";
  out += Join(vm->matching_labels, ", ") + ")";
  if (vm->card == Cardinality::kManyToOne || vm->card == Cardinality::kOneToMany) {
    out += vm->card == Cardinality::kManyToOne ? " group_left (" : " group_right (";
    out += Join(vm->include, ", ") + ")";
  }
  return out;
}

}  // namespace

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  // The shortest digits that round-trip, then Go's %g layout: exponent form
  // when the exponent is < -4 or >= 6 (for the shortest form, Go uses 6).
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exp = std::atoi(sci.c_str() + e + 1);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string out = negative ? "-" : "";
  if (exp < -4 || exp >= 6) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    return out + exp_buf;
  }
  if (exp < 0) return out + "0." + std::string(-exp - 1, '0') + digits;
  if (static_cast<int>(digits.size()) <= exp + 1) {
    return out + digits + std::string(exp + 1 - digits.size(), '0');
  }
  return out + digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
}

std::string Print(const Expr& expr) {
  switch (expr.kind()) {
    case NodeKind::kNumberLiteral: return FormatNumber(expr.As<NumberLiteral>().value);
    case NodeKind::kStringLiteral: return GoQuote(expr.As<StringLiteral>().value);
    case NodeKind::kVectorSelector: {
      const auto& vs = expr.As<VectorSelector>();
      return SelectorBody(vs) + Modifiers(vs.offset, vs.at, vs.at_timestamp_ms);
    }
    case NodeKind::kMatrixSelector: {
      const auto& ms = expr.As<MatrixSelector>();
      const VectorSelector& vs = *ms.vector_selector;
      return SelectorBody(vs) + "[" + Duration(ms.range) + "]" +
             Modifiers(vs.offset, vs.at, vs.at_timestamp_ms);
    }
    case NodeKind::kSubquery: {
      const auto& sq = expr.As<SubqueryExpr>();
      const std::string step = sq.step.count() != 0 ? Duration(sq.step) : "";
      return Print(*sq.expr) + "[" + Duration(sq.range) + ":" + step + "]" +
             Modifiers(sq.offset, sq.at, sq.at_timestamp_ms);
    }
    case NodeKind::kParen: return "(" + Print(*expr.As<ParenExpr>().expr) + ")";
    case NodeKind::kUnary: {
      const auto& u = expr.As<UnaryExpr>();
      return (u.negate ? "-" : "+") + Print(*u.expr);
    }
    case NodeKind::kBinary: {
      const auto& b = expr.As<BinaryExpr>();
      // Prometheus prints `Inf ^ 2` as "+Inf ^ 2", which parses back as
      // +(Inf ^ 2): the one place we print differently, to round-trip.
      std::string lhs = Print(*b.lhs);
      if (b.op == BinaryOp::kPow && lhs == "+Inf") lhs = "Inf";
      return lhs + " " + std::string(BinaryOpName(b.op)) +
             (b.return_bool ? " bool" : "") + MatchingModifiers(b) + " " + Print(*b.rhs);
    }
    case NodeKind::kAggregate: {
      const auto& a = expr.As<AggregateExpr>();
      std::string out(AggregateOpName(a.op));
      if (a.without) {
        out += " without (" + Join(a.grouping, ", ") + ") ";
      } else if (!a.grouping.empty()) {
        out += " by (" + Join(a.grouping, ", ") + ") ";
      }
      out += "(";
      if (a.param != nullptr) out += Print(*a.param) + ", ";
      return out + Print(*a.expr) + ")";
    }
    case NodeKind::kCall: {
      const auto& c = expr.As<Call>();
      std::vector<std::string> args;
      for (const ExprPtr& arg : c.args) args.push_back(Print(*arg));
      return std::string(c.func->name) + "(" + Join(args, ", ") + ")";
    }
  }
  return "";
}

}  // namespace vitals::promql
