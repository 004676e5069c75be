#pragma once

// The storage engine's benchmark workload, shared by bench/storage_bench.cc
// (append, read and disk-use benchmarks) and bench/disk_compare.cc (the same
// disk-use data set for VictoriaMetrics): the realistic fleet of
// bench/datagen.h at fixed seed, start and interval, the recording of real
// agent output (bench/record_agent.sh), and scratch stores in temporary
// directories filled with either.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <zlib.h>

#include "bench/datagen.h"
#include "common/exposition_parser.h"
#include "common/labels.h"
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

// Samples the store did not take while being filled (AppendResult's counts).
struct FillCounts {
  uint64_t appended = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  std::string first_rejection;
};

// The path every disk-use figure takes: appends `num_batches` batches
// (`batch(i)` gives batch i) in order, Maintain after every
// `maintain_every` batches, then `late` (an hour after the last sample, so
// that the open chunks close by age; it stays in the head), Maintain, and a
// full Compact. Returns the error of the first call that fails.
template <typename BatchFn>
Result<FillCounts> AppendAndCompact(storage::Store& store, size_t num_batches, BatchFn&& batch,
                                    size_t maintain_every, const Sample& late) {
  FillCounts counts;
  for (size_t i = 0; i < num_batches; ++i) {
    ASSIGN_OR_RETURN(storage::AppendResult result, store.Append(batch(i), {}));
    counts.appended += result.appended;
    counts.duplicates += result.duplicates;
    counts.rejected += result.rejected_total();
    if (counts.first_rejection.empty()) counts.first_rejection = result.first_rejection;
    if (i % maintain_every == maintain_every - 1) RETURN_IF_ERROR(store.Maintain());
  }
  RETURN_IF_ERROR(store.Append({late}, {}).status());
  RETURN_IF_ERROR(store.Maintain());
  RETURN_IF_ERROR(store.Compact());
  return counts;
}

// A scratch store holding the first `series` series of the fleet for
// `rounds` rounds, appended round by round in batches of kStorageBatchSize
// (Maintain every 100 rounds), then every chunk written to disk and the
// store compacted (AppendAndCompact). Chunks close by age: one more sample
// of series 0, an hour after the last round, ages the open chunks out; that
// sample stays in the head and is not one of the workload's samples.
// Returns the error of the first Open, Append, Maintain or Compact that fails.
inline Result<FilledStore> FillStore(size_t series, size_t rounds) {
  FilledStore filled;
  filled.workload = std::make_unique<Workload>(series, kStorageBatchSize, rounds);
  filled.store = std::make_unique<ScratchStore>(/*sync=*/false, /*background=*/false);
  RETURN_IF_ERROR(filled.store->status());
  Workload& workload = *filled.workload;
  const size_t per_round = workload.batches.size();
  const Sample late{workload.generator.series()[0],
                    kStorageStartMs + static_cast<int64_t>(rounds) * kStorageIntervalMs + 3'600'000,
                    0};
  RETURN_IF_ERROR(AppendAndCompact(
                      **filled.store, rounds * per_round,
                      [&](size_t i) -> const std::vector<Sample>& {
                        return workload.Batch(i % per_round, i / per_round);
                      },
                      100 * per_round, late)
                      .status());
  return filled;
}

// A recording of real agent output (bench/record_agent.sh,
// bench/data/agent-recording.prom.gz): every sample, in time order.
struct Recording {
  std::vector<Labels> series;  // Distinct label sets, canonical, in order of appearance.
  struct Point {
    uint32_t series;  // Index into `series`.
    int64_t timestamp_ms;
    double value;
  };
  std::vector<Point> samples;  // By timestamp; equal timestamps in file order.
  uint64_t non_finite = 0;     // NaN (stale markers included) and ±Inf values.
  int64_t first_ms() const { return samples.empty() ? 0 : samples.front().timestamp_ms; }
  int64_t last_ms() const { return samples.empty() ? 0 : samples.back().timestamp_ms; }
};

