// The parts of Go's fmt, strconv and time that template output goes through:
// values print exactly as Prometheus's Go templates print them.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "rules/promql/lexer.h"
#include "rules/promql/printer.h"
#include "rules/template_internal.h"

namespace vitals::rules::template_internal {
namespace {

using Kind = Value::Kind;

constexpr std::string_view kRootType =
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; "
    "Value float64 }";

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The byte length of the first `runes` runes of s.
size_t RunePrefix(std::string_view s, size_t runes) {
  size_t i = 0;
  while (i < s.size() && runes > 0) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    --runes;
  }
  return i;
}

struct Spec {
  bool plus = false, minus = false, sharp = false, space = false, zero = false;
  int width = -1;  // -1: none.
  int prec = -1;   // -1: none.
};

// Pads to the width with spaces (or zeros after any sign, for numbers).
std::string Pad(std::string s, const Spec& spec, bool numeric) {
  const size_t n = RuneCount(s);
  if (spec.width < 0 || n >= static_cast<size_t>(spec.width)) return s;
  const size_t fill = spec.width - n;
  if (spec.minus) return s + std::string(fill, ' ');
  if (spec.zero && numeric) {
    const size_t sign = !s.empty() && (s[0] == '-' || s[0] == '+' || s[0] == ' ') ? 1 : 0;
    return s.substr(0, sign) + std::string(fill, '0') + s.substr(sign);
  }
  return std::string(fill, ' ') + s;
}

std::string FormatInt(int64_t v, char verb, const Spec& spec) {
  const bool negative = v < 0;
  uint64_t u = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  if (verb == 'c' || verb == 'q' || verb == 'U') {
    std::string ch;
    const uint32_t r = u > 0x10FFFF ? 0xFFFD : static_cast<uint32_t>(u);
    char buf[16];
    if (verb == 'U') {
      std::snprintf(buf, sizeof buf, "U+%04X", r);
      return Pad(buf, spec, false);
    }
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
    if (verb == 'c') return Pad(ch, spec, false);
    std::string q = Quote(ch);
    return Pad("'" + q.substr(1, q.size() - 2) + "'", spec, false);
  }
  int base = 10;
  const char* digits = "0123456789abcdef";
  std::string prefix;
  switch (verb) {
    case 'b': base = 2; if (spec.sharp) prefix = "0b"; break;
    case 'o': base = 8; if (spec.sharp) prefix = "0"; break;
    case 'O': base = 8; prefix = "0o"; break;
    case 'x': base = 16; if (spec.sharp) prefix = "0x"; break;
    case 'X': base = 16; digits = "0123456789ABCDEF"; if (spec.sharp) prefix = "0X"; break;
    default: break;
  }
  std::string out;
  do {
    out.insert(out.begin(), digits[u % base]);
    u /= base;
  } while (u != 0);
  if (spec.prec >= 0) {
    if (spec.prec == 0 && v == 0) out.clear();
    while (out.size() < static_cast<size_t>(spec.prec)) out.insert(out.begin(), '0');
  }
  out = prefix + out;
  if (negative) {
    out = "-" + out;
  } else if (spec.plus) {
    out = "+" + out;
  } else if (spec.space) {
    out = " " + out;
  }
  Spec s = spec;
  if (spec.prec >= 0) s.zero = false;
  return Pad(out, s, true);
}

// strconv's shortest 'g'/'e' layout, built from FormatNumber's digits.
std::string ShortestFloat(double v, char verb) {
  std::string s = promql::FormatNumber(v);
  if (verb == 'G' || verb == 'E') {
    for (char& c : s) {
      if (c == 'e') c = 'E';
    }
  }
  return s;
}

std::string FormatFloat(double v, char verb, const Spec& spec) {
  std::string out;
  if (std::isnan(v) || std::isinf(v)) {
    // Go always signs infinities; NaN only when asked to.
    const char sign = spec.plus ? '+' : spec.space ? ' ' : '+';
    if (std::isnan(v)) {
      out = spec.plus || spec.space ? std::string(1, sign) + "NaN" : "NaN";
    } else {
      out = v < 0 ? "-Inf" : std::string(1, sign) + "Inf";
    }
    Spec s = spec;
    s.zero = false;
    return Pad(out, s, false);
  }
  if (verb == 'v') verb = 'g';
  if ((verb == 'g' || verb == 'G') && spec.prec < 0) {
    out = ShortestFloat(v, verb);
  } else {
    const int prec = spec.prec >= 0 ? spec.prec : (verb == 'x' || verb == 'X') ? -1 : 6;
    std::string fmt = "%";
    if (spec.sharp) fmt += "#";
    if (prec >= 0) fmt += "." + std::to_string(prec);
    fmt += verb == 'x' ? 'a' : verb == 'X' ? 'A' : verb;
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt.c_str(), v);
    out = buf;
  }
  if (out[0] != '-') {
    if (spec.plus) {
      out = "+" + out;
    } else if (spec.space) {
      out = " " + out;
    }
  }
  return Pad(out, spec, true);
}

