// The functions templates can call: Go's text/template built-ins and the ones
// Prometheus 2.42 adds (template/template.go), with their Go error texts.

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "common/units.h"
#include "rules/promql/literals.h"
#include "rules/template_internal.h"

namespace vitals::rules::template_internal {
namespace {

using Kind = Value::Kind;
using Args = std::vector<Value>;
using SampleList = std::vector<std::shared_ptr<const SampleValue>>;

Value Str(std::string s) { return Value::String(std::move(s)); }

Value Vector(SampleList samples) {
  Value v;
  v.kind = Kind::kVector;
  v.vector = std::make_shared<const SampleList>(std::move(samples));
  return v;
}

Value SampleOf(std::shared_ptr<const SampleValue> s) {
  Value v;
  v.kind = Kind::kSample;
  v.sample = std::move(s);
  return v;
}

// --- Comparison (eq, lt, ...), as text/template's funcs.go.

enum class BasicKind { kInvalid, kBool, kInt, kFloat, kString };

BasicKind BasicKindOf(const Value& v) {
  switch (v.kind) {
    case Kind::kBool: return BasicKind::kBool;
    case Kind::kInt: return BasicKind::kInt;
    case Kind::kFloat: return BasicKind::kFloat;
    case Kind::kString: case Kind::kHtml: return BasicKind::kString;
    default: return BasicKind::kInvalid;
  }
}

constexpr const char* kBadComparison = "incompatible types for comparison";
constexpr const char* kBadComparisonType = "invalid type for comparison";
constexpr const char* kNoComparison = "missing argument for comparison";

bool Eq(const Args& a, std::string* error) {
  if (a.size() < 2) {
    *error = kNoComparison;
    return false;
  }
  const Value& x = a[0];
  const BasicKind k1 = BasicKindOf(x);
  for (size_t i = 1; i < a.size(); ++i) {
    const Value& y = a[i];
    const BasicKind k2 = BasicKindOf(y);
    bool truth = false;
    if (k1 != k2) {
      if (x.valid() && y.valid()) {
        *error = kBadComparison;
        return false;
      }
    } else {
      switch (k1) {
        case BasicKind::kBool: truth = x.b == y.b; break;
        case BasicKind::kInt: truth = x.i == y.i; break;
        case BasicKind::kFloat: truth = x.f == y.f; break;
        case BasicKind::kString: truth = x.s == y.s; break;
        case BasicKind::kInvalid:
          if (!x.valid() || !y.valid()) {
            truth = x.valid() == y.valid();
          } else if (x.kind == Kind::kSample && y.kind == Kind::kSample) {
            truth = x.sample == y.sample;  // Pointers compare by identity.
          } else {
            *error = "non-comparable types " + GoSprint({x}) + ": " + TypeName(x) + ", " +
                     TypeName(y) + ": " + GoSprint({y});
            return false;
          }
          break;
      }
    }
    if (truth) return true;
  }
  return false;
}

bool Lt(const Value& x, const Value& y, std::string* error) {
  const BasicKind k1 = BasicKindOf(x), k2 = BasicKindOf(y);
  if (k1 == BasicKind::kInvalid || k2 == BasicKind::kInvalid) {
    *error = kBadComparisonType;
    return false;
  }
  if (k1 != k2) {
    *error = kBadComparison;
    return false;
  }
  switch (k1) {
    case BasicKind::kBool: *error = kBadComparisonType; return false;
    case BasicKind::kInt: return x.i < y.i;
    case BasicKind::kFloat: return x.f < y.f;
    case BasicKind::kString: return x.s < y.s;
    case BasicKind::kInvalid: break;
  }
  return false;
}

bool Le(const Value& x, const Value& y, std::string* error) {
  const bool lt = Lt(x, y, error);
  if (lt || !error->empty()) return lt;
  return Eq({x, y}, error);
}

Value FnEq(const CallEnv&, Args& a, std::string* e) { return Value::Bool(Eq(a, e)); }
Value FnNe(const CallEnv&, Args& a, std::string* e) { return Value::Bool(!Eq(a, e)); }
Value FnLt(const CallEnv&, Args& a, std::string* e) { return Value::Bool(Lt(a[0], a[1], e)); }
Value FnLe(const CallEnv&, Args& a, std::string* e) { return Value::Bool(Le(a[0], a[1], e)); }
Value FnGt(const CallEnv&, Args& a, std::string* e) {
  const bool le = Le(a[0], a[1], e);
  return Value::Bool(e->empty() && !le);
}
Value FnGe(const CallEnv&, Args& a, std::string* e) {
  const bool lt = Lt(a[0], a[1], e);
  return Value::Bool(e->empty() && !lt);
}

// --- Other built-ins.

bool Truth(const Value& v) {
  switch (v.kind) {
    case Kind::kInvalid: case Kind::kNil: return false;
    case Kind::kBool: return v.b;
    case Kind::kInt: return v.i != 0;
    case Kind::kFloat: return v.f != 0;
    case Kind::kString: case Kind::kHtml: return !v.s.empty();
    case Kind::kLabels: return !v.labels->empty();
    case Kind::kSample: return v.sample != nullptr;
    case Kind::kVector: return !v.vector->empty();
    case Kind::kTime: case Kind::kRoot: return true;
  }
  return false;
}

Value FnAndOr(const CallEnv&, Args& a, std::string*) { return a.back(); }  // Short-circuited by the executor.
Value FnNot(const CallEnv&, Args& a, std::string*) { return Value::Bool(!Truth(a[0])); }

// The type name after Go's indirect(): what a pointer points to.
std::string IndirectTypeName(const Value& v) {
  std::string t = TypeName(v);
  return t[0] == '*' ? t.substr(1) : t;
}

Value FnLen(const CallEnv&, Args& a, std::string* e) {
  const Value& v = a[0];
  switch (v.kind) {
    case Kind::kString: case Kind::kHtml: return Value::Int(static_cast<int64_t>(v.s.size()));
    case Kind::kLabels: return Value::Int(static_cast<int64_t>(v.labels->size()));
    case Kind::kVector: return Value::Int(static_cast<int64_t>(v.vector->size()));
    case Kind::kInvalid: *e = "reflect: call of reflect.Value.Type on zero Value"; return Value();
    case Kind::kSample:
      if (!v.sample) {
        *e = "len of nil pointer";
        return Value();
      }
      [[fallthrough]];
    default: *e = "len of type " + IndirectTypeName(v); return Value();
  }
}

// Go's indexArg: an int index in [0, cap].
bool IndexArg(const Value& index, size_t cap, int64_t* x, std::string* e) {
  if (index.kind == Kind::kInvalid || index.kind == Kind::kNil) {
    *e = "cannot index slice/array with nil";
    return false;
  }
  if (index.kind != Kind::kInt) {
    *e = "cannot index slice/array with type " + TypeName(index);
    return false;
  }
  if (index.i < 0 || static_cast<uint64_t>(index.i) > cap) {
    *e = "index out of range: " + std::to_string(index.i);
    return false;
  }
  *x = index.i;
  return true;
}

Value FnIndex(const CallEnv&, Args& a, std::string* e) {
  Value item = a[0];
  if (!item.valid() || item.kind == Kind::kNil) {
    *e = "index of untyped nil";
    return Value();
  }
  for (size_t k = 1; k < a.size(); ++k) {
    const Value& index = a[k];
    int64_t x = 0;
    switch (item.kind) {
      case Kind::kString: case Kind::kHtml:
        if (!IndexArg(index, item.s.size(), &x, e)) return Value();
        if (static_cast<size_t>(x) == item.s.size()) {
          *e = "reflect: string index out of range";
          return Value();
        }
        item = Value::Int(static_cast<unsigned char>(item.s[x]));
        break;
      case Kind::kVector:
        if (!IndexArg(index, item.vector->size(), &x, e)) return Value();
        if (static_cast<size_t>(x) == item.vector->size()) {
          *e = "reflect: slice index out of range";
          return Value();
        }
        item = SampleOf((*item.vector)[x]);
        break;
      case Kind::kLabels: {
        if (index.valid() && index.kind != Kind::kNil && index.kind != Kind::kString) {
          *e = "value has type " + TypeName(index) + "; should be string";
          return Value();
        }
        const auto it = item.labels->find(index.kind == Kind::kString ? index.s : "");
        item = Str(it == item.labels->end() ? "" : it->second);
        break;
      }
      case Kind::kSample:
        if (!item.sample) {
          *e = "index of nil pointer";
          return Value();
        }
        [[fallthrough]];
      default:
        *e = "can't index item of type " + IndirectTypeName(item);
        return Value();
    }
  }
  return item;
}

Value FnSlice(const CallEnv&, Args& a, std::string* e) {
  const Value& item = a[0];
  if (!item.valid() || item.kind == Kind::kNil) {
    *e = "slice of untyped nil";
    return Value();
  }
  const size_t n_indexes = a.size() - 1;
  if (n_indexes > 3) {
    *e = "too many slice indexes: " + std::to_string(n_indexes);
    return Value();
  }
  size_t len = 0;
  if (item.kind == Kind::kString || item.kind == Kind::kHtml) {
    if (n_indexes == 3) {
      *e = "cannot 3-index slice a string";
      return Value();
    }
    len = item.s.size();
  } else if (item.kind == Kind::kVector) {
    len = item.vector->size();
  } else {
    *e = "can't slice item of type " + TypeName(item);
    return Value();
  }
  int64_t idx[3] = {0, static_cast<int64_t>(len), static_cast<int64_t>(len)};
  for (size_t k = 0; k < n_indexes; ++k) {
    if (!IndexArg(a[k + 1], len, &idx[k], e)) return Value();
  }
  if (idx[0] > idx[1]) {
    *e = "invalid slice index: " + std::to_string(idx[0]) + " > " + std::to_string(idx[1]);
    return Value();
  }
  if (n_indexes == 3 && idx[1] > idx[2]) {
    *e = "invalid slice index: " + std::to_string(idx[1]) + " > " + std::to_string(idx[2]);
    return Value();
  }
  if (item.kind == Kind::kVector) {
    return Vector(SampleList(item.vector->begin() + idx[0], item.vector->begin() + idx[1]));
  }
  Value out = item;
  out.s = item.s.substr(idx[0], idx[1] - idx[0]);
  return out;
}

Value FnPrint(const CallEnv&, Args& a, std::string*) { return Str(GoSprint(a)); }
Value FnPrintln(const CallEnv&, Args& a, std::string*) { return Str(GoSprintln(a)); }
Value FnPrintf(const CallEnv&, Args& a, std::string*) {
  return Str(GoSprintf(a[0].s, Args(a.begin() + 1, a.end())));
}

// text/template's evalArgs: one string as is, anything else through Sprint.
std::string EvalArgs(const Args& a) {
  if (a.size() == 1 && a[0].kind == Kind::kString) return a[0].s;
  Args printable = a;
  for (Value& v : printable) {
    if (v.kind == Kind::kSample && v.sample) {  // printableValue dereferences pointers.
      v = Str(GoSprint({v}).substr(1));
    } else if (!v.valid()) {
      v = Str("<no value>");
    }
  }
  return GoSprint(printable);
}

Value FnHtml(const CallEnv&, Args& a, std::string*) {
  std::string out;
  for (char c : EvalArgs(a)) {
    switch (c) {
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\0': out += "\xEF\xBF\xBD"; break;
      default: out += c;
    }
  }
  return Str(out);
}

Value FnJs(const CallEnv&, Args& a, std::string*) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : EvalArgs(a)) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      case '"': out += "\\\""; break;
      case '<': out += "\\u003C"; break;
      case '>': out += "\\u003E"; break;
      case '&': out += "\\u0026"; break;
      case '=': out += "\\u003D"; break;
      default:
        if (c < ' ') {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;  // Printable Unicode passes through.
        }
    }
  }
  return Str(out);
}

