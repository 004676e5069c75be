#include "rules/promql/parser.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <utility>

#include "common/units.h"
#include "rules/promql/check.h"
#include "rules/promql/functions.h"
#include "rules/promql/lexer.h"
#include "rules/promql/literals.h"

namespace vitals::promql {
namespace {

using std::chrono::milliseconds;

std::optional<BinaryOp> BinaryOpFor(TokenType t) {
  switch (t) {
    case TokenType::kAdd: return BinaryOp::kAdd;
    case TokenType::kSub: return BinaryOp::kSub;
    case TokenType::kMul: return BinaryOp::kMul;
    case TokenType::kDiv: return BinaryOp::kDiv;
    case TokenType::kMod: return BinaryOp::kMod;
    case TokenType::kPow: return BinaryOp::kPow;
    case TokenType::kAtan2: return BinaryOp::kAtan2;
    case TokenType::kEqlc: return BinaryOp::kEql;
    case TokenType::kNeq: return BinaryOp::kNeq;
    case TokenType::kGtr: return BinaryOp::kGtr;
    case TokenType::kLss: return BinaryOp::kLss;
    case TokenType::kGte: return BinaryOp::kGte;
    case TokenType::kLte: return BinaryOp::kLte;
    case TokenType::kLand: return BinaryOp::kAnd;
    case TokenType::kLor: return BinaryOp::kOr;
    case TokenType::kLunless: return BinaryOp::kUnless;
    default: return std::nullopt;
  }
}

AggregateOp AggregateOpFor(TokenType t) {
  switch (t) {
    case TokenType::kAvg: return AggregateOp::kAvg;
    case TokenType::kBottomk: return AggregateOp::kBottomk;
    case TokenType::kCount: return AggregateOp::kCount;
    case TokenType::kCountValues: return AggregateOp::kCountValues;
    case TokenType::kGroup: return AggregateOp::kGroup;
    case TokenType::kMax: return AggregateOp::kMax;
    case TokenType::kMin: return AggregateOp::kMin;
    case TokenType::kQuantile: return AggregateOp::kQuantile;
    case TokenType::kStddev: return AggregateOp::kStddev;
    case TokenType::kStdvar: return AggregateOp::kStdvar;
    case TokenType::kTopk: return AggregateOp::kTopk;
    default: return AggregateOp::kSum;
  }
}

// Tokens that may name a metric: identifiers and the keywords Prometheus's
// grammar lets through as metric names.
bool IsMetricIdentifier(TokenType t) {
  switch (t) {
    case TokenType::kIdentifier:
    case TokenType::kMetricIdentifier:
    case TokenType::kBy:
    case TokenType::kLand:
    case TokenType::kLor:
    case TokenType::kLunless:
    case TokenType::kOffset:
    case TokenType::kWithout:
    case TokenType::kStart:
    case TokenType::kEnd: return true;
    default: return IsAggregator(t);
  }
}

// Tokens that may name a label in by(...), on(...) and the like.
bool IsMaybeLabel(TokenType t) {
  if (t == TokenType::kWithout) return false;  // Prometheus's grammar leaves it out.
  if (IsAggregator(t) || IsKeyword(t)) return true;
  switch (t) {
    case TokenType::kIdentifier:
    case TokenType::kMetricIdentifier:
    case TokenType::kLand:
    case TokenType::kLor:
    case TokenType::kLunless:
    case TokenType::kAtan2:
    case TokenType::kStart:
    case TokenType::kEnd: return true;
    default: return false;
  }
}

bool CanStartExpr(TokenType t) {
  switch (t) {
    case TokenType::kNumber:
    case TokenType::kString:
    case TokenType::kLeftParen:
    case TokenType::kLeftBrace:
    case TokenType::kAdd:
    case TokenType::kSub: return true;
    default: return IsMetricIdentifier(t);
  }
}

bool IsLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view input) : input_(input), lexer_(input) {}

  Result<ExprPtr> Parse() {
    ExprPtr expr;
    if (Peek().type == TokenType::kEof) {
      if (!error_) Fail(0, "no expression found in input");
    } else {
      expr = ParseBinary(0);
      if (expr != nullptr && Peek().type != TokenType::kEof) Unexpected("", "");
    }
    if (!error_ && expr != nullptr) error_ = CheckTypes(*expr, input_);
    if (error_) return Status::InvalidArgument(Format(*error_));
    return expr;
  }

