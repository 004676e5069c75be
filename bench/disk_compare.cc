// Disk use of the storage engine on BM_DiskBytesPerSample's data set (issue
// #4), and the same samples as a file VictoriaMetrics can import, so that
// bench/disk_vs_victoriametrics.sh can compare the two on identical data.
//
// Generates the workload of bench/storage_workload.h (1,000 series x 8,640
// rounds at 10 s by default), fills a scratch store with it exactly as
// BM_DiskBytesPerSample does (FillStore: Append, Maintain, Compact), and
// prints one JSON line: samples, the store's chunk/SST/directory bytes and
// bytes per sample, and the samples' time range. With --export FILE, also
// writes every sample in the Prometheus text format with millisecond
// timestamps (`name{labels} value timestamp`, round by round as the store got
// them), values in the shortest text that reads back as the same double.
//   build/bench/vitals_disk_compare --export /tmp/samples.prom
// With --recording FILE, fills the store with a recording of real agent
// output instead (bench/data/agent-recording.prom.gz, which VictoriaMetrics
// imports as it is), in time order, in batches of up to 1,000 samples, by
// the same Append/Maintain/Compact path, and prints the same disk figures.
//   build/bench/vitals_disk_compare --recording bench/data/agent-recording.prom.gz
#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/storage_workload.h"
#include "common/labels.h"
#include "common/samples.h"
#include "common/status.h"

namespace vitals::bench {
namespace {

struct FileCloser {
  void operator()(FILE* file) const { std::fclose(file); }
};

// What ExportSamples wrote.
struct ExportSummary {
  uint64_t lines = 0;
  uint64_t bytes = 0;
  uint64_t non_finite = 0;  // NaN (stale markers included) and ±Inf values.
};

// Writes every sample of `workload` to `path`, round-major, one
// `series value timestamp_ms` line each. IOError if the file cannot be
// written.
Result<ExportSummary> ExportSamples(const Workload& workload, const std::string& path) {
  std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "w"));
  if (!file) return Status::IOError("cannot create " + path);
  std::vector<std::string> series_text;
  for (const Labels& labels : workload.generator.series()) {
    series_text.push_back(FormatSeries(labels) + ' ');
  }
  ExportSummary summary;
  std::string buffer;
  char number[32];
  for (size_t round = 0; round < workload.rounds; ++round) {
    buffer.clear();
    for (size_t s = 0; s < workload.values.size(); ++s) {
      const auto& [timestamp_ms, value] = workload.values[s][round];
      buffer += series_text[s];
      AppendSampleValue(value, &buffer);
      buffer += ' ';
      buffer.append(number, std::to_chars(number, number + sizeof(number), timestamp_ms).ptr);
      buffer += '\n';
      if (!std::isfinite(value)) ++summary.non_finite;
    }
    if (std::fwrite(buffer.data(), 1, buffer.size(), file.get()) != buffer.size()) {
      return Status::IOError("cannot write " + path);
    }
    summary.lines += workload.values.size();
    summary.bytes += buffer.size();
  }
  if (std::fclose(file.release()) != 0) return Status::IOError("cannot write " + path);
  return summary;
}

// The earliest and latest sample timestamps of the workload.
std::pair<int64_t, int64_t> TimeRange(const Workload& workload) {
  int64_t min = INT64_MAX, max = INT64_MIN;
  for (const auto& series : workload.values) {
    for (const auto& [t, v] : series) {
      min = std::min(min, t);
      max = std::max(max, t);
    }
  }
  return {min, max};
}

// The disk figures of a filled, compacted store as JSON fields (each
// starting with a comma), per sample of the `samples` it was filled with.
Result<std::string> StoreJson(ScratchStore& store, uint64_t samples) {
  ASSIGN_OR_RETURN(storage::Analysis analysis, store->Analyze(1));
  const uint64_t dir_bytes = DirectoryBytes(store.dir());
  // Bytes per sample of the samples appended, as BM_DiskBytesPerSample
  // divides by the samples in chunks on disk (the same number, checked by
  // the script through chunk_samples).
  const double n = static_cast<double>(samples);
  char json[512];
  std::snprintf(json, sizeof(json),
                ",\"chunk_samples\":%" PRIu64 ",\"chunk_bytes\":%" PRIu64
                ",\"sst_bytes\":%" PRIu64 ",\"dir_bytes\":%" PRIu64
                ",\"chunk_bytes_per_sample\":%.4f,\"sst_bytes_per_sample\":%.4f"
                ",\"dir_bytes_per_sample\":%.4f",
                analysis.chunk_samples, analysis.chunk_bytes, analysis.sst_bytes, dir_bytes,
                static_cast<double>(analysis.chunk_bytes) / n,
                static_cast<double>(analysis.sst_bytes) / n, static_cast<double>(dir_bytes) / n);
  return std::string(json);
}