std::string FormatString(std::string_view s, char verb, const Spec& spec) {
  if (spec.prec >= 0) s = s.substr(0, RunePrefix(s, spec.prec));
  switch (verb) {
    case 'q': return Pad(Quote(s), spec, false);
    case 'x': case 'X': {
      const char* digits = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
      std::string out;
      for (size_t i = 0; i < s.size(); ++i) {
        if (spec.space && i > 0) out += ' ';
        if (spec.sharp && (spec.space || i == 0)) out += verb == 'x' ? "0x" : "0X";
        const auto c = static_cast<unsigned char>(s[i]);
        out += digits[c >> 4];
        out += digits[c & 15];
      }
      return Pad(out, spec, false);
    }
    default: return Pad(std::string(s), spec, false);
  }
}

std::string BadVerb(char verb, const Value& v) {
  std::string out = "%!";
  out += verb;
  if (v.kind == Kind::kInvalid || v.kind == Kind::kNil) return out + "(<nil>)";
  return out + "(" + TypeName(v) + "=" + GoSprint({v}) + ")";
}

// fmt's printArg for one operand and verb.
std::string FormatValue(const Value& v, char verb, const Spec& spec) {
  if (verb == 'T') return Pad(v.valid() && v.kind != Kind::kNil ? TypeName(v) : "<nil>", spec, false);
  switch (v.kind) {
    case Kind::kInvalid: case Kind::kNil:
      return verb == 'v' ? Pad("<nil>", spec, false) : BadVerb(verb, v);
    case Kind::kBool:
      return verb == 'v' || verb == 't' ? Pad(v.b ? "true" : "false", spec, false) : BadVerb(verb, v);
    case Kind::kInt:
      switch (verb) {
        case 'v': case 'd': case 'b': case 'o': case 'O': case 'x': case 'X': case 'c': case 'q':
        case 'U':
          return FormatInt(v.i, verb == 'v' ? 'd' : verb, spec);
        default: return BadVerb(verb, v);
      }
    case Kind::kFloat:
      switch (verb) {
        case 'v': case 'g': case 'G': case 'e': case 'E': case 'f': case 'F': case 'x': case 'X':
          return FormatFloat(v.f, verb, spec);
        default: return BadVerb(verb, v);
      }
    case Kind::kString: case Kind::kHtml:
      switch (verb) {
        case 'v': case 's': case 'q': case 'x': case 'X': return FormatString(v.s, verb, spec);
        default: return BadVerb(verb, v);
      }
    case Kind::kTime:  // A fmt.Stringer.
      switch (verb) {
        case 'v': case 's': case 'q': case 'x': case 'X':
          return FormatString(TimeString(v.time), verb, spec);
        default: return BadVerb(verb, v);
      }
    case Kind::kLabels: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, val] : *v.labels) {
        if (!first) out += ' ';
        first = false;
        out += FormatValue(Value::String(k), verb, spec) + ":" +
               FormatValue(Value::String(val), verb, spec);
      }
      return out + "]";
    }
    case Kind::kSample: {
      if (!v.sample) return verb == 'v' ? "<nil>" : BadVerb(verb, v);
      Value labels;
      labels.kind = Kind::kLabels;
      labels.labels = v.sample->labels;
      return "&{" + FormatValue(labels, verb, spec) + " " +
             FormatValue(Value::Float(v.sample->value), verb, spec) + "}";
    }
    case Kind::kVector: {
      std::string out = "[";
      for (size_t i = 0; i < v.vector->size(); ++i) {
        if (i > 0) out += ' ';
        Value s;
        s.kind = Kind::kSample;
        s.sample = (*v.vector)[i];
        out += FormatValue(s, verb, spec);
      }
      return out + "]";
    }
    case Kind::kRoot: {
      Value labels, external;
      labels.kind = external.kind = Kind::kLabels;
      labels.labels = v.root->labels;
      external.labels = v.root->external_labels;
      return "{" + FormatValue(labels, verb, spec) + " " + FormatValue(external, verb, spec) + " " +
             FormatValue(Value::String(v.root->external_url), verb, spec) + " " +
             FormatValue(Value::Float(v.root->value), verb, spec) + "}";
    }
  }
  return "";
}

