#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "rules/promql/ast.h"

namespace vitals::promql {

// A PromQL function as the parser knows it: its signature. The engine keeps
// its implementations in a table keyed by the same names.
struct Function {
  std::string_view name;
  // The types of the arguments. With `variadic` != 0 the last entry is the
  // type of the optional arguments.
  std::vector<ValueType> arg_types;
  // 0: exactly arg_types.size() arguments. N > 0: the last argument may be
  // repeated up to N times, or left out. -1: repeated any number of times.
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
};

// The function called `name` (case-sensitive), or nullptr.
const Function* FindFunction(std::string_view name);

// Every function of Prometheus 2.42, sorted by name.
std::span<const Function> AllFunctions();

}  // namespace vitals::promql