// url.QueryEscape.
std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Value FnUrlquery(const CallEnv&, Args& a, std::string*) { return Str(QueryEscape(EvalArgs(a))); }

// --- Prometheus: queries.

Value FnQuery(const CallEnv& env, Args& a, std::string* e) {
  if (!env.data.query) {
    *e = "no query engine available to templates";
    return Value();
  }
  Result<promql::Vector> result = env.data.query(a[0].s);
  if (!result.ok()) {
    *e = result.status().message();
    return Value();
  }
  SampleList samples;
  for (const Sample& s : *result) {
    auto labels = std::make_shared<LabelMap>();
    for (const Label& l : s.labels) (*labels)[l.name] = l.value;
    samples.push_back(std::make_shared<const SampleValue>(SampleValue{std::move(labels), s.value}));
  }
  return Vector(std::move(samples));
}

Value FnFirst(const CallEnv&, Args& a, std::string* e) {
  if (a[0].vector->empty()) {
    *e = "first() called on vector with no elements";
    return Value();
  }
  return SampleOf(a[0].vector->front());
}

constexpr const char* kNilDereference = "runtime error: invalid memory address or nil pointer dereference";

Value FnLabel(const CallEnv&, Args& a, std::string* e) {
  if (!a[1].sample) {
    *e = kNilDereference;
    return Value();
  }
  const auto it = a[1].sample->labels->find(a[0].s);
  return Str(it == a[1].sample->labels->end() ? "" : it->second);
}

