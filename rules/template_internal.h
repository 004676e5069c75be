#pragma once

// Internal to rules/template.*: the parse tree, the dynamic values execution
// works on, and the Go library pieces (fmt, strconv, time) the functions need.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rules/template.h"

namespace vitals::rules::template_internal {

// ---------------------------------------------------------------------------
// Parse tree, as Go's text/template/parse nodes.

enum class NodeType {
  kText, kList, kAction, kIf, kRange, kWith, kBreak, kContinue,
  kPipe, kCommand, kIdentifier, kVariable, kDot, kNil, kField, kChain,
  kBool, kNumber, kString,
  kEnd, kElse,  // Only while parsing.
};

struct Node {
  NodeType type;
  int pos = 0;  // Byte offset in the template text.

  std::string text;                // kText; kIdentifier's name; kNumber's and kString's source.
  std::vector<std::string> ident;  // kVariable ($x.a.b), kField (.a.b), kChain's fields.
  std::vector<std::unique_ptr<Node>> nodes;  // kList's items, kCommand's args, kPipe's commands.
  std::vector<std::unique_ptr<Node>> decl;   // kPipe's variables.
  bool is_assign = false;                    // kPipe: `=` rather than `:=`.
  std::unique_ptr<Node> pipe;                // kAction, kIf, kRange, kWith; kChain's operand.
  std::unique_ptr<Node> list, else_list;     // kIf, kRange, kWith.

  bool bool_value = false;  // kBool.
  std::string str_value;    // kString, unquoted.
  // kNumber: which readings of the text are exact, as parse.NumberNode.
  bool is_int = false, is_uint = false, is_float = false;
  int64_t int_value = 0;
  uint64_t uint_value = 0;
  double float_value = 0;

  Node(NodeType t, int p) : type(t), pos(p) {}
};

// Go's Node.String(): the node printed back as template source.
std::string NodeString(const Node& node);

// Parses `text` into a kList. Errors are Go's, without the "template: " part's
// wrapping: the full `template: <name>:<line>: <what>`.
Result<std::unique_ptr<Node>> ParseTree(std::string_view name, std::string_view text);

// Whether `name` is a function templates may call (built-in or Prometheus).
bool IsKnownFunction(std::string_view name);

// ---------------------------------------------------------------------------
// Values during execution: the few Go types Prometheus templates meet.

using LabelMap = std::map<std::string, std::string, std::less<>>;

struct SampleValue {  // Prometheus's template.sample.
  std::shared_ptr<const LabelMap> labels;
  double value = 0;
};

struct TimeValue {  // A UTC time.Time.
  int64_t sec = 0;   // Unix seconds.
  int32_t nsec = 0;  // [0, 1e9).
};

// The data Prometheus passes to alert templates: AlertTemplateData's struct.
struct RootData {
  std::shared_ptr<const LabelMap> labels;
  std::shared_ptr<const LabelMap> external_labels;
  std::string external_url;
  double value = 0;
};

struct Value {
  enum class Kind {
    kInvalid,  // Go's invalid reflect.Value: "no value".
    kNil,      // A nil interface{}.
    kBool, kInt, kFloat, kString,
    kHtml,     // html/template.HTML, a string type.
    kLabels,   // map[string]string.
    kSample,   // *template.sample (null for a nil pointer).
    kVector,   // template.queryResult.
    kTime,     // *time.Time.
    kRoot,     // The data struct.
  };
  Kind kind = Kind::kInvalid;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<const LabelMap> labels;
  std::shared_ptr<const SampleValue> sample;
  std::shared_ptr<const std::vector<std::shared_ptr<const SampleValue>>> vector;
  TimeValue time;
  const RootData* root = nullptr;

  static Value Bool(bool v) { Value x; x.kind = Kind::kBool; x.b = v; return x; }
  static Value Int(int64_t v) { Value x; x.kind = Kind::kInt; x.i = v; return x; }
  static Value Float(double v) { Value x; x.kind = Kind::kFloat; x.f = v; return x; }
  static Value String(std::string v) { Value x; x.kind = Kind::kString; x.s = std::move(v); return x; }
  static Value Nil() { Value x; x.kind = Kind::kNil; return x; }

  bool valid() const { return kind != Kind::kInvalid; }
};

// Go's reflect type name, as messages print it ("float64", "*template.sample").
std::string TypeName(const Value& v);

// fmt.Sprint / Sprintln / Sprintf over values, with Go's formatting rules.
std::string GoSprint(const std::vector<Value>& args);
std::string GoSprintln(const std::vector<Value>& args);
std::string GoSprintf(std::string_view format, const std::vector<Value>& args);

// strconv.ParseFloat: the value, or Go's error text.
std::optional<double> GoParseFloat(std::string_view s, std::string* error);

// time.Time's String() and Format(layout), in UTC.
std::string TimeString(const TimeValue& t);
std::string TimeFormat(const TimeValue& t, std::string_view layout);

// Go's strconv.Quote and %.Nq (quote at most n runes).
std::string Quote(std::string_view s);

// ---------------------------------------------------------------------------
// Function calls.

// A function's parameter kind, as far as argument checking needs Go's types.
enum class ParamType {
  kString, kFloat, kInt, kBool,
  kAny,      // interface{}.
  kReflect,  // reflect.Value: built-ins that take anything.
  kSample,   // *template.sample.
  kVector,   // template.queryResult.
  kNone,     // No type: the operand of a chain, taken as it comes.
};

// The Go type name of a parameter type, for "expected %s" messages.
std::string ParamTypeName(ParamType t);

// What a call sees of the environment.
struct CallEnv {
  const TemplateData& data;
};

struct Function {
  std::vector<ParamType> params;  // For variadic functions the last is the element type.
  bool variadic = false;
  // Returns the value or the error text (wrapped as "error calling <name>: ").
  Value (*call)(const CallEnv& env, std::vector<Value>& args, std::string* error);
};

// The function table: Go's built-ins and Prometheus's; nullptr if unknown.
// "and" and "or" are in it for their signature; execution short-circuits them.
const Function* FindFunction(std::string_view name);

// The methods of *time.Time templates may call (Format, Unix, ...); the
// receiver arrives as args[0]. nullptr if unknown.
const Function* FindTimeMethod(std::string_view name);

}  // namespace vitals::rules::template_internal
