#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vitals::promql {

// Byte offset into the query text.
using Pos = int32_t;

// The kinds of token PromQL is made of. The groups (operators, aggregators,
// keywords, preprocessors) matter: they decide how a token is described in
// error messages, as in Prometheus ("<op:+>", "<aggr:sum>", "<by>").
enum class TokenType : uint8_t {
  kEof,
  kError,  // text is the message; the lexer produces nothing after it.
  kComment,
  kIdentifier,
  kMetricIdentifier,  // An identifier containing ':'.
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kAssign,  // '=' in a label matcher.
  kColon,
  kString,
  kNumber,
  kDuration,

  kOperatorsBegin,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEqlc,  // ==
  kNeq,
  kGtr,
  kLss,
  kGte,
  kLte,
  kEqlRegex,
  kNeqRegex,
  kLand,
  kLor,
  kLunless,
  kAt,
  kOperatorsEnd,

  kAggregatorsBegin,
  kAvg,
  kBottomk,
  kCount,
  kCountValues,
  kGroup,
  kMax,
  kMin,
  kQuantile,
  kStddev,
  kStdvar,
  kSum,
  kTopk,
  kAggregatorsEnd,

  kKeywordsBegin,
  kBool,
  kBy,
  kGroupLeft,
  kGroupRight,
  kIgnoring,
  kOffset,
  kOn,
  kWithout,
  kKeywordsEnd,

  kStart,  // The @ modifier preprocessors start() and end().
  kEnd,
};

inline bool IsOperator(TokenType t) {
  return t > TokenType::kOperatorsBegin && t < TokenType::kOperatorsEnd;
}
inline bool IsAggregator(TokenType t) {
  return t > TokenType::kAggregatorsBegin && t < TokenType::kAggregatorsEnd;
}
inline bool IsKeyword(TokenType t) {
  return t > TokenType::kKeywordsBegin && t < TokenType::kKeywordsEnd;
}

// The canonical spelling of a punctuation, operator, aggregator or keyword
// token ("+", "sum", "group_left"); "" for the others.
std::string_view TokenSpelling(TokenType t);

struct Token {
  TokenType type = TokenType::kEof;
  Pos pos = 0;           // Where the token starts.
  std::string_view text;  // The token as written (the message for kError).
  std::string error;     // Owns the message of a kError token.

  Pos end() const { return pos + static_cast<Pos>(text.size()); }
};

// How Prometheus names a token in "unexpected ..." messages:
// `identifier "foo"`, `<op:+>`, `"("`, `end of input`.
std::string DescribeToken(const Token& token);

// Go's %q quoting of a string (strconv.Quote): used wherever Prometheus quotes
// user text in a message or in printed PromQL.
std::string GoQuote(std::string_view text);

// Turns PromQL query text into tokens, one at a time, exactly as Prometheus's
// lexer does: the parser's error positions depend on when each token is read.
// Not thread-safe; one per parse. `input` must outlive the lexer.
class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}

  // The next token, kEof forever after the end or after a kError.
  Token Next();

  // Where the token being scanned started: errors are reported there.
  Pos start() const { return start_; }

 private:
  enum class State { kStatements, kDuration, kDone };

  Token LexStatements();
  Token LexInsideBraces();
  Token LexDuration();
  Token LexNumberOrDuration();
  Token LexKeywordOrIdentifier();
  Token LexIdentifier();
  Token LexString(char quote);
  Token LexLineComment();

  // Scans a number; true if it stands alone (no letter or digit follows).
  bool ScanNumber();
  // Scans the unit part of a duration; true if it is well formed.
  bool AcceptRemainingDuration();
  // Validates the escape sequence after a backslash; "" or an error message.
  std::string ScanEscape(char quote);

  int Peek() const;  // The next byte, or -1 at the end.
  int NextChar();    // Consumes and returns the next byte, or -1 at the end.
  bool Accept(std::string_view valid);
  void AcceptRun(std::string_view valid);

  Token Emit(TokenType type);
  Token Error(std::string message);

  const std::string_view input_;
  Pos pos_ = 0;    // Next byte to read.
  Pos start_ = 0;  // Start of the token being scanned.
  State state_ = State::kStatements;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;  // Whether ':' was seen since '[' was opened.
};

}  // namespace vitals::promql