Value FnValue(const CallEnv&, Args& a, std::string* e) {
  if (!a[0].sample) {
    *e = kNilDereference;
    return Value();
  }
  return Value::Float(a[0].sample->value);
}

Value FnStrvalue(const CallEnv& env, Args& a, std::string* e) {
  Args args = {Str("__value__"), a[0]};
  return FnLabel(env, args, e);
}

Value FnSortByLabel(const CallEnv&, Args& a, std::string*) {
  SampleList sorted = *a[1].vector;
  const std::string& label = a[0].s;
  auto get = [&label](const std::shared_ptr<const SampleValue>& s) -> std::string_view {
    const auto it = s->labels->find(label);
    return it == s->labels->end() ? std::string_view() : std::string_view(it->second);
  };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const auto& x, const auto& y) { return get(x) < get(y); });
  return Vector(std::move(sorted));
}

// --- Prometheus: regular expressions (Go's regexp is RE2's syntax).

// Go's regexp quote(): backquoted when possible.
std::string RegexpQuote(std::string_view s) {
  bool backquote = true;
  for (char c : s) {
    if (c == '`' || (static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7F) backquote = false;
  }
  return backquote ? "`" + std::string(s) + "`" : Quote(s);
}

bool Compile(const std::string& pattern, std::unique_ptr<RE2>* re, std::string* e) {
  RE2::Options options;
  options.set_log_errors(false);
  *re = std::make_unique<RE2>(pattern, options);
  if ((*re)->ok()) return true;
  *e = promql::RegexErrorMessage((*re)->error());
  return false;
}

Value FnMatch(const CallEnv&, Args& a, std::string* e) {
  std::unique_ptr<RE2> re;
  if (!Compile(a[0].s, &re, e)) return Value();
  return Value::Bool(RE2::PartialMatch(a[1].s, *re));
}

// Go's Regexp.Expand of a ReplaceAllString template: $1, ${1}, $name, ${name}, $$.
void Expand(std::string* out, std::string_view tmpl, const RE2& re,
            const std::vector<re2::StringPiece>& groups) {
  const std::map<std::string, int>& names = re.NamedCapturingGroups();
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      *out += tmpl[i++];
      continue;
    }
    if (tmpl[i + 1] == '$') {
      *out += '$';
      i += 2;
      continue;
    }
    const bool brace = tmpl[i + 1] == '{';
    size_t j = i + 1 + (brace ? 1 : 0);
    const size_t name_start = j;
    while (j < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[j])) || tmpl[j] == '_' ||
                               static_cast<unsigned char>(tmpl[j]) >= 0x80)) {
      ++j;
    }
    const std::string name(tmpl.substr(name_start, j - name_start));
    if (name.empty() || (brace && (j >= tmpl.size() || tmpl[j] != '}'))) {
      *out += tmpl[i++];  // Malformed: the '$' is literal.
      continue;
    }
    if (brace) ++j;
    int group = -1;
    if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (name.size() < 9) group = std::stoi(name);
    } else if (const auto it = names.find(name); it != names.end()) {
      group = it->second;
    }
    if (group >= 0 && static_cast<size_t>(group) < groups.size() && groups[group].data() != nullptr) {
      out->append(groups[group].data(), groups[group].size());
    }
    i = j;
  }
}