 private:
  // "line:column: parse error: message", as Prometheus's ParseErr.
  std::string Format(const ParseError& e) const {
    int line = 1;
    Pos last_newline = -1;
    for (Pos i = 0; i < e.pos && i < static_cast<Pos>(input_.size()); ++i) {
      if (input_[i] == '\n') {
        ++line;
        last_newline = i;
      }
    }
    return std::to_string(line) + ":" + std::to_string(e.pos - last_newline) +
           ": parse error: " + e.message;
  }

  // Records an error that does not stop parsing (Prometheus reports the first).
  void Fail(Pos pos, std::string message) {
    if (!error_) error_ = ParseError{pos, std::move(message)};
  }

  // A syntax error at the current token; parsing stops. Inside an aggregation
  // Prometheus's grammar recovers in the aggregation rule and says so.
  std::nullptr_t Unexpected(std::string_view context, std::string_view expected) {
    if (error_) return nullptr;  // Includes lexer errors, reported once.
    if (context.empty() && aggregation_depth_ > 0) context = "aggregation";
    std::string message = "unexpected " + DescribeToken(Peek());
    if (!context.empty()) message += " in " + std::string(context);
    if (!expected.empty()) message += ", expected " + std::string(expected);
    Fail(Peek().pos, std::move(message));
    return nullptr;
  }

  const Token& Peek() {
    if (!has_token_) {
      do {
        token_ = lexer_.Next();
      } while (token_.type == TokenType::kComment);
      if (token_.type == TokenType::kError) {
        Fail(lexer_.start(), token_.error);
        token_.type = TokenType::kEof;  // Prometheus ends the input there.
      }
      switch (token_.type) {
        case TokenType::kRightBrace:
        case TokenType::kRightParen:
        case TokenType::kRightBracket:
        case TokenType::kDuration:
        case TokenType::kNumber: last_closing_ = token_.end(); break;
        default: break;
      }
      has_token_ = true;
    }
    return token_;
  }

  Token Take() {
    Peek();
    has_token_ = false;
    last_end_ = token_.end();
    return token_;
  }

  bool Is(TokenType t) { return Peek().type == t; }

  // expr, with binary operators binding at least as tight as min_precedence.
  ExprPtr ParseBinary(int min_precedence) {
    ExprPtr lhs = ParseUnary();
    while (lhs != nullptr) {
      const std::optional<BinaryOp> op = BinaryOpFor(Peek().type);
      if (!op || Precedence(*op) < min_precedence) break;
      Take();
      auto bin = std::make_unique<BinaryExpr>();
      bin->op = *op;
      bin->matching = std::make_unique<VectorMatching>();
      if (!ParseBinaryModifiers(bin.get())) return nullptr;
      // '^' is right-associative, the others left-associative.
      const int next = Precedence(*op) + (*op == BinaryOp::kPow ? 0 : 1);
      bin->rhs = ParseBinary(next);
      if (bin->rhs == nullptr) return nullptr;
      bin->pos = {lhs->pos.start, bin->rhs->pos.end};
      bin->lhs = std::move(lhs);
      lhs = std::move(bin);
    }
    return lhs;
  }

  // [bool] [on|ignoring (labels) [group_left|group_right [(labels)]]]
  bool ParseBinaryModifiers(BinaryExpr* bin) {
    if (Is(TokenType::kBool)) {
      Take();
      bin->return_bool = true;
    }
    if (!Is(TokenType::kOn) && !Is(TokenType::kIgnoring)) return true;
    VectorMatching& vm = *bin->matching;
    vm.on = Take().type == TokenType::kOn;
    if (!ParseGroupingLabels(&vm.matching_labels)) return false;
    if (!Is(TokenType::kGroupLeft) && !Is(TokenType::kGroupRight)) return true;
    vm.card = Take().type == TokenType::kGroupLeft ? Cardinality::kManyToOne
                                                   : Cardinality::kOneToMany;
    if (Is(TokenType::kLeftParen)) return ParseGroupingLabels(&vm.include);
    // The labels are optional, but what follows must then start the right side.
    if (!CanStartExpr(Peek().type)) return Unexpected("grouping opts", "\"(\""), false;
    return true;
  }

