#include "rules/rule_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>

#include "common/units.h"
#include "rules/promql/parser.h"
#include "rules/template.h"

namespace vitals::rules {

size_t RuleFile::RuleCount() const {
  size_t n = 0;
  for (const RuleGroupDesc& g : groups) n += g.rules.size();
  return n;
}

namespace {

// A node's position as yaml.v3 gives it: 1-based; 0:0 for an absent node,
// which Prometheus prints as is ("0:0: ... field 'expr' must be set").
struct Pos {
  int line = 0;
  int column = 0;
};

Pos PosOf(const YAML::Node& node) {
  if (!node.IsDefined() || node.Mark().is_null()) return {};
  return {node.Mark().line + 1, node.Mark().column + 1};
}

std::string Prefix(Pos pos) {
  return std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": ";
}

// The YAML 1.2 core schema tag yaml.v3 resolves a node to, for its
// "cannot unmarshal !!int `5` into ..." messages.
std::string ShortTag(const YAML::Node& node) {
  if (node.IsSequence()) return "!!seq";
  if (node.IsMap()) return "!!map";
  if (node.IsNull()) return "!!null";
  const std::string& tag = node.Tag();
  if (tag == "!") return "!!str";  // Quoted.
  if (tag.rfind("tag:yaml.org,2002:", 0) == 0) return "!!" + tag.substr(18);
  const std::string& s = node.Scalar();
  static const std::set<std::string> kBools = {"true", "True", "TRUE", "false", "False", "FALSE"};
  if (kBools.contains(s)) return "!!bool";
  static const std::regex kInt("[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)");
  if (std::regex_match(s, kInt)) return "!!int";
  static const std::regex kFloat(
      R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  if (std::regex_match(s, kFloat)) return "!!float";
  return "!!str";
}

// yaml.v3's "line N: cannot unmarshal !!int `5` into T"; `tag` overrides
// the node's own.
std::string CannotUnmarshal(const YAML::Node& node, const std::string& into, std::string tag = "") {
  if (tag.empty()) tag = ShortTag(node);
  std::string value;
  if (tag != "!!seq" && tag != "!!map") {
    std::string v = node.IsScalar() ? node.Scalar() : std::string();
    value = v.size() > 10 ? " `" + v.substr(0, 7) + "...`" : " `" + v + "`";
  }
  return "line " + std::to_string(PosOf(node).line) + ": cannot unmarshal " + tag + value +
         " into " + into;
}

// Mirrors yaml.v3's strict Decode into Prometheus 2.42's rulefmt.RuleGroups:
// type errors are collected in document order ("line N: ..."), a bad duration
// ends decoding with its error alone. Also keeps the nodes and positions that
// validation reports.
class Decoder {
 public:
  struct Rule {
    RuleDesc desc;
    Pos record_pos, alert_pos, expr_pos;
    std::vector<Pos> label_pos, annotation_pos;  // Parallel to desc.labels / annotations.
  };
  struct Group {
    RuleGroupDesc desc;
    Pos pos;            // The group's mapping, where Prometheus points group errors.
    int name_line = 0;  // 1-based line of the `name` key, 0 if absent.
    std::vector<Rule> rules;
  };

  std::vector<Group> groups;
  std::vector<std::string> type_errors;
  std::optional<std::string> fatal;  // A duration error, with its position.

  void DecodeTop(const YAML::Node& root) {
    if (root.IsNull() || !root.IsDefined()) return;
    if (!root.IsMap()) return TypeError(root, "rulefmt.RuleGroups");
    ForEachField(root, "rulefmt.RuleGroups", [&](const std::string& key, const YAML::Node& v) {
      if (key != "groups") return false;
      DecodeGroups(v);
      return true;
    });
  }

 private:
  // The mapping's (key, value) pairs as yaml.v3 sees them: merge keys (<<)
  // expanded, keys written in the mapping winning over merged ones.
  static std::vector<std::pair<YAML::Node, YAML::Node>> Entries(const YAML::Node& map) {
    std::vector<std::pair<YAML::Node, YAML::Node>> out;
    std::set<std::string> explicit_keys;
    for (const auto& kv : map) {
      if (kv.first.Scalar() != "<<") explicit_keys.insert(kv.first.Scalar());
    }
    std::set<std::string> merged;
    for (const auto& kv : map) {
      if (kv.first.Scalar() != "<<") {
        out.emplace_back(kv.first, kv.second);
        continue;
      }
      std::vector<YAML::Node> sources;
      if (kv.second.IsMap()) sources.push_back(kv.second);
      if (kv.second.IsSequence()) {
        for (const auto& s : kv.second) sources.push_back(s);
      }
      for (const YAML::Node& source : sources) {
        if (!source.IsMap()) continue;
        for (const auto& m : Entries(source)) {
          const std::string& k = m.first.Scalar();
          if (!explicit_keys.contains(k) && merged.insert(k).second) out.push_back(m);
        }
      }
    }
    return out;
  }

  // False (after reporting) when a key appears twice: yaml.v3 then decodes
  // nothing of the mapping.
  bool UniqueKeys(const YAML::Node& map) {
    std::map<std::string, int> first_line;
    bool ok = true;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar() || kv.first.Scalar() == "<<") continue;
      auto [it, inserted] = first_line.emplace(kv.first.Scalar(), PosOf(kv.first).line);
      if (!inserted) {
        type_errors.push_back("line " + std::to_string(PosOf(kv.first).line) + ": mapping key \"" +
                              kv.first.Scalar() + "\" already defined at line " +
                              std::to_string(it->second));
        ok = false;
      }
    }
    return ok;
  }