Value FnReReplaceAll(const CallEnv&, Args& a, std::string* e) {
  std::unique_ptr<RE2> re;
  if (!Compile(a[0].s, &re, e)) {
    // regexp.MustCompile panics; text/template reports the panic's text.
    *e = "regexp: Compile(" + RegexpQuote(a[0].s) + "): " + *e;
    return Value();
  }
  const std::string& src = a[2].s;
  std::vector<re2::StringPiece> groups(re->NumberOfCapturingGroups() + 1);
  std::string out;
  size_t last_end = 0, search = 0;
  while (search <= src.size()) {
    if (!re->Match(src, search, src.size(), RE2::UNANCHORED, groups.data(),
                   static_cast<int>(groups.size()))) {
      break;
    }
    const size_t start = groups[0].data() - src.data();
    const size_t end = start + groups[0].size();
    out.append(src, last_end, start - last_end);
    // No replacement for an empty match right after the previous match.
    if (end > last_end || start == 0) Expand(&out, a[1].s, *re, groups);
    last_end = end;
    size_t width = 1;
    if (search < src.size()) {
      const auto c = static_cast<unsigned char>(src[search]);
      width = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    }
    if (search + width > end) {
      search += width;
    } else if (search + 1 > end) {
      ++search;
    } else {
      search = end;
    }
  }
  if (last_end < src.size()) out.append(src, last_end);
  return Str(out);
}