  // ( label, ... )
  bool ParseGroupingLabels(std::vector<std::string>* labels) {
    if (!Is(TokenType::kLeftParen)) return Unexpected("grouping opts", "\"(\""), false;
    Take();
    if (Is(TokenType::kRightParen)) {
      Take();
      return true;
    }
    while (true) {
      if (!IsMaybeLabel(Peek().type)) return Unexpected("grouping opts", "label"), false;
      const Token label = Take();
      if (!IsLabelName(label.text)) {
        Fail(label.pos, "unexpected " + DescribeToken(label) + " in grouping opts, expected label");
      }
      labels->emplace_back(label.text);
      if (Is(TokenType::kComma)) {
        Take();
        if (Is(TokenType::kRightParen)) break;
        continue;
      }
      if (Is(TokenType::kRightParen)) break;
      return Unexpected("grouping opts", "\",\" or \")\""), false;
    }
    Take();
    return true;
  }

  ExprPtr ParseUnary() {
    if (!Is(TokenType::kAdd) && !Is(TokenType::kSub)) {
      ExprPtr primary = ParsePrimary();
      return primary == nullptr ? nullptr : ParsePostfix(std::move(primary));
    }
    const Token op = Take();
    // Unary operators bind like '*': only '^' binds tighter.
    ExprPtr operand = ParseBinary(Precedence(BinaryOp::kPow));
    if (operand == nullptr) return nullptr;
    const bool negate = op.type == TokenType::kSub;
    if (operand->kind() == NodeKind::kNumberLiteral) {
      auto& number = operand->As<NumberLiteral>();
      if (negate) number.value = -number.value;
      number.pos.start = op.pos;
      return operand;
    }
    auto unary = std::make_unique<UnaryExpr>();
    unary->negate = negate;
    unary->pos = {op.pos, operand->pos.end};
    unary->expr = std::move(operand);
    return unary;
  }

  ExprPtr ParsePrimary() {
    const TokenType t = Peek().type;
    switch (t) {
      case TokenType::kNumber: {
        const Token token = Take();
        auto number = std::make_unique<NumberLiteral>();
        std::string error;
        number->value = ParseNumber(token.text, &error).value_or(0);
        if (!error.empty()) Fail(token.pos, "error parsing number: " + error);
        number->pos = {token.pos, token.end()};
        return number;
      }
      case TokenType::kString: {
        const Token token = Take();
        auto str = std::make_unique<StringLiteral>();
        str->value = Unquote(token.text);
        str->pos = {token.pos, token.end()};
        return str;
      }
      case TokenType::kLeftParen: {
        const Token open = Take();
        auto paren = std::make_unique<ParenExpr>();
        paren->expr = ParseBinary(0);
        if (paren->expr == nullptr) return nullptr;
        if (!Is(TokenType::kRightParen)) return Unexpected("", "");
        paren->pos = {open.pos, Take().end()};
        return paren;
      }
      case TokenType::kLeftBrace: return ParseVectorSelector(std::nullopt);
      case TokenType::kIdentifier: {
        const Token name = Take();
        if (Is(TokenType::kLeftParen)) return ParseCall(name);
        return ParseVectorSelector(name);
      }
      default: break;
    }
    if (IsAggregator(t)) {
      const Token op = Take();
      if (Is(TokenType::kLeftParen) || Is(TokenType::kBy) || Is(TokenType::kWithout)) {
        return ParseAggregate(op);
      }
      return ParseVectorSelector(op);
    }
    if (IsMetricIdentifier(t)) return ParseVectorSelector(Take());
    return Unexpected("", "");
  }

  // Offsets, @ modifiers, ranges and subqueries after an expression.
  ExprPtr ParsePostfix(ExprPtr expr) {
    while (expr != nullptr) {
      switch (Peek().type) {
        case TokenType::kLeftBracket: expr = ParseRange(std::move(expr)); break;
        case TokenType::kOffset: expr = ParseOffset(std::move(expr)); break;
        case TokenType::kAt: expr = ParseAt(std::move(expr)); break;
        default: return expr;
      }
    }
    return nullptr;
  }