bool IsStringKind(const Value& v) { return v.kind == Kind::kString || v.kind == Kind::kHtml; }

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  *y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y += *m <= 2;
}

struct Civil {
  int64_t year;
  unsigned month, day, hour, minute, second, weekday, yday;
  int32_t nsec;
};

Civil ToCivil(const TimeValue& t) {
  int64_t days = t.sec / 86400;
  int64_t rem = t.sec % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  Civil c{};
  CivilFromDays(days, &c.year, &c.month, &c.day);
  c.hour = static_cast<unsigned>(rem / 3600);
  c.minute = static_cast<unsigned>(rem / 60 % 60);
  c.second = static_cast<unsigned>(rem % 60);
  c.weekday = static_cast<unsigned>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday.
  int64_t y0 = 0;
  unsigned m0 = 0, d0 = 0;
  CivilFromDays(days, &y0, &m0, &d0);
  static const unsigned kCum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  const bool leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0;
  c.yday = kCum[c.month - 1] + c.day + (leap && c.month > 2 ? 1 : 0);
  c.nsec = t.nsec;
  return c;
}

std::string Digits(int64_t v, int width, char fill = '0') {
  std::string s = std::to_string(v < 0 ? -v : v);
  while (static_cast<int>(s.size()) < width) s.insert(s.begin(), fill);
  return v < 0 ? "-" + s : s;
}

constexpr const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};
constexpr const char* kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                 "Saturday"};

// The fraction of a second as Go's ".000" (fixed) or ".999" (trimmed) layout elements print it.
std::string Fraction(int32_t nsec, int digits, bool trim, char sep) {
  std::string f = Digits(nsec, 9).substr(0, digits);
  if (trim) {
    while (!f.empty() && f.back() == '0') f.pop_back();
    if (f.empty()) return "";
  }
  return sep + f;
}

}  // namespace

std::string Quote(std::string_view s) { return promql::GoQuote(s); }

std::string TypeName(const Value& v) {
  switch (v.kind) {
    case Kind::kInvalid: return "<nil>";
    case Kind::kNil: return "interface {}";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float64";
    case Kind::kString: return "string";
    case Kind::kHtml: return "template.HTML";
    case Kind::kLabels: return "map[string]string";
    case Kind::kSample: return "*template.sample";
    case Kind::kVector: return "template.queryResult";
    case Kind::kTime: return "*time.Time";
    case Kind::kRoot: return std::string(kRootType);
  }
  return "";
}

std::string ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kString: return "string";
    case ParamType::kFloat: return "float64";
    case ParamType::kInt: return "int";
    case ParamType::kBool: return "bool";
    case ParamType::kAny: return "interface {}";
    case ParamType::kReflect: return "reflect.Value";
    case ParamType::kSample: return "*template.sample";
    case ParamType::kVector: return "template.queryResult";
    case ParamType::kNone: return "<nil>";
  }
  return "";
}

std::string GoSprint(const std::vector<Value>& args) {
  std::string out;
  bool prev_string = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool is_string = IsStringKind(args[i]);
    if (i > 0 && !is_string && !prev_string) out += ' ';
    out += FormatValue(args[i], 'v', Spec());
    prev_string = is_string;
  }
  return out;
}

