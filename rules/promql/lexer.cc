#include "rules/promql/lexer.h"

#include <array>
#include <cstdio>
#include <utility>

namespace vitals::promql {
namespace {

struct Keyword {
  std::string_view word;  // Lower case; keywords are matched case-insensitively.
  TokenType type;
};

constexpr std::array<Keyword, 26> kKeywords = {{
    {"and", TokenType::kLand},
    {"or", TokenType::kLor},
    {"unless", TokenType::kLunless},
    {"atan2", TokenType::kAtan2},
    {"sum", TokenType::kSum},
    {"avg", TokenType::kAvg},
    {"count", TokenType::kCount},
    {"min", TokenType::kMin},
    {"max", TokenType::kMax},
    {"group", TokenType::kGroup},
    {"stddev", TokenType::kStddev},
    {"stdvar", TokenType::kStdvar},
    {"topk", TokenType::kTopk},
    {"bottomk", TokenType::kBottomk},
    {"count_values", TokenType::kCountValues},
    {"quantile", TokenType::kQuantile},
    {"offset", TokenType::kOffset},
    {"by", TokenType::kBy},
    {"without", TokenType::kWithout},
    {"on", TokenType::kOn},
    {"ignoring", TokenType::kIgnoring},
    {"group_left", TokenType::kGroupLeft},
    {"group_right", TokenType::kGroupRight},
    {"bool", TokenType::kBool},
    {"start", TokenType::kStart},
    {"end", TokenType::kEnd},
}};

bool IsSpace(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(int c) { return c >= '0' && c <= '9'; }
bool IsAlpha(int c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlphaNumeric(int c) { return IsAlpha(c) || IsDigit(c); }

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsLower(std::string_view word, std::string_view lower) {
  if (word.size() != lower.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (ToLower(word[i]) != lower[i]) return false;
  }
  return true;
}

// Decodes one UTF-8 sequence at text[i]; returns its length, 0 if invalid.
int DecodeRune(std::string_view text, size_t i, uint32_t* rune) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) {
    *rune = b0;
    return 1;
  }
  int len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 ? 2 : 0;
  if (len == 0 || b0 > 0xF4 || i + len > text.size()) return 0;
  uint32_t r = b0 & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    r = (r << 6) | (b & 0x3F);
  }
  if ((len == 3 && r < 0x800) || (len == 4 && (r < 0x10000 || r > 0x10FFFF)) ||
      (r >= 0xD800 && r < 0xE000)) {
    return 0;
  }
  *rune = r;
  return len;
}

std::string Hex(uint32_t value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*x", digits, value);
  return buf;
}

// Go's unicode.IsPrint for the code points likely to appear in queries:
// controls, separators other than ' ', format characters, private use and
// noncharacters are not printable. (Unassigned code points are treated as
// printable, unlike Go; its full tables are not worth carrying.)
bool IsPrintable(uint32_t r) {
  if (r < 0x20 || (r >= 0x7F && r < 0xA1) || r == 0xAD) return false;
  if (r == 0x1680 || (r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F)) return false;
  if ((r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF) return false;
  if ((r >= 0xE000 && r <= 0xF8FF) || (r >= 0xFDD0 && r <= 0xFDEF)) return false;
  if ((r >= 0xFFF0 && r <= 0xFFFB) || (r & 0xFFFE) == 0xFFFE || r >= 0xF0000) return false;
  return true;
}

// Appends rune r quoted the way Go's strconv does inside `quote` quotes.
void AppendQuotedRune(std::string* out, uint32_t r, std::string_view raw, char quote) {
  switch (r) {
    case '\a': *out += "\\a"; return;
    case '\b': *out += "\\b"; return;
    case '\f': *out += "\\f"; return;
    case '\n': *out += "\\n"; return;
    case '\r': *out += "\\r"; return;
    case '\t': *out += "\\t"; return;
    case '\v': *out += "\\v"; return;
    case '\\': *out += "\\\\"; return;
    default: break;
  }
  if (r == static_cast<uint32_t>(quote)) {
    *out += '\\';
    *out += quote;
  } else if (r < 0x20 || r == 0x7F) {
    *out += "\\x" + Hex(r, 2);
  } else if (!IsPrintable(r)) {
    *out += r < 0x10000 ? "\\u" + Hex(r, 4) : "\\U" + Hex(r, 8);
  } else {
    *out += raw;
  }
}

std::string GoQuoteChar(int c) {
  if (c < 0) return "'\xEF\xBF\xBD'";  // Go quotes the end of input as U+FFFD.
  std::string out = "'";
  const char ch = static_cast<char>(c);
  AppendQuotedRune(&out, c, std::string_view(&ch, 1), '\'');
  return out + "'";
}

// Go's %q of the character starting at text[i] (a whole UTF-8 sequence).
std::string GoQuoteCharAt(std::string_view text, size_t i) {
  uint32_t r = 0;
  const int len = DecodeRune(text, i, &r);
  if (len == 0) return "'\xEF\xBF\xBD'";  // Go decodes invalid UTF-8 as U+FFFD.
  std::string out = "'";
  AppendQuotedRune(&out, r, text.substr(i, len), '\'');
  return out + "'";
}

// Go's %#U: "U+0071 'q'".
std::string GoUnicode(int c) {
  std::string hex = Hex(c < 0 ? 0xFFFD : c, 4);
  for (char& h : hex) h = static_cast<char>(h >= 'a' ? h - 'a' + 'A' : h);
  std::string out = "U+" + hex;
  if (c >= 0x20 && c < 0x7F) out += " '" + std::string(1, static_cast<char>(c)) + "'";
  return out;
}

}  // namespace

std::string GoQuote(std::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for (size_t i = 0; i < text.size();) {
    uint32_t r = 0;
    const int len = DecodeRune(text, i, &r);
    if (len == 0) {
      out += "\\x" + Hex(static_cast<unsigned char>(text[i]), 2);
      ++i;
      continue;
    }
    AppendQuotedRune(&out, r, text.substr(i, len), '"');
    i += len;
  }
  out += '"';
  return out;
}

std::string_view TokenSpelling(TokenType t) {
  switch (t) {
    case TokenType::kLeftParen: return "(";
    case TokenType::kRightParen: return ")";
    case TokenType::kLeftBrace: return "{";
    case TokenType::kRightBrace: return "}";
    case TokenType::kLeftBracket: return "[";
    case TokenType::kRightBracket: return "]";
    case TokenType::kComma: return ",";
    case TokenType::kAssign: return "=";
    case TokenType::kColon: return ":";
    case TokenType::kAdd: return "+";
    case TokenType::kSub: return "-";
    case TokenType::kMul: return "*";
    case TokenType::kDiv: return "/";
    case TokenType::kMod: return "%";
    case TokenType::kPow: return "^";
    case TokenType::kEqlc: return "==";
    case TokenType::kNeq: return "!=";
    case TokenType::kGtr: return ">";
    case TokenType::kLss: return "<";
    case TokenType::kGte: return ">=";
    case TokenType::kLte: return "<=";
    case TokenType::kEqlRegex: return "=~";
    case TokenType::kNeqRegex: return "!~";
    case TokenType::kAt: return "@";
    case TokenType::kGroupLeft: return "group_left";
    case TokenType::kGroupRight: return "group_right";
    case TokenType::kCountValues: return "count_values";
    default: break;
  }
  for (const Keyword& k : kKeywords) {
    if (k.type == t) return k.word;
  }
  return "";
}

std::string DescribeToken(const Token& token) {
  const TokenType t = token.type;
  switch (t) {
    case TokenType::kEof: return "end of input";
    case TokenType::kError: return token.error;
    case TokenType::kIdentifier: return "identifier " + GoQuote(token.text);
    case TokenType::kMetricIdentifier: return "metric identifier " + GoQuote(token.text);
    case TokenType::kComment: return "comment " + GoQuote(token.text);
    default: break;
  }
  if (IsKeyword(t)) return "<" + std::string(token.text) + ">";
  // Prometheus 2.42 has no name for '@' and describes it by its yacc number.
  if (t == TokenType::kAt) return "\"<Item 57385>\" <op:@>";
  if (IsOperator(t)) return "<op:" + std::string(token.text) + ">";
  if (IsAggregator(t)) return "<aggr:" + std::string(token.text) + ">";
  if (t == TokenType::kString || t == TokenType::kNumber || t == TokenType::kDuration) {
    std::string_view kind =
        t == TokenType::kString ? "string " : t == TokenType::kNumber ? "number " : "duration ";
    if (token.text.size() > 10) {
      // Go's %.10q: the first ten characters, quoted, then "...".
      return std::string(kind) + GoQuote(token.text.substr(0, 10)) + "...";
    }
    return std::string(kind) + GoQuote(token.text);
  }
  return GoQuote(token.text);  // Punctuation and start/end: "(", "start".
}

int Lexer::Peek() const {
  return pos_ < static_cast<Pos>(input_.size()) ? static_cast<unsigned char>(input_[pos_]) : -1;
}

int Lexer::NextChar() {
  const int c = Peek();
  if (c >= 0) ++pos_;
  return c;
}

bool Lexer::Accept(std::string_view valid) {
  const int c = Peek();
  if (c >= 0 && valid.find(static_cast<char>(c)) != std::string_view::npos) {
    ++pos_;
    return true;
  }
  return false;
}

void Lexer::AcceptRun(std::string_view valid) {
  while (Accept(valid)) {
  }
}

Token Lexer::Emit(TokenType type) {
  Token token;
  token.type = type;
  token.pos = start_;
  token.text = input_.substr(start_, pos_ - start_);
  start_ = pos_;
  return token;
}

Token Lexer::Error(std::string message) {
  Token token;
  token.type = TokenType::kError;
  token.pos = start_;
  token.error = std::move(message);
  state_ = State::kDone;
  return token;
}

Token Lexer::Next() {
  while (true) {
    if (state_ == State::kDone) return Emit(TokenType::kEof);
    if (state_ == State::kDuration) {
      state_ = State::kStatements;
      return LexDuration();
    }
    // Whitespace is skipped in every state.
    while (IsSpace(Peek())) ++pos_;
    start_ = pos_;
    if (input_.substr(pos_).starts_with('#')) return LexLineComment();
    if (brace_open_) return LexInsideBraces();
    Token token = LexStatements();
    return token;
  }
}

Token Lexer::LexLineComment() {
  while (Peek() >= 0 && Peek() != '\n' && Peek() != '\r') ++pos_;
  return Emit(TokenType::kComment);
}

Token Lexer::LexStatements() {
  const int c = NextChar();
  switch (c) {
    case -1:
      if (paren_depth_ != 0) return Error("unclosed left parenthesis");
      if (bracket_open_) return Error("unclosed left bracket");
      state_ = State::kDone;
      return Emit(TokenType::kEof);
    case ',': return Emit(TokenType::kComma);
    case '*': return Emit(TokenType::kMul);
    case '/': return Emit(TokenType::kDiv);
    case '%': return Emit(TokenType::kMod);
    case '+': return Emit(TokenType::kAdd);
    case '-': return Emit(TokenType::kSub);
    case '^': return Emit(TokenType::kPow);
    case '@': return Emit(TokenType::kAt);
    case '=':
      if (Peek() == '=') {
        ++pos_;
        return Emit(TokenType::kEqlc);
      }
      if (Peek() == '~') return Error("unexpected character after '=': " + GoQuoteChar('~'));
      return Emit(TokenType::kAssign);
    case '!': {
      const int t = NextChar();
      if (t != '=') return Error("unexpected character after '!': " + (t < 0 ? GoQuoteChar(t) : GoQuoteCharAt(input_, pos_ - 1)));
      return Emit(TokenType::kNeq);
    }
    case '<':
      if (Accept("=")) return Emit(TokenType::kLte);
      return Emit(TokenType::kLss);
    case '>':
      if (Accept("=")) return Emit(TokenType::kGte);
      return Emit(TokenType::kGtr);
    case '"':
    case '\'':
    case '`': return LexString(static_cast<char>(c));
    case '(':
      ++paren_depth_;
      return Emit(TokenType::kLeftParen);
    case ')': {
      Token token = Emit(TokenType::kRightParen);
      if (--paren_depth_ < 0) return Error("unexpected right parenthesis " + GoQuoteChar(')'));
      return token;
    }
    case '{':
      brace_open_ = true;
      return Emit(TokenType::kLeftBrace);
    case '[': {
      if (bracket_open_) return Error("unexpected left bracket " + GoQuoteChar('['));
      got_colon_ = false;
      Token token = Emit(TokenType::kLeftBracket);
      while (IsSpace(Peek())) ++pos_;
      start_ = pos_;
      bracket_open_ = true;
      state_ = State::kDuration;
      return token;
    }
    case ']':
      if (!bracket_open_) return Error("unexpected right bracket " + GoQuoteChar(']'));
      bracket_open_ = false;
      return Emit(TokenType::kRightBracket);
    default: break;
  }
  if (IsDigit(c) || (c == '.' && IsDigit(Peek()))) {
    --pos_;
    return LexNumberOrDuration();
  }
  if (IsAlpha(c) || c == ':') {
    if (!bracket_open_) {
      --pos_;
      return LexKeywordOrIdentifier();
    }
    // Inside brackets Prometheus takes any letter or ':' for the subquery colon.
    if (got_colon_) return Error("unexpected colon " + GoQuoteChar(c));
    got_colon_ = true;
    return Emit(TokenType::kColon);
  }
  return Error("unexpected character: " + GoQuoteCharAt(input_, pos_ - 1));
}

Token Lexer::LexInsideBraces() {
  const int c = NextChar();
  if (c == -1) return Error("unexpected end of input inside braces");
  if (IsAlpha(c)) {
    --pos_;
    return LexIdentifier();
  }
  switch (c) {
    case ',': return Emit(TokenType::kComma);
    case '"':
    case '\'':
    case '`': return LexString(static_cast<char>(c));
    case '=':
      if (Accept("~")) return Emit(TokenType::kEqlRegex);
      return Emit(TokenType::kAssign);
    case '!': {
      const int t = NextChar();
      if (t == '~') return Emit(TokenType::kNeqRegex);
      if (t == '=') return Emit(TokenType::kNeq);
      return Error("unexpected character after '!' inside braces: " + (t < 0 ? GoQuoteChar(t) : GoQuoteCharAt(input_, pos_ - 1)));
    }
    case '{': return Error("unexpected left brace " + GoQuoteChar('{'));
    case '}':
      brace_open_ = false;
      return Emit(TokenType::kRightBrace);
    default: return Error("unexpected character inside braces: " + GoQuoteCharAt(input_, pos_ - 1));
  }
}

Token Lexer::LexIdentifier() {
  while (IsAlphaNumeric(Peek())) ++pos_;
  return Emit(TokenType::kIdentifier);
}

Token Lexer::LexKeywordOrIdentifier() {
  while (IsAlphaNumeric(Peek()) || Peek() == ':') ++pos_;
  const std::string_view word = input_.substr(start_, pos_ - start_);
  for (const Keyword& k : kKeywords) {
    if (EqualsLower(word, k.word)) return Emit(k.type);
  }
  if (EqualsLower(word, "inf") || EqualsLower(word, "nan")) return Emit(TokenType::kNumber);
  if (word.find(':') == std::string_view::npos) return Emit(TokenType::kIdentifier);
  return Emit(TokenType::kMetricIdentifier);
}

bool Lexer::ScanNumber() {
  std::string_view digits = "0123456789";
  if (Accept("0") && Accept("xX")) digits = "0123456789abcdefABCDEF";
  AcceptRun(digits);
  if (Accept(".")) AcceptRun(digits);
  if (Accept("eE")) {
    Accept("+-");
    AcceptRun("0123456789");
  }
  return !IsAlphaNumeric(Peek());
}

bool Lexer::AcceptRemainingDuration() {
  if (!Accept("smhdwy")) return false;
  Accept("s");  // "ms"; bad units like "hs" fail when the duration is parsed.
  while (Accept("0123456789")) {
    AcceptRun("0123456789");
    if (!Accept("smhdw")) return false;
    Accept("s");
  }
  // Like Go's lexer, consume the character that ends the duration; keep it
  // consumed only when it makes the duration invalid.
  const int c = NextChar();
  if (IsAlphaNumeric(c)) return false;
  if (c >= 0) --pos_;
  return true;
}

Token Lexer::LexNumberOrDuration() {
  if (ScanNumber()) return Emit(TokenType::kNumber);
  if (AcceptRemainingDuration()) return Emit(TokenType::kDuration);
  return Error("bad number or duration syntax: " +
               GoQuote(input_.substr(start_, pos_ - start_)));
}

Token Lexer::LexDuration() {
  if (ScanNumber()) return Error("missing unit character in duration");
  if (!AcceptRemainingDuration()) {
    return Error("bad duration syntax: " + GoQuote(input_.substr(start_, pos_ - start_)));
  }
  return Emit(TokenType::kDuration);
}

std::string Lexer::ScanEscape(char quote) {
  int c = NextChar();
  int digits = 0;
  uint32_t base = 0;
  uint32_t max = 0;
  switch (c) {
    case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\':
      return "";
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
      digits = 3, base = 8, max = 255;
      break;
    case 'x':
      c = NextChar();
      digits = 2, base = 16, max = 255;
      break;
    case 'u':
      c = NextChar();
      digits = 4, base = 16, max = 0x10FFFF;
      break;
    case 'U':
      c = NextChar();
      digits = 8, base = 16, max = 0x10FFFF;
      break;
    case -1: return "escape sequence not terminated";
    default:
      if (c == quote) return "";
      return "unknown escape sequence " + GoUnicode(c);
  }
  uint32_t value = 0;
  while (digits > 0) {
    uint32_t d = 16;
    if (IsDigit(c)) d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d >= base) {
      if (c == -1) return "escape sequence not terminated";
      return "illegal character " + GoUnicode(c) + " in escape sequence";
    }
    value = value * base + d;
    if (--digits > 0) c = NextChar();
  }
  if (value > max || (value >= 0xD800 && value < 0xE000)) {
    return "escape sequence is an invalid Unicode code point";
  }
  return "";
}

Token Lexer::LexString(char quote) {
  const bool raw = quote == '`';
  while (true) {
    const int c = NextChar();
    if (c == -1) return Error(raw ? "unterminated raw string" : "unterminated quoted string");
    if (c == quote) break;
    if (!raw && c == '\n') return Error("unterminated quoted string");
    if (!raw && c == '\\') {
      std::string problem = ScanEscape(quote);
      if (!problem.empty()) return Error(std::move(problem));
      continue;
    }
    if (c >= 0x80) {
      uint32_t r = 0;
      const int len = DecodeRune(input_, pos_ - 1, &r);
      if (len == 0) return Error("invalid UTF-8 rune");
      pos_ += len - 1;
    }
  }
  return Emit(TokenType::kString);
}

}  // namespace vitals::promql