  // A duration token's value; records Prometheus's error if it is invalid.
  milliseconds DurationValue(const Token& token) {
    auto d = ParseDuration(token.text);
    if (!d.ok()) {
      Fail(token.pos, "not a valid duration string: " + GoQuote(token.text));
      return milliseconds(0);
    }
    if (d->count() == 0) Fail(token.pos, "duration must be greater than 0");
    return *d;
  }

  ExprPtr ParseRange(ExprPtr expr) {
    const Token open = Take();
    if (!Is(TokenType::kDuration)) return Unexpected("subquery selector", "duration");
    const milliseconds range = DurationValue(Take());
    if (Is(TokenType::kRightBracket)) {
      const Token close = Take();
      std::string problem;
      if (expr->kind() != NodeKind::kVectorSelector) {
        problem = "ranges only allowed for vector selectors";
      } else if (expr->As<VectorSelector>().offset.count() != 0) {
        problem = "no offset modifiers allowed before range";
      } else if (expr->As<VectorSelector>().at != AtModifier::kNone) {
        problem = "no @ modifiers allowed before range";
      }
      if (!problem.empty()) {
        Fail(open.pos, problem);
        return expr;
      }
      auto matrix = std::make_unique<MatrixSelector>();
      matrix->pos = {expr->pos.start, close.end()};
      matrix->vector_selector.reset(&expr.release()->As<VectorSelector>());
      matrix->range = range;
      return matrix;
    }
    if (!Is(TokenType::kColon)) return Unexpected("subquery or range", "\":\" or \"]\"");
    Take();
    auto subquery = std::make_unique<SubqueryExpr>();
    subquery->range = range;
    if (Is(TokenType::kDuration)) {
      subquery->step = DurationValue(Take());
      if (!Is(TokenType::kRightBracket)) return Unexpected("subquery selector", "\"]\"");
    } else if (!Is(TokenType::kRightBracket)) {
      return Unexpected("subquery selector", "duration or \"]\"");
    }
    subquery->pos = {expr->pos.start, Take().end()};
    subquery->expr = std::move(expr);
    return subquery;
  }

  // The offset, @ and end position fields of a selector or subquery.
  struct Modifiers {
    milliseconds* offset = nullptr;
    AtModifier* at = nullptr;
    int64_t* at_timestamp_ms = nullptr;
    Pos* end = nullptr;
  };

  // nullopt (with the error recorded) if `expr` takes no modifiers.
  std::optional<Modifiers> ModifiersOf(Expr& expr, std::string_view modifier) {
    switch (expr.kind()) {
      case NodeKind::kVectorSelector: {
        auto& vs = expr.As<VectorSelector>();
        return Modifiers{&vs.offset, &vs.at, &vs.at_timestamp_ms, &vs.pos.end};
      }
      case NodeKind::kMatrixSelector: {
        auto& vs = *expr.As<MatrixSelector>().vector_selector;
        return Modifiers{&vs.offset, &vs.at, &vs.at_timestamp_ms, &expr.pos.end};
      }
      case NodeKind::kSubquery: {
        auto& sq = expr.As<SubqueryExpr>();
        return Modifiers{&sq.offset, &sq.at, &sq.at_timestamp_ms, &sq.pos.end};
      }
      default:
        Fail(expr.pos.start, std::string(modifier) +
                                 " modifier must be preceded by an instant vector selector or "
                                 "range vector selector or a subquery");
        return std::nullopt;
    }
  }

  ExprPtr ParseOffset(ExprPtr expr) {
    Take();
    bool negative = false;
    if (Is(TokenType::kSub)) {
      Take();
      negative = true;
    }
    if (!Is(TokenType::kDuration)) return Unexpected("offset", "duration");
    milliseconds offset = DurationValue(Take());
    if (negative) offset = -offset;
    if (auto m = ModifiersOf(*expr, "offset")) {
      if (m->offset->count() != 0) {
        Fail(expr->pos.start, "offset may not be set multiple times");
      } else {
        *m->offset = offset;
      }
      *m->end = last_closing_;
    }
    return expr;
  }

