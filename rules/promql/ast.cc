#include "rules/promql/ast.h"

#include "rules/promql/functions.h"

namespace vitals::promql {

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kNone: return "none";
    case ValueType::kScalar: return "scalar";
    case ValueType::kVector: return "vector";
    case ValueType::kMatrix: return "matrix";
    case ValueType::kString: return "string";
  }
  return "none";
}

std::string_view DocumentedTypeName(ValueType t) {
  switch (t) {
    case ValueType::kVector: return "instant vector";
    case ValueType::kMatrix: return "range vector";
    default: return ValueTypeName(t);
  }
}

ValueType Expr::type() const {
  switch (kind_) {
    case NodeKind::kNumberLiteral: return ValueType::kScalar;
    case NodeKind::kStringLiteral: return ValueType::kString;
    case NodeKind::kVectorSelector: return ValueType::kVector;
    case NodeKind::kMatrixSelector: return ValueType::kMatrix;
    case NodeKind::kSubquery: return ValueType::kMatrix;
    case NodeKind::kParen: return As<ParenExpr>().expr->type();
    case NodeKind::kUnary: return As<UnaryExpr>().expr->type();
    case NodeKind::kBinary: {
      const auto& b = As<BinaryExpr>();
      const bool scalars =
          b.lhs->type() == ValueType::kScalar && b.rhs->type() == ValueType::kScalar;
      return scalars ? ValueType::kScalar : ValueType::kVector;
    }
    case NodeKind::kAggregate: return ValueType::kVector;
    case NodeKind::kCall: {
      const Function* f = As<Call>().func;
      return f == nullptr ? ValueType::kNone : f->return_type;
    }
  }
  return ValueType::kNone;
}

std::string_view BinaryOpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kMod: return "%";
    case BinaryOp::kPow: return "^";
    case BinaryOp::kAtan2: return "atan2";
    case BinaryOp::kEql: return "==";
    case BinaryOp::kNeq: return "!=";
    case BinaryOp::kGtr: return ">";
    case BinaryOp::kLss: return "<";
    case BinaryOp::kGte: return ">=";
    case BinaryOp::kLte: return "<=";
    case BinaryOp::kAnd: return "and";
    case BinaryOp::kOr: return "or";
    case BinaryOp::kUnless: return "unless";
  }
  return "";
}

bool IsComparison(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEql:
    case BinaryOp::kNeq:
    case BinaryOp::kGtr:
    case BinaryOp::kLss:
    case BinaryOp::kGte:
    case BinaryOp::kLte: return true;
    default: return false;
  }
}

bool IsSetOperator(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

int Precedence(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr: return 1;
    case BinaryOp::kAnd:
    case BinaryOp::kUnless: return 2;
    case BinaryOp::kAdd:
    case BinaryOp::kSub: return 4;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
    case BinaryOp::kAtan2: return 5;
    case BinaryOp::kPow: return 6;
    default: return 3;  // Comparisons.
  }
}

std::string_view AggregateOpName(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum: return "sum";
    case AggregateOp::kAvg: return "avg";
    case AggregateOp::kCount: return "count";
    case AggregateOp::kMin: return "min";
    case AggregateOp::kMax: return "max";
    case AggregateOp::kGroup: return "group";
    case AggregateOp::kStddev: return "stddev";
    case AggregateOp::kStdvar: return "stdvar";
    case AggregateOp::kTopk: return "topk";
    case AggregateOp::kBottomk: return "bottomk";
    case AggregateOp::kCountValues: return "count_values";
    case AggregateOp::kQuantile: return "quantile";
  }
  return "";
}

bool TakesParameter(AggregateOp op) {
  return op == AggregateOp::kTopk || op == AggregateOp::kBottomk ||
         op == AggregateOp::kCountValues || op == AggregateOp::kQuantile;
}

}  // namespace vitals::promql
