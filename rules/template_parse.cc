// The lexer and parser of Go's text/template (text/template/parse, Go 1.19),
// restricted to what alert templates use: no define/template/block.

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/template_internal.h"

namespace vitals::rules::template_internal {
namespace {

enum class Item {
  kError, kBool, kChar, kCharConstant, kComment, kAssign, kDeclare, kEof, kField,
  kIdentifier, kLeftDelim, kLeftParen, kNumber, kPipe, kRawString, kRightDelim,
  kRightParen, kSpace, kString, kText, kVariable,
  // Keywords.
  kKeyword, kBlock, kBreak, kContinue, kDot, kDefine, kElse, kEnd, kIf, kNil, kRange,
  kTemplate, kWith,
};

struct Token {
  Item type = Item::kEof;
  int pos = 0;
  std::string val;
  int line = 1;
};

bool IsSpace(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Decodes the UTF-8 sequence at s[i]; returns its length (1 for invalid bytes,
// with *r = 0xFFFD).
int DecodeRune(std::string_view s, size_t i, uint32_t* r) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) { *r = c; return 1; }
  int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) { *r = 0xFFFD; return 1; }
  uint32_t v = c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) { *r = 0xFFFD; return 1; }
    v = (v << 6) | (cc & 0x3F);
  }
  *r = v;
  return len;
}

// Unicode letters are approximated by "not ASCII and not a space character".
bool IsUnicodeSpace(uint32_t r) {
  return r == 0x85 || r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 ||
         r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000 || r == 0xFEFF;
}

bool IsAlphaNumeric(uint32_t r) {
  if (r < 0x80) return r == '_' || std::isalnum(static_cast<int>(r));
  return r >= 0xC0 && !IsUnicodeSpace(r) && r != 0xFFFD;
}

// Go's %#U.
std::string GoUnicode(uint32_t r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "U+%04X", r);
  std::string out = buf;
  const bool printable = (r >= 0x20 && r < 0x7F) || (r >= 0xA1 && !IsUnicodeSpace(r) && r != 0xFFFD);
  if (printable) {
    std::string ch;
    if (r < 0x80) {
      ch = static_cast<char>(r);
    } else if (r < 0x800) {
      ch = {static_cast<char>(0xC0 | (r >> 6)), static_cast<char>(0x80 | (r & 0x3F))};
    } else if (r < 0x10000) {
      ch = {static_cast<char>(0xE0 | (r >> 12)), static_cast<char>(0x80 | ((r >> 6) & 0x3F)),
            static_cast<char>(0x80 | (r & 0x3F))};
    } else {
      ch = {static_cast<char>(0xF0 | (r >> 18)), static_cast<char>(0x80 | ((r >> 12) & 0x3F)),
            static_cast<char>(0x80 | ((r >> 6) & 0x3F)), static_cast<char>(0x80 | (r & 0x3F))};
    }
    out += " '" + ch + "'";
  }
  return out;
}

