#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/selector.h"
#include "rules/promql/lexer.h"

namespace vitals::promql {

// The syntax tree of a PromQL expression, shaped like Prometheus's
// (promql/parser/ast.go) so its documentation and engine read across.
//
// Walking it: every node derives from Expr and says what it is in kind();
// switch on the kind and use As<T>() to get the concrete node:
//
//   switch (expr.kind()) {
//     case NodeKind::kCall: return EvalCall(expr.As<Call>());
//     ...
//   }
//
// Ownership: a node owns its children through std::unique_ptr. A parsed tree
// is immutable by convention and safe to read from several threads.

// The type of value an expression produces.
enum class ValueType : uint8_t { kNone, kScalar, kVector, kMatrix, kString };

// "scalar", "vector", "matrix", "string", "none": Prometheus's internal names.
std::string_view ValueTypeName(ValueType t);
// As in user-facing messages: "instant vector" and "range vector" for vectors.
std::string_view DocumentedTypeName(ValueType t);

// Where a node is in the query text: [start, end) byte offsets.
struct PositionRange {
  Pos start = 0;
  Pos end = 0;
};

enum class NodeKind : uint8_t {
  kNumberLiteral,
  kStringLiteral,
  kVectorSelector,
  kMatrixSelector,
  kSubquery,
  kParen,
  kUnary,
  kBinary,
  kAggregate,
  kCall,
};

class Expr {
 public:
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  NodeKind kind() const { return kind_; }
  // The type of the value this expression evaluates to.
  ValueType type() const;

  // REQUIRES: kind() == T::kKind.
  template <typename T>
  const T& As() const {
    if (kind_ != T::kKind) std::abort();
    return static_cast<const T&>(*this);
  }
  template <typename T>
  T& As() {
    if (kind_ != T::kKind) std::abort();
    return static_cast<T&>(*this);
  }

  PositionRange pos;

 protected:
  explicit Expr(NodeKind kind) : kind_(kind) {}

 private:
  const NodeKind kind_;
};

using ExprPtr = std::unique_ptr<Expr>;

// Binary operators, in Prometheus's precedence groups (see Precedence()).
enum class BinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEql,  // ==
  kNeq,
  kGtr,
  kLss,
  kGte,
  kLte,
  kAnd,
  kOr,
  kUnless,
};

std::string_view BinaryOpName(BinaryOp op);  // "+", "==", "and", "atan2" ...
bool IsComparison(BinaryOp op);
bool IsSetOperator(BinaryOp op);
// 1 (or) .. 6 (^): higher binds tighter.
int Precedence(BinaryOp op);

enum class AggregateOp : uint8_t {
  kSum,
  kAvg,
  kCount,
  kMin,
  kMax,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kCountValues,
  kQuantile,
};

std::string_view AggregateOpName(AggregateOp op);  // "sum", "count_values" ...
// topk, bottomk, count_values and quantile take a parameter before the vector.
bool TakesParameter(AggregateOp op);

// The @ modifier of a selector or subquery.
enum class AtModifier : uint8_t { kNone, kTimestamp, kStart, kEnd };

struct NumberLiteral final : Expr {
  static constexpr NodeKind kKind = NodeKind::kNumberLiteral;
  NumberLiteral() : Expr(kKind) {}
  double value = 0;
};

struct StringLiteral final : Expr {
  static constexpr NodeKind kKind = NodeKind::kStringLiteral;
  StringLiteral() : Expr(kKind) {}
  std::string value;  // Unquoted.
};

// metric{label="value"} offset 5m @ 1600000000. Inside a MatrixSelector it also
// carries the offset and @ modifier of the range.
struct VectorSelector final : Expr {
  static constexpr NodeKind kKind = NodeKind::kVectorSelector;
  VectorSelector() : Expr(kKind) {}
  std::string name;  // The metric name written before the braces; "" if none.
  // All matchers; when `name` is set, the last one is __name__="<name>".
  std::vector<Matcher> matchers;
  std::chrono::milliseconds offset{0};  // As written; negative looks ahead.
  AtModifier at = AtModifier::kNone;
  int64_t at_timestamp_ms = 0;  // Meaningful when at == kTimestamp.
};

// selector[5m]. Offset and @ live in the vector selector.
struct MatrixSelector final : Expr {
  static constexpr NodeKind kKind = NodeKind::kMatrixSelector;
  MatrixSelector() : Expr(kKind) {}
  std::unique_ptr<VectorSelector> vector_selector;
  std::chrono::milliseconds range{0};
};

// expr[range:step] offset ... @ ...
struct SubqueryExpr final : Expr {
  static constexpr NodeKind kKind = NodeKind::kSubquery;
  SubqueryExpr() : Expr(kKind) {}
  ExprPtr expr;
  std::chrono::milliseconds range{0};
  std::chrono::milliseconds step{0};  // 0: the engine's default evaluation interval.
  std::chrono::milliseconds offset{0};
  AtModifier at = AtModifier::kNone;
  int64_t at_timestamp_ms = 0;
};

struct ParenExpr final : Expr {
  static constexpr NodeKind kKind = NodeKind::kParen;
  ParenExpr() : Expr(kKind) {}
  ExprPtr expr;
};

// -expr or +expr. A negated number literal is folded into the literal.
struct UnaryExpr final : Expr {
  static constexpr NodeKind kKind = NodeKind::kUnary;
  UnaryExpr() : Expr(kKind) {}
  bool negate = false;  // '-' rather than '+'.
  ExprPtr expr;
};

enum class Cardinality : uint8_t { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

// How the two sides of a binary operation between vectors are matched.
struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  // The labels of on(...) or ignoring(...).
  std::vector<std::string> matching_labels;
  bool on = false;  // on(...) rather than ignoring(...).
  // The labels of group_left(...) / group_right(...).
  std::vector<std::string> include;
};

struct BinaryExpr final : Expr {
  static constexpr NodeKind kKind = NodeKind::kBinary;
  BinaryExpr() : Expr(kKind) {}
  BinaryOp op = BinaryOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;  // The bool modifier of a comparison.
  // Set only when both sides are instant vectors.
  std::unique_ptr<VectorMatching> matching;
};

struct AggregateExpr final : Expr {
  static constexpr NodeKind kKind = NodeKind::kAggregate;
  AggregateExpr() : Expr(kKind) {}
  AggregateOp op = AggregateOp::kSum;
  ExprPtr expr;
  ExprPtr param;  // Set for topk, bottomk, count_values and quantile.
  std::vector<std::string> grouping;  // The labels of by(...) or without(...).
  bool without = false;
};

struct Function;

struct Call final : Expr {
  static constexpr NodeKind kKind = NodeKind::kCall;
  Call() : Expr(kKind) {}
  const Function* func = nullptr;  // Points into the static function table.
  std::vector<ExprPtr> args;
};

}  // namespace vitals::promql