std::string GoSprintln(const std::vector<Value>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out += ' ';
    out += FormatValue(args[i], 'v', Spec());
  }
  return out + "\n";
}

std::string GoSprintf(std::string_view format, const std::vector<Value>& args) {
  std::string out;
  size_t arg = 0;
  size_t i = 0;
  auto read_number = [&](int* out_num) {
    if (i < format.size() && format[i] == '*') {
      ++i;
      if (arg < args.size() && args[arg].kind == Kind::kInt) {
        *out_num = static_cast<int>(args[arg++].i);
        return true;
      }
      ++arg;
      return false;
    }
    int n = 0;
    bool any = false;
    while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
      n = n * 10 + (format[i++] - '0');
      any = true;
      if (n > 1000000) n = 1000000;
    }
    if (any) *out_num = n;
    return true;
  };
  while (i < format.size()) {
    const size_t pct = format.find('%', i);
    if (pct == std::string_view::npos) {
      out += format.substr(i);
      break;
    }
    out += format.substr(i, pct - i);
    i = pct + 1;
    Spec spec;
    for (; i < format.size(); ++i) {
      const char c = format[i];
      if (c == '+') spec.plus = true;
      else if (c == '-') spec.minus = true;
      else if (c == '#') spec.sharp = true;
      else if (c == ' ') spec.space = true;
      else if (c == '0') spec.zero = !spec.minus;
      else break;
    }
    bool good_width = read_number(&spec.width);
    if (spec.width < 0 && spec.width != -1) {
      spec.minus = true;
      spec.width = -spec.width;
    }
    if (i < format.size() && format[i] == '.') {
      ++i;
      spec.prec = 0;
      if (!read_number(&spec.prec)) spec.prec = -1;
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    // The verb is a whole rune.
    size_t vlen = RunePrefix(format.substr(i), 1);
    const std::string verb_text(format.substr(i, vlen));
    i += vlen;
    if (!good_width) out += "%!(BADWIDTH)";
    if (verb_text == "%") {
      out += '%';
      continue;
    }
    if (arg >= args.size()) {
      out += "%!" + verb_text + "(MISSING)";
      continue;
    }
    if (vlen != 1) {
      out += "%!" + verb_text + "(" + TypeName(args[arg]) + "=" + GoSprint({args[arg]}) + ")";
      ++arg;
      continue;
    }
    out += FormatValue(args[arg++], verb_text[0], spec);
  }
  if (arg < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = arg; k < args.size(); ++k) {
      if (k > arg) out += ", ";
      out += args[k].valid() && args[k].kind != Kind::kNil
                 ? TypeName(args[k]) + "=" + GoSprint({args[k]})
                 : "<nil>";
    }
    out += ")";
  }
  return out;
}

std::optional<double> GoParseFloat(std::string_view s, std::string* error) {
  const std::string quoted = Quote(s);
  auto syntax = [&]() -> std::optional<double> {
    *error = "strconv.ParseFloat: parsing " + quoted + ": invalid syntax";
    return std::nullopt;
  };
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  std::string lower;
  for (char c : body) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "inf" || lower == "infinity") return negative ? -HUGE_VAL : HUGE_VAL;
  if (lower == "nan" && body.size() == s.size()) return std::nan("");
  // Validate Go's grammar: decimal digits, one '.', an optional exponent; or
  // hexadecimal mantissa with a mandatory 'p' exponent.
  size_t i = 0;
  bool digits = false;
  const bool hex = lower.starts_with("0x");
  if (hex) i = 2;
  auto is_digit = [&](char c) { return hex ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : c >= '0' && c <= '9'; };
  bool underscores = false;
  for (; i < lower.size() && (is_digit(lower[i]) || lower[i] == '_'); ++i) {
    digits |= lower[i] != '_';
    underscores |= lower[i] == '_';
  }
  if (i < lower.size() && lower[i] == '.') {
    for (++i; i < lower.size() && (is_digit(lower[i]) || lower[i] == '_'); ++i) {
      digits |= lower[i] != '_';
      underscores |= lower[i] == '_';
    }
  }
  if (!digits || (underscores && !hex)) return syntax();
  const char exp_char = hex ? 'p' : 'e';
  if (i < lower.size() && lower[i] == exp_char) {
    ++i;
    if (i < lower.size() && (lower[i] == '+' || lower[i] == '-')) ++i;
    bool exp_digits = false;
    for (; i < lower.size() && ((lower[i] >= '0' && lower[i] <= '9') || lower[i] == '_'); ++i) {
      exp_digits |= lower[i] != '_';
    }
    if (!exp_digits) return syntax();
  } else if (hex) {
    return syntax();
  }
  if (i != lower.size()) return syntax();
  std::string clean;
  for (char c : s) {
    if (c != '_') clean += c;
  }
  const double v = std::strtod(clean.c_str(), nullptr);
  if (std::isinf(v)) {
    *error = "strconv.ParseFloat: parsing " + quoted + ": value out of range";
    return std::nullopt;
  }
  return v;
}