// --- Prometheus: strings.

Value FnToUpper(const CallEnv&, Args& a, std::string*) {
  std::string s = a[0].s;
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return Str(s);
}

Value FnToLower(const CallEnv&, Args& a, std::string*) {
  std::string s = a[0].s;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return Str(s);
}

// cases.Title(language.AmericanEnglish, cases.NoLower): the first letter of
// each word upper-cased, the rest left alone. Words break as Unicode's word
// boundaries do for ASCII text: letters, digits and '_' form words, and
// '.', ':' and '\'' between letters do not end one.
Value FnTitle(const CallEnv&, Args& a, std::string*) {
  std::string s = a[0].s;
  auto is_word = [](unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; };
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (is_word(c)) {
      if (!in_word && std::islower(c)) s[i] = static_cast<char>(std::toupper(c));
      in_word = true;
    } else if (in_word && (c == '.' || c == ':' || c == '\'') && i > 0 && i + 1 < s.size() &&
               std::isalpha(static_cast<unsigned char>(s[i - 1])) &&
               std::isalpha(static_cast<unsigned char>(s[i + 1]))) {
      // Mid-word punctuation.
    } else {
      in_word = false;
    }
  }
  return Str(s);
}

Value FnSafeHtml(const CallEnv&, Args& a, std::string*) {
  Value v = Str(a[0].s);
  v.kind = Kind::kHtml;
  return v;
}

Value GraphLink(const std::string& expr, int tab) {
  return Str("/graph?g0.expr=" + QueryEscape(expr) + "&g0.tab=" + std::to_string(tab));
}
Value FnGraphLink(const CallEnv&, Args& a, std::string*) { return GraphLink(a[0].s, 0); }
Value FnTableLink(const CallEnv&, Args& a, std::string*) { return GraphLink(a[0].s, 1); }

