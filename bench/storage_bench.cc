// The storage engine's in-process targets (issue #4): append throughput with
// 100,000 active series in batches of 1,000, read latency for one series over
// 24 h and 10,000 series over 1 h, and disk bytes per sample after
// compaction, all on the realistic fleet of bench/datagen.h.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "bench/datagen.h"
#include "storage/store.h"

namespace vitals {
namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr int64_t kIntervalMs = 10'000;

// A store in a fresh temporary directory, removed when this goes away.
class ScratchStore {
 public:
  explicit ScratchStore(bool sync, bool background = true) {
    dir_ = std::filesystem::temp_directory_path() /
           ("vitals-bench-" + std::to_string(std::random_device{}()));
    storage::Options options;
    options.path = dir_.string();
    options.sync_writes = sync;
    options.background_maintenance = background;
    options.retention = std::chrono::milliseconds(0);
    // A scratch store is thrown away: closing it need not write its head.
    options.persist_head_on_close = false;
    auto store = storage::Store::Open(options);
    if (store.ok()) store_ = std::move(store).value();
    status_ = store.status();
  }
  ~ScratchStore() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  storage::Store* operator->() { return store_.get(); }
  storage::Store& operator*() { return *store_; }
  const Status& status() const { return status_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<storage::Store> store_;
  Status status_;
};

// The fleet's samples for `rounds` rounds, as batches of `batch_size` in
// series order, with timestamps and values precomputed so that the timed
// loop only copies two numbers per sample.
struct Workload {
  Workload(size_t series, size_t batch_size, size_t rounds)
      : generator(/*seed=*/42, series, kStartMs, kIntervalMs, /*jitter=*/true) {
    values.resize(series);
    for (size_t s = 0; s < series; ++s) values[s] = generator.SeriesSamples(s, rounds);
    for (size_t first = 0; first < series; first += batch_size) {
      std::vector<Sample>& batch = batches.emplace_back();
      for (size_t s = first; s < std::min(series, first + batch_size); ++s) {
        batch.push_back(Sample{generator.series()[s], 0, 0});
      }
    }
    this->batch_size = batch_size;
    this->rounds = rounds;
  }

  // Fills batch `b` with round `round`'s samples (rounds past the
  // precomputed ones repeat the values at later timestamps).
  std::vector<Sample>& Batch(size_t b, size_t round) {
    std::vector<Sample>& batch = batches[b];
    size_t r = round % rounds;
    int64_t shift = static_cast<int64_t>(round / rounds * rounds) * kIntervalMs;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& [t, v] = values[b * batch_size + i][r];
      batch[i].timestamp_ms = t + shift;
      batch[i].value = v;
    }
    return batch;
  }

  bench::DataGenerator generator;
  std::vector<std::vector<std::pair<int64_t, double>>> values;  // By series, by round.
  std::vector<std::vector<Sample>> batches;
  size_t batch_size;
  size_t rounds;
};

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

// A store holding `series` series for `rounds` rounds, all in chunks on disk.
std::unique_ptr<ScratchStore> FilledStore(size_t series, size_t rounds, Workload** out) {
  static Workload* workload = nullptr;
  delete workload;
  workload = new Workload(series, 1000, rounds);
  auto store = std::make_unique<ScratchStore>(/*sync=*/false, /*background=*/false);
  for (size_t r = 0; r < rounds; ++r) {
    for (size_t b = 0; b < workload->batches.size(); ++b) {
      if (!(*store)->Append(workload->Batch(b, r), {}).ok()) return nullptr;
    }
    if (r % 100 == 99 && !(*store)->Maintain().ok()) return nullptr;
  }
  // Every chunk to disk: an hour-later sample ages the open chunks out.
  Sample late{workload->generator.series()[0], kStartMs + static_cast<int64_t>(rounds) * kIntervalMs + 3'600'000, 0};
  if (!(*store)->Append({late}, {}).ok() || !(*store)->Maintain().ok() ||
      !(*store)->Compact().ok()) {
    return nullptr;
  }
  *out = workload;
  return store;
}

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
  Workload* workload = nullptr;
  auto store = FilledStore(100, 8640, &workload);
  if (!store) return state.SkipWithError("filling the store failed");
  std::vector<Matcher> matchers;
  for (const Label& l : workload->generator.series()[7]) {
    matchers.push_back(Matcher::Create(MatchType::kEqual, l.name, l.value).value());
  }
  uint64_t n = 0;
  for (auto _ : state) n = ReadAll(**store, matchers, kStartMs, kStartMs + 86'400'000, state);
  state.counters["samples"] = static_cast<double>(n);
}
BENCHMARK(BM_ReadOneSeries24h)->Unit(benchmark::kMicrosecond);

// 10,000 series over 1 h: 3.6 million samples.
void BM_Read10kSeries1h(benchmark::State& state) {
  Workload* workload = nullptr;
  auto store = FilledStore(10000, 360, &workload);
  if (!store) return state.SkipWithError("filling the store failed");
  std::vector<Matcher> matchers = {
      Matcher::Create(MatchType::kRegexMatch, "__name__", ".+").value()};
  uint64_t n = 0;
  for (auto _ : state) n = ReadAll(**store, matchers, kStartMs, kStartMs + 3'600'000 - 1, state);
  state.counters["samples"] = static_cast<double>(n);
}
BENCHMARK(BM_Read10kSeries1h)->Unit(benchmark::kMillisecond);

// Disk use after compaction: 1,000 series over 24 h (8.64 million samples).
void BM_DiskBytesPerSample(benchmark::State& state) {
  for (auto _ : state) {
    Workload* workload = nullptr;
    auto store = FilledStore(1000, 8640, &workload);
    if (!store) return state.SkipWithError("filling the store failed");
    auto analysis = (*store)->Analyze(1);
    if (!analysis.ok()) return state.SkipWithError(analysis.status().ToString().c_str());
    uint64_t dir_bytes = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(store->dir())) {
      if (entry.is_regular_file()) dir_bytes += entry.file_size();
    }
    double samples = static_cast<double>(analysis->chunk_samples);
    state.counters["chunk_bytes_per_sample"] = static_cast<double>(analysis->chunk_bytes) / samples;
    state.counters["sst_bytes_per_sample"] = static_cast<double>(analysis->sst_bytes) / samples;
    state.counters["dir_bytes_per_sample"] = static_cast<double>(dir_bytes) / samples;
  }
}
BENCHMARK(BM_DiskBytesPerSample)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
}  // namespace vitals
