#include "common/exposition_parser.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace vitals::exposition {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

bool IsNameStart(char c, bool metric) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}
bool IsNameChar(char c, bool metric) { return IsNameStart(c, metric) || (c >= '0' && c <= '9'); }

// A position in one line.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  size_t column() const { return pos_ + 1; }
  std::string_view Rest() const { return text_.substr(std::min(pos_, text_.size())); }
  void Advance(size_t n = 1) { pos_ += n; }

  // Skips spaces and tabs; returns how many.
  size_t SkipBlanks() {
    size_t start = pos_;
    while (!AtEnd() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
    return pos_ - start;
  }
  // A metric name (with colons) or a label name; "" if none starts here.
  std::string_view Name(bool metric) {
    size_t start = pos_;
    if (AtEnd() || !IsNameStart(text_[pos_], metric)) return {};
    while (!AtEnd() && IsNameChar(text_[pos_], metric)) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  // Everything up to the next blank or the end.
  std::string_view Token() {
    size_t start = pos_;
    while (!AtEnd() && text_[pos_] != ' ' && text_[pos_] != '\t') ++pos_;
    return text_.substr(start, pos_ - start);
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Unescapes a HELP text: \\ and \n, plus \" in OpenMetrics. Other
// sequences stay as written, as Prometheus leaves them.
std::string UnescapeHelp(std::string_view text, Format format) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      char next = text[i + 1];
      if (next == '\\' || next == 'n' || (next == '"' && format == Format::kOpenMetrics)) {
        out += next == 'n' ? '\n' : next;
        ++i;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

bool IsKnownType(std::string_view type, Format format) {
  if (format == Format::kPrometheusText) {
    return type == "counter" || type == "gauge" || type == "histogram" || type == "summary" ||
           type == "untyped";
  }
  return type == "counter" || type == "gauge" || type == "histogram" ||
         type == "gaugehistogram" || type == "stateset" || type == "info" || type == "summary" ||
         type == "unknown";
}

// Go's int64(f) for the finite values where it is defined.
std::optional<int64_t> SecondsToMillis(double seconds) {
  if (!std::isfinite(seconds)) return std::nullopt;
  double ms = seconds * 1000;  // Truncated below, as Prometheus's int64(ts * 1000).
  if (ms >= 9.2e18 || ms <= -9.2e18) return std::nullopt;
  return static_cast<int64_t>(ms);
}

std::optional<int64_t> ParseMillis(std::string_view text) {
  if (text.empty()) return std::nullopt;
  size_t i = text[0] == '-' || text[0] == '+' ? 1 : 0;
  if (i == text.size()) return std::nullopt;
  for (size_t k = i; k < text.size(); ++k) {
    if (text[k] < '0' || text[k] > '9') return std::nullopt;
  }
  std::string copy(text);
  errno = 0;
  long long v = std::strtoll(copy.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return static_cast<int64_t>(v);
}

}  // namespace

std::optional<double> ParseValue(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string lower;
  for (char c : text) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  std::string_view unsigned_part = lower;
  bool negative = false;
  if (unsigned_part[0] == '+' || unsigned_part[0] == '-') {
    negative = unsigned_part[0] == '-';
    unsigned_part.remove_prefix(1);
  }
  if (unsigned_part == "inf" || unsigned_part == "infinity") {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (unsigned_part == "nan") return std::numeric_limits<double>::quiet_NaN();
  // strtod also takes hex floats, "nan(...)" and leading blanks; the text
  // formats only use decimal numbers.
  for (char c : unsigned_part) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == '+' || c == '-')) {
      return std::nullopt;
    }
  }
  const char* begin = lower.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(begin, &end);
  if (end != begin + lower.size()) return std::nullopt;
  // Go returns ±Inf with ErrRange for overflow; Prometheus refuses those.
  if (errno == ERANGE && std::isinf(v)) return std::nullopt;
  return v;
}

Parser::Parser(std::istream& in, std::string source_name, Format format, ParserOptions options)
    : in_(in), source_name_(std::move(source_name)), format_(format), options_(options) {}

Status Parser::Error(size_t column, const std::string& message) const {
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false
  // positive) about the memcpy inside `string + ":" + ...`.
  std::string where = source_name_;
  where += ':';
  where += std::to_string(line_number_);
  if (column > 0) {
    where += ':';
    where += std::to_string(column);
  }
  return Status::InvalidArgument(where + ": " + message);
}

Result<bool> Parser::ReadLine() {
  line_.clear();
  while (true) {
    size_t newline = buffer_.find('\n', buffer_pos_);
    size_t available = (newline == std::string::npos ? buffer_.size() : newline) - buffer_pos_;
    if (line_.size() + available > options_.max_line_bytes) {
      ++line_number_;
      return Error(0, "line longer than " + std::to_string(options_.max_line_bytes) + " bytes");
    }
    line_.append(buffer_, buffer_pos_, available);
    if (newline != std::string::npos) {
      buffer_pos_ = newline + 1;
      ++line_number_;
      return true;
    }
    buffer_.resize(kReadChunk);
    in_.read(buffer_.data(), static_cast<std::streamsize>(kReadChunk));
    buffer_.resize(static_cast<size_t>(in_.gcount()));
    buffer_pos_ = 0;
    if (buffer_.empty()) {
      if (in_.bad()) return Error(0, "read error");
      if (line_.empty()) return false;
      ++line_number_;  // A last line without '\n'.
      return true;
    }
  }
}

Result<bool> Parser::Next(Entry* entry) {
  while (!done_) {
    auto read = ReadLine();
    if (!read.ok()) {
      done_ = true;
      return read.status();
    }
    if (!*read) {
      done_ = true;
      if (format_ == Format::kOpenMetrics && !saw_eof_marker_) {
        return Error(0, "unexpected end of input: OpenMetrics data must end with \"# EOF\"");
      }
      return false;
    }
    if (saw_eof_marker_) {
      done_ = true;
      return Error(1, "content after \"# EOF\"");
    }
    auto parsed = ParseLine(entry);
    if (!parsed.ok()) {
      done_ = true;
      return parsed.status();
    }
    if (*parsed) return true;
  }
  return false;
}

Result<bool> Parser::ParseLine(Entry* entry) {
  if (line_.empty() || line_.find_first_not_of(" \t") == std::string::npos) {
    if (format_ == Format::kOpenMetrics) return Error(1, "blank lines are not allowed in OpenMetrics");
    return false;
  }
  if (line_[0] == '#') return ParseComment(entry);
  size_t first = line_.find_first_not_of(" \t");
  if (first != 0 && line_[first] == '#' && format_ == Format::kPrometheusText) return false;
  RETURN_IF_ERROR(ParseSample(entry));
  return true;
}

Result<bool> Parser::ParseComment(Entry* entry) {
  Cursor c(line_);
  c.Advance();  // '#'
  const bool open_metrics = format_ == Format::kOpenMetrics;
  if (c.SkipBlanks() == 0) {
    if (open_metrics) return Error(2, "expected a space after '#'");
    return false;  // "#comment": ignored in the text format.
  }
  size_t keyword_column = c.column();
  std::string_view keyword = c.Token();
  EntryKind kind;
  if (keyword == "HELP") {
    kind = EntryKind::kHelp;
  } else if (keyword == "TYPE") {
    kind = EntryKind::kType;
  } else if (keyword == "UNIT" && open_metrics) {
    kind = EntryKind::kUnit;
  } else if (keyword == "EOF" && open_metrics) {
    c.SkipBlanks();
    if (!c.AtEnd()) return Error(c.column(), "unexpected text after \"# EOF\"");
    saw_eof_marker_ = true;
    return false;
  } else {
    if (open_metrics) {
      return Error(keyword_column, "expected HELP, TYPE, UNIT or EOF after '#', got \"" +
                                       std::string(keyword) + "\"");
    }
    return false;  // Any other comment.
  }
  if (c.SkipBlanks() == 0) return Error(c.column(), "expected a metric name");
  size_t name_column = c.column();
  std::string_view family = c.Name(/*metric=*/true);
  if (family.empty()) return Error(name_column, "invalid metric name in " + std::string(keyword));
  if (!c.AtEnd() && c.SkipBlanks() == 0) {
    return Error(c.column(), "unexpected character after the metric name");
  }
  entry->kind = kind;
  entry->line = line_number_;
  entry->family = std::string(family);
  entry->labels.clear();
  entry->timestamp_ms.reset();
  entry->has_exemplar = false;
  if (kind == EntryKind::kHelp) {
    entry->text = UnescapeHelp(c.Rest(), format_);
    return true;
  }
  size_t text_column = c.column();
  std::string_view text = c.Token();
  c.SkipBlanks();
  if (!c.AtEnd()) return Error(c.column(), "unexpected text after " + std::string(keyword));
  if (kind == EntryKind::kType && !IsKnownType(text, format_)) {
    return Error(text_column, "invalid metric type \"" + std::string(text) + "\"");
  }
  if (kind == EntryKind::kUnit && !text.empty() && !IsValidLabelName(text) &&
      !IsValidMetricName(text)) {
    return Error(text_column, "invalid unit \"" + std::string(text) + "\"");
  }
  entry->text = std::string(text);
  return true;
}

Status Parser::ParseSample(Entry* entry) {
  Cursor c(line_);
  const bool open_metrics = format_ == Format::kOpenMetrics;
  entry->kind = EntryKind::kSample;
  entry->line = line_number_;
  entry->labels.clear();
  entry->family.clear();
  entry->text.clear();
  entry->timestamp_ms.reset();
  entry->has_exemplar = false;

  if (!open_metrics) c.SkipBlanks();
  std::string_view name = c.Name(/*metric=*/true);
  if (name.empty()) return Error(c.column(), "expected a metric name");
  entry->labels.push_back(Label{std::string(kMetricNameLabel), std::string(name)});

  if (c.Peek() == '{') {
    c.Advance();
    while (true) {
      c.SkipBlanks();
      if (c.Peek() == '}') {
        c.Advance();
        break;
      }
      size_t label_column = c.column();
      std::string_view label = c.Name(/*metric=*/false);
      if (label.empty()) return Error(label_column, "expected a label name or '}'");
      c.SkipBlanks();
      if (c.Peek() != '=') return Error(c.column(), "expected '=' after label name");
      c.Advance();
      c.SkipBlanks();
      if (c.Peek() != '"') return Error(c.column(), "expected '\"' to start the label value");
      c.Advance();
      std::string value;
      while (true) {
        if (c.AtEnd()) return Error(c.column(), "unterminated label value");
        char ch = c.Peek();
        c.Advance();
        if (ch == '"') break;
        if (ch == '\\') {
          if (c.AtEnd()) return Error(c.column(), "unterminated label value");
          char next = c.Peek();
          c.Advance();
          if (next == 'n') {
            value += '\n';
          } else if (next == '\\' || next == '"') {
            value += next;
          } else if (open_metrics) {
            return Error(c.column() - 2, std::string("invalid escape sequence \"\\") + next + "\"");
          } else {
            value += '\\';  // The text format keeps unknown escapes as written.
            value += next;
          }
          continue;
        }
        value += ch;
      }
      if (!IsValidUtf8(value)) {
        return Error(label_column, "label \"" + std::string(label) + "\" value is not UTF-8");
      }
      entry->labels.push_back(Label{std::string(label), std::move(value)});
      c.SkipBlanks();
      if (c.Peek() == ',') {
        c.Advance();
        continue;
      }
      if (c.Peek() == '}') {
        c.Advance();
        break;
      }
      return Error(c.column(), "expected ',' or '}' after a label value");
    }
  }

  if (c.SkipBlanks() == 0) return Error(c.column(), "expected a space before the value");
  size_t value_column = c.column();
  std::string_view value_text = c.Token();
  auto value = ParseValue(value_text);
  if (!value) return Error(value_column, "invalid value \"" + std::string(value_text) + "\"");
  entry->value = *value;

  c.SkipBlanks();
  if (c.AtEnd()) return Status::Ok();
  if (c.Peek() != '#') {
    size_t ts_column = c.column();
    std::string_view ts_text = c.Token();
    if (open_metrics) {
      auto seconds = ParseValue(ts_text);
      auto ms = seconds ? SecondsToMillis(*seconds) : std::nullopt;
      if (!ms) return Error(ts_column, "invalid timestamp \"" + std::string(ts_text) + "\"");
      entry->timestamp_ms = *ms;
    } else {
      auto ms = ParseMillis(ts_text);
      if (!ms) {
        return Error(ts_column, "invalid timestamp \"" + std::string(ts_text) +
                                    "\" (integer milliseconds)");
      }
      entry->timestamp_ms = *ms;
    }
    c.SkipBlanks();
    if (c.AtEnd()) return Status::Ok();
  }
  if (open_metrics && c.Peek() == '#') {
    c.Advance();
    if (c.SkipBlanks() == 0 || c.Peek() != '{') {
      return Error(c.column(), "expected an exemplar \"# {labels} value\"");
    }
    entry->has_exemplar = true;  // Not stored; its syntax is not checked further.
    return Status::Ok();
  }
  return Error(c.column(), "unexpected text after the sample");
}

}  // namespace vitals::exposition
