#include "common/selector.h"

#include <re2/re2.h>

namespace vitals {

Result<Matcher> Matcher::Create(MatchType type, std::string name, std::string value) {
  std::shared_ptr<const re2::RE2> re;
  if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);  // Go's regexp in Prometheus uses (?s).
    re = std::make_shared<const re2::RE2>("^(?:" + value + ")$", options);
    if (!re->ok()) {
      return Status::InvalidArgument("invalid regular expression \"" + value + "\": " + re->error());
    }
  }
  return Matcher(type, std::move(name), std::move(value), std::move(re));
}

bool Matcher::Matches(std::string_view value) const {
  switch (type_) {
    case MatchType::kEqual: return value == value_;
    case MatchType::kNotEqual: return value != value_;
    case MatchType::kRegexMatch: return RE2::FullMatch(value, *re_);
    case MatchType::kRegexNoMatch: return !RE2::FullMatch(value, *re_);
  }
  return false;
}

std::string Matcher::ToString() const {
  static constexpr std::string_view kOps[] = {"=", "!=", "=~", "!~"};
  return name_ + std::string(kOps[static_cast<int>(type_)]) + "\"" + EscapeLabelValue(value_) + "\"";
}

bool MatchesAll(const std::vector<Matcher>& matchers, const Labels& labels) {
  for (const Matcher& m : matchers) {
    if (!m.Matches(GetLabel(labels, m.name()))) return false;
  }
  return true;
}

namespace {

// A small recursive-descent reader over the selector text.
class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : text_(text) {}

  Result<std::vector<Matcher>> Parse() {
    std::vector<Matcher> matchers;
    SkipSpace();
    if (pos_ < text_.size() && IsNameStart(text_[pos_])) {
      std::string name = ReadName(/*allow_colon=*/true);
      ASSIGN_OR_RETURN(Matcher m, Matcher::Create(MatchType::kEqual, "__name__", name));
      matchers.push_back(std::move(m));
      SkipSpace();
    }
    if (pos_ < text_.size() && text_[pos_] == '{') {
      ++pos_;
      RETURN_IF_ERROR(ParseMatcherList(&matchers));
    }
    SkipSpace();
    if (pos_ != text_.size()) return Fail("unexpected character '" + std::string(1, text_[pos_]) + "'");
    if (matchers.empty()) return Fail("empty selector");
    bool any_non_empty = false;
    for (const Matcher& m : matchers) any_non_empty |= !m.Matches("");
    if (!any_non_empty) {
      return Status::InvalidArgument(
          "vector selector must contain at least one non-empty matcher");
    }
    return matchers;
  }

 private:
  Status ParseMatcherList(std::vector<Matcher>* out) {
    while (true) {
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return Status::Ok();
      }
      if (pos_ >= text_.size() || !IsNameStart(text_[pos_])) return Fail("expected a label name");
      std::string name = ReadName(/*allow_colon=*/false);
      SkipSpace();
      MatchType type;
      if (Consume("=~")) type = MatchType::kRegexMatch;
      else if (Consume("!~")) type = MatchType::kRegexNoMatch;
      else if (Consume("!=")) type = MatchType::kNotEqual;
      else if (Consume("=")) type = MatchType::kEqual;
      else return Fail("expected one of =, !=, =~, !~ after label \"" + name + "\"");
      SkipSpace();
      ASSIGN_OR_RETURN(std::string value, ReadString());
      ASSIGN_OR_RETURN(Matcher m, Matcher::Create(type, std::move(name), std::move(value)));
      out->push_back(std::move(m));
      SkipSpace();
      if (Consume(",")) continue;
      if (pos_ < text_.size() && text_[pos_] == '}') continue;
      return Fail("expected ',' or '}'");
    }
  }

  Result<std::string> ReadString() {
    if (pos_ >= text_.size()) return Fail("expected a quoted string");
    char quote = text_[pos_];
    if (quote != '"' && quote != '\'' && quote != '`') return Fail("expected a quoted string");
    ++pos_;
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c == '\\' && quote != '`' && pos_ < text_.size()) {
        char e = text_[pos_++];
        switch (e) {
          case 'n': value += '\n'; break;
          case 't': value += '\t'; break;
          case 'r': value += '\r'; break;
          case '\\': case '"': case '\'': value += e; break;
          default: value += '\\'; value += e;
        }
        continue;
      }
      value += c;
    }
    if (pos_ >= text_.size()) return Fail("unterminated quoted string");
    ++pos_;
    return value;
  }

  static bool IsNameStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  }

  std::string ReadName(bool allow_colon) {
    size_t start = pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                (c >= '0' && c <= '9') || (allow_colon && c == ':');
      if (!ok) break;
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  bool Consume(std::string_view token) {
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n')) {
      ++pos_;
    }
  }

  Status Fail(const std::string& what) const {
    return Status::InvalidArgument("parse error at char " + std::to_string(pos_ + 1) + ": " + what);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::vector<Matcher>> ParseSeriesSelector(std::string_view text) {
  return SelectorParser(text).Parse();
}

}  // namespace vitals
