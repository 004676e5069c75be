#include "rules/template.h"

#include <string>
#include <utility>
#include <vector>

#include "rules/template_internal.h"

namespace vitals::rules {

using template_internal::Function;
using template_internal::LabelMap;
using template_internal::Node;
using template_internal::NodeType;
using template_internal::ParamType;
using template_internal::Value;
using Kind = template_internal::Value::Kind;

namespace {

// Thrown inside the executor only; Execute catches it and returns the message.
struct ExecError {
  std::string message;
};

// What a walk tells the enclosing range.
enum class Flow { kNormal, kBreak, kContinue };

std::shared_ptr<const LabelMap> ToMap(const Labels& labels) {
  auto map = std::make_shared<LabelMap>();
  for (const Label& l : labels) (*map)[l.name] = l.value;
  return map;
}

// Go's exec.state: walks the tree over the data, keeping Go's notion of the
// "current node" so that error messages point where Go's do.
class Executor {
 public:
  Executor(const std::string& name, const std::string& text, const TemplateData& data)
      : name_(name), text_(text), env_{data} {}

  std::string Run(const Node& root, const Value& dot) {
    vars_.push_back({"$", dot});
    Walk(dot, root);
    return std::move(out_);
  }

 private:
  using Args = std::vector<const Node*>;

  void At(const Node& n) { node_ = &n; }

  [[noreturn]] void Errorf(const std::string& what) {
    if (node_ == nullptr) throw ExecError{"template: " + name_ + ": " + what};
    const size_t pos = static_cast<size_t>(node_->pos);
    const std::string_view before = std::string_view(text_).substr(0, pos);
    const size_t nl = before.rfind('\n');
    const size_t col = nl == std::string_view::npos ? pos : pos - (nl + 1);
    int line = 1;
    for (char c : before) line += c == '\n';
    std::string context = template_internal::NodeString(*node_);
    // "%.20s...": at most twenty runes.
    size_t end = 0;
    int runes = 0;
    while (end < context.size() && runes < 20) {
      ++end;
      while (end < context.size() && (static_cast<unsigned char>(context[end]) & 0xC0) == 0x80) ++end;
      ++runes;
    }
    if (end < context.size()) context = context.substr(0, end) + "...";
    throw ExecError{"template: " + name_ + ":" + std::to_string(line) + ":" + std::to_string(col) +
                    ": executing " + template_internal::Quote(name_) + " at <" + context +
                    ">: " + what};
  }

  // --- Statements.

  Flow Walk(const Value& dot, const Node& n) {
    At(n);
    switch (n.type) {
      case NodeType::kAction: {
        Value val = EvalPipeline(dot, *n.pipe);
        if (n.pipe->decl.empty()) PrintValue(n, val);
        return Flow::kNormal;
      }
      case NodeType::kBreak: return Flow::kBreak;
      case NodeType::kContinue: return Flow::kContinue;
      case NodeType::kIf: case NodeType::kWith: return WalkIfOrWith(dot, n);
      case NodeType::kList:
        for (const auto& child : n.nodes) {
          if (Flow f = Walk(dot, *child); f != Flow::kNormal) return f;
        }
        return Flow::kNormal;
      case NodeType::kRange: return WalkRange(dot, n);
      case NodeType::kText: out_ += n.text; return Flow::kNormal;
      default: Errorf("unknown node: " + template_internal::NodeString(n));
    }
  }

  Flow WalkIfOrWith(const Value& dot, const Node& n) {
    const size_t mark = vars_.size();
    Value val = EvalPipeline(dot, *n.pipe);
    Flow flow = Flow::kNormal;
    if (IsTrue(val)) {
      flow = Walk(n.type == NodeType::kWith ? val : dot, *n.list);
    } else if (n.else_list) {
      flow = Walk(dot, *n.else_list);
    }
    vars_.resize(mark);
    return flow;
  }

