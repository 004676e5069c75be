#include "rules/promql/check.h"

#include "rules/promql/functions.h"
#include "rules/promql/lexer.h"

namespace vitals::promql {
namespace {

bool IsSpaceChar(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Checker {
 public:
  explicit Checker(std::string_view input) : input_(input) {}

  // Checks `expr` and its children; returns its type. Stops at the first error.
  ValueType Check(Expr& expr) {
    if (error_) return ValueType::kNone;
    switch (expr.kind()) {
      case NodeKind::kAggregate: CheckAggregate(expr.As<AggregateExpr>()); break;
      case NodeKind::kBinary: CheckBinary(expr.As<BinaryExpr>()); break;
      case NodeKind::kCall: CheckCall(expr.As<Call>()); break;
      case NodeKind::kParen: Check(*expr.As<ParenExpr>().expr); break;
      case NodeKind::kUnary: {
        const ValueType t = Check(*expr.As<UnaryExpr>().expr);
        if (t != ValueType::kScalar && t != ValueType::kVector) {
          Fail(expr.pos.start,
               "unary expression only allowed on expressions of type scalar or instant vector, "
               "got \"" + std::string(DocumentedTypeName(t)) + "\"");
        }
        break;
      }
      case NodeKind::kSubquery: {
        const ValueType t = Check(*expr.As<SubqueryExpr>().expr);
        if (t != ValueType::kVector) {
          Fail(expr.pos.start, "subquery is only allowed on instant vector, got " +
                                   std::string(ValueTypeName(t)) + " instead");
        }
        break;
      }
      case NodeKind::kMatrixSelector:
        Check(*expr.As<MatrixSelector>().vector_selector);
        break;
      case NodeKind::kVectorSelector: CheckSelector(expr.As<VectorSelector>()); break;
      case NodeKind::kNumberLiteral:
      case NodeKind::kStringLiteral: break;
    }
    return expr.type();
  }

  std::optional<ParseError> error() { return std::move(error_); }

 private:
  void Fail(Pos pos, std::string message) {
    if (!error_) error_ = ParseError{pos, std::move(message)};
  }

  void ExpectType(Expr& expr, ValueType want, std::string_view context) {
    const ValueType t = Check(expr);
    if (t != want && !error_) {
      Fail(expr.pos.start, "expected type " + std::string(DocumentedTypeName(want)) + " in " +
                               std::string(context) + ", got " +
                               std::string(DocumentedTypeName(t)));
    }
  }

  void CheckAggregate(AggregateExpr& agg) {
    ExpectType(*agg.expr, ValueType::kVector, "aggregation expression");
    if (agg.op == AggregateOp::kTopk || agg.op == AggregateOp::kBottomk ||
        agg.op == AggregateOp::kQuantile) {
      ExpectType(*agg.param, ValueType::kScalar, "aggregation parameter");
    }
    if (agg.op == AggregateOp::kCountValues) {
      ExpectType(*agg.param, ValueType::kString, "aggregation parameter");
    }
  }

  // Where the operator of `bin` starts: after the left side and any spaces.
  Pos OperatorPos(const BinaryExpr& bin) const {
    Pos p = bin.lhs->pos.end;
    while (p < static_cast<Pos>(input_.size()) && IsSpaceChar(input_[p])) ++p;
    return p;
  }

  void CheckBinary(BinaryExpr& bin) {
    const ValueType lt = Check(*bin.lhs);
    const ValueType rt = Check(*bin.rhs);
    if (error_) return;
    const std::string op = GoQuote(BinaryOpName(bin.op));
    if (bin.return_bool && !IsComparison(bin.op)) {
      return Fail(OperatorPos(bin), "bool modifier can only be used on comparison operators");
    }
    if (IsComparison(bin.op) && !bin.return_bool && lt == ValueType::kScalar &&
        rt == ValueType::kScalar) {
      return Fail(OperatorPos(bin), "comparisons between scalars must use BOOL modifier");
    }
    VectorMatching& vm = *bin.matching;
    if (IsSetOperator(bin.op) && vm.card == Cardinality::kOneToOne) {
      vm.card = Cardinality::kManyToMany;
    }
    if (vm.on) {
      for (const std::string& l1 : vm.matching_labels) {
        for (const std::string& l2 : vm.include) {
          if (l1 == l2) {
            return Fail(OperatorPos(bin), "label " + GoQuote(l1) +
                                              " must not occur in ON and GROUP clause at once");
          }
        }
      }
    }
    if (lt != ValueType::kScalar && lt != ValueType::kVector) {
      return Fail(bin.lhs->pos.start,
                  "binary expression must contain only scalar and instant vector types");
    }
    if (rt != ValueType::kScalar && rt != ValueType::kVector) {
      return Fail(bin.rhs->pos.start,
                  "binary expression must contain only scalar and instant vector types");
    }
    if (lt != ValueType::kVector || rt != ValueType::kVector) {
      if (!vm.matching_labels.empty()) {
        return Fail(bin.pos.start, "vector matching only allowed between instant vectors");
      }
      bin.matching.reset();
    } else if (IsSetOperator(bin.op)) {
      if (vm.card == Cardinality::kOneToMany || vm.card == Cardinality::kManyToOne) {
        return Fail(bin.pos.start, "no grouping allowed for " + op + " operation");
      }
      if (vm.card != Cardinality::kManyToMany) {
        return Fail(bin.pos.start, "set operations must always be many-to-many");
      }
    }
    if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOperator(bin.op)) {
      return Fail(bin.pos.start, "set operator " + op + " not allowed in binary scalar expression");
    }
  }

  void CheckCall(Call& call) {
    const Function& f = *call.func;
    const int nargs = static_cast<int>(f.arg_types.size());
    const int got = static_cast<int>(call.args.size());
    const std::string name = GoQuote(f.name);
    if (f.variadic == 0) {
      if (nargs != got) {
        return Fail(call.pos.start, "expected " + std::to_string(nargs) +
                                        " argument(s) in call to " + name + ", got " +
                                        std::to_string(got));
      }
    } else {
      const int min = nargs - 1;
      if (min > got) {
        return Fail(call.pos.start, "expected at least " + std::to_string(min) +
                                        " argument(s) in call to " + name + ", got " +
                                        std::to_string(got));
      }
      if (f.variadic > 0 && min + f.variadic < got) {
        return Fail(call.pos.start, "expected at most " + std::to_string(min + f.variadic) +
                                        " argument(s) in call to " + name + ", got " +
                                        std::to_string(got));
      }
    }
    for (int i = 0; i < got; ++i) {
      int t = i;
      if (t >= nargs) {
        if (f.variadic == 0) break;
        t = nargs - 1;
      }
      ExpectType(*call.args[i], f.arg_types[t], "call to function " + name);
    }
  }

  void CheckSelector(const VectorSelector& vs) {
    if (!vs.name.empty()) {
      // The last matcher is the one for the name written before the braces.
      for (size_t i = 0; i + 1 < vs.matchers.size(); ++i) {
        if (vs.matchers[i].name() == "__name__") {
          return Fail(vs.pos.start, "metric name must not be set twice: " + GoQuote(vs.name) +
                                        " or " + GoQuote(vs.matchers[i].value()));
        }
      }
      return;  // The name is a matcher that rejects the empty string.
    }
    for (const Matcher& m : vs.matchers) {
      if (!m.Matches("")) return;
    }
    Fail(vs.pos.start, "vector selector must contain at least one non-empty matcher");
  }

  const std::string_view input_;
  std::optional<ParseError> error_;
};

}  // namespace

std::optional<ParseError> CheckTypes(Expr& expr, std::string_view input) {
  Checker checker(input);
  checker.Check(expr);
  return checker.error();
}

}  // namespace vitals::promql
