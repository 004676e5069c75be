// Resident memory per active series (issue #4: at most 1.5 KiB at 1 million
// series). Appends --rounds rounds of --series generated series into a fresh
// store and prints the collector-side RSS growth per series as JSON.
//   build/bench/vitals_storage_memory --series 1000000 --rounds 20
#include <malloc.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <CLI/CLI.hpp>

#include "bench/datagen.h"
#include "storage/store.h"

namespace {

// Resident set size of this process in bytes, from /proc/self/status.
long RssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  size_t series = 1'000'000, rounds = 20;
  CLI::App app{"RSS per active series of the storage engine"};
  app.add_option("--series", series)->capture_default_str();
  app.add_option("--rounds", rounds)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  constexpr int64_t kStart = 1'700'000'000'000, kInterval = 10'000;
  vitals::bench::DataGenerator generator(7, series, kStart, kInterval, /*jitter=*/true);
  // Batches of 1,000 samples with their labels, built once; the loop only
  // rewrites timestamps and values, so the store is the only thing growing.
  std::vector<std::vector<vitals::Sample>> batches;
  for (size_t first = 0; first < series; first += 1000) {
    auto& batch = batches.emplace_back();
    for (size_t s = first; s < std::min(series, first + 1000); ++s) {
      batch.push_back(vitals::Sample{generator.series()[s], 0, 0});
    }
  }
  std::vector<std::vector<std::pair<int64_t, double>>> values(series);
  for (size_t s = 0; s < series; ++s) values[s] = generator.SeriesSamples(s, rounds);

  std::string dir = std::filesystem::temp_directory_path() /
                    ("vitals-mem-" + std::to_string(std::random_device{}()));
  vitals::storage::Options options;
  options.path = dir;
  options.sync_writes = false;
  options.retention = std::chrono::milliseconds(0);
  malloc_trim(0);
  const long before = RssBytes();
  {
    auto store = vitals::storage::Store::Open(options);
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      return 1;
    }
    for (size_t r = 0; r < rounds; ++r) {
      for (size_t b = 0; b < batches.size(); ++b) {
        for (size_t i = 0; i < batches[b].size(); ++i) {
          const auto& [t, v] = values[b * 1000 + i][r];
          batches[b][i].timestamp_ms = t;
          batches[b][i].value = v;
        }
        auto result = (*store)->Append(batches[b], {});
        if (!result.ok()) {
          std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
          return 1;
        }
      }
    }
    if (!(*store)->Maintain().ok()) return 1;
    malloc_trim(0);
    const long after = RssBytes();
    vitals::storage::Stats stats = (*store)->GetStats();
    std::printf(
        "{\"series\":%zu,\"rounds\":%zu,\"rss_growth_mib\":%.1f,\"bytes_per_series\":%.0f,"
        "\"head_chunk_bytes_per_series\":%.0f}\n",
        series, rounds, (after - before) / 1048576.0,
        static_cast<double>(after - before) / static_cast<double>(series),
        static_cast<double>(stats.head_bytes) / static_cast<double>(series));
  }
  std::filesystem::remove_all(dir);
  return 0;
}
