// The storage engine's in-process targets (issue #4): append throughput with
// 100,000 active series in batches of 1,000, read latency for one series over
// 24 h and 10,000 series over 1 h, and disk bytes per sample after
// compaction, all on the realistic fleet of bench/datagen.h; append
// throughput also on the recording of real agent output (BM_AppendRecorded).
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

// The steady state of an append benchmark: round 0 creates every series of
// `workload` (anything with `batches` and `Batch(b, round)`), then each
// iteration appends one batch, its labels by reference as the collector's
// ingest path hands them over (views into the batches, whose samples Batch()
// rewrites in place). Sets samples_per_s and refused.
template <typename WorkloadT>
void RunAppendLoop(benchmark::State& state, WorkloadT& workload, ScratchStore& store) {
  if (!store.status().ok()) return state.SkipWithError(store.status().ToString().c_str());
  for (size_t b = 0; b < workload.batches.size(); ++b) {
    if (!store->Append(workload.Batch(b, 0), {}).ok()) return state.SkipWithError("append");
  }
  std::vector<std::unique_ptr<SampleViews>> views;
  for (const std::vector<Sample>& batch : workload.batches) {
    views.push_back(std::make_unique<SampleViews>(batch));
  }
  size_t round = 1, b = 0;
  uint64_t appended = 0, refused = 0;
  for (auto _ : state) {
    workload.Batch(b, round);
    auto result = store->Append(views[b]->series(), {});
    if (!result.ok()) return state.SkipWithError(result.status().ToString().c_str());
    appended += result->appended;
    refused += result->duplicates + result->rejected_total();
    if (++b == workload.batches.size()) {
      b = 0;
      ++round;
    }
  }
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(appended), benchmark::Counter::kIsRate);
  state.counters["refused"] = static_cast<double>(refused);
}

// Steady state: every series exists; each iteration appends one batch.
void BM_Append(benchmark::State& state) {
  const size_t series = static_cast<size_t>(state.range(0));
  const size_t batch_size = static_cast<size_t>(state.range(1));
  const bool sync = state.range(2) != 0;
  Workload workload(series, batch_size, 30);
  ScratchStore store(sync);
  RunAppendLoop(state, workload, store);
}
BENCHMARK(BM_Append)
    ->ArgNames({"series", "batch", "sync"})
    ->Args({100000, 1000, 0})
    ->Args({100000, 1000, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// The recording of real agent output (bench/data/agent-recording.prom.gz)
// replicated to `series` series: copy c of the recording's series carries
// agent and instance "rec-<c>", so a fleet of identical hosts. Batches of
// `batch_size` series in series order; round r of a series is its recorded
// sample r, timestamps as recorded (a series with fewer samples than r
// starts over, one recording's span later).
struct RecordedWorkload {
  RecordedWorkload(const bench::Recording& recording, size_t series, size_t batch_size)
      : batch_size(batch_size) {
    std::vector<std::vector<std::pair<int64_t, double>>>& by_series = samples_by_series;
    by_series.resize(recording.series.size());
    for (const bench::Recording::Point& p : recording.samples) {
      by_series[p.series].emplace_back(p.timestamp_ms, p.value);
    }
    span_ms = recording.last_ms() - recording.first_ms() + 1000;
    std::vector<Sample> all;
    for (size_t s = 0; s < series; ++s) {
      const size_t recorded = s % recording.series.size();
      if (by_series[recorded].empty()) continue;
      const std::string copy = "rec-" + std::to_string(s / recording.series.size());
      Labels labels = recording.series[recorded];
      SetLabel(&labels, "agent", copy);
      SetLabel(&labels, "instance", copy);
      all.push_back(Sample{std::move(labels), 0, 0});
      values.push_back(&by_series[recorded]);
    }
    for (size_t first = 0; first < all.size(); first += batch_size) {
      batches.emplace_back(all.begin() + static_cast<ptrdiff_t>(first),
                           all.begin() + static_cast<ptrdiff_t>(std::min(all.size(), first + batch_size)));
    }
  }

  // Fills batch `b` with round `round`'s samples.
  std::vector<Sample>& Batch(size_t b, size_t round) {
    std::vector<Sample>& batch = batches[b];
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& series = *values[b * batch_size + i];
      const auto& [t, v] = series[round % series.size()];
      batch[i].timestamp_ms = t + static_cast<int64_t>(round / series.size()) * span_ms;
      batch[i].value = v;
    }
    return batch;
  }

  // The recorded samples by series; fixed after construction.
  std::vector<std::vector<std::pair<int64_t, double>>> samples_by_series;
  // Per replicated series, its recorded samples (into samples_by_series).
  std::vector<const std::vector<std::pair<int64_t, double>>*> values;
  std::vector<std::vector<Sample>> batches;
  size_t batch_size;
  int64_t span_ms = 0;
};

// BM_Append on real agent output: the recording replicated to 100,000 series
// (RecordedWorkload), appended in batches of 1,000 through the same path.
// Skipped if the recording cannot be read.
void BM_AppendRecorded(benchmark::State& state) {
  const size_t series = static_cast<size_t>(state.range(0));
  const size_t batch_size = static_cast<size_t>(state.range(1));
  Result<bench::Recording> recording = bench::ReadRecording(VITALS_AGENT_RECORDING);
  if (!recording.ok()) return state.SkipWithError(recording.status().ToString().c_str());
  if (recording->samples.empty()) return state.SkipWithError("the recording holds no sample");
  RecordedWorkload workload(*recording, series, batch_size);
  ScratchStore store(/*sync=*/false);
  RunAppendLoop(state, workload, store);
  state.counters["recorded_series"] = static_cast<double>(recording->series.size());
}
BENCHMARK(BM_AppendRecorded)
    ->ArgNames({"series", "batch"})
    ->Args({100000, 1000})
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