  ExprPtr ParseAt(ExprPtr expr) {
    Take();
    if (Is(TokenType::kStart) || Is(TokenType::kEnd)) {
      const AtModifier which = Take().type == TokenType::kStart ? AtModifier::kStart
                                                                : AtModifier::kEnd;
      if (!Is(TokenType::kLeftParen)) return Unexpected("@", "timestamp");
      Take();
      if (!Is(TokenType::kRightParen)) return Unexpected("@", "timestamp");
      Take();
      if (auto m = SettableAt(*expr)) {
        *m->at = which;
        *m->end = last_closing_;
      }
      return expr;
    }
    bool negative = false;
    if (Is(TokenType::kAdd) || Is(TokenType::kSub)) negative = Take().type == TokenType::kSub;
    if (!Is(TokenType::kNumber)) return Unexpected("@", "timestamp");
    const Token token = Take();
    std::string error;
    double ts = ParseNumber(token.text, &error).value_or(0);
    if (!error.empty()) Fail(token.pos, "error parsing number: " + error);
    if (negative) ts = -ts;
    if (std::isinf(ts) || std::isnan(ts) || ts >= 9.223372036854775807e18 ||
        ts <= -9.223372036854775807e18) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%f", ts);
      std::string shown = std::isnan(ts) ? "NaN" : std::isinf(ts) ? (ts > 0 ? "+Inf" : "-Inf") : buf;
      Fail(expr->pos.start, "timestamp out of bounds for @ modifier: " + shown);
    }
    if (auto m = SettableAt(*expr)) {
      *m->at = AtModifier::kTimestamp;
      *m->at_timestamp_ms = ToMillis(ts);
      *m->end = last_closing_;
    }
    return expr;
  }

  std::optional<Modifiers> SettableAt(Expr& expr) {
    auto m = ModifiersOf(expr, "@");
    if (m && *m->at != AtModifier::kNone) {
      Fail(expr.pos.start, "@ <timestamp> may not be set multiple times");
      return std::nullopt;
    }
    return m;
  }

  // name, name{...} or {...}; `name` is the token already taken, if any.
  ExprPtr ParseVectorSelector(std::optional<Token> name) {
    auto vs = std::make_unique<VectorSelector>();
    if (name) {
      vs->name = std::string(name->text);
      vs->pos = {name->pos, name->end()};
    }
    if (Is(TokenType::kLeftBrace)) {
      const Token open = Take();
      if (!name) vs->pos.start = open.pos;
      if (!ParseLabelMatchers(&vs->matchers)) return nullptr;
      vs->pos.end = last_end_;
    }
    if (name) {
      auto m = Matcher::Create(MatchType::kEqual, "__name__", vs->name);
      vs->matchers.push_back(std::move(m).value());
    }
    return vs;
  }

  // The matchers after '{', through '}'.
  bool ParseLabelMatchers(std::vector<Matcher>* matchers) {
    if (Is(TokenType::kRightBrace)) {
      Take();
      return true;
    }
    while (true) {
      if (!Is(TokenType::kIdentifier)) {
        return Unexpected("label matching", "identifier or \"}\""), false;
      }
      const Token label = Take();
      MatchType type;
      switch (Peek().type) {
        case TokenType::kAssign: type = MatchType::kEqual; break;
        case TokenType::kNeq: type = MatchType::kNotEqual; break;
        case TokenType::kEqlRegex: type = MatchType::kRegexMatch; break;
        case TokenType::kNeqRegex: type = MatchType::kRegexNoMatch; break;
        default: return Unexpected("label matching", "label matching operator"), false;
      }
      Take();
      if (!Is(TokenType::kString)) return Unexpected("label matching", "string"), false;
      const Token value = Take();
      auto m = Matcher::Create(type, std::string(label.text), Unquote(value.text));
      if (m.ok()) {
        matchers->push_back(std::move(m).value());
      } else {
        Fail(label.pos, RegexErrorMessage(m.status().message()));
      }
      if (Is(TokenType::kComma)) {
        Take();
        if (!Is(TokenType::kRightBrace)) continue;
      }
      if (!Is(TokenType::kRightBrace)) {
        return Unexpected("label matching", "\",\" or \"}\""), false;
      }
      Take();
      return true;
    }
  }

  ExprPtr ParseCall(const Token& name) {
    auto call = std::make_unique<Call>();
    if (!ParseArguments(&call->args)) return nullptr;
    // Prometheus looks the name up once the arguments are parsed.
    call->func = FindFunction(name.text);
    if (call->func == nullptr) {
      Fail(name.pos, "unknown function with name " + GoQuote(name.text));
    }
    call->pos = {name.pos, last_closing_};
    return call;
  }

  // ( expr, ... ) as in function calls and aggregations.
  bool ParseArguments(std::vector<ExprPtr>* args) {
    Take();  // '('
    while (!Is(TokenType::kRightParen)) {
      ExprPtr arg = ParseBinary(0);
      if (arg == nullptr) return false;
      args->push_back(std::move(arg));
      if (Is(TokenType::kRightParen)) break;
      if (!Is(TokenType::kComma)) return Unexpected("", ""), false;
      // Prometheus's grammar takes a comma not followed by an argument as a
      // trailing comma, which it then rejects.
      while (Is(TokenType::kComma)) {
        const Token comma = Take();
        if (!CanStartExpr(Peek().type)) {
          Fail(comma.pos, "trailing commas not allowed in function call args");
        }
      }
      if (!CanStartExpr(Peek().type) && !Is(TokenType::kRightParen)) {
        return Unexpected("", ""), false;
      }
    }
    Take();
    return true;
  }

  ExprPtr ParseAggregate(const Token& op) {
    ++aggregation_depth_;
    auto agg = std::make_unique<AggregateExpr>();
    agg->op = AggregateOpFor(op.type);
    const bool modifier_first = Is(TokenType::kBy) || Is(TokenType::kWithout);
    if (modifier_first && !ParseAggregateModifier(agg.get())) return nullptr;
    if (!Is(TokenType::kLeftParen)) return Unexpected("", "");
    std::vector<ExprPtr> args;
    if (!ParseArguments(&args)) return nullptr;
    if (!modifier_first && (Is(TokenType::kBy) || Is(TokenType::kWithout)) &&
        !ParseAggregateModifier(agg.get())) {
      return nullptr;
    }
    --aggregation_depth_;
    agg->pos = {op.pos, last_closing_};
    if (args.empty()) {
      Fail(agg->pos.start, "no arguments for aggregate expression provided");
      return agg;
    }
    const size_t want = TakesParameter(agg->op) ? 2 : 1;
    if (args.size() != want) {
      Fail(agg->pos.start, "wrong number of arguments for aggregate expression provided, expected " +
                               std::to_string(want) + ", got " + std::to_string(args.size()));
      return agg;
    }
    if (want == 2) agg->param = std::move(args[0]);
    agg->expr = std::move(args[want - 1]);
    return agg;
  }

  bool ParseAggregateModifier(AggregateExpr* agg) {
    agg->without = Take().type == TokenType::kWithout;
    return ParseGroupingLabels(&agg->grouping);
  }

  const std::string_view input_;
  Lexer lexer_;
  Token token_;  // The lookahead, when has_token_.
  bool has_token_ = false;
  Pos last_closing_ = 0;  // End of the last ')', ']', '}', number or duration read.
  Pos last_end_ = 0;  // End of the last token taken.
  int aggregation_depth_ = 0;
  std::optional<ParseError> error_;
};

}  // namespace

Result<ExprPtr> ParseExpr(std::string_view input) { return Parser(input).Parse(); }

Result<std::vector<Matcher>> ParseMetricSelector(std::string_view input) {
  ASSIGN_OR_RETURN(ExprPtr expr, ParseExpr(input));
  if (expr->kind() != NodeKind::kVectorSelector) {
    return Status::InvalidArgument("1:1: parse error: expected a series selector, got " +
                                   std::string(DocumentedTypeName(expr->type())) + " expression");
  }
  auto& vs = expr->As<VectorSelector>();
  if (vs.offset.count() != 0 || vs.at != AtModifier::kNone) {
    return Status::InvalidArgument(
        "1:1: parse error: a series selector takes no offset or @ modifier");
  }
  return std::move(vs.matchers);
}

}  // namespace vitals::promql