// Produces the tokens of a template, all at once, as Go's lexer does. After an
// error token nothing follows.
class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}

  std::vector<Token> Run() {
    St st = St::kText;
    while (st != St::kDone) st = Step(st);
    return std::move(tokens_);
  }

 private:
  enum class St {
    kText, kLeftDelim, kComment, kRightDelim, kInsideAction, kSpace, kIdentifier, kField,
    kVariable, kChar, kNumber, kQuote, kRawQuote, kDone,
  };
  static constexpr std::string_view kLeft = "{{";
  static constexpr std::string_view kRight = "}}";

  St Step(St st) {
    switch (st) {
      case St::kText: return LexText();
      case St::kLeftDelim: return LexLeftDelim();
      case St::kComment: return LexComment();
      case St::kRightDelim: return LexRightDelim();
      case St::kInsideAction: return LexInsideAction();
      case St::kSpace: return LexSpace();
      case St::kIdentifier: return LexIdentifier();
      case St::kField: return LexFieldOrVariable(Item::kField);
      case St::kVariable: return LexFieldOrVariable(Item::kVariable);
      case St::kChar: return LexChar();
      case St::kNumber: return LexNumber();
      case St::kQuote: return LexQuote();
      case St::kRawQuote: return LexRawQuote();
      case St::kDone: break;
    }
    return St::kDone;
  }

  int Peek() {
    const int r = Next();
    Backup();
    return r;
  }
  int Next() {
    if (pos_ >= input_.size()) {
      width_ = 0;
      return -1;
    }
    uint32_t r = 0;
    width_ = DecodeRune(input_, pos_, &r);
    pos_ += width_;
    return static_cast<int>(r);
  }
  void Backup() { pos_ -= width_; }
  void Emit(Item t) {
    tokens_.push_back({t, static_cast<int>(start_),
                       std::string(input_.substr(start_, pos_ - start_)), LineAt(start_)});
    start_ = pos_;
  }
  void Ignore() { start_ = pos_; }
  int LineAt(size_t p) const {
    int line = 1;
    for (size_t i = 0; i < p && i < input_.size(); ++i) line += input_[i] == '\n';
    return line;
  }
  bool Accept(std::string_view valid) {
    if (pos_ < input_.size() && valid.find(input_[pos_]) != std::string_view::npos) {
      ++pos_;
      width_ = 1;
      return true;
    }
    return false;
  }
  void AcceptRun(std::string_view valid) {
    while (Accept(valid)) {
    }
  }
  St Errorf(std::string msg) {
    tokens_.push_back({Item::kError, static_cast<int>(start_), std::move(msg), LineAt(start_)});
    return St::kDone;
  }
  std::string_view Rest(size_t from) const {
    return from <= input_.size() ? input_.substr(from) : std::string_view();
  }
  static bool HasLeftTrimMarker(std::string_view s) {
    return s.size() >= 2 && s[0] == '-' && IsSpace(s[1]);
  }
  static bool HasRightTrimMarker(std::string_view s) {
    return s.size() >= 2 && IsSpace(s[0]) && s[1] == '-';
  }
  static size_t RightTrimLength(std::string_view s) {
    size_t n = s.size();
    while (n > 0 && IsSpace(s[n - 1])) --n;
    return s.size() - n;
  }
  static size_t LeftTrimLength(std::string_view s) {
    size_t n = 0;
    while (n < s.size() && IsSpace(s[n])) ++n;
    return n;
  }
  // Whether a right delimiter, possibly trim-marked (" -}}"), starts here.
  bool AtRightDelim(bool* trim) const {
    *trim = HasRightTrimMarker(Rest(pos_)) && Rest(pos_ + 2).starts_with(kRight);
    return *trim || Rest(pos_).starts_with(kRight);
  }
  bool AtTerminator() {
    const int r = Peek();
    if (r >= 0 && IsSpace(r)) return true;
    switch (r) {
      case -1: case '.': case ',': case '|': case ':': case ')': case '(':
        return true;
    }
    return Rest(pos_).starts_with(kRight);
  }

  St LexText() {
    const size_t x = Rest(pos_).find(kLeft);
    if (x == std::string_view::npos) {
      pos_ = input_.size();
      if (pos_ > start_) Emit(Item::kText);
      Emit(Item::kEof);
      return St::kDone;
    }
    if (x > 0) {
      pos_ += x;
      size_t trim = 0;
      if (HasLeftTrimMarker(Rest(pos_ + kLeft.size()))) {
        trim = RightTrimLength(input_.substr(start_, pos_ - start_));
      }
      pos_ -= trim;
      if (pos_ > start_) Emit(Item::kText);
      pos_ += trim;
      Ignore();
    }
    return St::kLeftDelim;
  }

  St LexLeftDelim() {
    pos_ += kLeft.size();
    const bool trim = HasLeftTrimMarker(Rest(pos_));
    const size_t after_marker = trim ? 2 : 0;
    if (Rest(pos_ + after_marker).starts_with("/*")) {
      pos_ += after_marker;
      Ignore();
      return St::kComment;
    }
    Emit(Item::kLeftDelim);
    pos_ += after_marker;
    Ignore();
    paren_depth_ = 0;
    return St::kInsideAction;
  }

  St LexComment() {
    pos_ += 2;
    const size_t x = Rest(pos_).find("*/");
    if (x == std::string_view::npos) return Errorf("unclosed comment");
    pos_ += x + 2;
    bool trim = false;
    if (!AtRightDelim(&trim)) return Errorf("comment ends before closing delimiter");
    Emit(Item::kComment);
    if (trim) pos_ += 2;
    pos_ += kRight.size();
    if (trim) pos_ += LeftTrimLength(Rest(pos_));
    Ignore();
    return St::kText;
  }

  St LexRightDelim() {
    const bool trim = HasRightTrimMarker(Rest(pos_));
    if (trim) {
      pos_ += 2;
      Ignore();
    }
    pos_ += kRight.size();
    Emit(Item::kRightDelim);
    if (trim) {
      pos_ += LeftTrimLength(Rest(pos_));
      Ignore();
    }
    return St::kText;
  }

  St LexInsideAction() {
    bool trim = false;
    if (AtRightDelim(&trim)) {
      if (paren_depth_ == 0) return St::kRightDelim;
      return Errorf("unclosed left paren");
    }
    const int r = Next();
    if (r == -1) return Errorf("unclosed action");
    if (IsSpace(r)) {
      Backup();  // Put space back in case we have " -}}".
      return St::kSpace;
    }
    switch (r) {
      case '=': Emit(Item::kAssign); return St::kInsideAction;
      case ':':
        if (Next() != '=') return Errorf("expected :=");
        Emit(Item::kDeclare);
        return St::kInsideAction;
      case '|': Emit(Item::kPipe); return St::kInsideAction;
      case '"': return St::kQuote;
      case '`': return St::kRawQuote;
      case '$': return St::kVariable;
      case '\'': return St::kChar;
      case '(':
        Emit(Item::kLeftParen);
        ++paren_depth_;
        return St::kInsideAction;
      case ')':
        Emit(Item::kRightParen);
        if (--paren_depth_ < 0) return Errorf("unexpected right paren " + GoUnicode(r));
        return St::kInsideAction;
    }
    if (r == '.') {
      // ".field" unless a digit follows ('.' can start a number).
      if (pos_ < input_.size() && (input_[pos_] < '0' || input_[pos_] > '9')) return St::kField;
    }
    if (r == '.' || r == '+' || r == '-' || (r >= '0' && r <= '9')) {
      Backup();
      return St::kNumber;
    }
    if (IsAlphaNumeric(r)) {
      Backup();
      return St::kIdentifier;
    }
    if (r < 0x7F && r >= 0x20) {
      Emit(Item::kChar);
      return St::kInsideAction;
    }
    return Errorf("unrecognized character in action: " + GoUnicode(r));
  }

  St LexSpace() {
    int spaces = 0;
    while (true) {
      const int r = Peek();
      if (r < 0 || !IsSpace(r)) break;
      Next();
      ++spaces;
    }
    // A space followed by "-}}" belongs to the trim-marked delimiter.
    if (HasRightTrimMarker(Rest(pos_ - 1)) && Rest(pos_ + 1).starts_with(kRight)) {
      Backup();  // Before the space.
      if (spaces == 1) return St::kRightDelim;
    }
    Emit(Item::kSpace);
    return St::kInsideAction;
  }

  St LexIdentifier() {
    while (true) {
      const int r = Next();
      if (r >= 0 && IsAlphaNumeric(r)) continue;
      Backup();
      if (!AtTerminator()) return Errorf("bad character " + GoUnicode(r < 0 ? 0xFFFD : r));
      const std::string_view word = input_.substr(start_, pos_ - start_);
      static const std::pair<std::string_view, Item> kKeywords[] = {
          {".", Item::kDot},        {"block", Item::kBlock}, {"break", Item::kBreak},
          {"continue", Item::kContinue}, {"define", Item::kDefine}, {"else", Item::kElse},
          {"end", Item::kEnd},      {"if", Item::kIf},       {"range", Item::kRange},
          {"nil", Item::kNil},      {"template", Item::kTemplate}, {"with", Item::kWith},
      };
      for (const auto& [k, item] : kKeywords) {
        if (word == k) {
          Emit(item);
          return St::kInsideAction;
        }
      }
      Emit(word == "true" || word == "false" ? Item::kBool : Item::kIdentifier);
      return St::kInsideAction;
    }
  }

  St LexFieldOrVariable(Item type) {
    if (AtTerminator()) {  // "." or "$" alone.
      Emit(type == Item::kVariable ? Item::kVariable : Item::kDot);
      return St::kInsideAction;
    }
    int r = 0;
    while (true) {
      r = Next();
      if (r < 0 || !IsAlphaNumeric(r)) {
        Backup();
        break;
      }
    }
    if (!AtTerminator()) return Errorf("bad character " + GoUnicode(r < 0 ? 0xFFFD : r));
    Emit(type);
    return St::kInsideAction;
  }

  St LexChar() {
    while (true) {
      int r = Next();
      if (r == '\\') {
        r = Next();
        if (r != -1 && r != '\n') continue;
      }
      if (r == -1 || r == '\n') return Errorf("unterminated character constant");
      if (r == '\'') break;
    }
    Emit(Item::kCharConstant);
    return St::kInsideAction;
  }

  St LexNumber() {
    if (!ScanNumber()) {
      return Errorf("bad number syntax: " + Quote(input_.substr(start_, pos_ - start_)));
    }
    const int sign = Peek();
    if (sign == '+' || sign == '-') {
      return Errorf("complex numbers are not supported: " +
                    Quote(input_.substr(start_, pos_ - start_ + 1)));
    }
    Emit(Item::kNumber);
    return St::kInsideAction;
  }

  bool ScanNumber() {
    Accept("+-");
    std::string_view digits = "0123456789_";
    if (Accept("0")) {
      if (Accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (Accept("oO")) {
        digits = "01234567_";
      } else if (Accept("bB")) {
        digits = "01_";
      }
    }
    AcceptRun(digits);
    if (Accept(".")) AcceptRun(digits);
    if (digits.size() == 11 && Accept("eE")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    if (digits.size() == 23 && Accept("pP")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    Accept("i");
    const int r = Peek();
    if (r >= 0 && IsAlphaNumeric(r)) {
      Next();
      return false;
    }
    return true;
  }

  St LexQuote() {
    while (true) {
      int r = Next();
      if (r == '\\') {
        r = Next();
        if (r != -1 && r != '\n') continue;
      }
      if (r == -1 || r == '\n') return Errorf("unterminated quoted string");
      if (r == '"') break;
    }
    Emit(Item::kString);
    return St::kInsideAction;
  }

  St LexRawQuote() {
    const size_t x = Rest(pos_).find('`');
    if (x == std::string_view::npos) return Errorf("unterminated raw quoted string");
    pos_ += x + 1;
    Emit(Item::kRawString);
    return St::kInsideAction;
  }

  std::string_view input_;
  size_t start_ = 0, pos_ = 0;
  int width_ = 0;
  int paren_depth_ = 0;
  std::vector<Token> tokens_;
};

// strconv.Unquote for "..." and `...` (and '...' when `is_char`).
std::optional<std::string> GoUnquote(std::string_view q) {
  if (q.size() < 2) return std::nullopt;
  const char quote = q[0];
  if (q.back() != quote) return std::nullopt;
  std::string_view body = q.substr(1, q.size() - 2);
  if (quote == '`') {
    std::string out;
    for (char c : body) {
      if (c == '`') return std::nullopt;
      if (c != '\r') out += c;
    }
    return out;
  }
  std::string out;
  auto append_rune = [&out](uint32_t r) {
    if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
    if (r < 0x80) {
      out += static_cast<char>(r);
    } else if (r < 0x800) {
      out += static_cast<char>(0xC0 | (r >> 6));
      out += static_cast<char>(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
      out += static_cast<char>(0xE0 | (r >> 12));
      out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (r & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (r >> 18));
      out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (r & 0x3F));
    }
  };
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < body.size();) {
    const char c = body[i];
    if (c == quote || c == '\n') return std::nullopt;
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (++i >= body.size()) return std::nullopt;
    const char e = body[i++];
    switch (e) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '\'': case '"':
        if (e != quote) return std::nullopt;
        out += e;
        break;
      case 'x': case 'u': case 'U': {
        const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (i + n > body.size()) return std::nullopt;
        uint32_t v = 0;
        for (size_t k = 0; k < n; ++k) {
          const int h = hex(body[i + k]);
          if (h < 0) return std::nullopt;
          v = v * 16 + h;
        }
        i += n;
        if (e == 'x') {
          out += static_cast<char>(v);
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return std::nullopt;
          append_rune(v);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          if (i + 2 > body.size()) return std::nullopt;
          uint32_t v = e - '0';
          for (size_t k = 0; k < 2; ++k) {
            const char d = body[i + k];
            if (d < '0' || d > '7') return std::nullopt;
            v = v * 8 + (d - '0');
          }
          if (v > 255) return std::nullopt;
          i += 2;
          out += static_cast<char>(v);
          break;
        }
        return std::nullopt;
    }
  }
  return out;
}

// strconv.ParseInt/ParseUint(text, 0, 64) without the sign handling: the
// magnitude of an unsigned literal with base prefixes and underscores.
bool ParseUnsigned(std::string_view text, uint64_t* out) {
  int base = 10;
  if (text.size() >= 2 && text[0] == '0') {
    const char p = static_cast<char>(std::tolower(text[1]));
    if (p == 'x') base = 16;
    else if (p == 'o') base = 8;
    else if (p == 'b') base = 2;
    else base = 8;
    if (base != 8 || p == 'o') text.remove_prefix(2);
    else text.remove_prefix(1);
  }
  if (text.empty()) return base == 8;  // "0" alone.
  uint64_t v = 0;
  for (char c : text) {
    if (c == '_') continue;
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : std::isalpha(static_cast<unsigned char>(c)) ? std::tolower(c) - 'a' + 10
                                                          : 99;
    if (d >= base) return false;
    if (v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  *out = v;
  return true;
}

// parse.NumberNode from a number or character constant token.
Status FillNumber(Node* n, const Token& t) {
  n->text = t.val;
  if (t.type == Item::kCharConstant) {
    auto s = GoUnquote(t.val);
    uint32_t r = 0;
    if (!s || s->empty() || DecodeRune(*s, 0, &r) != static_cast<int>(s->size())) {
      return Status::InvalidArgument("malformed character constant: " + t.val);
    }
    n->is_int = n->is_uint = n->is_float = true;
    n->int_value = r;
    n->uint_value = r;
    n->float_value = r;
    return Status::Ok();
  }
  if (t.val.ends_with("i")) return Status::InvalidArgument("complex numbers are not supported");
  std::string_view text = t.val;
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  uint64_t u = 0;
  const bool is_integer = text.find_first_of(".eEpP") == std::string_view::npos ||
                          (text.starts_with("0x") || text.starts_with("0X")
                               ? text.find_first_of(".pP") == std::string_view::npos
                               : false);
  if (is_integer && ParseUnsigned(text, &u)) {
    if (!negative) {
      n->is_uint = true;
      n->uint_value = u;
    }
    if (u <= static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0)) {
      n->is_int = true;
      n->int_value = negative ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u);
      if (n->int_value == 0) {
        n->is_uint = true;
        n->uint_value = 0;
      }
    }
  }
  if (n->is_int) {
    n->is_float = true;
    n->float_value = static_cast<double>(n->int_value);
  } else if (n->is_uint) {
    n->is_float = true;
    n->float_value = static_cast<double>(n->uint_value);
  } else {
    std::string err;
    std::optional<double> f = GoParseFloat(t.val, &err);
    if (f) {
      if (is_integer) return Status::InvalidArgument("integer overflow: " + Quote(t.val));
      n->is_float = true;
      n->float_value = *f;
      if (*f >= -9.2e18 && *f <= 9.2e18 && static_cast<double>(static_cast<int64_t>(*f)) == *f) {
        n->is_int = true;
        n->int_value = static_cast<int64_t>(*f);
      }
      if (*f >= 0 && *f <= 1.8e19 && static_cast<double>(static_cast<uint64_t>(*f)) == *f) {
        n->is_uint = true;
        n->uint_value = static_cast<uint64_t>(*f);
      }
    }
  }
  if (!n->is_int && !n->is_uint && !n->is_float) {
    return Status::InvalidArgument("illegal number syntax: " + Quote(t.val));
  }
  return Status::Ok();
}

// Go's item.String(), used in "unexpected X in Y" messages.
std::string ItemString(const Token& t) {
  if (t.type == Item::kEof) return "EOF";
  if (t.type == Item::kError) return t.val;
  if (t.type > Item::kKeyword) return "<" + t.val + ">";
  if (t.val.size() > 10) {  // %.10q: at most ten runes, quoted.
    size_t end = 0;
    for (int runes = 0; runes < 10 && end < t.val.size(); ++runes) {
      uint32_t r = 0;
      end += DecodeRune(t.val, end, &r);
    }
    return Quote(t.val.substr(0, end)) + "...";
  }
  return Quote(t.val);
}

// Thrown inside the parser only; Parse catches it and returns the message.
struct ParseError {
  std::string message;
};

// Go's recursive-descent parser (parse.Tree) over the lexer's tokens.
class Parser {
 public:
  Parser(std::string_view name, std::string_view text)
      : name_(name), tokens_(Lexer(text).Run()) {}

  std::unique_ptr<Node> Parse() {
    auto root = std::make_unique<Node>(NodeType::kList, Peek().pos);
    while (Peek().type != Item::kEof) {
      if (Peek().type == Item::kLeftDelim) {
        const Token& after = PeekNonSpaceAfter(index_ + 1);
        if (after.type == Item::kDefine) {
          Next();
          NextNonSpace();
          Errorf("{{define}} is not supported in alert templates");
        }
      }
      std::unique_ptr<Node> n = TextOrAction();
      if (n->type == NodeType::kEnd || n->type == NodeType::kElse) {
        Errorf("unexpected " + NodeString(*n));
      }
      if (n->type != NodeType::kText || !n->text.empty()) root->nodes.push_back(std::move(n));
    }
    return root;
  }

 private:
  // Go reports errors at the line of the last token lexed, peeked or not.
  const Token& Touch(size_t i) {
    const size_t k = i < tokens_.size() ? i : tokens_.size() - 1;
    if (k >= furthest_) {
      furthest_ = k;
      last_line_ = tokens_[k].line;
    }
    return tokens_[k];
  }
  const Token& Next() {
    const Token& t = Touch(index_);
    if (index_ < tokens_.size()) ++index_;
    return t;
  }
  void Backup() { --index_; }
  const Token& Peek() { return Touch(index_); }
  const Token& NextNonSpace() {
    while (Peek().type == Item::kSpace) Next();
    return Next();
  }
  const Token& PeekNonSpace() {
    while (Peek().type == Item::kSpace) Next();
    return Peek();
  }
  const Token& PeekNonSpaceAfter(size_t i) const {
    while (i < tokens_.size() && tokens_[i].type == Item::kSpace) ++i;
    return tokens_[i < tokens_.size() ? i : tokens_.size() - 1];
  }

  [[noreturn]] void Errorf(const std::string& what) {
    throw ParseError{"template: " + name_ + ":" + std::to_string(last_line_) + ": " + what};
  }
  [[noreturn]] void Unexpected(const Token& t, std::string_view context) {
    if (t.type == Item::kError) {
      std::string extra;
      if (action_line_ != 0 && action_line_ != t.line) {
        extra = " in action started at " + name_ + ":" + std::to_string(action_line_);
        if (t.val.ends_with(" action")) extra = extra.substr(std::string_view(" in action").size());
      }
      Errorf(t.val + extra);
    }
    Errorf("unexpected " + ItemString(t) + " in " + std::string(context));
  }
  const Token& Expect(Item type, std::string_view context) {
    const Token& t = NextNonSpace();
    if (t.type != type) Unexpected(t, context);
    return t;
  }

  std::unique_ptr<Node> TextOrAction() {
    const Token& t = NextNonSpace();
    switch (t.type) {
      case Item::kText: {
        auto n = std::make_unique<Node>(NodeType::kText, t.pos);
        n->text = t.val;
        return n;
      }
      case Item::kLeftDelim: {
        action_line_ = t.line;
        auto n = Action();
        action_line_ = 0;
        return n;
      }
      case Item::kComment: {
        auto n = std::make_unique<Node>(NodeType::kText, t.pos);  // Empty text: dropped.
        return n;
      }
      default:
        Unexpected(t, "input");
    }
  }

  std::unique_ptr<Node> Action() {
    const Token& t = NextNonSpace();
    switch (t.type) {
      case Item::kBlock: Errorf("{{block}} is not supported in alert templates");
      case Item::kTemplate: Errorf("{{template}} is not supported in alert templates");
      case Item::kDefine: Errorf("unexpected <define> in command");
      case Item::kBreak: return BreakOrContinue(t, "break");
      case Item::kContinue: return BreakOrContinue(t, "continue");
      case Item::kElse: return ElseControl();
      case Item::kEnd: return std::make_unique<Node>(NodeType::kEnd, Expect(Item::kRightDelim, "end").pos);
      case Item::kIf: return Control(NodeType::kIf, "if");
      case Item::kRange: return Control(NodeType::kRange, "range");
      case Item::kWith: return Control(NodeType::kWith, "with");
      default: break;
    }
    Backup();
    auto n = std::make_unique<Node>(NodeType::kAction, Peek().pos);
    n->pipe = Pipeline("command", Item::kRightDelim);
    return n;
  }

  std::unique_ptr<Node> BreakOrContinue(const Token& t, const std::string& word) {
    const int pos = t.pos;
    const Token& next = NextNonSpace();
    if (next.type != Item::kRightDelim) Unexpected(next, "{{" + word + "}}");
    if (range_depth_ == 0) Errorf("{{" + word + "}} outside {{range}}");
    return std::make_unique<Node>(word == "break" ? NodeType::kBreak : NodeType::kContinue, pos);
  }

  std::unique_ptr<Node> ElseControl() {
    const Token& peek = PeekNonSpace();
    if (peek.type == Item::kIf) return std::make_unique<Node>(NodeType::kElse, peek.pos);
    return std::make_unique<Node>(NodeType::kElse, Expect(Item::kRightDelim, "else").pos);
  }

  std::unique_ptr<Node> Control(NodeType type, std::string_view context) {
    const size_t vars = vars_.size();
    auto n = std::make_unique<Node>(type, 0);
    n->pipe = Pipeline(context, Item::kRightDelim);
    n->pos = n->pipe->pos;
    if (type == NodeType::kRange) ++range_depth_;
    std::unique_ptr<Node> next;
    n->list = ItemList(&next);
    if (type == NodeType::kRange) --range_depth_;
    if (next->type == NodeType::kElse) {
      if (type == NodeType::kIf && Peek().type == Item::kIf) {
        // {{else if b}} is {{else}}{{if b}}..{{end}} sharing the outer {{end}}.
        Next();
        n->else_list = std::make_unique<Node>(NodeType::kList, next->pos);
        n->else_list->nodes.push_back(Control(NodeType::kIf, "if"));
      } else {
        n->else_list = ItemList(&next);
        if (next->type != NodeType::kEnd) Errorf("expected end; found " + NodeString(*next));
      }
    }
    vars_.resize(vars);
    return n;
  }

  std::unique_ptr<Node> ItemList(std::unique_ptr<Node>* next) {
    auto list = std::make_unique<Node>(NodeType::kList, PeekNonSpace().pos);
    while (PeekNonSpace().type != Item::kEof) {
      std::unique_ptr<Node> n = TextOrAction();
      if (n->type == NodeType::kEnd || n->type == NodeType::kElse) {
        *next = std::move(n);
        return list;
      }
      if (n->type != NodeType::kText || !n->text.empty()) list->nodes.push_back(std::move(n));
    }
    Errorf("unexpected EOF");
  }

  std::unique_ptr<Node> NewVariable(int pos, const std::string& name) {
    auto v = std::make_unique<Node>(NodeType::kVariable, pos);
    size_t start = 0;
    while (true) {
      const size_t dot = name.find('.', start);
      v->ident.push_back(name.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return v;
  }

  std::unique_ptr<Node> Pipeline(std::string_view context, Item end) {
    auto pipe = std::make_unique<Node>(NodeType::kPipe, PeekNonSpace().pos);
    while (PeekNonSpace().type == Item::kVariable) {
      const Token v = Next();
      const size_t after_variable = index_;
      const Token& next = PeekNonSpace();
      if (next.type == Item::kAssign || next.type == Item::kDeclare) {
        pipe->is_assign = next.type == Item::kAssign;
        NextNonSpace();
        pipe->decl.push_back(NewVariable(v.pos, v.val));
        vars_.push_back(v.val);
      } else if (next.type == Item::kChar && next.val == ",") {
        NextNonSpace();
        pipe->decl.push_back(NewVariable(v.pos, v.val));
        vars_.push_back(v.val);
        if (context == "range" && pipe->decl.size() < 2) {
          const Item t = PeekNonSpace().type;
          if (t == Item::kVariable || t == Item::kRightDelim || t == Item::kRightParen) continue;
          Errorf("range can only initialize variables");
        }
        Errorf("too many declarations in " + std::string(context));
      } else {
        index_ = after_variable - 1;  // Back to the variable: it is an operand.
      }
      break;
    }
    while (true) {
      const Token& t = NextNonSpace();
      if (t.type == end) {
        CheckPipeline(*pipe, context);
        return pipe;
      }
      switch (t.type) {
        case Item::kBool: case Item::kCharConstant: case Item::kDot: case Item::kField:
        case Item::kIdentifier: case Item::kNumber: case Item::kNil: case Item::kRawString:
        case Item::kString: case Item::kVariable: case Item::kLeftParen:
          Backup();
          pipe->nodes.push_back(Command());
          break;
        default:
          Unexpected(t, context);
      }
    }
  }

  void CheckPipeline(const Node& pipe, std::string_view context) {
    if (pipe.nodes.empty()) Errorf("missing value for " + std::string(context));
    for (size_t i = 1; i < pipe.nodes.size(); ++i) {
      switch (pipe.nodes[i]->nodes[0]->type) {
        case NodeType::kBool: case NodeType::kDot: case NodeType::kNil: case NodeType::kNumber:
        case NodeType::kString:
          Errorf("non executable command in pipeline stage " + std::to_string(i + 1));
        default:
          break;
      }
    }
  }

  std::unique_ptr<Node> Command() {
    auto cmd = std::make_unique<Node>(NodeType::kCommand, PeekNonSpace().pos);
    while (true) {
      PeekNonSpace();
      if (std::unique_ptr<Node> operand = Operand()) cmd->nodes.push_back(std::move(operand));
      const Token& t = Next();
      if (t.type == Item::kSpace) continue;
      if (t.type == Item::kRightDelim || t.type == Item::kRightParen) {
        Backup();
      } else if (t.type != Item::kPipe) {
        Unexpected(t, "operand");
      }
      break;
    }
    if (cmd->nodes.empty()) Errorf("empty command");
    return cmd;
  }

  std::unique_ptr<Node> Operand() {
    std::unique_ptr<Node> node = Term();
    if (!node || Peek().type != Item::kField) return node;
    auto chain = std::make_unique<Node>(NodeType::kChain, Peek().pos);
    while (Peek().type == Item::kField) chain->ident.push_back(Next().val.substr(1));
    switch (node->type) {
      case NodeType::kField: {
        auto field = std::make_unique<Node>(NodeType::kField, chain->pos);
        field->ident = node->ident;
        field->ident.insert(field->ident.end(), chain->ident.begin(), chain->ident.end());
        return field;
      }
      case NodeType::kVariable: {
        auto var = std::make_unique<Node>(NodeType::kVariable, chain->pos);
        var->ident = node->ident;
        var->ident.insert(var->ident.end(), chain->ident.begin(), chain->ident.end());
        return var;
      }
      case NodeType::kBool: case NodeType::kString: case NodeType::kNumber: case NodeType::kNil:
      case NodeType::kDot:
        Errorf("unexpected . after term " + Quote(NodeString(*node)));
      default:
        chain->pipe = std::move(node);
        return chain;
    }
  }

  std::unique_ptr<Node> Term() {
    const Token& t = NextNonSpace();
    switch (t.type) {
      case Item::kIdentifier: {
        if (!IsKnownFunction(t.val)) Errorf("function " + Quote(t.val) + " not defined");
        auto n = std::make_unique<Node>(NodeType::kIdentifier, t.pos);
        n->text = t.val;
        return n;
      }
      case Item::kDot: return std::make_unique<Node>(NodeType::kDot, t.pos);
      case Item::kNil: return std::make_unique<Node>(NodeType::kNil, t.pos);
      case Item::kVariable: {
        auto v = NewVariable(t.pos, t.val);
        for (const std::string& name : vars_) {
          if (name == v->ident[0]) return v;
        }
        Errorf("undefined variable " + Quote(v->ident[0]));
      }
      case Item::kField: {
        auto n = std::make_unique<Node>(NodeType::kField, t.pos);
        n->ident.push_back(t.val.substr(1));
        return n;
      }
      case Item::kBool: {
        auto n = std::make_unique<Node>(NodeType::kBool, t.pos);
        n->bool_value = t.val == "true";
        return n;
      }
      case Item::kCharConstant: case Item::kNumber: {
        auto n = std::make_unique<Node>(NodeType::kNumber, t.pos);
        if (Status st = FillNumber(n.get(), t); !st.ok()) Errorf(st.message());
        return n;
      }
      case Item::kLeftParen: return Pipeline("parenthesized pipeline", Item::kRightParen);
      case Item::kString: case Item::kRawString: {
        std::optional<std::string> s = GoUnquote(t.val);
        if (!s) Errorf("invalid syntax");
        auto n = std::make_unique<Node>(NodeType::kString, t.pos);
        n->text = t.val;
        n->str_value = std::move(*s);
        return n;
      }
      default:
        Backup();
        return nullptr;
    }
  }

  const std::string name_;
  const std::vector<Token> tokens_;
  size_t index_ = 0;
  size_t furthest_ = 0;
  int last_line_ = 1;
  int action_line_ = 0;
  int range_depth_ = 0;
  std::vector<std::string> vars_ = {"$"};
};

std::string JoinIdent(const std::vector<std::string>& ident) {
  std::string out;
  for (size_t i = 0; i < ident.size(); ++i) {
    if (i > 0) out += ".";
    out += ident[i];
  }
  return out;
}

std::string ListString(const Node* list) {
  std::string out;
  if (list != nullptr) {
    for (const auto& n : list->nodes) out += NodeString(*n);
  }
  return out;
}

}  // namespace

std::string NodeString(const Node& n) {
  switch (n.type) {
    case NodeType::kText: return n.text;
    case NodeType::kList: return ListString(&n);
    case NodeType::kAction: return "{{" + NodeString(*n.pipe) + "}}";
    case NodeType::kIf: case NodeType::kRange: case NodeType::kWith: {
      const char* word = n.type == NodeType::kIf ? "if" : n.type == NodeType::kRange ? "range" : "with";
      std::string out = std::string("{{") + word + " " + NodeString(*n.pipe) + "}}" + ListString(n.list.get());
      if (n.else_list) out += "{{else}}" + ListString(n.else_list.get());
      return out + "{{end}}";
    }
    case NodeType::kBreak: return "{{break}}";
    case NodeType::kContinue: return "{{continue}}";
    case NodeType::kPipe: {
      std::string out;
      for (size_t i = 0; i < n.decl.size(); ++i) {
        if (i > 0) out += ", ";
        out += NodeString(*n.decl[i]);
      }
      if (!n.decl.empty()) out += n.is_assign ? " = " : " := ";
      for (size_t i = 0; i < n.nodes.size(); ++i) {
        if (i > 0) out += " | ";
        out += NodeString(*n.nodes[i]);
      }
      return out;
    }
    case NodeType::kCommand: {
      std::string out;
      for (size_t i = 0; i < n.nodes.size(); ++i) {
        if (i > 0) out += " ";
        if (n.nodes[i]->type == NodeType::kPipe) {
          out += "(" + NodeString(*n.nodes[i]) + ")";
        } else {
          out += NodeString(*n.nodes[i]);
        }
      }
      return out;
    }
    case NodeType::kIdentifier: return n.text;
    case NodeType::kVariable: return JoinIdent(n.ident);
    case NodeType::kDot: return ".";
    case NodeType::kNil: return "nil";
    case NodeType::kField: return "." + JoinIdent(n.ident);
    case NodeType::kChain: {
      std::string out = n.pipe->type == NodeType::kPipe ? "(" + NodeString(*n.pipe) + ")"
                                                        : NodeString(*n.pipe);
      for (const std::string& f : n.ident) out += "." + f;
      return out;
    }
    case NodeType::kBool: return n.bool_value ? "true" : "false";
    case NodeType::kNumber: case NodeType::kString: return n.text;
    case NodeType::kEnd: return "{{end}}";
    case NodeType::kElse: return "{{else}}";
  }
  return "";
}

Result<std::unique_ptr<Node>> ParseTree(std::string_view name, std::string_view text) {
  try {
    return Parser(name, text).Parse();
  } catch (const ParseError& e) {
    return Status::InvalidArgument(e.message);
  }
}

}  // namespace vitals::rules::template_internal