// net.SplitHostPort; false where Go returns an error.
bool SplitHostPort(std::string_view hp, std::string* host, std::string* port) {
  const size_t i = hp.rfind(':');
  if (i == std::string_view::npos) return false;
  size_t j = 0, k = 0;
  if (!hp.empty() && hp[0] == '[') {
    const size_t end = hp.find(']');
    if (end == std::string_view::npos || end + 1 != i) return false;
    *host = std::string(hp.substr(1, end - 1));
    j = 1;
    k = end + 1;
  } else {
    *host = std::string(hp.substr(0, i));
    if (host->find(':') != std::string::npos) return false;
  }
  if (hp.substr(j).find('[') != std::string_view::npos) return false;
  if (hp.substr(k).find(']') != std::string_view::npos) return false;
  *port = std::string(hp.substr(i + 1));
  return true;
}

bool IsIP(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Value FnStripPort(const CallEnv&, Args& a, std::string*) {
  std::string host, port;
  return Str(SplitHostPort(a[0].s, &host, &port) ? host : a[0].s);
}

Value FnStripDomain(const CallEnv&, Args& a, std::string*) {
  std::string host, port;
  if (!SplitHostPort(a[0].s, &host, &port)) {
    host = a[0].s;
    port.clear();
  }
  if (IsIP(host)) return Str(a[0].s);
  host = host.substr(0, host.find('.'));
  if (port.empty()) return Str(host);
  return Str(host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port);
}

// --- Prometheus: numbers.

// Prometheus's convertToFloat: float64, string (strconv.ParseFloat) or int.
bool ToFloat(const Value& v, double* out, std::string* e) {
  switch (v.kind) {
    case Kind::kFloat: *out = v.f; return true;
    case Kind::kInt: *out = static_cast<double>(v.i); return true;
    case Kind::kString: {
      std::optional<double> f = GoParseFloat(v.s, e);
      if (!f) return false;
      *out = *f;
      return true;
    }
    default:
      *e = "can't convert " + (v.kind == Kind::kNil || !v.valid() ? std::string("<nil>") : TypeName(v)) +
           " to float";
      return false;
  }
}

std::string G4(double v) { return GoSprintf("%.4g", {Value::Float(v)}); }

Value FnHumanize(const CallEnv&, Args& a, std::string* e) {
  double v = 0;
  if (!ToFloat(a[0], &v, e)) return Value();
  if (v == 0 || std::isnan(v) || std::isinf(v)) return Str(G4(v));
  std::string prefix;
  if (std::fabs(v) >= 1) {
    for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
      if (std::fabs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return Str(G4(v) + prefix);
}

Value FnHumanize1024(const CallEnv&, Args& a, std::string* e) {
  double v = 0;
  if (!ToFloat(a[0], &v, e)) return Value();
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return Str(G4(v));
  std::string prefix;
  for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return Str(G4(v) + prefix);
}

Value FnHumanizeDuration(const CallEnv&, Args& a, std::string* e) {
  double v = 0;
  if (!ToFloat(a[0], &v, e)) return Value();
  if (std::isnan(v) || std::isinf(v)) return Str(G4(v));
  if (v == 0) return Str(G4(v) + "s");
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    const auto total = static_cast<int64_t>(v);
    const int64_t seconds = total % 60, minutes = total / 60 % 60, hours = total / 3600 % 24,
                  days = total / 86400;
    auto n = [](int64_t x) { return std::to_string(x); };
    if (days != 0) return Str(sign + n(days) + "d " + n(hours) + "h " + n(minutes) + "m " + n(seconds) + "s");
    if (hours != 0) return Str(sign + n(hours) + "h " + n(minutes) + "m " + n(seconds) + "s");
    if (minutes != 0) return Str(sign + n(minutes) + "m " + n(seconds) + "s");
    return Str(sign + G4(v) + "s");
  }
  std::string prefix;
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return Str(G4(v) + prefix + "s");
}

Value FnHumanizePercentage(const CallEnv&, Args& a, std::string* e) {
  double v = 0;
  if (!ToFloat(a[0], &v, e)) return Value();
  return Str(GoSprintf("%.4g%%", {Value::Float(v * 100)}));
}

// Prometheus's floatToTime: seconds to a time with millisecond precision
// (model.TimeFromUnixNano). False with Go's message on overflow; NaN and Inf
// are the caller's business.
bool FloatToTime(double v, TimeValue* t, std::string* e) {
  const double ns = v * 1e9;
  if (ns > 9223372036854775807.0 || ns < -9223372036854775808.0) {
    *e = GoSprint({Value::Float(v)}) + " cannot be represented as a nanoseconds timestamp since it overflows int64";
    return false;
  }
  const int64_t ms = static_cast<int64_t>(ns) / 1000000;  // Go's division truncates.
  int64_t sec = ms / 1000;
  int64_t msec = ms % 1000;
  if (msec < 0) {
    msec += 1000;
    --sec;
  }
  t->sec = sec;
  t->nsec = static_cast<int32_t>(msec * 1000000);
  return true;
}

Value FnHumanizeTimestamp(const CallEnv&, Args& a, std::string* e) {
  double v = 0;
  if (!ToFloat(a[0], &v, e)) return Value();
  if (std::isnan(v) || std::isinf(v)) return Str(G4(v));
  TimeValue t;
  if (!FloatToTime(v, &t, e)) return Value();
  return Str(TimeString(t));
}

Value FnToTime(const CallEnv&, Args& a, std::string* e) {
  double v = 0;
  if (!ToFloat(a[0], &v, e)) return Value();
  if (std::isnan(v) || std::isinf(v)) {
    *e = "value is NaN or Inf";
    return Value();
  }
  Value out;
  out.kind = Kind::kTime;
  if (!FloatToTime(v, &out.time, e)) return Value();
  return out;
}

Value FnParseDuration(const CallEnv&, Args& a, std::string* e) {
  if (a[0].s.empty()) {
    *e = "empty duration string";
    return Value();
  }
  Result<std::chrono::milliseconds> d = ParseDuration(a[0].s);
  if (!d.ok()) {
    *e = "not a valid duration string: " + Quote(a[0].s);
    return Value();
  }
  return Value::Float(static_cast<double>(d->count()) / 1000.0);
}

// --- Prometheus: the external URL.

Value FnExternalURL(const CallEnv& env, Args&, std::string*) { return Str(env.data.external_url); }

Value FnPathPrefix(const CallEnv& env, Args&, std::string*) {
  std::string_view url = env.data.external_url;
  const size_t scheme = url.find("://");
  size_t path = scheme == std::string_view::npos ? 0 : url.find('/', scheme + 3);
  if (path == std::string_view::npos) return Str("");
  std::string_view p = url.substr(path);
  return Str(std::string(p.substr(0, p.find_first_of("?#"))));
}

// --- time.Time methods.

Value TimeUnix(const CallEnv&, Args& a, std::string*) { return Value::Int(a[0].time.sec); }
Value TimeUnixMilli(const CallEnv&, Args& a, std::string*) {
  return Value::Int(a[0].time.sec * 1000 + a[0].time.nsec / 1000000);
}
Value TimeUnixNano(const CallEnv&, Args& a, std::string*) {
  return Value::Int(a[0].time.sec * 1000000000 + a[0].time.nsec);
}
Value TimeFormatMethod(const CallEnv&, Args& a, std::string*) { return Str(TimeFormat(a[0].time, a[1].s)); }
Value TimeStringMethod(const CallEnv&, Args& a, std::string*) { return Str(TimeString(a[0].time)); }
Value TimeUTC(const CallEnv&, Args& a, std::string*) { return a[0]; }

using P = ParamType;

const std::map<std::string, Function, std::less<>>& Functions() {
  static const auto* table = new std::map<std::string, Function, std::less<>>{
      // Go's built-ins.
      {"and", {{P::kReflect, P::kReflect}, true, FnAndOr}},
      {"or", {{P::kReflect, P::kReflect}, true, FnAndOr}},
      {"not", {{P::kReflect}, false, FnNot}},
      {"len", {{P::kReflect}, false, FnLen}},
      {"index", {{P::kReflect, P::kReflect}, true, FnIndex}},
      {"slice", {{P::kReflect, P::kReflect}, true, FnSlice}},
      {"print", {{P::kAny}, true, FnPrint}},
      {"printf", {{P::kString, P::kAny}, true, FnPrintf}},
      {"println", {{P::kAny}, true, FnPrintln}},
      {"html", {{P::kAny}, true, FnHtml}},
      {"js", {{P::kAny}, true, FnJs}},
      {"urlquery", {{P::kAny}, true, FnUrlquery}},
      {"eq", {{P::kReflect, P::kReflect}, true, FnEq}},
      {"ne", {{P::kReflect, P::kReflect}, false, FnNe}},
      {"lt", {{P::kReflect, P::kReflect}, false, FnLt}},
      {"le", {{P::kReflect, P::kReflect}, false, FnLe}},
      {"gt", {{P::kReflect, P::kReflect}, false, FnGt}},
      {"ge", {{P::kReflect, P::kReflect}, false, FnGe}},
      // Prometheus's.
      {"query", {{P::kString}, false, FnQuery}},
      {"first", {{P::kVector}, false, FnFirst}},
      {"label", {{P::kString, P::kSample}, false, FnLabel}},
      {"value", {{P::kSample}, false, FnValue}},
      {"strvalue", {{P::kSample}, false, FnStrvalue}},
      {"sortByLabel", {{P::kString, P::kVector}, false, FnSortByLabel}},
      {"reReplaceAll", {{P::kString, P::kString, P::kString}, false, FnReReplaceAll}},
      {"match", {{P::kString, P::kString}, false, FnMatch}},
      {"safeHtml", {{P::kString}, false, FnSafeHtml}},
      {"title", {{P::kString}, false, FnTitle}},
      {"toUpper", {{P::kString}, false, FnToUpper}},
      {"toLower", {{P::kString}, false, FnToLower}},
      {"graphLink", {{P::kString}, false, FnGraphLink}},
      {"tableLink", {{P::kString}, false, FnTableLink}},
      {"stripPort", {{P::kString}, false, FnStripPort}},
      {"stripDomain", {{P::kString}, false, FnStripDomain}},
      {"humanize", {{P::kAny}, false, FnHumanize}},
      {"humanize1024", {{P::kAny}, false, FnHumanize1024}},
      {"humanizeDuration", {{P::kAny}, false, FnHumanizeDuration}},
      {"humanizePercentage", {{P::kAny}, false, FnHumanizePercentage}},
      {"humanizeTimestamp", {{P::kAny}, false, FnHumanizeTimestamp}},
      {"toTime", {{P::kAny}, false, FnToTime}},
      {"parseDuration", {{P::kString}, false, FnParseDuration}},
      {"pathPrefix", {{}, false, FnPathPrefix}},
      {"externalURL", {{}, false, FnExternalURL}},
  };
  return *table;
}

}  // namespace

const Function* FindFunction(std::string_view name) {
  const auto& table = Functions();
  const auto it = table.find(name);
  return it == table.end() ? nullptr : &it->second;
}

bool IsKnownFunction(std::string_view name) { return FindFunction(name) != nullptr; }

const Function* FindTimeMethod(std::string_view name) {
  static const auto* methods = new std::map<std::string, Function, std::less<>>{
      {"Format", {{P::kString}, false, TimeFormatMethod}},
      {"String", {{}, false, TimeStringMethod}},
      {"Unix", {{}, false, TimeUnix}},
      {"UnixMilli", {{}, false, TimeUnixMilli}},
      {"UnixNano", {{}, false, TimeUnixNano}},
      {"UTC", {{}, false, TimeUTC}},
  };
  const auto it = methods->find(name);
  return it == methods->end() ? nullptr : &it->second;
}

}  // namespace vitals::rules::template_internal
