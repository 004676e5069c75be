#pragma once

// The storage engine's benchmark workload, shared by bench/storage_bench.cc
// (append, read and disk-use benchmarks) and bench/disk_compare.cc (the same
// disk-use data set for VictoriaMetrics): the realistic fleet of
// bench/datagen.h at fixed seed, start and interval, and scratch stores in
// temporary directories filled with it.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench/datagen.h"
#include "common/samples.h"
#include "common/status.h"
#include "storage/store.h"

namespace vitals::bench {

// Round 0 of every storage workload: 2023-11-14T22:13:20Z.
inline constexpr int64_t kStorageStartMs = 1'700'000'000'000;
// Every host scrapes once per interval.
inline constexpr int64_t kStorageIntervalMs = 10'000;
inline constexpr uint64_t kStorageSeed = 42;
// Series per Append batch when filling a store.
inline constexpr size_t kStorageBatchSize = 1000;

// The disk-use data set (issue #4): 1,000 series over 24 h at 10 s, 8.64
// million samples.
inline constexpr size_t kDiskSeries = 1000;
inline constexpr size_t kDiskRounds = 8640;

// A store in a fresh temporary directory (under TMPDIR), removed when this
// goes away. Open errors are kept in status(); the store is usable only if
// it is OK.
class ScratchStore {
 public:
  // `sync`: Options::sync_writes; `background`: background maintenance.
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
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  ScratchStore(const ScratchStore&) = delete;
  ScratchStore& operator=(const ScratchStore&) = delete;

  // REQUIRES: status().ok().
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
// series order, with timestamps and values precomputed so that a timed loop
// only copies two numbers per sample.
struct Workload {
  Workload(size_t series, size_t batch_size, size_t rounds)
      : generator(kStorageSeed, series, kStorageStartMs, kStorageIntervalMs, /*jitter=*/true),
        batch_size(batch_size),
        rounds(rounds) {
    values.resize(series);
    for (size_t s = 0; s < series; ++s) values[s] = generator.SeriesSamples(s, rounds);
    for (size_t first = 0; first < series; first += batch_size) {
      std::vector<Sample>& batch = batches.emplace_back();
      for (size_t s = first; s < std::min(series, first + batch_size); ++s) {
        batch.push_back(Sample{generator.series()[s], 0, 0});
      }
    }
  }

  // Fills batch `b` with round `round`'s samples (rounds past the
  // precomputed ones repeat the values at later timestamps).
  std::vector<Sample>& Batch(size_t b, size_t round) {
    std::vector<Sample>& batch = batches[b];
    size_t r = round % rounds;
    int64_t shift = static_cast<int64_t>(round / rounds * rounds) * kStorageIntervalMs;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& [t, v] = values[b * batch_size + i][r];
      batch[i].timestamp_ms = t + shift;
      batch[i].value = v;
    }
    return batch;
  }

  DataGenerator generator;
  std::vector<std::vector<std::pair<int64_t, double>>> values;  // By series, by round.
  std::vector<std::vector<Sample>> batches;
  size_t batch_size;
  size_t rounds;
};

// A compacted scratch store and the workload it was filled with.
struct FilledStore {
  std::unique_ptr<Workload> workload;
  std::unique_ptr<ScratchStore> store;
};

// A scratch store holding the first `series` series of the fleet for
// `rounds` rounds, appended round by round in batches of kStorageBatchSize
// (Maintain every 100 rounds), then every chunk written to disk and the
// store compacted. Chunks close by age: one more sample of series 0, an hour
// after the last round, ages the open chunks out; that sample stays in the
// head and is not one of the workload's samples.
// Returns the error of the first Open, Append, Maintain or Compact that fails.
inline Result<FilledStore> FillStore(size_t series, size_t rounds) {
  FilledStore filled;
  filled.workload = std::make_unique<Workload>(series, kStorageBatchSize, rounds);
  filled.store = std::make_unique<ScratchStore>(/*sync=*/false, /*background=*/false);
  RETURN_IF_ERROR(filled.store->status());
  Workload& workload = *filled.workload;
  storage::Store& store = **filled.store;
  for (size_t r = 0; r < rounds; ++r) {
    for (size_t b = 0; b < workload.batches.size(); ++b) {
      RETURN_IF_ERROR(store.Append(workload.Batch(b, r), {}).status());
    }
    if (r % 100 == 99) RETURN_IF_ERROR(store.Maintain());
  }
  const Sample late{workload.generator.series()[0],
                    kStorageStartMs + static_cast<int64_t>(rounds) * kStorageIntervalMs + 3'600'000,
                    0};
  RETURN_IF_ERROR(store.Append({late}, {}).status());
  RETURN_IF_ERROR(store.Maintain());
  RETURN_IF_ERROR(store.Compact());
  return filled;
}

// Bytes in regular files under `dir`, recursively (what `du -b` counts,
// without directories' own blocks).
inline uint64_t DirectoryBytes(const std::filesystem::path& dir) {
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

}  // namespace vitals::bench
