#include "rules/promql/series_notation.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "common/samples.h"
#include "rules/promql/lexer.h"
#include "rules/promql/literals.h"

namespace vitals::promql {
namespace {

// "1:<column>: parse error: <message>", the way Prometheus positions errors.
Status ParseError(Pos pos, const std::string& message) {
  return Status::InvalidArgument("1:" + std::to_string(pos + 1) + ": parse error: " + message);
}

bool IsDigit(int c) { return c >= '0' && c <= '9'; }
bool IsAlpha(int c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlphaNumeric(int c) { return IsAlpha(c) || IsDigit(c); }
bool IsSpace(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The metric part: `name`, `name{...}` or `{...}`. It is ordinary PromQL
// lexically, so the query lexer reads it (with its error messages); parsing
// stops where the values begin.
class MetricParser {
 public:
  explicit MetricParser(std::string_view input) : input_(input), lexer_(input) {}

  // The labels; *values_start is where the value sequence begins.
  Result<Labels> Parse(Pos* values_start) {
    Labels labels;
    Token token = lexer_.Next();
    if (IsMetricName(token)) {
      labels.push_back(Label{std::string(kMetricNameLabel), std::string(token.text)});
      if (static_cast<size_t>(token.end()) >= input_.size() || input_[token.end()] != '{') {
        *values_start = token.end();
        return Finish(std::move(labels), token.pos);
      }
      token = lexer_.Next();
    }
    if (token.type != TokenType::kLeftBrace) {
      return Unexpected(token, "series description", "metric name or \"{\"");
    }
    Pos brace = token.pos;
    RETURN_IF_ERROR(ParseLabelSet(&labels, values_start));
    return Finish(std::move(labels), brace);
  }

 private:
  // The tokens Prometheus's grammar accepts as a metric name in a series
  // description (metric_identifier): identifiers and most keywords.
  static bool IsMetricName(const Token& token) {
    switch (token.type) {
      case TokenType::kIdentifier:
      case TokenType::kMetricIdentifier:
      case TokenType::kLand:
      case TokenType::kLor:
      case TokenType::kLunless:
      case TokenType::kBy:
      case TokenType::kOffset:
      case TokenType::kWithout:
      case TokenType::kStart:
      case TokenType::kEnd:
        return true;
      default:
        return IsAggregator(token.type);
    }
  }

  // After `{`: `name="value"` items separated by commas, an optional
  // trailing comma, then `}`.
  Status ParseLabelSet(Labels* labels, Pos* values_start) {
    Token token = lexer_.Next();
    while (token.type != TokenType::kRightBrace) {
      if (token.type != TokenType::kIdentifier) {
        return Unexpected(token, "label set", "identifier or \"}\"");
      }
      std::string name(token.text);
      token = lexer_.Next();
      if (token.type != TokenType::kAssign) return Unexpected(token, "label set", "\"=\"");
      token = lexer_.Next();
      if (token.type != TokenType::kString) return Unexpected(token, "label set", "string");
      labels->push_back(Label{std::move(name), Unquote(token.text)});
      token = lexer_.Next();
      if (token.type == TokenType::kComma) {
        token = lexer_.Next();
      } else if (token.type != TokenType::kRightBrace) {
        return Unexpected(token, "label set", "\",\" or \"}\"");
      }
    }
    *values_start = token.end();
    return Status::Ok();
  }

  static Result<Labels> Finish(Labels labels, Pos pos) {
    Canonicalize(&labels);
    for (size_t i = 1; i < labels.size(); ++i) {
      if (labels[i].name == labels[i - 1].name) {
        return ParseError(pos, "label name " + GoQuote(labels[i].name) + " is given twice");
      }
    }
    return labels;
  }

  static Status Unexpected(const Token& token, std::string_view context, std::string_view expected) {
    if (token.type == TokenType::kError) return ParseError(token.pos, token.error);
    return ParseError(token.pos, "unexpected " + DescribeToken(token) + " in " +
                                     std::string(context) + ", expected " + std::string(expected));
  }

  const std::string_view input_;
  Lexer lexer_;
};

// The value sequence, tokenised as Prometheus's lexValueSequence does.
enum class ValueToken { kEof, kSpace, kAdd, kSub, kTimes, kBlank, kNumber, kWord };

class ValueParser {
 public:
  ValueParser(std::string_view input, Pos start) : input_(input), pos_(start) {}

  Result<std::vector<std::optional<double>>> Parse() {
    std::vector<std::optional<double>> values;
    for (;;) {
      RETURN_IF_ERROR(Advance());
      if (type_ == ValueToken::kEof) return values;
      if (type_ != ValueToken::kSpace) return Unexpected("");
      RETURN_IF_ERROR(Advance());
      if (type_ == ValueToken::kEof) return values;
      RETURN_IF_ERROR(ParseItem(&values));
    }
  }

 private:
  // One item; the current token is its first.
  Status ParseItem(std::vector<std::optional<double>>* values) {
    item_start_ = start_;
    if (type_ == ValueToken::kBlank) {
      if (PeekChar() != 'x') return Append(values, std::nullopt, 1, 0);
      RETURN_IF_ERROR(Advance());  // The `x`.
      ASSIGN_OR_RETURN(uint64_t steps, ParseRepetition());
      return Append(values, std::nullopt, steps, 0);
    }
    ASSIGN_OR_RETURN(double value, ParseValue());
    switch (PeekChar()) {
      case 'x': {
        RETURN_IF_ERROR(Advance());
        ASSIGN_OR_RETURN(uint64_t times, ParseRepetition());
        return Append(values, value, times + 1, 0);
      }
      case '+':
      case '-': {
        RETURN_IF_ERROR(Advance());
        ASSIGN_OR_RETURN(double delta, ParseSignedNumber());
        RETURN_IF_ERROR(Advance());
        if (type_ != ValueToken::kTimes) return Unexpected("\"x\"");
        ASSIGN_OR_RETURN(uint64_t times, ParseRepetition());
        return Append(values, value, times + 1, delta);
      }
      default:
        return Append(values, value, 1, 0);
    }
  }

  // `count` values starting at `first`, each `delta` more than the one before
  // (accumulated, as Prometheus does, so rounding matches).
  Status Append(std::vector<std::optional<double>>* values, std::optional<double> first,
                uint64_t count, double delta) {
    if (count > kMaxSeriesDescriptionValues - values->size()) {
      return ParseError(item_start_, "too many values in series description (more than " +
                                    std::to_string(kMaxSeriesDescriptionValues) + ")");
    }
    for (uint64_t i = 0; i < count; ++i) {
      values->push_back(first);
      if (first) *first += delta;
    }
    return Status::Ok();
  }

  // A number, a signed number or `stale`; the current token is its first.
  Result<double> ParseValue() {
    switch (type_) {
      case ValueToken::kNumber: return Number();
      case ValueToken::kAdd:
      case ValueToken::kSub: return ParseSignedNumber();
      case ValueToken::kWord:
        if (Text() == "stale") return StaleMarker();
        return Unexpected("number or \"stale\"");
      default: return Unexpected("number or \"stale\"");
    }
  }

  // `+N` or `-N`; the current token is the sign.
  Result<double> ParseSignedNumber() {
    const bool negative = type_ == ValueToken::kSub;
    RETURN_IF_ERROR(Advance());
    if (type_ != ValueToken::kNumber) return Unexpected("number");
    ASSIGN_OR_RETURN(double n, Number());
    return negative ? -n : n;
  }

  // The count after `x`: Go's strconv.ParseUint(text, 10, 64).
  Result<uint64_t> ParseRepetition() {
    RETURN_IF_ERROR(Advance());
    if (type_ != ValueToken::kNumber) return Unexpected("number");
    const std::string_view text = Text();
    uint64_t n = 0;
    bool ok = !text.empty();
    for (char c : text) {
      if (!IsDigit(c) || n > (UINT64_MAX - (c - '0')) / 10) {
        ok = false;
        break;
      }
      n = n * 10 + (c - '0');
    }
    if (!ok) {
      const bool digits_only = std::all_of(text.begin(), text.end(), [](char c) { return IsDigit(c); });
      return ParseError(start_, "invalid repetition in series values: strconv.ParseUint: parsing " +
                                    GoQuote(text) + ": " +
                                    (digits_only ? "value out of range" : "invalid syntax"));
    }
    return n;
  }

  Result<double> Number() {
    std::string error;
    std::optional<double> n = ParseNumber(Text(), &error);
    if (!n) return ParseError(start_, "error parsing number: " + error);
    return *n;
  }

  // Reads the next token into type_/start_/pos_.
  Status Advance() {
    start_ = pos_;
    if (pos_ >= static_cast<Pos>(input_.size())) {
      type_ = ValueToken::kEof;
      return Status::Ok();
    }
    const char c = input_[pos_++];
    if (IsSpace(c)) {
      while (IsSpace(PeekChar())) ++pos_;
      type_ = ValueToken::kSpace;
    } else if (c == '+') {
      type_ = ValueToken::kAdd;
    } else if (c == '-') {
      type_ = ValueToken::kSub;
    } else if (c == 'x') {
      type_ = ValueToken::kTimes;
    } else if (c == '_') {
      type_ = ValueToken::kBlank;
    } else if (IsDigit(c) || (c == '.' && IsDigit(PeekChar()))) {
      return ScanNumber();
    } else if (IsAlpha(c)) {
      while (IsAlphaNumeric(PeekChar()) || PeekChar() == ':') ++pos_;
      const std::string_view word = Text();
      type_ = EqualsIgnoreCase(word, "inf") || EqualsIgnoreCase(word, "nan") ? ValueToken::kNumber
                                                                             : ValueToken::kWord;
    } else {
      return ParseError(start_, "unexpected character in series sequence: " + QuoteChar(c));
    }
    return Status::Ok();
  }

  // Prometheus's scanNumber in series descriptions: decimal only, and an
  // `x` may follow directly (`1x4`).
  Status ScanNumber() {
    --pos_;
    AcceptRun("0123456789");
    if (Accept(".")) AcceptRun("0123456789");
    if (Accept("eE")) {
      Accept("+-");
      AcceptRun("0123456789");
    }
    if (PeekChar() != 'x' && IsAlphaNumeric(PeekChar())) {
      return ParseError(start_, "bad number syntax: " + GoQuote(Text()));
    }
    type_ = ValueToken::kNumber;
    return Status::Ok();
  }

  Status Unexpected(std::string_view expected) const {
    std::string message = "unexpected " + Describe() + " in series values";
    if (!expected.empty()) message += ", expected " + std::string(expected);
    return ParseError(start_, message);
  }

  // How Prometheus names the current token in an error.
  std::string Describe() const {
    switch (type_) {
      case ValueToken::kEof: return "end of input";
      case ValueToken::kSpace: return "\"<space>\"";
      case ValueToken::kAdd: return "<op:+>";
      case ValueToken::kSub: return "<op:->";
      case ValueToken::kTimes: return "\"x\"";
      case ValueToken::kBlank: return "\"_\"";
      case ValueToken::kNumber: return "number " + GoQuote(Text());
      case ValueToken::kWord: return "identifier " + GoQuote(Text());
    }
    return "";
  }

  static std::string QuoteChar(char c) {
    if (c >= 0x20 && c < 0x7F) return c == '\'' ? "'\\''" : std::string("'") + c + "'";
    const std::string quoted = GoQuote(std::string_view(&c, 1));
    return "'" + quoted.substr(1, quoted.size() - 2) + "'";
  }

  static bool EqualsIgnoreCase(std::string_view word, std::string_view lower) {
    return word.size() == lower.size() &&
           std::equal(word.begin(), word.end(), lower.begin(), [](char a, char b) {
             return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b;
           });
  }

  std::string_view Text() const { return input_.substr(start_, pos_ - start_); }
  int PeekChar() const {
    return pos_ < static_cast<Pos>(input_.size()) ? static_cast<unsigned char>(input_[pos_]) : -1;
  }
  bool Accept(std::string_view valid) {
    if (PeekChar() < 0 || valid.find(static_cast<char>(PeekChar())) == std::string_view::npos) {
      return false;
    }
    ++pos_;
    return true;
  }
  void AcceptRun(std::string_view valid) {
    while (Accept(valid)) {
    }
  }

  const std::string_view input_;
  Pos pos_;         // Next byte to read.
  Pos start_ = 0;   // Where the current token starts.
  Pos item_start_ = 0;  // Where the item being parsed starts.
  ValueToken type_ = ValueToken::kEof;
};

}  // namespace

Result<SeriesDescription> ParseSeriesDescription(std::string_view input) {
  Pos values_start = 0;
  ASSIGN_OR_RETURN(Labels labels, MetricParser(input).Parse(&values_start));
  ASSIGN_OR_RETURN(auto values, ValueParser(input, values_start).Parse());
  return SeriesDescription{std::move(labels), std::move(values)};
}

}  // namespace vitals::promql