std::string TimeString(const TimeValue& t) {
  return TimeFormat(t, "2006-01-02 15:04:05.999999999 -0700 MST");
}

std::string TimeFormat(const TimeValue& t, std::string_view layout) {
  const Civil c = ToCivil(t);
  std::string out;
  size_t i = 0;
  auto take = [&](std::string_view token) {
    if (layout.substr(i).starts_with(token)) {
      i += token.size();
      return true;
    }
    return false;
  };
  while (i < layout.size()) {
    const size_t start = i;
    if (take("January")) out += kMonths[c.month - 1];
    else if (take("Jan")) out += std::string(kMonths[c.month - 1]).substr(0, 3);
    else if (take("Monday")) out += kDays[c.weekday];
    else if (take("Mon")) out += std::string(kDays[c.weekday]).substr(0, 3);
    else if (take("MST")) out += "UTC";
    else if (take("2006")) out += Digits(c.year, 4);
    else if (take("002")) out += Digits(c.yday, 3);
    else if (take("01")) out += Digits(c.month, 2);
    else if (take("02")) out += Digits(c.day, 2);
    else if (take("_2")) out += Digits(c.day, 2, ' ');
    else if (take("06")) out += Digits(c.year % 100, 2);
    else if (take("03")) out += Digits(c.hour % 12 == 0 ? 12 : c.hour % 12, 2);
    else if (take("04")) out += Digits(c.minute, 2);
    else if (take("05")) out += Digits(c.second, 2);
    else if (take("15")) out += Digits(c.hour, 2);
    else if (take("-07:00:00")) out += "+00:00:00";
    else if (take("-0700")) out += "+0000";
    else if (take("-07:00")) out += "+00:00";
    else if (take("-07")) out += "+00";
    else if (take("Z07:00") || take("Z0700") || take("Z07")) out += "Z";
    else if (take("PM")) out += c.hour >= 12 ? "PM" : "AM";
    else if (take("pm")) out += c.hour >= 12 ? "pm" : "am";
    else if ((layout[i] == '.' || layout[i] == ',') && i + 1 < layout.size() &&
             (layout[i + 1] == '0' || layout[i + 1] == '9') &&
             (i == 0 || (layout[i - 1] >= '0' && layout[i - 1] <= '9'))) {
      // A fractional second only follows a seconds field, as in Go.
      const char sep = layout[i];
      const char kind = layout[i + 1];
      size_t j = i + 1;
      while (j < layout.size() && layout[j] == kind) ++j;
      if (j < layout.size() && layout[j] >= '0' && layout[j] <= '9') {
        out += layout[i++];
        continue;
      }
      const int n = static_cast<int>(std::min<size_t>(j - i - 1, 9));
      out += Fraction(c.nsec, n, kind == '9', sep);
      i = j;
    } else if (take("1")) out += std::to_string(c.month);
    else if (take("2")) out += std::to_string(c.day);
    else if (take("3")) out += std::to_string(c.hour % 12 == 0 ? 12 : c.hour % 12);
    else if (take("4")) out += std::to_string(c.minute);
    else if (take("5")) out += std::to_string(c.second);
    if (i == start) out += layout[i++];
  }
  return out;
}

}  // namespace vitals::rules::template_internal
