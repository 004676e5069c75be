// promql::Engine in process, without HTTP and JSON: the queries of
// bench/query_vs_prometheus.sh over the storage directory it leaves behind
// with --keep (<kept dir>/vitals-data), so a profile shows where the
// engine and storage spend the time the HTTP benchmark measures.
//
//   bench/query_vs_prometheus.sh --keep      # prints "kept /tmp/query_vs_prom.XXXXXX"
//   export VITALS_QUERY_BENCH_STORE=/tmp/query_vs_prom.XXXXXX/vitals-data
//   build/bench/promql_engine_bench [--benchmark_filter=histogram]
//
// Times are those of the benchmark's data (6 h from 1700006400 at 15 s).

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "rules/promql/engine.h"
#include "rules/promql/parser.h"
#include "storage/store.h"

namespace vitals {
namespace {

constexpr int64_t kStartMs = 1'700'006'400'000;
constexpr int64_t kEndMs = kStartMs + 6 * 3600'000 - 15'000;  // The last sample.

const storage::Store* SharedStore() {
  static std::unique_ptr<storage::Store> store = [] {
    const char* path = std::getenv("VITALS_QUERY_BENCH_STORE");
    if (path == nullptr) {
      std::fprintf(stderr, "set VITALS_QUERY_BENCH_STORE to the vitals-data directory that "
                           "bench/query_vs_prometheus.sh --keep leaves\n");
      std::exit(2);
    }
    storage::Options options;
    options.path = path;
    options.retention = std::chrono::milliseconds(0);
    options.partition_duration = std::chrono::milliseconds(0);
    options.background_maintenance = false;
    auto opened = storage::Store::Open(options);
    if (!opened.ok()) {
      std::fprintf(stderr, "%s: %s\n", path, opened.status().ToString().c_str());
      std::exit(1);
    }
    return std::move(opened).value();
  }();
  return store.get();
}

// Arguments: 0 instant at the end, 1 range over the last hour at 15s, 2 the
// whole 6h at 60s.
void RunQuery(benchmark::State& state, const char* promql) {
  const storage::Store& store = *SharedStore();
  promql::Engine engine;
  auto expr = promql::ParseExpr(promql);
  if (!expr.ok()) {
    state.SkipWithError(expr.status().ToString().c_str());
    return;
  }
  size_t points = 0;
  for (auto _ : state) {
    Result<promql::QueryResult> result =
        state.range(0) == 0
            ? engine.InstantQuery(store, **expr, kEndMs)
        : state.range(0) == 1
            ? engine.RangeQuery(store, **expr, kEndMs - 3600'000, kEndMs, std::chrono::seconds(15))
            : engine.RangeQuery(store, **expr, kStartMs, kEndMs, std::chrono::seconds(60));
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      return;
    }
    points = std::visit(
        [](const auto& v) -> size_t {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, promql::Vector>) return v.size();
          if constexpr (std::is_same_v<T, promql::Matrix>) {
            size_t n = 0;
            for (const auto& s : v) n += s.points.size();
            return n;
          }
          return 1;
        },
        result->value);
  }
  state.counters["points"] = static_cast<double>(points);
}

void BM_RateSumByCode(benchmark::State& state) {
  RunQuery(state, "sum by (code) (rate(http_requests_total[5m]))");
}
void BM_ErrorRatio(benchmark::State& state) {
  RunQuery(state,
           "sum by (instance) (rate(http_requests_total{code=~\"5..\"}[5m])) / sum by (instance) "
           "(rate(http_requests_total[5m]))");
}
void BM_HistogramQuantile1h(benchmark::State& state) {
  RunQuery(state,
           "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[1h])))");
}
void BM_PredictLinear1h(benchmark::State& state) {
  RunQuery(state, "predict_linear(node_filesystem_avail_bytes[1h], 4 * 3600) < 0");
}
// The selectors alone: what reading the samples costs.
void BM_SelectCounters5m(benchmark::State& state) {
  RunQuery(state, "count_over_time(http_requests_total[5m])");
}
void BM_SelectBuckets1h(benchmark::State& state) {
  RunQuery(state, "count_over_time(request_duration_seconds_bucket[1h])");
}

BENCHMARK(BM_RateSumByCode)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ErrorRatio)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HistogramQuantile1h)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PredictLinear1h)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SelectCounters5m)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SelectBuckets1h)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vitals
