#include "rules/promql/literals.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "rules/promql/lexer.h"

namespace vitals::promql {
namespace {

void AppendUtf8(std::string* out, uint32_t r) {
  if (r < 0x80) {
    *out += static_cast<char>(r);
  } else if (r < 0x800) {
    *out += static_cast<char>(0xC0 | (r >> 6));
    *out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    *out += static_cast<char>(0xE0 | (r >> 12));
    *out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (r >> 18));
    *out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

}  // namespace

std::string Unquote(std::string_view token) {
  std::string_view body = token.substr(1, token.size() - 2);
  if (token[0] == '`') return std::string(body);
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    const char e = body[++i];
    auto hex = [&](size_t n) {
      uint32_t v = std::strtoul(std::string(body.substr(i + 1, n)).c_str(), nullptr, 16);
      i += n;
      return v;
    };
    switch (e) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': out += static_cast<char>(hex(2)); break;
      case 'u': AppendUtf8(&out, hex(4)); break;
      case 'U': AppendUtf8(&out, hex(8)); break;
      default:
        if (e >= '0' && e <= '7') {
          out += static_cast<char>(std::strtoul(std::string(body.substr(i, 3)).c_str(), nullptr, 8));
          i += 2;
        } else {
          out += e;  // \\, \" or \'.
        }
    }
  }
  return out;
}

std::optional<double> ParseNumber(std::string_view text, std::string* error) {
  const std::string s(text);
  const bool hex = s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const bool octal = !hex && s.size() > 1 && s[0] == '0';
  if (s.find_first_not_of(hex ? "0123456789abcdefABCDEFxX" : "0123456789") == std::string::npos) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(hex ? s.c_str() + 2 : s.c_str(), &end, hex ? 16 : octal ? 8 : 10);
    if (errno == 0 && *end == '\0' && (!hex || s.size() > 2)) return static_cast<double>(v);
  }
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (!hex && !s.empty() && *end == '\0') {
    if (errno == ERANGE && std::isinf(v)) {
      *error = "strconv.ParseFloat: parsing " + GoQuote(text) + ": value out of range";
      return std::nullopt;
    }
    return v;
  }
  *error = "strconv.ParseFloat: parsing " + GoQuote(text) + ": invalid syntax";
  return std::nullopt;
}

int64_t ToMillis(double seconds) {
  const double ms = std::round(seconds * 1000);
  if (!(ms >= -9.223372036854775808e18 && ms < 9.223372036854775808e18)) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(ms);
}

// Go's regexp reports "error parsing regexp: <what>: `<where>`" and words
// <what> differently from RE2; translate so users read Prometheus's message.
std::string RegexErrorMessage(const std::string& matcher_message) {
  static constexpr std::pair<std::string_view, std::string_view> kCodes[] = {
      {"missing )", "missing closing )"},
      {"missing ]", "missing closing ]"},
      {"unexpected )", "unexpected )"},
      {"no argument for repetition operator", "missing argument to repetition operator"},
      {"bad repetition operator", "invalid nested repetition operator"},
      {"bad repetition size", "invalid repeat count"},
      {"invalid repetition size", "invalid repeat count"},
      {"invalid escape sequence", "invalid escape sequence"},
      {"invalid character class range", "invalid character class range"},
      {"invalid character class", "invalid character class"},
      {"trailing \\", "trailing backslash at end of expression"},
      {"bad named capture group", "invalid named capture"},
      {"invalid named capture group", "invalid named capture"},
      {"invalid perl operator", "invalid or unsupported Perl syntax"},
      {"invalid UTF-8", "invalid UTF-8"},
  };
  // Matcher::Create says: invalid regular expression "<value>": <RE2 error>.
  const size_t quote = matcher_message.find("\": ");
  const std::string re2 =
      quote == std::string::npos ? matcher_message : matcher_message.substr(quote + 3);
  for (const auto& [code, go] : kCodes) {
    if (re2.starts_with(code)) {
      std::string where = re2.size() > code.size() + 2 ? re2.substr(code.size() + 2) : "";
      return "error parsing regexp: " + std::string(go) + ": `" + where + "`";
    }
  }
  return "error parsing regexp: " + re2;
}

}  // namespace vitals::promql