int Run(size_t series, size_t rounds, const std::string& export_path, bool store) {
  std::unique_ptr<Workload> workload;
  std::string store_json;
  if (store) {
    Result<FilledStore> filled = FillStore(series, rounds);
    if (!filled.ok()) {
      std::fprintf(stderr, "filling the store: %s\n", filled.status().ToString().c_str());
      return 1;
    }
    Result<std::string> json = StoreJson(*filled->store, series * rounds);
    if (!json.ok()) {
      std::fprintf(stderr, "analyzing the store: %s\n", json.status().ToString().c_str());
      return 1;
    }
    store_json = *std::move(json);
    workload = std::move(filled->workload);
  } else {
    workload = std::make_unique<Workload>(series, kStorageBatchSize, rounds);
  }

  std::string export_json;
  if (!export_path.empty()) {
    Result<ExportSummary> exported = ExportSamples(*workload, export_path);
    if (!exported.ok()) {
      std::fprintf(stderr, "export: %s\n", exported.status().ToString().c_str());
      return 1;
    }
    char json[256];
    std::snprintf(json, sizeof(json),
                  ",\"export_lines\":%" PRIu64 ",\"export_bytes\":%" PRIu64
                  ",\"export_non_finite\":%" PRIu64,
                  exported->lines, exported->bytes, exported->non_finite);
    export_json = json;
  }

  const auto [first_ms, last_ms] = TimeRange(*workload);
  std::printf("{\"series\":%zu,\"rounds\":%zu,\"samples\":%zu,\"first_timestamp_ms\":%" PRId64
              ",\"last_timestamp_ms\":%" PRId64 "%s%s}\n",
              series, rounds, series * rounds, first_ms, last_ms, store_json.c_str(),
              export_json.c_str());
  return 0;
}

// The same figures for a recording (ReadRecording) instead of the generated
// fleet, plus what the store did not take (every sample should be appended).
int RunRecording(const std::string& path) {
  Result<Recording> recording = ReadRecording(path);
  if (!recording.ok()) {
    std::fprintf(stderr, "%s\n", recording.status().ToString().c_str());
    return 1;
  }
  if (recording->samples.empty()) {
    std::fprintf(stderr, "%s holds no sample\n", path.c_str());
    return 1;
  }
  auto filled = FillStoreWithRecording(*recording);
  if (!filled.ok()) {
    std::fprintf(stderr, "filling the store: %s\n", filled.status().ToString().c_str());
    return 1;
  }
  auto& [store, counts] = *filled;
  Result<std::string> store_json = StoreJson(*store, recording->samples.size());
  if (!store_json.ok()) {
    std::fprintf(stderr, "analyzing the store: %s\n", store_json.status().ToString().c_str());
    return 1;
  }
  if (!counts.first_rejection.empty()) {
    std::fprintf(stderr, "first sample refused: %s\n", counts.first_rejection.c_str());
  }
  std::printf("{\"series\":%zu,\"samples\":%zu,\"non_finite\":%" PRIu64
              ",\"first_timestamp_ms\":%" PRId64 ",\"last_timestamp_ms\":%" PRId64
              ",\"appended\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"rejected\":%" PRIu64
              "%s}\n",
              recording->series.size(), recording->samples.size(), recording->non_finite,
              recording->first_ms(), recording->last_ms(), counts.appended, counts.duplicates,
              counts.rejected, store_json->c_str());
  return 0;
}

}  // namespace
}  // namespace vitals::bench

int main(int argc, char** argv) {
  size_t series = vitals::bench::kDiskSeries;
  size_t rounds = vitals::bench::kDiskRounds;
  std::string export_path;
  std::string recording_path;
  bool no_store = false;
  CLI::App app{"Disk use of BM_DiskBytesPerSample's samples, and those samples as text"};
  auto* series_opt = app.add_option("--series", series, "Series of the generated fleet")
                         ->capture_default_str()
                         ->check(CLI::PositiveNumber);
  auto* rounds_opt = app.add_option("--rounds", rounds, "Samples per series, 10 s apart")
                         ->capture_default_str()
                         ->check(CLI::PositiveNumber);
  auto* export_opt = app.add_option(
      "--export", export_path, "Also write the samples to this file in the Prometheus text format");
  auto* no_store_opt =
      app.add_flag("--no-store", no_store, "Only generate (and export): no store, no disk figures");
  app.add_option("--recording", recording_path,
                 "Fill the store with this recording (Prometheus text with timestamps, gzip'ed "
                 "or plain, e.g. bench/data/agent-recording.prom.gz) instead of the generator's "
                 "samples")
      ->check(CLI::ExistingFile)
      ->excludes(series_opt, rounds_opt, export_opt, no_store_opt);
  CLI11_PARSE(app, argc, argv);
  if (!recording_path.empty()) return vitals::bench::RunRecording(recording_path);
  return vitals::bench::Run(series, rounds, export_path, !no_store);
}