  Flow WalkRange(const Value& dot, const Node& r) {
    At(r);
    const size_t mark = vars_.size();
    const Value val = EvalPipeline(dot, *r.pipe);
    const size_t body_mark = vars_.size();
    const auto& decl = r.pipe->decl;
    auto one_iteration = [&](const Value& index, const Value& elem) {
      if (!decl.empty()) {
        if (r.pipe->is_assign) {
          SetVar(decl[0]->ident[0], decl.size() > 1 ? index : elem);
        } else {
          vars_[vars_.size() - 1].second = elem;
        }
      }
      if (decl.size() > 1) {
        if (r.pipe->is_assign) {
          SetVar(decl[1]->ident[0], elem);
        } else {
          vars_[vars_.size() - 2].second = index;
        }
      }
      const Flow flow = Walk(elem, *r.list);
      vars_.resize(body_mark);
      return flow;
    };
    bool iterated = false;
    switch (val.kind) {
      case Kind::kVector:
        for (size_t i = 0; i < val.vector->size(); ++i) {
          iterated = true;
          Value elem;
          elem.kind = Kind::kSample;
          elem.sample = (*val.vector)[i];
          if (one_iteration(Value::Int(static_cast<int64_t>(i)), elem) == Flow::kBreak) break;
        }
        break;
      case Kind::kLabels:
        for (const auto& [k, v] : *val.labels) {
          iterated = true;
          if (one_iteration(Value::String(k), Value::String(v)) == Flow::kBreak) break;
        }
        break;
      case Kind::kInvalid: case Kind::kNil:
        break;
      default:
        Errorf("range can't iterate over " + template_internal::GoSprint({val}));
    }
    Flow flow = Flow::kNormal;
    if (!iterated && r.else_list) flow = Walk(dot, *r.else_list);
    vars_.resize(mark);
    return flow;
  }

  void PrintValue(const Node& n, const Value& v) {
    At(n);
    if (!v.valid()) {
      out_ += "<no value>";
    } else if (v.kind == Kind::kSample && v.sample) {
      // Fprint of the struct a pointer points to: no "&".
      out_ += template_internal::GoSprint({v}).substr(1);
    } else {
      out_ += template_internal::GoSprint({v});
    }
  }

  // --- Variables.

