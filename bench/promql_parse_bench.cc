// Parsing cost of typical rule expressions. Run:
//   build/bench/promql_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Target: a typical alerting expression parses in well under 20 µs.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "rules/promql/parser.h"
#include "rules/promql/printer.h"

namespace vitals::promql {
namespace {

constexpr const char* kAlertRule =
    "sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m])) / "
    "sum by (job) (rate(http_requests_total[5m])) > 0.05";

constexpr const char* kSubqueryRule =
    "max_over_time(deriv(rate(node_cpu_seconds_total{mode!=\"idle\"}[1m])[30m:1m])[1h:]) "
    "> on (instance) group_left (nodename) node_uname_info * 0";

void ParseOrAbort(benchmark::State& state, const char* text) {
  for (auto _ : state) {
    auto expr = ParseExpr(text);
    if (!expr.ok()) std::abort();
    benchmark::DoNotOptimize(expr);
  }
}

void BM_ParseAlertRule(benchmark::State& state) { ParseOrAbort(state, kAlertRule); }
BENCHMARK(BM_ParseAlertRule);

void BM_ParseSubqueryRule(benchmark::State& state) { ParseOrAbort(state, kSubqueryRule); }
BENCHMARK(BM_ParseSubqueryRule);

void BM_PrintAlertRule(benchmark::State& state) {
  auto expr = ParseExpr(kAlertRule);
  if (!expr.ok()) std::abort();
  for (auto _ : state) {
    std::string text = Print(**expr);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_PrintAlertRule);

}  // namespace
}  // namespace vitals::promql