  // Calls `field(key, value)` for each entry of a struct-like mapping; a key
  // it does not take is an unknown field of `type`.
  template <typename Field>
  void ForEachField(const YAML::Node& map, const char* type, Field field) {
    if (!UniqueKeys(map)) return;
    for (const auto& [key, value] : Entries(map)) {
      if (fatal) return;
      if (!field(key.Scalar(), value)) {
        type_errors.push_back("line " + std::to_string(PosOf(key).line) + ": field " +
                              key.Scalar() + " not found in type " + type);
      }
    }
  }

  void TypeError(const YAML::Node& node, const std::string& into, std::string tag = "") {
    type_errors.push_back(CannotUnmarshal(node, into, std::move(tag)));
  }

  void String(const YAML::Node& node, std::string* out) {
    if (node.IsNull()) return;
    if (!node.IsScalar()) return TypeError(node, "string");
    *out = node.Scalar();
  }

  // A yaml.Node field (record, alert, expr): any node; its scalar text.
  static void NodeText(const YAML::Node& node, std::string* out, Pos* pos) {
    *pos = PosOf(node);
    if (node.IsScalar()) *out = node.Scalar();
  }

  void Int(const YAML::Node& node, int64_t* out) {
    if (node.IsNull()) return;
    std::string tag = ShortTag(node);
    std::string text = node.IsScalar() ? node.Scalar() : "";
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    if (tag == "!!int") {
      errno = 0;
      char* end = nullptr;
      bool negative = !text.empty() && text[0] == '-';
      std::string digits = text.substr(!text.empty() && (text[0] == '-' || text[0] == '+'));
      int base = 10;
      if (digits.size() > 1 && digits[0] == '0') {
        char p = digits[1] | 0x20;
        base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 8;
        digits = digits.substr(p == 'x' || p == 'o' || p == 'b' ? 2 : 1);
      }
      unsigned long long v = std::strtoull(digits.c_str(), &end, base);
      const unsigned long long limit =
          static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
      if (errno == 0 && end != nullptr && *end == '\0' && v <= limit) {
        *out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
        return;
      }
      // Beyond uint64, yaml.v3 resolves a plain integer to a float.
      if (errno == ERANGE && !negative && base == 10) tag = "!!float";
    } else if (tag == "!!float") {
      // yaml.v3 truncates a float that fits.
      double d = std::strtod(text.c_str(), nullptr);
      if (std::isfinite(d) && d <= 9.2233720368547748e18 && d >= -9.2233720368547758e18) {
        *out = static_cast<int64_t>(d);
        return;
      }
    }
    TypeError(node, "int", tag);
  }

  // model.Duration: read as a string, then ParseDuration; its error ends
  // decoding, as Prometheus's UnmarshalYAML error does.
  void Duration(const YAML::Node& node, std::chrono::milliseconds* out) {
    if (node.IsNull()) return;
    if (!node.IsScalar()) return TypeError(node, "string");
    const std::string& text = node.Scalar();
    if (text.empty()) {
      fatal = Prefix(PosOf(node)) + "empty duration string";
      return;
    }
    auto d = ParseDuration(text);
    if (!d.ok()) {
      fatal = Prefix(PosOf(node)) + "not a valid duration string: \"" + text + "\"";
      return;
    }
    *out = *d;
  }