  Value VarValue(const std::string& name) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) return vars_[i].second;
    }
    Errorf("undefined variable: " + name);
  }

  void SetVar(const std::string& name, const Value& v) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) {
        vars_[i].second = v;
        return;
      }
    }
    Errorf("undefined variable: " + name);
  }

  // --- Expressions.

  Value EvalPipeline(const Value& dot, const Node& pipe) {
    At(pipe);
    Value value;
    bool has_final = false;
    for (const auto& cmd : pipe.nodes) {
      value = EvalCommand(dot, *cmd, has_final ? &value : nullptr);
      has_final = true;
    }
    for (const auto& var : pipe.decl) {
      if (pipe.is_assign) {
        SetVar(var->ident[0], value);
      } else {
        vars_.push_back({var->ident[0], value});
      }
    }
    return value;
  }

  static Args ArgsOf(const Node& cmd) {
    Args args;
    for (const auto& a : cmd.nodes) args.push_back(a.get());
    return args;
  }

  Value EvalCommand(const Value& dot, const Node& cmd, const Value* final) {
    const Node& first = *cmd.nodes[0];
    const Args args = ArgsOf(cmd);
    switch (first.type) {
      case NodeType::kField: return EvalFieldNode(dot, first, args, final);
      case NodeType::kChain: return EvalChainNode(dot, first, args, final);
      case NodeType::kIdentifier: return EvalFunction(dot, first, cmd, &args, final);
      case NodeType::kPipe:
        NotAFunction(args, final);
        return EvalPipeline(dot, first);
      case NodeType::kVariable: return EvalVariableNode(dot, first, args, final);
      default: break;
    }
    At(first);
    NotAFunction(args, final);
    switch (first.type) {
      case NodeType::kBool: return Value::Bool(first.bool_value);
      case NodeType::kDot: return dot;
      case NodeType::kNil: Errorf("nil is not a command");
      case NodeType::kNumber: return IdealConstant(first);
      case NodeType::kString: return Value::String(first.str_value);
      default: Errorf("can't evaluate command " + template_internal::Quote(template_internal::NodeString(first)));
    }
  }

  void NotAFunction(const Args& args, const Value* final) {
    if (args.size() > 1 || final != nullptr) {
      Errorf("can't give argument to non-function " + template_internal::NodeString(*args[0]));
    }
  }

  Value IdealConstant(const Node& n) {
    At(n);
    const std::string& t = n.text;
    const bool hex_int = t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') &&
                         t.find_first_of("pP") == std::string::npos;
    if (n.is_float && !hex_int && t[0] != '\'' && t.find_first_of(".eEpP") != std::string::npos) {
      return Value::Float(n.float_value);
    }
    if (n.is_int) return Value::Int(n.int_value);
    if (n.is_uint) Errorf(t + " overflows int");
    return Value();
  }

  Value EvalFunction(const Value& dot, const Node& ident, const Node& cmd, const Args* args,
                     const Value* final) {
    At(ident);
    const Function* fn = template_internal::FindFunction(ident.text);
    if (fn == nullptr) Errorf(template_internal::Quote(ident.text) + " is not a defined function");
    return EvalCall(dot, *fn, cmd, ident.text, args, final, nullptr);
  }

  // `args` includes the function's own node first (nullptr: no arguments at
  // all, as when a function is itself an argument). `receiver` is the value a
  // method is called on.
  Value EvalCall(const Value& dot, const Function& fn, const Node& node, const std::string& name,
                 const Args* args, const Value* final, const Value* receiver) {
    Args arg_nodes;
    if (args != nullptr) arg_nodes.assign(args->begin() + 1, args->end());
    const size_t num_in = arg_nodes.size() + (final != nullptr ? 1 : 0);
    size_t num_fixed = arg_nodes.size();
    if (fn.variadic) {
      num_fixed = fn.params.size() - 1;
      if (num_in < num_fixed) {
        Errorf("wrong number of args for " + name + ": want at least " +
               std::to_string(fn.params.size() - 1) + " got " + std::to_string(arg_nodes.size()));
      }
    } else if (num_in != fn.params.size()) {
      Errorf("wrong number of args for " + name + ": want " + std::to_string(fn.params.size()) +
             " got " + std::to_string(num_in));
    }
    if (receiver == nullptr && (name == "and" || name == "or")) {
      // Short-circuit: the first argument that decides, else the last.
      Value v;
      for (const Node* arg : arg_nodes) {
        v = EvalArg(dot, ParamType::kReflect, *arg);
        if (IsTrue(v) == (name == "or")) return v;
      }
      if (final != nullptr) v = ValidateType(*final, ParamType::kReflect);
      return v;
    }
    std::vector<Value> argv;
    if (receiver != nullptr) argv.push_back(*receiver);
    size_t i = 0;
    for (; i < num_fixed && i < arg_nodes.size(); ++i) {
      argv.push_back(EvalArg(dot, fn.params[i], *arg_nodes[i]));
    }
    if (fn.variadic) {
      for (; i < arg_nodes.size(); ++i) argv.push_back(EvalArg(dot, fn.params.back(), *arg_nodes[i]));
    }
    if (final != nullptr) {
      ParamType t = fn.params.back();
      if (fn.variadic && num_in - 1 < num_fixed) t = fn.params[num_in - 1];
      argv.push_back(ValidateType(*final, t));
    }
    std::string error;
    Value v = fn.call(env_, argv, &error);
    if (!error.empty()) {
      At(node);
      Errorf("error calling " + name + ": " + error);
    }
    return v;
  }

  // reflect.Value parameters take a missing value as the zero reflect.Value.
  static bool CanBeNil(ParamType t) {
    return t == ParamType::kAny || t == ParamType::kSample || t == ParamType::kVector ||
           t == ParamType::kReflect;
  }

  static Value Zero(ParamType t) {
    Value v;
    switch (t) {
      case ParamType::kAny: return Value::Nil();
      case ParamType::kSample: v.kind = Kind::kSample; return v;
      case ParamType::kVector:
        v.kind = Kind::kVector;
        v.vector = std::make_shared<std::vector<std::shared_ptr<const template_internal::SampleValue>>>();
        return v;
      default: return v;
    }
  }

  static bool Assignable(const Value& v, ParamType t) {
    switch (t) {
      case ParamType::kString: return v.kind == Kind::kString;
      case ParamType::kFloat: return v.kind == Kind::kFloat;
      case ParamType::kInt: return v.kind == Kind::kInt;
      case ParamType::kBool: return v.kind == Kind::kBool;
      case ParamType::kSample: return v.kind == Kind::kSample;
      case ParamType::kVector: return v.kind == Kind::kVector;
      case ParamType::kAny: case ParamType::kReflect: case ParamType::kNone: return true;
    }
    return false;
  }

  Value ValidateType(const Value& v, ParamType t) {
    if (!v.valid()) {
      if (t == ParamType::kNone) return v;
      if (CanBeNil(t)) return Zero(t);
      Errorf("invalid value; expected " + template_internal::ParamTypeName(t));
    }
    if (!Assignable(v, t)) {
      Errorf("wrong type for value; expected " + template_internal::ParamTypeName(t) + "; got " +
             template_internal::TypeName(v));
    }
    return v;
  }

  Value EvalArg(const Value& dot, ParamType t, const Node& n) {
    At(n);
    switch (n.type) {
      case NodeType::kDot: return ValidateType(dot, t);
      case NodeType::kNil:
        if (CanBeNil(t)) return Zero(t);
        Errorf("cannot assign nil to " + template_internal::ParamTypeName(t));
      case NodeType::kField: return ValidateType(EvalFieldNode(dot, n, {&n}, nullptr), t);
      case NodeType::kVariable: return ValidateType(EvalVariableNode(dot, n, {}, nullptr), t);
      case NodeType::kPipe: return ValidateType(EvalPipeline(dot, n), t);
      case NodeType::kIdentifier: return ValidateType(EvalFunction(dot, n, n, nullptr, nullptr), t);
      case NodeType::kChain: return ValidateType(EvalChainNode(dot, n, {}, nullptr), t);
      default: break;
    }
    const std::string found = template_internal::NodeString(n);
    switch (t) {
      case ParamType::kBool:
        if (n.type == NodeType::kBool) return Value::Bool(n.bool_value);
        Errorf("expected bool; found " + found);
      case ParamType::kFloat:
        if (n.type == NodeType::kNumber && n.is_float) return Value::Float(n.float_value);
        Errorf("expected float; found " + found);
      case ParamType::kInt:
        if (n.type == NodeType::kNumber && n.is_int) return Value::Int(n.int_value);
        Errorf("expected integer; found " + found);
      case ParamType::kString:
        if (n.type == NodeType::kString) return Value::String(n.str_value);
        Errorf("expected string; found " + found);
      case ParamType::kAny: case ParamType::kReflect: return EvalEmptyInterface(dot, n);
      default:
        Errorf("can't handle " + found + " for arg of type " + template_internal::ParamTypeName(t));
    }
  }

  Value EvalEmptyInterface(const Value& dot, const Node& n) {
    At(n);
    switch (n.type) {
      case NodeType::kBool: return Value::Bool(n.bool_value);
      case NodeType::kNumber: return IdealConstant(n);
      case NodeType::kString: return Value::String(n.str_value);
      default:
        Errorf("can't handle assignment of " + template_internal::NodeString(n) +
               " to empty interface argument");
    }
  }

  Value EvalFieldNode(const Value& dot, const Node& field, const Args& args, const Value* final) {
    At(field);
    return EvalFieldChain(dot, dot, field, field.ident, 0, args, final);
  }

  Value EvalChainNode(const Value& dot, const Node& chain, const Args& args, const Value* final) {
    At(chain);
    if (chain.pipe->type == NodeType::kNil) {
      Errorf("indirection through explicit nil in " + template_internal::NodeString(chain));
    }
    const Value pipe = EvalArg(dot, ParamType::kNone, *chain.pipe);
    return EvalFieldChain(dot, pipe, chain, chain.ident, 0, args, final);
  }

  Value EvalVariableNode(const Value& dot, const Node& var, const Args& args, const Value* final) {
    At(var);
    const Value value = VarValue(var.ident[0]);
    if (var.ident.size() == 1) {
      if (!args.empty()) NotAFunction(args, final);
      return value;
    }
    return EvalFieldChain(dot, value, var, var.ident, 1, args, final);
  }

  Value EvalFieldChain(const Value& dot, Value receiver, const Node& node,
                       const std::vector<std::string>& ident, size_t from, const Args& args,
                       const Value* final) {
    for (size_t i = from; i + 1 < ident.size(); ++i) {
      receiver = EvalField(dot, ident[i], node, {}, nullptr, receiver);
    }
    return EvalField(dot, ident.back(), node, args, final, receiver);
  }

  Value EvalField(const Value& dot, const std::string& name, const Node& node, const Args& args,
                  const Value* final, const Value& receiver) {
    if (!receiver.valid()) return Value();  // missingkey=zero still yields "no value" here.
    if (receiver.kind == Kind::kNil) Errorf("nil pointer evaluating interface {}." + name);
    if (receiver.kind == Kind::kTime) {
      if (const Function* method = template_internal::FindTimeMethod(name)) {
        return EvalCall(dot, *method, node, name, &args, final, &receiver);
      }
    }
    const bool has_args = args.size() > 1 || final != nullptr;
    switch (receiver.kind) {
      case Kind::kRoot: {
        const template_internal::RootData& root = *receiver.root;
        Value v;
        if (name == "Labels" || name == "ExternalLabels") {
          v.kind = Kind::kLabels;
          v.labels = name == "Labels" ? root.labels : root.external_labels;
        } else if (name == "ExternalURL") {
          v = Value::String(root.external_url);
        } else if (name == "Value") {
          v = Value::Float(root.value);
        } else {
          break;
        }
        if (has_args) Errorf(name + " has arguments but cannot be invoked as function");
        return v;
      }
      case Kind::kLabels: {
        if (has_args) Errorf(name + " is not a method but has arguments");
        const auto it = receiver.labels->find(name);
        return Value::String(it == receiver.labels->end() ? "" : it->second);
      }
      case Kind::kSample: {
        if (name != "Labels" && name != "Value") break;
        if (!receiver.sample) Errorf("nil pointer evaluating *template.sample." + name);
        if (has_args) Errorf(name + " has arguments but cannot be invoked as function");
        if (name == "Value") return Value::Float(receiver.sample->value);
        Value v;
        v.kind = Kind::kLabels;
        v.labels = receiver.sample->labels;
        return v;
      }
      default:
        break;
    }
    Errorf("can't evaluate field " + name + " in type " + template_internal::TypeName(receiver));
  }

  // Go's isTrue: empty collections, zero numbers, nil pointers are false.
  static bool IsTrue(const Value& v) {
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

  const std::string& name_;
  const std::string& text_;
  const template_internal::CallEnv env_;
  const Node* node_ = nullptr;
  std::vector<std::pair<std::string, Value>> vars_;
  std::string out_;
};

}  // namespace

