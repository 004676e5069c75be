#include "collector/api_json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <type_traits>
#include <variant>

#include "common/go_json.h"

namespace vitals::collector::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The shortest round-trip digits of a finite, non-zero |v| and its decimal
// exponent: v = 0.d1d2...dn * 10^point. Returns the digit count.
struct Digits {
  char digits[24];
  int count = 0;
  int point = 0;
  bool negative = false;
};

Digits ShortestDigits(double v) {
  char buf[40];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  Digits d;
  const char* p = buf;
  if (*p == '-') {
    d.negative = true;
    ++p;
  }
  for (; p < end && *p != 'e'; ++p) {
    if (*p != '.') d.digits[d.count++] = *p;
  }
  int exponent = 0;
  std::from_chars(p + 1 + (p[1] == '+'), end, exponent);
  d.point = exponent + 1;
  return d;
}

void AppendFixed(std::string* out, double v) {
  if (v == 0) {
    out->append(std::signbit(v) ? "-0" : "0");
    return;
  }
  Digits d = ShortestDigits(v);
  if (d.negative) out->push_back('-');
  if (d.point <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-d.point), '0');
    out->append(d.digits, d.count);
  } else if (d.point >= d.count) {
    out->append(d.digits, d.count);
    out->append(static_cast<size_t>(d.point - d.count), '0');
  } else {
    out->append(d.digits, d.point);
    out->push_back('.');
    out->append(d.digits + d.point, d.count - d.point);
  }
}

// strconv's 'e' format with -1 precision: "1e-07", "1.5e+21".
void AppendExponent(std::string* out, double v) {
  char buf[40];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  out->append(buf, end);
}

bool AppendNonFinite(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    return false;
  }
  return true;
}

bool UsesExponent(double v) {
  double abs = std::fabs(v);
  return abs != 0 && (abs < 1e-6 || abs >= 1e21);
}

void AppendPoint(std::string* out, int64_t t, double v) {
  out->push_back('[');
  AppendTimestamp(out, t);
  out->push_back(',');
  AppendSampleValue(out, v);
  out->push_back(']');
}

// promql.Scalar and promql.String marshal through encoding/json: the
// timestamp as a float64 number of seconds, not jsonutil's fixed fraction.
void AppendGoSeconds(std::string* out, int64_t ms) {
  AppendGoNumber(out, static_cast<double>(ms) / 1000);
}

}  // namespace

void AppendString(std::string* out, std::string_view text) { AppendGoJsonString(out, text); }

void AppendSampleValue(std::string* out, double v) {
  out->push_back('"');
  if (!AppendNonFinite(out, v)) {
    if (UsesExponent(v)) {
      AppendExponent(out, v);
    } else {
      AppendFixed(out, v);
    }
  }
  out->push_back('"');
}

void AppendTimestamp(std::string* out, int64_t ms) {
  uint64_t abs = static_cast<uint64_t>(ms);
  if (ms < 0) {
    out->push_back('-');
    abs = 0 - abs;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, abs / 1000);
  out->append(buf, end);
  unsigned fraction = static_cast<unsigned>(abs % 1000);
  if (fraction != 0) {
    char frac[4] = {'.', static_cast<char>('0' + fraction / 100),
                    static_cast<char>('0' + fraction / 10 % 10), static_cast<char>('0' + fraction % 10)};
    out->append(frac, 4);
  }
}

void AppendGoNumber(std::string* out, double v) {
  if (!UsesExponent(v)) {
    AppendFixed(out, v);
    return;
  }
  size_t start = out->size();
  AppendExponent(out, v);
  // encoding/json cleans up e-09 to e-9.
  size_t n = out->size() - start;
  char* b = out->data() + start;
  if (n >= 4 && b[n - 4] == 'e' && b[n - 3] == '-' && b[n - 2] == '0') {
    b[n - 2] = b[n - 1];
    out->pop_back();
  }
}

std::string FormatFloatF(double v) {
  std::string out;
  if (!AppendNonFinite(&out, v)) AppendFixed(&out, v);
  return out;
}

void AppendLabels(std::string* out, const Labels& labels) {
  out->push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendString(out, labels[i].name);
    out->push_back(':');
    AppendString(out, labels[i].value);
  }
  out->push_back('}');
}

void AppendQueryData(std::string* out, const promql::Value& value) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, promql::Scalar>) {
          out->append(R"({"resultType":"scalar","result":[)");
          AppendGoSeconds(out, v.t);
          out->push_back(',');
          AppendString(out, FormatFloatF(v.v));
          out->append("]}");
        } else if constexpr (std::is_same_v<T, promql::String>) {
          out->append(R"({"resultType":"string","result":[)");
          AppendGoSeconds(out, v.t);
          out->push_back(',');
          AppendString(out, v.v);
          out->append("]}");
        } else if constexpr (std::is_same_v<T, promql::Vector>) {
          out->append(R"({"resultType":"vector","result":[)");
          for (size_t i = 0; i < v.size(); ++i) {
            if (i > 0) out->push_back(',');
            out->append(R"({"metric":)");
            AppendLabels(out, v[i].labels);
            out->append(R"(,"value":)");
            AppendPoint(out, v[i].timestamp_ms, v[i].value);
            out->push_back('}');
          }
          out->append("]}");
        } else {
          static_assert(std::is_same_v<T, promql::Matrix>);
          out->append(R"({"resultType":"matrix","result":[)");
          for (size_t i = 0; i < v.size(); ++i) {
            if (i > 0) out->push_back(',');
            out->append(R"({"metric":)");
            AppendLabels(out, v[i].metric);
            out->append(R"(,"values":[)");
            const auto& points = v[i].points;
            for (size_t j = 0; j < points.size(); ++j) {
              if (j > 0) out->push_back(',');
              AppendPoint(out, points[j].t, points[j].v);
            }
            out->append("]}");
          }
          out->append("]}");
        }
      },
      value);
}

std::string GoQuote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    unsigned char b = static_cast<unsigned char>(text[i]);
    if (b >= 0x80) {
      size_t len = GoUtf8SequenceLength(text, i);
      if (len == 0) {
        out += "\\x";
        out += kHex[b >> 4];
        out += kHex[b & 0xF];
        ++i;
      } else {
        out.append(text.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (b) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (b < 0x20 || b == 0x7F) {
          out += "\\x";
          out += kHex[b >> 4];
          out += kHex[b & 0xF];
        } else {
          out += static_cast<char>(b);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

}  // namespace vitals::collector::json