  void StringMap(const YAML::Node& node, std::vector<std::pair<std::string, std::string>>* out,
                 std::vector<Pos>* positions) {
    if (node.IsNull()) return;
    if (!node.IsMap()) return TypeError(node, "map[string]string");
    if (!UniqueKeys(node)) return;
    for (const auto& [key, value] : Entries(node)) {
      std::string k, v;
      String(key, &k);
      String(value, &v);
      out->emplace_back(std::move(k), std::move(v));
      positions->push_back(PosOf(key));
    }
  }

  void DecodeGroups(const YAML::Node& node) {
    if (node.IsNull()) return;
    if (!node.IsSequence()) {
      TypeError(node, "[]rulefmt.RuleGroup");
      return;
    }
    for (const auto& item : node) {
      if (fatal) return;
      if (item.IsNull()) continue;  // yaml.v3 drops null items.
      if (!item.IsMap()) {
        TypeError(item, "rulefmt.RuleGroup");
        continue;
      }
      Group g;
      g.pos = PosOf(item);
      g.desc.line = g.pos.line;
      ForEachField(item, "rulefmt.RuleGroup", [&](const std::string& key, const YAML::Node& v) {
        if (key == "name") {
          g.name_line = PosOf(v).line;
          String(v, &g.desc.name);
        } else if (key == "interval") {
          Duration(v, &g.desc.interval);
        } else if (key == "limit") {
          int64_t limit = 0;
          Int(v, &limit);
          g.desc.limit = limit > 0 ? static_cast<uint64_t>(limit) : 0;
        } else if (key == "rules") {
          DecodeRules(v, &g.rules);
        } else {
          return false;
        }
        return true;
      });
      groups.push_back(std::move(g));
    }
  }

