#pragma once

// Internal to the parser: the type checker that runs on a syntactically valid
// tree, as Prometheus's checkAST does.

#include <optional>
#include <string>
#include <string_view>

#include "rules/promql/ast.h"

namespace vitals::promql {

struct ParseError {
  Pos pos = 0;
  std::string message;
};

// The first type error in `expr` in Prometheus's order, if any. Also fills in
// what Prometheus decides while checking: set operators become many-to-many,
// and vector matching is dropped unless both sides are instant vectors.
// `input` is the query text, used to place errors on the operator.
std::optional<ParseError> CheckTypes(Expr& expr, std::string_view input);

}  // namespace vitals::promql
