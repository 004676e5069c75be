// Durability of acknowledgements under crashes: a fleet of simulated agents
// (bench/load_generator.h, the core of vitals_ingest_load) pushes batches to
// the real vitals-collector while the test kills the collector with SIGKILL
// at seeded points (after a drawn number of acknowledged batches) and
// restarts it on the same storage. Afterwards the storage, opened in-process,
// must hold exactly the samples the generator recorded as acknowledged:
// each one once, at its timestamp, with a bit-identical value, and nothing
// else.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/load_generator.h"
#include "common/selector.h"
#include "storage/store.h"
#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

// Samples by series text, then by timestamp: the value's bits.
using SampleMap = std::map<std::string, std::map<int64_t, uint64_t>>;

constexpr int kAgents = 8;
constexpr int kSeriesPerAgent = 150;
constexpr int kRounds = 50;
constexpr int kKills = 4;
constexpr uint64_t kSeed = 20261122;

// The record file as a SampleMap. Fails the test on a malformed line or a
// sample recorded twice (the generator acknowledges each batch once).
SampleMap ReadRecord(const std::string& path, size_t* lines) {
  SampleMap samples;
  std::ifstream in(path);
  std::string line;
  *lines = 0;
  while (std::getline(in, line)) {
    ++*lines;
    auto r = bench::ParseRecordLine(line);
    EXPECT_TRUE(r.ok()) << path << ":" << *lines << ": " << r.status().ToString();
    if (!r.ok()) continue;
    auto [it, inserted] = samples[r->series].emplace(r->timestamp_ms, r->value_bits);
    EXPECT_TRUE(inserted) << "recorded twice: " << line;
  }
  return samples;
}

// Every sample in the (stopped) collector's storage at `path`. Fails the test
// if a series yields the same timestamp twice.
SampleMap ReadStore(const std::string& path) {
  SampleMap samples;
  storage::Options options;
  options.path = path;
  options.background_maintenance = false;
  auto store = storage::Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return samples;
  std::vector<Matcher> all = {Matcher::Create(MatchType::kRegexMatch, "__name__", ".+").value()};
  auto set = (*store)->Select(all, std::numeric_limits<int64_t>::min(),
                              std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  if (!set.ok()) return samples;
  while ((*set)->Next()) {
    const std::string series = FormatSeries((*set)->labels());
    std::map<int64_t, uint64_t>& points = samples[series];
    std::unique_ptr<storage::SampleIterator> it = (*set)->Samples();
    while (it->Next()) {
      auto [pos, inserted] = points.emplace(it->t(), std::bit_cast<uint64_t>(it->v()));
      EXPECT_TRUE(inserted) << "stored twice: " << series << " @ " << it->t();
    }
    EXPECT_TRUE(it->status().ok()) << series << ": " << it->status().ToString();
  }
  EXPECT_TRUE((*set)->status().ok()) << (*set)->status().ToString();
  return samples;
}

// Where `got` differs from `want`, at most `limit` lines.
std::string Differences(const SampleMap& want, const SampleMap& got, size_t limit = 10) {
  std::string out;
  size_t n = 0;
  auto note = [&](const std::string& line) {
    if (n++ < limit) out += line + "\n";
  };
  for (const auto& [series, points] : want) {
    auto it = got.find(series);
    for (const auto& [ts, bits] : points) {
      if (it == got.end() || !it->second.contains(ts)) {
        note("missing: " + series + " @ " + std::to_string(ts));
      } else if (it->second.at(ts) != bits) {
        note("value differs: " + series + " @ " + std::to_string(ts));
      }
    }
  }
  for (const auto& [series, points] : got) {
    auto it = want.find(series);
    for (const auto& [ts, bits] : points) {
      if (it == want.end() || !it->second.contains(ts)) {
        note("unexpected: " + series + " @ " + std::to_string(ts));
      }
    }
  }
  if (n > limit) out += "... " + std::to_string(n - limit) + " more\n";
  return out;
}

TEST(CrashTest, EveryAcknowledgedSampleIsStoredExactlyOnceAcrossKills) {
  TempDir dir;
  TestCollector collector(dir);
  collector.config().log_level = "info";
  std::string error;
  ASSERT_TRUE(collector.Start(&error)) << error;

  bench::LoadOptions options;
  options.endpoint = collector.config().IngestEndpoint();
  options.fleet.agents = kAgents;
  options.fleet.series_per_agent = kSeriesPerAgent;
  options.fleet.interval_ms = 10000;
  options.fleet.start_ms = (NowUnixMs() / 10000 - kRounds) * 10000;
  options.fleet.seed = kSeed;
  options.rounds = kRounds;
  options.window = 4;
  options.ack_timeout = 500ms;
  options.max_retry_backoff = 200ms;
  options.deadline = 60s;
  options.record_path = dir.File("acked.txt");
  auto generator = bench::LoadGenerator::Create(options);
  ASSERT_TRUE(generator.ok()) << generator.status().ToString();

  // Kill after these many acknowledged batches: drawn from the seed, spread
  // over the run, so the outcome does not depend on timing.
  const uint64_t total_batches = static_cast<uint64_t>(kAgents) * kRounds;
  std::mt19937_64 rng(kSeed);
  std::uniform_int_distribution<uint64_t> draw(total_batches / 10, total_batches * 85 / 100);
  std::vector<uint64_t> kill_after;
  for (int i = 0; i < kKills; ++i) kill_after.push_back(draw(rng));
  std::sort(kill_after.begin(), kill_after.end());

  Result<bench::LoadSummary> summary = Status::Internal("not run");
  std::thread runner([&] { summary = (*generator)->Run(); });
  // A failed assertion below returns early: stop the generator first.
  struct StopAndJoin {
    bench::LoadGenerator& generator;
    std::thread& runner;
    ~StopAndJoin() {
      if (!runner.joinable()) return;
      generator.RequestStop();
      runner.join();
    }
  } stop_and_join{**generator, runner};
  for (uint64_t acked : kill_after) {
    ASSERT_TRUE(WaitFor([&] { return (*generator)->batches_acked() >= acked; }, 30s))
        << "only " << (*generator)->batches_acked() << " of " << acked
        << " batches acknowledged\n" << collector.Output();
    collector.process()->Kill(SIGKILL);
    ASSERT_EQ(collector.process()->Wait(), 128 + SIGKILL);
    ASSERT_TRUE(collector.Start(&error)) << "restart after " << acked << " batches: " << error;
  }
  runner.join();
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  std::cerr << "load: " << summary->ToJson() << "\n";
  ASSERT_TRUE(summary->complete) << summary->ToJson() << "\n" << collector.Output();
  EXPECT_EQ(summary->batches_acked, total_batches);

  collector.process()->Kill(SIGTERM);
  ASSERT_EQ(collector.process()->Wait(), 0) << collector.Output();

  size_t record_lines = 0;
  const SampleMap acked = ReadRecord(options.record_path, &record_lines);
  EXPECT_EQ(record_lines, total_batches * kSeriesPerAgent);
  const SampleMap stored = ReadStore(collector.config().storage_path);
  EXPECT_EQ(Differences(acked, stored), "");
}

}  // namespace
}  // namespace vitals::testing