// Reads a recording: Prometheus text exposition (gzip'ed or plain) in which
// every sample has a timestamp. NotFound / IOError if `path` cannot be read;
// InvalidArgument naming file, line and column on a syntax error, a sample
// without a timestamp or an invalid label set.
inline Result<Recording> ReadRecording(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");  // Reads plain files as they are too.
  if (gz == nullptr) return Status::NotFound("cannot open " + path);
  std::string text;
  char chunk[1 << 16];
  int n;
  while ((n = gzread(gz, chunk, sizeof(chunk))) > 0) text.append(chunk, static_cast<size_t>(n));
  int error = Z_OK;
  const std::string gz_error = n < 0 ? gzerror(gz, &error) : "";
  gzclose(gz);
  if (n < 0) return Status::IOError("reading " + path + ": " + gz_error);

  std::istringstream in(std::move(text));
  exposition::Parser parser(in, path, exposition::Format::kPrometheusText);
  Recording recording;
  std::unordered_map<std::string, uint32_t> index;
  exposition::Entry entry;
  while (true) {
    ASSIGN_OR_RETURN(bool more, parser.Next(&entry));
    if (!more) break;
    if (entry.kind != exposition::EntryKind::kSample) continue;
    const std::string where = path + ":" + std::to_string(entry.line) + ": ";
    if (!entry.timestamp_ms) return Status::InvalidArgument(where + "a sample without timestamp");
    if (Status valid = CanonicalizeAndValidate(&entry.labels); !valid.ok()) {
      return Status::InvalidArgument(where + valid.message());
    }
    auto [it, added] = index.try_emplace(FormatSeries(entry.labels),
                                         static_cast<uint32_t>(recording.series.size()));
    if (added) recording.series.push_back(entry.labels);
    recording.samples.push_back({it->second, *entry.timestamp_ms, entry.value});
    if (!std::isfinite(entry.value)) ++recording.non_finite;
  }
  std::stable_sort(recording.samples.begin(), recording.samples.end(),
                   [](const Recording::Point& a, const Recording::Point& b) {
                     return a.timestamp_ms < b.timestamp_ms;
                   });
  return recording;
}

// A compacted scratch store holding `recording`, appended in time order in
// batches of up to kStorageBatchSize samples, through AppendAndCompact
// (Maintain every 100 batches; the late sample is of the first series).
// REQUIRES: the recording holds a sample.
inline Result<std::pair<std::unique_ptr<ScratchStore>, FillCounts>> FillStoreWithRecording(
    const Recording& recording) {
  auto store = std::make_unique<ScratchStore>(/*sync=*/false, /*background=*/false);
  RETURN_IF_ERROR(store->status());
  const size_t total = recording.samples.size();
  std::vector<Sample> batch;
  const Sample late{recording.series[0], recording.last_ms() + 3'600'000, 0};
  ASSIGN_OR_RETURN(
      FillCounts counts,
      AppendAndCompact(
          **store, (total + kStorageBatchSize - 1) / kStorageBatchSize,
          [&](size_t b) -> const std::vector<Sample>& {
            batch.clear();
            for (size_t i = b * kStorageBatchSize; i < std::min(total, (b + 1) * kStorageBatchSize);
                 ++i) {
              const Recording::Point& p = recording.samples[i];
              batch.push_back(Sample{recording.series[p.series], p.timestamp_ms, p.value});
            }
            return batch;
          },
          100, late));
  return std::make_pair(std::move(store), std::move(counts));
}

// Appends `value` as the Prometheus text format spells it: NaN, +Inf, -Inf,
// or the shortest decimal that parses back to the same double. The text
// format has no spelling of its own for a stale marker: it is written as NaN.
inline void AppendSampleValue(double value, std::string* out) {
  if (std::isnan(value)) {
    *out += "NaN";
  } else if (std::isinf(value)) {
    *out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char number[32];
    out->append(number, std::to_chars(number, number + sizeof(number), value).ptr);
  }
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
