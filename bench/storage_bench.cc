// The storage engine's in-process targets (issue #4): append throughput with
// 100,000 active series in batches of 1,000, read latency for one series over
// 24 h and 10,000 series over 1 h, and disk bytes per sample after
// compaction, all on the realistic fleet of bench/datagen.h.
#include <benchmark/benchmark.h>

#include "bench/storage_workload.h"
#include "storage/store.h"

namespace vitals {
namespace {

using bench::FilledStore;
using bench::FillStore;
using bench::kStorageStartMs;
using bench::ScratchStore;
using bench::Workload;

// Steady state: every series exists; each iteration appends one batch.
void BM_Append(benchmark::State& state) {
  const size_t series = static_cast<size_t>(state.range(0));
  const size_t batch_size = static_cast<size_t>(state.range(1));
  const bool sync = state.range(2) != 0;
  Workload workload(series, batch_size, 30);
  ScratchStore store(sync);
  if (!store.status().ok()) return state.SkipWithError(store.status().ToString().c_str());
  for (size_t b = 0; b < workload.batches.size(); ++b) {  // Round 0 creates the series.
    if (!store->Append(workload.Batch(b, 0), {}).ok()) return state.SkipWithError("append");
  }
  // Labels by reference, as the collector's ingest path hands them over
  // (views into the batches, whose samples Batch() rewrites in place).
  std::vector<std::unique_ptr<SampleViews>> views;
  for (const std::vector<Sample>& batch : workload.batches) {
    views.push_back(std::make_unique<SampleViews>(batch));
  }
  size_t round = 1, b = 0;
  uint64_t appended = 0;
  for (auto _ : state) {
    workload.Batch(b, round);
    auto result = store->Append(views[b]->series(), {});
    if (!result.ok()) return state.SkipWithError(result.status().ToString().c_str());
    appended += result->appended;
    if (++b == workload.batches.size()) {
      b = 0;
      ++round;
    }
  }
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(appended), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Append)
    ->ArgNames({"series", "batch", "sync"})
    ->Args({100000, 1000, 0})
    ->Args({100000, 1000, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Reads every sample of the selected series in [min, max]; returns the count.
uint64_t ReadAll(storage::Store& store, const std::vector<Matcher>& matchers, int64_t min,
                 int64_t max, benchmark::State& state) {
  auto set = store.Select(matchers, min, max);
  if (!set.ok()) {
    state.SkipWithError(set.status().ToString().c_str());
    return 0;
  }
  uint64_t n = 0;
  double sum = 0;
  while ((*set)->Next()) {
    auto it = (*set)->Samples();
    while (it->Next()) {
      sum += it->v();
      ++n;
    }
  }
  benchmark::DoNotOptimize(sum);
  return n;
}

// One series over 24 h at 10 s resolution: 8,640 samples from disk.
void BM_ReadOneSeries24h(benchmark::State& state) {
  Result<FilledStore> filled = FillStore(100, 8640);
  if (!filled.ok()) return state.SkipWithError(filled.status().ToString().c_str());
  std::vector<Matcher> matchers;
  for (const Label& l : filled->workload->generator.series()[7]) {
    matchers.push_back(Matcher::Create(MatchType::kEqual, l.name, l.value).value());
  }
  uint64_t n = 0;
  for (auto _ : state) {
    n = ReadAll(**filled->store, matchers, kStorageStartMs, kStorageStartMs + 86'400'000, state);
  }
  state.counters["samples"] = static_cast<double>(n);
}
BENCHMARK(BM_ReadOneSeries24h)->Unit(benchmark::kMicrosecond);

// 10,000 series over 1 h: 3.6 million samples.
void BM_Read10kSeries1h(benchmark::State& state) {
  Result<FilledStore> filled = FillStore(10000, 360);
  if (!filled.ok()) return state.SkipWithError(filled.status().ToString().c_str());
  std::vector<Matcher> matchers = {
      Matcher::Create(MatchType::kRegexMatch, "__name__", ".+").value()};
  uint64_t n = 0;
  for (auto _ : state) {
    n = ReadAll(**filled->store, matchers, kStorageStartMs, kStorageStartMs + 3'600'000 - 1, state);
  }
  state.counters["samples"] = static_cast<double>(n);
}
BENCHMARK(BM_Read10kSeries1h)->Unit(benchmark::kMillisecond);

// Disk use after compaction: 1,000 series over 24 h (8.64 million samples).
// bench/disk_vs_victoriametrics.sh compares it with VictoriaMetrics.
void BM_DiskBytesPerSample(benchmark::State& state) {
  for (auto _ : state) {
    Result<FilledStore> filled = FillStore(bench::kDiskSeries, bench::kDiskRounds);
    if (!filled.ok()) return state.SkipWithError(filled.status().ToString().c_str());
    auto analysis = (*filled->store)->Analyze(1);
    if (!analysis.ok()) return state.SkipWithError(analysis.status().ToString().c_str());
    const uint64_t dir_bytes = bench::DirectoryBytes(filled->store->dir());
    double samples = static_cast<double>(analysis->chunk_samples);
    state.counters["chunk_bytes_per_sample"] = static_cast<double>(analysis->chunk_bytes) / samples;
    state.counters["sst_bytes_per_sample"] = static_cast<double>(analysis->sst_bytes) / samples;
    state.counters["dir_bytes_per_sample"] = static_cast<double>(dir_bytes) / samples;
  }
}
BENCHMARK(BM_DiskBytesPerSample)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
}  // namespace vitals