  void DecodeRules(const YAML::Node& node, std::vector<Rule>* rules) {
    if (node.IsNull()) return;
    if (!node.IsSequence()) return TypeError(node, "[]rulefmt.RuleNode");
    for (const auto& item : node) {
      if (fatal) return;
      if (item.IsNull()) continue;
      if (!item.IsMap()) {
        TypeError(item, "rulefmt.RuleNode");
        continue;
      }
      Rule r;
      r.desc.line = PosOf(item).line;
      ForEachField(item, "rulefmt.RuleNode", [&](const std::string& key, const YAML::Node& v) {
        if (key == "record") {
          NodeText(v, &r.desc.record, &r.record_pos);
        } else if (key == "alert") {
          NodeText(v, &r.desc.alert, &r.alert_pos);
        } else if (key == "expr") {
          NodeText(v, &r.desc.expr, &r.expr_pos);
        } else if (key == "for") {
          Duration(v, &r.desc.for_duration);
        } else if (key == "keep_firing_for") {
          Duration(v, &r.desc.keep_firing_for);
        } else if (key == "labels") {
          StringMap(v, &r.desc.labels, &r.label_pos);
        } else if (key == "annotations") {
          StringMap(v, &r.desc.annotations, &r.annotation_pos);
        } else {
          return false;
        }
        return true;
      });
      rules->push_back(std::move(r));
    }
  }
};

// The template check Prometheus's rulefmt makes on alert labels and
// annotations (Go text/template parsing, named "__alert_<rule>").
std::optional<std::string> CheckTemplate(const std::string& rule_name, const std::string& text) {
  Status status = CheckAlertTemplate(rule_name, text);
  if (status.ok()) return std::nullopt;
  return status.message();
}

// Prometheus's RuleNode.Validate, in its order; appends "pos: message"
// without the group/rule context.
void ValidateRule(Decoder::Rule& r, std::vector<std::pair<std::string, std::string>>* errors) {
  // (position prefix, message)
  const RuleDesc& d = r.desc;
  if (!d.record.empty() && !d.alert.empty()) {
    errors->emplace_back(Prefix(r.record_pos) + Prefix(r.alert_pos),
                         "only one of 'record' and 'alert' must be set");
  }
  if (d.record.empty() && d.alert.empty()) {
    errors->emplace_back(Prefix(r.record_pos), "one of 'record' or 'alert' must be set");
  }
  if (d.expr.empty()) {
    errors->emplace_back(Prefix(r.expr_pos), "field 'expr' must be set in rule");
  } else {
    auto parsed = promql::ParseExpr(d.expr);
    if (parsed.ok()) {
      r.desc.parsed = std::move(parsed).value();
    } else {
      errors->emplace_back(Prefix(r.expr_pos),
                           "could not parse expression: " + parsed.status().message());
    }
  }
  if (!d.record.empty()) {
    if (!d.annotations.empty()) {
      errors->emplace_back(Prefix(r.record_pos), "invalid field 'annotations' in recording rule");
    }
    if (d.for_duration.count() != 0) {
      errors->emplace_back(Prefix(r.record_pos), "invalid field 'for' in recording rule");
    }
    if (d.keep_firing_for.count() != 0) {
      errors->emplace_back(Prefix(r.record_pos),
                           "invalid field 'keep_firing_for' in recording rule");
    }
    if (!IsValidMetricName(d.record)) {
      errors->emplace_back(Prefix(r.record_pos), "invalid recording rule name: " + d.record);
    }
  }
  // Prometheus gives these no position; Vitals adds the key's.
  for (size_t i = 0; i < d.labels.size(); ++i) {
    const auto& [name, value] = d.labels[i];
    if (!IsValidLabelName(name) || name == kMetricNameLabel) {
      errors->emplace_back(Prefix(r.label_pos[i]), "invalid label name: " + name);
    }
    if (!IsValidUtf8(value)) {
      errors->emplace_back(Prefix(r.label_pos[i]), "invalid label value: " + value);
    }
  }
  for (size_t i = 0; i < d.annotations.size(); ++i) {
    if (!IsValidLabelName(d.annotations[i].first)) {
      errors->emplace_back(Prefix(r.annotation_pos[i]),
                           "invalid annotation name: " + d.annotations[i].first);
    }
  }
  if (d.alert.empty()) return;
  for (size_t i = 0; i < d.labels.size(); ++i) {
    if (auto err = CheckTemplate(d.alert, d.labels[i].second)) {
      errors->emplace_back(Prefix(r.label_pos[i]), "label \"" + d.labels[i].first + "\": " + *err);
    }
  }
  for (size_t i = 0; i < d.annotations.size(); ++i) {
    if (auto err = CheckTemplate(d.alert, d.annotations[i].second)) {
      errors->emplace_back(Prefix(r.annotation_pos[i]),
                           "annotation \"" + d.annotations[i].first + "\": " + *err);
    }
  }
}

// Go's %q for the plain names rule files hold.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Vitals' group directives: comments, so promtool still accepts the file.
//   # vitals: eval=on_ingest        (on the line(s) right above the group)
//   - name: g  # vitals: eval=on_ingest
// Returns an error message, or nullopt.
std::optional<std::string> ApplyDirectives(const std::vector<std::string>& lines,
                                           const Decoder::Group& g, RuleGroupDesc* desc) {
  static const std::regex kFullLine(R"(^\s*#\s*vitals:(.*)$)");
  static const std::regex kTrailing(R"(\s#\s*vitals:(.*)$)");
  struct Directive {
    Pos pos;  // Of the '#'.
    std::string settings;
  };
  std::vector<Directive> found;
  std::smatch m;
  for (int l = g.pos.line - 1; l >= 1 && l <= static_cast<int>(lines.size()); --l) {
    const std::string& text = lines[l - 1];
    size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos || text[first] != '#') break;
    if (std::regex_match(text, m, kFullLine)) {
      found.push_back({{l, static_cast<int>(first) + 1}, m[1].str()});
    }
  }
  std::set<int> own_lines = {g.pos.line};
  if (g.name_line > 0) own_lines.insert(g.name_line);
  for (int l : own_lines) {
    if (l < 1 || l > static_cast<int>(lines.size())) continue;
    if (std::regex_search(lines[l - 1], m, kTrailing)) {
      found.push_back({{l, static_cast<int>(m.position(0)) + 2}, m[1].str()});
    }
  }
  static const std::regex kSetting(R"(\s*([A-Za-z_]+)\s*=\s*([A-Za-z_]+)\s*)");
  for (const Directive& directive : found) {
    std::stringstream in(directive.settings);
    std::string item;
    while (std::getline(in, item, ',')) {
      std::string where = Prefix(directive.pos) + "group " + Quote(desc->name) + ": ";
      if (!std::regex_match(item, m, kSetting)) {
        return where + "vitals directive: expected key=value, got \"" + item + "\"";
      }
      if (m[1] != "eval") return where + "vitals directive: unknown setting \"" + m[1].str() + "\"";
      if (m[2] == "on_ingest") {
        desc->trigger = EvalTrigger::kOnIngest;
      } else if (m[2] == "interval") {
        desc->trigger = EvalTrigger::kInterval;
      } else {
        return where + "vitals directive: eval must be on_ingest or interval, not \"" + m[2].str() +
               "\"";
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

Status Errors(const std::string& path, const std::vector<std::string>& errors) {
  std::string msg;
  for (const std::string& e : errors) {
    if (!msg.empty()) msg += '\n';
    msg += path + ": " + e;
  }
  return Status::InvalidArgument(std::move(msg));
}

}  // namespace

Result<RuleFile> ParseRuleFile(const std::string& path, const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Errors(path, {"yaml: line " + std::to_string(e.mark.line + 1) + ": " + e.msg});
  }

  Decoder decoder;
  decoder.DecodeTop(root);
  if (decoder.fatal) return Errors(path, {*decoder.fatal});
  std::vector<std::string> errors;
  if (!decoder.type_errors.empty()) {
    std::string list = "yaml: unmarshal errors:";
    for (const std::string& e : decoder.type_errors) list += "\n  " + e;
    errors.push_back(std::move(list));
  }
  // Prometheus decodes the file a second time, for positions, into
  // `groups: []yaml.Node`; that reports a wrong top-level shape again.
  const YAML::Node& const_root = root;  // operator[] on a non-const node would add the key.
  const YAML::Node groups = root.IsMap() ? const_root["groups"] : YAML::Node();
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    errors.push_back("yaml: unmarshal errors:\n  " + CannotUnmarshal(root, "rulefmt.ruleGroups"));
  } else if (groups.IsDefined() && !groups.IsNull() && !groups.IsSequence()) {
    errors.push_back("yaml: unmarshal errors:\n  " + CannotUnmarshal(groups, "[]yaml.Node"));
  }
  if (!errors.empty()) return Errors(path, errors);

  const std::vector<std::string> lines = SplitLines(yaml_text);
  RuleFile file;
  file.path = path;
  std::set<std::string> names;
  for (Decoder::Group& g : decoder.groups) {
    const std::string group_pos = Prefix(g.pos);
    if (g.desc.name.empty()) errors.push_back(group_pos + "Groupname must not be empty");
    if (!names.insert(g.desc.name).second) {
      errors.push_back(group_pos + "groupname: \"" + g.desc.name +
                       "\" is repeated in the same file");
    }
    for (size_t i = 0; i < g.rules.size(); ++i) {
      std::vector<std::pair<std::string, std::string>> rule_errors;
      ValidateRule(g.rules[i], &rule_errors);
      for (const auto& [pos, message] : rule_errors) {
        errors.push_back(pos + "group " + Quote(g.desc.name) + ", rule " + std::to_string(i + 1) +
                         ", " + Quote(g.rules[i].desc.name()) + ": " + message);
      }
    }
    if (auto err = ApplyDirectives(lines, g, &g.desc)) errors.push_back(*err);
    g.desc.file = path;
    for (Decoder::Rule& r : g.rules) g.desc.rules.push_back(std::move(r.desc));
    file.groups.push_back(std::move(g.desc));
  }
  if (!errors.empty()) return Errors(path, errors);
  return file;
}

Result<RuleFile> LoadRuleFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::string reason = std::strerror(errno);
    std::string msg = path + ": open " + path + ": " + reason;
    return errno == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": read " + path + ": " + std::strerror(errno));
  return ParseRuleFile(path, buffer.str());
}

