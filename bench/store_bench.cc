// Append throughput of the foundation storage layout (one RocksDB row per
// sample), the baseline the storage-engine issue has to beat.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "storage/store.h"

namespace vitals {
namespace {

// Batches of `batch` samples over `series` series, timestamps advancing 15s
// per round, like agents reporting every 15s.
void BM_StoreAppend(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  const bool sync = state.range(2) != 0;
  std::string dir = std::filesystem::temp_directory_path() /
                    ("vitals-bench-" + std::to_string(std::random_device{}()));
  storage::Options options;
  options.path = dir;
  options.sync_writes = sync;
  auto store = storage::Store::Open(options);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  std::vector<Labels> labels;
  for (int i = 0; i < series; ++i) {
    labels.push_back({{"__name__", "node_metric_" + std::to_string(i % 100)},
                      {"instance", "host-" + std::to_string(i / 100)}});
  }
  int64_t t = 1'700'000'000'000;
  int next = 0;
  std::mt19937 rng(1);
  std::vector<Sample> samples(batch);
  for (auto _ : state) {
    for (Sample& s : samples) {
      s.labels = labels[next];
      s.timestamp_ms = t;
      s.value = static_cast<double>(rng() % 10000) / 100;
      if (++next == series) {
        next = 0;
        t += 15000;
      }
    }
    Status st = (*store)->Append(samples, {});
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(batch) * state.iterations(), benchmark::Counter::kIsRate);
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StoreAppend)
    ->ArgNames({"series", "batch", "sync"})
    ->Args({10000, 1000, 0})
    ->Args({10000, 1000, 1})
    ->Args({10000, 200, 1})
    ->UseRealTime();

}  // namespace
}  // namespace vitals