Result<Template> Template::Parse(std::string_view name, std::string_view text) {
  auto tree = template_internal::ParseTree(name, text);
  if (!tree.ok()) return tree.status();
  return Template(std::string(name), std::shared_ptr<const Node>(std::move(tree).value()),
                  std::string(text));
}

Result<Template> Template::ParseAlert(std::string_view alert_name, std::string_view text) {
  std::string full(kAlertTemplatePrefix);
  full += text;
  return Parse("__alert_" + std::string(alert_name), full);
}

Result<std::string> Template::Execute(const TemplateData& data) const {
  template_internal::RootData root{ToMap(data.labels), ToMap(data.external_labels),
                                   data.external_url, data.value};
  Value dot;
  dot.kind = Kind::kRoot;
  dot.root = &root;
  try {
    return Executor(name_, text_, data).Run(*root_, dot);
  } catch (const ExecError& e) {
    return Status::FailedPrecondition(e.message);
  }
}

std::string ExpandAlertTemplate(std::string_view alert_name, std::string_view text,
                                const TemplateData& data) {
  const std::string name = "__alert_" + std::string(alert_name);
  Result<Template> tmpl = Template::ParseAlert(alert_name, text);
  if (!tmpl.ok()) {
    return "<error expanding template: error parsing template " + name + ": " +
           tmpl.status().message() + ">";
  }
  Result<std::string> out = tmpl->Execute(data);
  if (!out.ok()) {
    return "<error expanding template: error executing template " + name + ": " +
           out.status().message() + ">";
  }
  return std::move(out).value();
}

Status CheckAlertTemplate(std::string_view alert_name, std::string_view text) {
  Result<Template> tmpl = Template::ParseAlert(alert_name, text);
  return tmpl.ok() ? Status::Ok() : tmpl.status();
}

}  // namespace vitals::rules
