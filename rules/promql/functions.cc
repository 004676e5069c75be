#include "rules/promql/functions.h"

#include <algorithm>

namespace vitals::promql {
namespace {

constexpr ValueType kScalar = ValueType::kScalar;
constexpr ValueType kVector = ValueType::kVector;
constexpr ValueType kMatrix = ValueType::kMatrix;
constexpr ValueType kString = ValueType::kString;

// As in Prometheus's promql/parser/functions.go (v2.42), sorted by name.
const std::vector<Function>& Table() {
  static const auto* const kTable = new std::vector<Function>{
      {"abs", {kVector}, 0, kVector},
      {"absent", {kVector}, 0, kVector},
      {"absent_over_time", {kMatrix}, 0, kVector},
      {"acos", {kVector}, 0, kVector},
      {"acosh", {kVector}, 0, kVector},
      {"asin", {kVector}, 0, kVector},
      {"asinh", {kVector}, 0, kVector},
      {"atan", {kVector}, 0, kVector},
      {"atanh", {kVector}, 0, kVector},
      {"avg_over_time", {kMatrix}, 0, kVector},
      {"ceil", {kVector}, 0, kVector},
      {"changes", {kMatrix}, 0, kVector},
      {"clamp", {kVector, kScalar, kScalar}, 0, kVector},
      {"clamp_max", {kVector, kScalar}, 0, kVector},
      {"clamp_min", {kVector, kScalar}, 0, kVector},
      {"cos", {kVector}, 0, kVector},
      {"cosh", {kVector}, 0, kVector},
      {"count_over_time", {kMatrix}, 0, kVector},
      {"day_of_month", {kVector}, 1, kVector},
      {"day_of_week", {kVector}, 1, kVector},
      {"day_of_year", {kVector}, 1, kVector},
      {"days_in_month", {kVector}, 1, kVector},
      {"deg", {kVector}, 0, kVector},
      {"delta", {kMatrix}, 0, kVector},
      {"deriv", {kMatrix}, 0, kVector},
      {"exp", {kVector}, 0, kVector},
      {"floor", {kVector}, 0, kVector},
      // The native-histogram functions: on float series they return nothing.
      {"histogram_count", {kVector}, 0, kVector},
      {"histogram_fraction", {kScalar, kScalar, kVector}, 0, kVector},
      {"histogram_quantile", {kScalar, kVector}, 0, kVector},
      {"histogram_sum", {kVector}, 0, kVector},
      {"holt_winters", {kMatrix, kScalar, kScalar}, 0, kVector},
      {"hour", {kVector}, 1, kVector},
      {"idelta", {kMatrix}, 0, kVector},
      {"increase", {kMatrix}, 0, kVector},
      {"irate", {kMatrix}, 0, kVector},
      {"label_join", {kVector, kString, kString, kString}, -1, kVector},
      {"label_replace", {kVector, kString, kString, kString, kString}, 0, kVector},
      {"last_over_time", {kMatrix}, 0, kVector},
      {"ln", {kVector}, 0, kVector},
      {"log10", {kVector}, 0, kVector},
      {"log2", {kVector}, 0, kVector},
      {"max_over_time", {kMatrix}, 0, kVector},
      {"min_over_time", {kMatrix}, 0, kVector},
      {"minute", {kVector}, 1, kVector},
      {"month", {kVector}, 1, kVector},
      {"pi", {}, 0, kScalar},
      {"predict_linear", {kMatrix, kScalar}, 0, kVector},
      {"present_over_time", {kMatrix}, 0, kVector},
      {"quantile_over_time", {kScalar, kMatrix}, 0, kVector},
      {"rad", {kVector}, 0, kVector},
      {"rate", {kMatrix}, 0, kVector},
      {"resets", {kMatrix}, 0, kVector},
      {"round", {kVector, kScalar}, 1, kVector},
      {"scalar", {kVector}, 0, kScalar},
      {"sgn", {kVector}, 0, kVector},
      {"sin", {kVector}, 0, kVector},
      {"sinh", {kVector}, 0, kVector},
      {"sort", {kVector}, 0, kVector},
      {"sort_desc", {kVector}, 0, kVector},
      {"sqrt", {kVector}, 0, kVector},
      {"stddev_over_time", {kMatrix}, 0, kVector},
      {"stdvar_over_time", {kMatrix}, 0, kVector},
      {"sum_over_time", {kMatrix}, 0, kVector},
      {"tan", {kVector}, 0, kVector},
      {"tanh", {kVector}, 0, kVector},
      {"time", {}, 0, kScalar},
      {"timestamp", {kVector}, 0, kVector},
      {"vector", {kScalar}, 0, kVector},
      {"year", {kVector}, 1, kVector},
  };
  return *kTable;
}

}  // namespace

const Function* FindFunction(std::string_view name) {
  const auto& table = Table();
  auto it = std::lower_bound(table.begin(), table.end(), name,
                             [](const Function& f, std::string_view n) { return f.name < n; });
  if (it == table.end() || it->name != name) return nullptr;
  return &*it;
}

std::span<const Function> AllFunctions() { return Table(); }

}  // namespace vitals::promql