std::vector<DuplicateRule> FindDuplicateRules(const RuleFile& file) {
  std::vector<DuplicateRule> rules;
  for (const RuleGroupDesc& g : file.groups) {
    for (const RuleDesc& r : g.rules) {
      DuplicateRule d{r.name(), {}};
      for (const auto& [name, value] : r.labels) d.labels.push_back(Label{name, value});
      std::sort(d.labels.begin(), d.labels.end());
      rules.push_back(std::move(d));
    }
  }
  auto less = [](const DuplicateRule& a, const DuplicateRule& b) {
    return std::tie(a.name, a.labels) < std::tie(b.name, b.labels);
  };
  auto same = [](const DuplicateRule& a, const DuplicateRule& b) {
    return a.name == b.name && a.labels == b.labels;
  };
  std::stable_sort(rules.begin(), rules.end(), less);
  std::vector<DuplicateRule> duplicates;
  for (size_t i = 1; i < rules.size(); ++i) {
    if (same(rules[i - 1], rules[i]) &&
        (duplicates.empty() || !same(duplicates.back(), rules[i]))) {
      duplicates.push_back(rules[i]);
    }
  }
  return duplicates;
}

std::string FormatDuplicateRules(const std::vector<DuplicateRule>& duplicates) {
  std::string out =
      "lint error " + std::to_string(duplicates.size()) + " duplicate rule(s) found.\n";
  for (const DuplicateRule& d : duplicates) {
    out += "Metric: " + d.name + "\nLabel(s):\n";
    for (const Label& l : d.labels) out += "\t" + l.name + ": " + l.value + "\n";
  }
  return out + "Might cause inconsistency while recording expressions";
}

}  // namespace vitals::rules
