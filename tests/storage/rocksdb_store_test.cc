#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <limits>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/labels.h"
#include "common/samples.h"
#include "common/selector.h"
#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace vitals::storage {
namespace {

constexpr int64_t kMinTime = INT64_MIN;
constexpr int64_t kMaxTime = INT64_MAX;

const MetricDesc kLoad{"node_load1", MetricType::kGauge, "1m load average."};
const MetricDesc kCpu{"node_cpu_seconds_total", MetricType::kCounter, "CPU seconds per mode."};

// A sample of `metric` with `labels` (any order, without __name__).
Sample MakeSample(const std::string& metric, Labels labels, int64_t timestamp_ms, double value) {
  labels.push_back(Label{std::string(kMetricNameLabel), metric});
  Canonicalize(&labels);
  return Sample{std::move(labels), timestamp_ms, value};
}

// One line per sample: series, timestamp and value.
std::string Dump(const std::vector<Sample>& samples) {
  std::string out;
  for (const Sample& s : samples) {
    out += FormatSeries(s.labels) + " " + std::to_string(s.timestamp_ms) + " " +
           std::to_string(s.value) + "\n";
  }
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void TearDown() override { store_.reset(); }

  // Maintenance runs when a test calls Maintain(), never on its own.
  virtual Options StoreOptions() const {
    Options options;
    options.path = (dir_ / "db").string();
    options.background_maintenance = false;
    options.retention = std::chrono::milliseconds(0);
    // Reopen replays the write-ahead log; PersistHeadStoreTest covers the
    // default, which writes the head to chunks on close.
    options.persist_head_on_close = false;
    return options;
  }

  // Closes the store (if open) and opens it again on the same directory.
  void Reopen() {
    store_.reset();
    auto store = Store::Open(StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  AppendResult Append(const std::vector<Sample>& samples,
                      const std::vector<MetricDesc>& metadata = {}) {
    auto result = store_->Append(samples, metadata);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : AppendResult{};
  }

  void Maintain() {
    Status status = store_->Maintain();
    ASSERT_TRUE(status.ok()) << status.ToString();
  }

  // Every sample of series matching `selector` in [min, max], one series per
  // line: "labels t=v t=v ...", or the error.
  std::string Range(const std::string& selector, int64_t min_time_ms = kMinTime,
                    int64_t max_time_ms = kMaxTime) {
    auto matchers = ParseSeriesSelector(selector);
    if (!matchers.ok()) return matchers.status().ToString();
    auto set = store_->Select(*matchers, min_time_ms, max_time_ms);
    if (!set.ok()) return set.status().ToString();
    std::string out;
    while ((*set)->Next()) {
      out += FormatSeries((*set)->labels());
      auto it = (*set)->Samples();
      while (it->Next()) out += " " + std::to_string(it->t()) + "=" + FormatValue(it->v());
      if (!it->status().ok()) return out + " " + it->status().ToString();
      out += "\n";
    }
    if (!(*set)->status().ok()) return out + (*set)->status().ToString();
    return out;
  }

  static std::string FormatValue(double v) {
    if (IsStaleMarker(v)) return "stale";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }

  // SelectLatest on a PromQL selector, printed with Dump, or the error.
  std::string Select(const std::string& selector, int64_t min_time_ms = kMinTime,
                     int64_t max_time_ms = kMaxTime) {
    auto matchers = ParseSeriesSelector(selector);
    if (!matchers.ok()) return matchers.status().ToString();
    auto samples = store_->SelectLatest(*matchers, min_time_ms, max_time_ms);
    if (!samples.ok()) return samples.status().ToString();
    return Dump(*samples);
  }

  testing::TempDir tmp_;
  const std::filesystem::path dir_{tmp_.path()};
  std::unique_ptr<Store> store_;
};

// Small chunks and partitions, so that tests cross their boundaries cheaply.
class SmallChunkStoreTest : public StoreTest {
 protected:
  Options StoreOptions() const override {
    Options options = StoreTest::StoreOptions();
    options.max_samples_per_chunk = 4;
    options.partition_duration = std::chrono::minutes(1);
    return options;
  }
};

TEST_F(StoreTest, SelectLatestReturnsNewestSampleInWindowPerSeries) {
  Append({MakeSample("node_load1", {{"host", "a"}}, 1000, 1.0),
          MakeSample("node_load1", {{"host", "a"}}, 2000, 2.0),
          MakeSample("node_load1", {{"host", "a"}}, 3000, 3.0),
          MakeSample("node_load1", {{"host", "b"}}, 1500, 15.0)});
  EXPECT_EQ(Select("node_load1", 0, 2500),
            "node_load1{host=\"a\"} 2000 2.000000\n"
            "node_load1{host=\"b\"} 1500 15.000000\n");
}

TEST_F(StoreTest, SelectLatestWindowBoundsAreInclusive) {
  Append({MakeSample("node_load1", {}, 1000, 1.0), MakeSample("node_load1", {}, 2000, 2.0),
          MakeSample("node_load1", {}, 3000, 3.0)});
  EXPECT_EQ(Select("node_load1", 2000, 2000), "node_load1 2000 2.000000\n");
}

TEST_F(StoreTest, SelectLatestExcludesSamplesNewerThanWindow) {
  Append({MakeSample("node_load1", {}, 5000, 5.0)});
  EXPECT_EQ(Select("node_load1", 0, 4999), "");
}

TEST_F(StoreTest, SelectLatestOmitsSeriesWithOnlyOlderSamples) {
  Append({MakeSample("node_load1", {{"host", "a"}}, 10000, 1.0),
          MakeSample("node_load1", {{"host", "stale"}}, 1000, 2.0)});
  EXPECT_EQ(Select("node_load1", 5000, 20000), "node_load1{host=\"a\"} 10000 1.000000\n");
}

TEST_F(StoreTest, NegativeTimestampsSortBeforePositiveOnes) {
  Append({MakeSample("node_load1", {}, -2000, 1.0), MakeSample("node_load1", {}, -1000, 2.0),
          MakeSample("node_load1", {}, 500, 3.0)});
  EXPECT_EQ(Select("node_load1", kMinTime, -1), "node_load1 -1000 2.000000\n");
  EXPECT_EQ(Select("node_load1", kMinTime, -1500), "node_load1 -2000 1.000000\n");
  EXPECT_EQ(Select("node_load1", -5000, 1000), "node_load1 500 3.000000\n");
}

TEST_F(StoreTest, ConflictingSampleIsRejectedAndCounted) {
  Append({MakeSample("node_load1", {}, 1000, 1.0)});
  AppendResult result = Append({MakeSample("node_load1", {}, 1000, 7.0)});
  EXPECT_EQ(result.appended, 0u);
  EXPECT_EQ(result.rejected_for(RejectReason::kConflict), 1u);
  EXPECT_EQ(result.first_rejection, "conflict: node_load1 @ 1000 differs from the stored value");
  EXPECT_EQ(Select("node_load1"), "node_load1 1000 1.000000\n");
  EXPECT_EQ(store_->GetStats().series, 1u);
}

TEST_F(StoreTest, ResendingBatchIsHarmless) {
  std::vector<Sample> batch = {MakeSample("node_load1", {{"host", "a"}}, 1000, 1.0),
                               MakeSample("node_load1", {{"host", "b"}}, 1000, 2.0)};
  Append(batch, {kLoad});
  const std::string before = Range("node_load1");
  AppendResult again = Append(batch, {kLoad});
  EXPECT_EQ(again.duplicates, 2u);
  EXPECT_EQ(again.appended, 0u);
  EXPECT_EQ(again.rejected_total(), 0u);
  EXPECT_EQ(Range("node_load1"), before);
  EXPECT_EQ(store_->GetStats().series, 2u);
}

TEST_F(StoreTest, SameSeriesTwiceInOneBatchGetsOneSeries) {
  Append({MakeSample("node_load1", {}, 1000, 1.0), MakeSample("node_load1", {}, 2000, 2.0)});
  EXPECT_EQ(store_->GetStats().series, 1u);
  EXPECT_EQ(Select("node_load1"), "node_load1 2000 2.000000\n");
}

TEST_F(StoreTest, SelectsByMetricName) {
  Append({MakeSample("node_load1", {}, 1000, 0.5),
          MakeSample("node_cpu_seconds_total", {{"cpu", "0"}}, 1000, 10.0)});
  EXPECT_EQ(Select("node_load1"), "node_load1 1000 0.500000\n");
}

TEST_F(StoreTest, UnknownMetricNameSelectsNothing) {
  Append({MakeSample("node_load1", {}, 1000, 0.5)});
  EXPECT_EQ(Select("node_load5"), "");
}

TEST_F(StoreTest, SelectsByRegexOnOtherLabels) {
  Append({MakeSample("node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}}, 1000, 1.0),
          MakeSample("node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}, 1000, 2.0),
          MakeSample("node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "system"}}, 1000, 3.0),
          MakeSample("node_load1", {{"mode", "idle"}}, 1000, 4.0)});
  EXPECT_EQ(Select("node_cpu_seconds_total{mode=~\"idle|user\"}"),
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1000 1.000000\n"
            "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 1000 2.000000\n");
}

TEST_F(StoreTest, SelectsAcrossMetricNamesWithoutNameMatcher) {
  Append({MakeSample("node_cpu_seconds_total", {{"mode", "idle"}}, 1000, 1.0),
          MakeSample("node_load1", {{"mode", "idle"}}, 1000, 4.0),
          MakeSample("node_load1", {{"mode", "busy"}}, 1000, 5.0)});
  EXPECT_EQ(Select("{mode=\"idle\"}"),
            "node_cpu_seconds_total{mode=\"idle\"} 1000 1.000000\n"
            "node_load1{mode=\"idle\"} 1000 4.000000\n");
}

TEST_F(StoreTest, RegexOnMetricNameIsAnchored) {
  Append({MakeSample("node_load1", {}, 1000, 1.0), MakeSample("node_load15", {}, 1000, 2.0),
          MakeSample("go_goroutines", {}, 1000, 3.0)});
  EXPECT_EQ(Select("{__name__=~\"node_load1\"}"), "node_load1 1000 1.000000\n");
  EXPECT_EQ(Select("{__name__=~\"node_.*\"}"),
            "node_load1 1000 1.000000\n"
            "node_load15 1000 2.000000\n");
}

TEST_F(StoreTest, ResultsAreSortedByLabels) {
  Append({MakeSample("node_load1", {{"host", "c"}}, 1000, 3.0),
          MakeSample("node_cpu_seconds_total", {{"cpu", "1"}}, 1000, 5.0),
          MakeSample("node_load1", {{"host", "a"}}, 1000, 1.0),
          MakeSample("node_cpu_seconds_total", {{"cpu", "0"}}, 1000, 4.0),
          MakeSample("node_load1", {{"host", "b"}}, 1000, 2.0)});
  EXPECT_EQ(Select("{__name__=~\".+\"}"),
            "node_cpu_seconds_total{cpu=\"0\"} 1000 4.000000\n"
            "node_cpu_seconds_total{cpu=\"1\"} 1000 5.000000\n"
            "node_load1{host=\"a\"} 1000 1.000000\n"
            "node_load1{host=\"b\"} 1000 2.000000\n"
            "node_load1{host=\"c\"} 1000 3.000000\n");
}

TEST_F(StoreTest, DataSurvivesReopen) {
  Append({MakeSample("node_load1", {{"host", "a"}}, 1000, 1.0),
          MakeSample("node_load1", {{"host", "a"}}, 2000, 2.0),
          MakeSample("node_cpu_seconds_total", {{"cpu", "0"}}, 2000, 9.0)},
         {kLoad, kCpu});
  const std::string before = Select("{__name__=~\".+\"}");
  Reopen();
  EXPECT_EQ(Select("{__name__=~\".+\"}"), before);
  EXPECT_EQ(Select("node_load1", 0, 1500), "node_load1{host=\"a\"} 1000 1.000000\n");
}

TEST_F(StoreTest, SeriesIndexSurvivesReopen) {
  Append({MakeSample("node_load1", {{"host", "a"}}, 1000, 1.0),
          MakeSample("node_load1", {{"host", "b"}}, 1000, 2.0)});
  Reopen();
  EXPECT_EQ(store_->GetStats().series, 2u);
  // Selecting by name uses the index rebuilt from disk.
  EXPECT_EQ(Select("node_load1{host=\"b\"}"), "node_load1{host=\"b\"} 1000 2.000000\n");
}

TEST_F(StoreTest, SeriesCreatedAfterReopenDoNotCollideWithOldOnes) {
  Append({MakeSample("node_load1", {{"host", "a"}}, 1000, 1.0)});
  Reopen();
  Append({MakeSample("node_load1", {{"host", "b"}}, 2000, 2.0)});
  EXPECT_EQ(Select("node_load1"),
            "node_load1{host=\"a\"} 1000 1.000000\n"
            "node_load1{host=\"b\"} 2000 2.000000\n");
  EXPECT_EQ(store_->GetStats().series, 2u);
}

TEST_F(StoreTest, MetadataSurvivesReopen) {
  Append({MakeSample("node_load1", {}, 1000, 1.0)}, {kLoad});
  Reopen();
  std::optional<MetricDesc> desc = store_->GetMetadata("node_load1");
  ASSERT_TRUE(desc.has_value());
  EXPECT_EQ(desc->name, "node_load1");
  EXPECT_EQ(desc->type, MetricType::kGauge);
  EXPECT_EQ(desc->help, "1m load average.");
}

TEST_F(StoreTest, GetMetadataOfUnknownNameIsEmpty) {
  EXPECT_FALSE(store_->GetMetadata("node_load1").has_value());
}

TEST_F(StoreTest, MetadataLastWriteWins) {
  Append({}, {MetricDesc{"node_load1", MetricType::kGauge, "first"}});
  Append({}, {MetricDesc{"node_load1", MetricType::kUntyped, "second"}});
  std::optional<MetricDesc> desc = store_->GetMetadata("node_load1");
  ASSERT_TRUE(desc.has_value());
  EXPECT_EQ(desc->type, MetricType::kUntyped);
  EXPECT_EQ(desc->help, "second");
}

TEST_F(StoreTest, MetadataLastWriteWinsAcrossReopen) {
  Append({}, {MetricDesc{"node_load1", MetricType::kGauge, "first"}});
  Append({}, {MetricDesc{"node_load1", MetricType::kGauge, "second"}});
  Reopen();
  EXPECT_EQ(store_->GetMetadata("node_load1")->help, "second");
}

TEST_F(StoreTest, MetadataLastEntryInOneBatchWinsAcrossReopen) {
  Append({}, {MetricDesc{"node_load1", MetricType::kGauge, "old"}});
  Append({}, {MetricDesc{"node_load1", MetricType::kGauge, "new"},
              MetricDesc{"node_load1", MetricType::kGauge, "old"}});
  EXPECT_EQ(store_->GetMetadata("node_load1")->help, "old");
  Reopen();
  EXPECT_EQ(store_->GetMetadata("node_load1")->help, "old");
}

TEST_F(StoreTest, GetStatsCountsSeriesMetricNamesAndSamples) {
  Append({MakeSample("node_load1", {{"host", "a"}}, 1000, 1.0),
          MakeSample("node_load1", {{"host", "a"}}, 2000, 1.0),
          MakeSample("node_load1", {{"host", "b"}}, 1000, 1.0),
          MakeSample("node_cpu_seconds_total", {{"cpu", "0"}}, 1000, 1.0)},
         {kLoad, kCpu});
  Stats stats = store_->GetStats();
  EXPECT_EQ(stats.series, 3u);
  EXPECT_EQ(stats.metric_names, 2u);
  EXPECT_EQ(stats.samples_appended, 4u);
}

TEST_F(StoreTest, GetStatsOfEmptyStoreIsZero) {
  Stats stats = store_->GetStats();
  EXPECT_EQ(stats.series, 0u);
  EXPECT_EQ(stats.metric_names, 0u);
  EXPECT_EQ(stats.samples_appended, 0u);
}

TEST_F(StoreTest, OpenCreatesMissingDirectories) {
  Options options;
  options.path = (dir_ / "nested" / "deeper" / "db").string();
  auto store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(std::filesystem::is_directory(options.path));
}

TEST_F(StoreTest, OpenOnRegularFileFails) {
  const std::filesystem::path file = dir_ / "not-a-directory";
  std::ofstream(file) << "plain file\n";
  Options options;
  options.path = file.string();
  auto store = Store::Open(options);
  EXPECT_FALSE(store.ok());
}

TEST_F(StoreTest, OpenWithEmptyPathIsInvalidArgument) {
  auto store = Store::Open(Options{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(StoreTest, ConcurrentReadersSeeWholeBatches) {
  // Each batch writes all series at one timestamp t with value t/1000, so a
  // reader must see every series at the same timestamp with matching values.
  constexpr int kBatches = 200;
  constexpr int kSeries = 4;
  std::atomic<bool> done{false};
  std::mutex error_mu;
  std::string first_error;  // GUARDED_BY(error_mu)
  auto fail = [&](const std::string& what) {
    std::lock_guard lock(error_mu);
    if (first_error.empty()) first_error = what;
  };

  auto reader = [&] {
    auto matchers = ParseSeriesSelector("node_load1");
    if (!matchers.ok()) return fail(matchers.status().ToString());
    int64_t last_seen = -1;
    while (!done.load()) {
      auto samples = store_->SelectLatest(*matchers, kMinTime, kMaxTime);
      if (!samples.ok()) return fail(samples.status().ToString());
      if (samples->empty()) continue;
      if (samples->size() != kSeries) return fail("partial batch:\n" + Dump(*samples));
      const int64_t t = (*samples)[0].timestamp_ms;
      for (const Sample& s : *samples) {
        if (s.timestamp_ms != t || s.value != static_cast<double>(t / 1000)) {
          return fail("mixed batches:\n" + Dump(*samples));
        }
      }
      if (t < last_seen) return fail("went back in time: " + std::to_string(t));
      last_seen = t;
    }
  };

  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) readers.emplace_back(reader);
  for (int b = 1; b <= kBatches; ++b) {
    std::vector<Sample> batch;
    for (int s = 0; s < kSeries; ++s) {
      batch.push_back(MakeSample("node_load1", {{"host", std::to_string(s)}}, b * 1000, b));
    }
    auto result = store_->Append(batch, {kLoad});
    if (!result.ok()) fail(result.status().ToString());
    if (b % 50 == 0) {
      Status maintained = store_->Maintain();
      if (!maintained.ok()) fail(maintained.ToString());
    }
  }
  done = true;
  for (std::thread& t : readers) t.join();

  EXPECT_EQ(first_error, "");
  EXPECT_EQ(store_->GetStats().series, static_cast<uint64_t>(kSeries));
  EXPECT_EQ(Select("node_load1{host=\"0\"}"), "node_load1{host=\"0\"} 200000 200.000000\n");
}


TEST_F(StoreTest, SelectReturnsEverySampleInRangeOldestFirst) {
  Append({MakeSample("node_load1", {}, 1000, 1), MakeSample("node_load1", {}, 2000, 2),
          MakeSample("node_load1", {}, 3000, 3), MakeSample("node_load1", {}, 4000, 4)});
  EXPECT_EQ(Range("node_load1"), "node_load1 1000=1 2000=2 3000=3 4000=4\n");
  EXPECT_EQ(Range("node_load1", 2000, 3000), "node_load1 2000=2 3000=3\n");
  EXPECT_EQ(Range("node_load1", 5000, 6000), "");
}

TEST_F(StoreTest, SelectWithoutMatchersIsInvalidArgument) {
  auto set = store_->Select({}, kMinTime, kMaxTime);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(StoreTest, NotEqualAndNegativeRegexMatchersExcludeSeries) {
  Append({MakeSample("up", {{"job", "a"}}, 1000, 1), MakeSample("up", {{"job", "b"}}, 1000, 1),
          MakeSample("up", {}, 1000, 1)});
  EXPECT_EQ(Range("up{job!=\"a\"}"), "up 1000=1\nup{job=\"b\"} 1000=1\n");
  EXPECT_EQ(Range("up{job!~\"a|b\"}"), "up 1000=1\n");
  EXPECT_EQ(Range("up{job=\"\"}"), "up 1000=1\n");
  EXPECT_EQ(Range("up{job=~\".+\"}"), "up{job=\"a\"} 1000=1\nup{job=\"b\"} 1000=1\n");
}

TEST_F(StoreTest, SpecialValuesRoundTripBitExactly) {
  Append({MakeSample("x", {}, 1000, StaleMarker()),
          MakeSample("x", {}, 2000, std::numeric_limits<double>::quiet_NaN()),
          MakeSample("x", {}, 3000, std::numeric_limits<double>::infinity()),
          MakeSample("x", {}, 4000, -0.0)});
  Maintain();
  Reopen();
  auto matchers = ParseSeriesSelector("x");
  auto set = store_->Select(*matchers, kMinTime, kMaxTime);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE((*set)->Next());
  auto it = (*set)->Samples();
  std::vector<uint64_t> bits;
  while (it->Next()) bits.push_back(std::bit_cast<uint64_t>(it->v()));
  EXPECT_EQ(bits, (std::vector<uint64_t>{
                      kStaleNaNBits,
                      std::bit_cast<uint64_t>(std::numeric_limits<double>::quiet_NaN()),
                      std::bit_cast<uint64_t>(std::numeric_limits<double>::infinity()),
                      std::bit_cast<uint64_t>(-0.0)}));
}

TEST_F(StoreTest, IdenticalDuplicateIsIgnoredEvenWhenOlderThanNewest) {
  Append({MakeSample("x", {}, 1000, 1), MakeSample("x", {}, 2000, 2)});
  AppendResult result = Append({MakeSample("x", {}, 1000, 1)});
  EXPECT_EQ(result.duplicates, 1u);
  EXPECT_EQ(result.rejected_total(), 0u);
}

TEST_F(StoreTest, OlderSampleIsRejectedAsOutOfOrderWithoutWindow) {
  Append({MakeSample("x", {}, 2000, 2)});
  AppendResult result = Append({MakeSample("x", {}, 1000, 1)});
  EXPECT_EQ(result.rejected_for(RejectReason::kOutOfOrder), 1u);
  EXPECT_EQ(Range("x"), "x 2000=2\n");
}

class OutOfOrderStoreTest : public StoreTest {
 protected:
  Options StoreOptions() const override {
    Options options = StoreTest::StoreOptions();
    options.out_of_order_window = std::chrono::seconds(10);
    options.max_samples_per_chunk = 4;
    return options;
  }
};

TEST_F(OutOfOrderStoreTest, SampleWithinWindowIsAcceptedAndMergedInOrder) {
  Append({MakeSample("x", {}, 10000, 10), MakeSample("x", {}, 20000, 20)});
  AppendResult result = Append({MakeSample("x", {}, 15000, 15)});
  EXPECT_EQ(result.appended, 1u);
  EXPECT_EQ(Range("x"), "x 10000=10 15000=15 20000=20\n");
  Maintain();
  EXPECT_EQ(Range("x"), "x 10000=10 15000=15 20000=20\n");
  Reopen();
  EXPECT_EQ(Range("x"), "x 10000=10 15000=15 20000=20\n");
}

TEST_F(OutOfOrderStoreTest, SampleBeyondWindowIsRejected) {
  Append({MakeSample("x", {}, 30000, 30)});
  AppendResult result = Append({MakeSample("x", {}, 19999, 1)});
  EXPECT_EQ(result.rejected_for(RejectReason::kOutOfOrder), 1u);
}

TEST_F(OutOfOrderStoreTest, OutOfOrderSampleSurvivesRestartWithoutMaintenance) {
  Append({MakeSample("x", {}, 10000, 10), MakeSample("x", {}, 20000, 20)});
  Append({MakeSample("x", {}, 15000, 15)});
  Reopen();
  EXPECT_EQ(Range("x"), "x 10000=10 15000=15 20000=20\n");
  AppendResult again = Append({MakeSample("x", {}, 15000, 15)});
  EXPECT_EQ(again.duplicates, 1u);
}

TEST_F(SmallChunkStoreTest, SamplesSpanningManyChunksAndPartitionsReadBackInOrder) {
  std::string want = "x";
  for (int i = 0; i < 50; ++i) {
    Append({MakeSample("x", {}, i * 7000, i)});
    want += " " + std::to_string(i * 7000) + "=" + std::to_string(i);
  }
  want += "\n";
  EXPECT_EQ(Range("x"), want);
  Maintain();
  EXPECT_EQ(Range("x"), want);
  EXPECT_GE(store_->GetStats().partitions, 5u);
  Reopen();
  EXPECT_EQ(Range("x"), want);
  EXPECT_EQ(Range("x", 100000, 120000), "x 105000=15 112000=16 119000=17\n");
}

TEST_F(SmallChunkStoreTest, ChunksAreCutAtPartitionBoundariesOnEitherSideOfZero) {
  // 5 s apart from -90 s: a 4-sample chunk would cross -60 s, 0 and 60 s.
  std::string want_before_zero = "x";
  for (int i = 0; i < 36; ++i) {
    const int64_t t = -90000 + i * 5000;
    Append({MakeSample("x", {}, t, i)});
    if (t >= -60000 && t < 0) {
      want_before_zero += " " + std::to_string(t) + "=" + std::to_string(i);
    }
  }
  want_before_zero += "\n";
  Maintain();
  Reopen();
  // Each partition alone holds exactly its samples.
  EXPECT_EQ(Range("x", -60000, -1), want_before_zero);
  EXPECT_EQ(Range("x", 0, 59999), "x 0=18 5000=19 10000=20 15000=21 20000=22 25000=23 30000=24 "
                                  "35000=25 40000=26 45000=27 50000=28 55000=29\n");
  EXPECT_EQ(Range("x", 60000, 90000), "x 60000=30 65000=31 70000=32 75000=33 80000=34 85000=35\n");
}

TEST_F(StoreTest, ALabelHoldingTheByte0xFFIsRejectedAsNotUtf8) {
  // 0xFF separates the fields of a series key; in a value it would let two
  // label sets share one key.
  AppendResult result = Append({MakeSample("a", {{"b", "x\xff" "c\xffy"}}, 1000, 1),
                                MakeSample("a", {{"b", "x"}, {"c", "y"}}, 1000, 2)});
  EXPECT_EQ(result.rejected_for(RejectReason::kLabelLimit), 1u);
  EXPECT_EQ(result.appended, 1u);
  EXPECT_EQ(Range("a"), "a{b=\"x\",c=\"y\"} 1000=2\n");
}

TEST_F(StoreTest, ManySeriesWhoseKeysDifferOnlyInTheirLastBytesStayApart) {
  // Values of every length from 1 to 20 bytes, differing in the last one, in
  // batches longer than the write path's look-ahead; each series appended in
  // two rounds, the second one found through the index.
  std::vector<Sample> round;
  for (int length = 1; length <= 20; ++length) {
    for (char last : std::string("abc")) {
      round.push_back(MakeSample("m", {{"v", std::string(length - 1, 'z') + last}}, 1000, length));
    }
  }
  AppendResult first = Append(round);
  EXPECT_EQ(first.appended, 60u);
  EXPECT_EQ(first.new_series, 60u);
  for (Sample& s : round) s.timestamp_ms = 2000;
  AppendResult second = Append(round);
  EXPECT_EQ(second.appended, 60u);
  EXPECT_EQ(second.new_series, 0u);
  EXPECT_EQ(store_->GetStats().series, 60u);
  EXPECT_EQ(Range("m{v=\"zzzb\"}"), "m{v=\"zzzb\"} 1000=4 2000=4\n");
}

TEST_F(StoreTest, ASeriesWhoseKeyIsShorterThanAWordIsFoundAgain) {
  // {a="b"} has the 4-byte key "a\xffb\xff"; a longer series follows it in
  // the batch, so bytes past the short key belong to another key.
  const std::vector<LabelRef> short_labels = {{"a", "b"}};
  const std::vector<LabelRef> long_labels = {{kMetricNameLabel, "node_load1"}, {"host", "h"}};
  const std::vector<int64_t> first = {1000};
  const std::vector<int64_t> second = {2000};
  const std::vector<double> values = {1};
  for (const auto* times : {&first, &second}) {
    const std::vector<SeriesSamples> batch = {{short_labels, *times, values},
                                              {long_labels, *times, values}};
    auto result = store_->Append(batch, {});
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->appended, 2u);
  }
  EXPECT_EQ(store_->GetStats().series, 2u);
  EXPECT_EQ(Range("{a=\"b\"}"), "{a=\"b\"} 1000=1 2000=1\n");
}

// The default: closing writes the head to chunks and empties the log.
class PersistHeadStoreTest : public StoreTest {
 protected:
  Options StoreOptions() const override {
    Options options = StoreTest::StoreOptions();
    options.persist_head_on_close = persist_;
    options.out_of_order_window = std::chrono::seconds(10);
    return options;
  }
  bool persist_ = true;  // false: the next close is like a crash, log only.
};

TEST_F(PersistHeadStoreTest, SamplesLoggedAfterARestartThatEmptiedTheLogAreReplayed) {
  Append({MakeSample("x", {}, 1000, 1)});
  Reopen();  // Writes the head, empties the log.
  persist_ = false;
  Append({MakeSample("x", {}, 2000, 2)});
  Append({MakeSample("y", {}, 2000, 3)});
  Reopen();  // Only the log has them.
  EXPECT_EQ(Range("{__name__=~\"x|y\"}"), "x 1000=1 2000=2\ny 2000=3\n");
}

TEST_F(PersistHeadStoreTest, CloseWritesTheHeadSoReopenFindsItInChunks) {
  for (int i = 0; i < 10; ++i) Append({MakeSample("x", {}, i * 1000, i)});
  Append({MakeSample("x", {}, 8500, 85)});  // Out of order, within the window.
  Reopen();
  EXPECT_EQ(store_->GetStats().head_samples, 0u);
  auto analysis = store_->Analyze(10);
  ASSERT_TRUE(analysis.ok()) << analysis.status().ToString();
  EXPECT_EQ(analysis->chunk_samples, 11u);
  EXPECT_EQ(Range("x"),
            "x 0=0 1000=1 2000=2 3000=3 4000=4 5000=5 6000=6 7000=7 8000=8 8500=85 9000=9\n");
  // Resent samples are recognised from the chunks; new ones continue the series.
  AppendResult again = Append({MakeSample("x", {}, 1000, 1), MakeSample("x", {}, 9000, 9),
                               MakeSample("x", {}, 10000, 10)});
  EXPECT_EQ(again.duplicates, 2u);
  EXPECT_EQ(again.appended, 1u);
  AppendResult conflict = Append({MakeSample("x", {}, 8500, 1)});
  EXPECT_EQ(conflict.rejected_for(RejectReason::kConflict), 1u);
  Reopen();
  EXPECT_EQ(Range("x", 9000), "x 9000=9 10000=10\n");
}

TEST_F(SmallChunkStoreTest, HeadIsReplayedAfterRestartWithoutMaintenance) {
  for (int i = 0; i < 10; ++i) Append({MakeSample("x", {}, i * 1000, i)});
  Reopen();
  EXPECT_EQ(Range("x"), "x 0=0 1000=1 2000=2 3000=3 4000=4 5000=5 6000=6 7000=7 8000=8 9000=9\n");
}

TEST_F(SmallChunkStoreTest, RestartAfterMaintenanceNeitherLosesNorDuplicates) {
  for (int i = 0; i < 6; ++i) Append({MakeSample("x", {}, i * 1000, i)});
  Maintain();  // Writes the first chunk; the open one stays in the log.
  for (int i = 6; i < 10; ++i) Append({MakeSample("x", {}, i * 1000, i)});
  Reopen();
  EXPECT_EQ(Range("x"), "x 0=0 1000=1 2000=2 3000=3 4000=4 5000=5 6000=6 7000=7 8000=8 9000=9\n");
  // A resent batch of samples already in chunks on disk is recognised.
  AppendResult again = Append({MakeSample("x", {}, 1000, 1), MakeSample("x", {}, 9000, 9)});
  EXPECT_EQ(again.duplicates, 2u);
  AppendResult conflict = Append({MakeSample("x", {}, 2000, 5)});
  EXPECT_EQ(conflict.rejected_for(RejectReason::kConflict), 1u);
}

TEST_F(SmallChunkStoreTest, IdleSeriesChunkIsWrittenOnceItIsOld) {
  Append({MakeSample("idle", {}, 0, 1)});
  // An hour later another series moves time on; the idle series' open chunk
  // is closed by age and written, so the log can be trimmed.
  Append({MakeSample("busy", {}, 3600 * 1000 + 1, 1)});
  Maintain();
  Reopen();
  EXPECT_EQ(Range("idle"), "idle 0=1\n");
  EXPECT_EQ(Append({MakeSample("idle", {}, 0, 1)}).duplicates, 1u);
}

class RetentionStoreTest : public StoreTest {
 protected:
  Options StoreOptions() const override {
    Options options = StoreTest::StoreOptions();
    options.partition_duration = std::chrono::minutes(1);
    options.retention = std::chrono::minutes(2);
    options.max_samples_per_chunk = 4;
    return options;
  }
};

TEST_F(RetentionStoreTest, WholePartitionsOlderThanRetentionAreDropped) {
  for (int minute = 0; minute < 6; ++minute) {
    Append({MakeSample("x", {}, minute * 60000, minute)});
    Maintain();
  }
  Append({MakeSample("x", {}, 6 * 60000, 6)});
  Maintain();
  // Newest sample at 6m, retention 2m: partitions ending at or before 4m go.
  EXPECT_EQ(Range("x"), "x 240000=4 300000=5 360000=6\n");
  Reopen();
  EXPECT_EQ(Range("x"), "x 240000=4 300000=5 360000=6\n");
}

TEST_F(RetentionStoreTest, ReopensAfterRetentionDroppedEveryPartitionOnDisk) {
  for (int minute = 0; minute < 3; ++minute) Append({MakeSample("x", {}, minute * 60000, minute)});
  Append({MakeSample("x", {}, 3 * 3600 * 1000, 1)});  // Closes the old chunk by age.
  Maintain();
  // Only in the log: a sample far ahead makes retention drop every partition on disk.
  Append({MakeSample("y", {}, 10 * 3600 * 1000, 10)});
  Maintain();
  Reopen();
  EXPECT_EQ(Range("{__name__=~\"x|y\"}"), "y 36000000=10\n");
}

TEST_F(StoreTest, LimitsRejectSeriesBeyondPerMetricAndPerAgentCounts) {
  Options options = StoreOptions();
  options.limits.max_series_per_metric = 2;
  options.limits.max_series_per_tenant = 3;
  store_.reset();
  auto opened = Store::Open(options);
  ASSERT_TRUE(opened.ok());
  store_ = std::move(opened).value();
  AppendResult result = Append({MakeSample("a", {{"agent", "x"}, {"i", "1"}}, 1000, 1),
                                MakeSample("a", {{"agent", "x"}, {"i", "2"}}, 1000, 1),
                                MakeSample("a", {{"agent", "x"}, {"i", "3"}}, 1000, 1),
                                MakeSample("b", {{"agent", "x"}, {"i", "1"}}, 1000, 1),
                                MakeSample("c", {{"agent", "x"}, {"i", "1"}}, 1000, 1),
                                MakeSample("c", {{"agent", "y"}, {"i", "1"}}, 1000, 1)});
  EXPECT_EQ(result.appended, 4u);
  EXPECT_EQ(result.rejected_for(RejectReason::kSeriesLimit), 2u);
  EXPECT_EQ(result.first_rejection,
            "series_limit: a{agent=\"x\",i=\"3\"} @ 1000 would exceed the limit of 2 series with "
            "__name__=\"a\"");
  // Existing series keep being accepted.
  EXPECT_EQ(Append({MakeSample("a", {{"agent", "x"}, {"i", "1"}}, 2000, 1)}).appended, 1u);
}

TEST_F(StoreTest, LimitsRejectTooManyOrTooLongLabels) {
  Options options = StoreOptions();
  options.limits.max_label_count = 3;
  options.limits.max_label_name_length = 8;
  options.limits.max_label_value_length = 5;
  store_.reset();
  auto opened = Store::Open(options);
  ASSERT_TRUE(opened.ok());
  store_ = std::move(opened).value();
  AppendResult result =
      Append({MakeSample("a", {{"b", "1"}, {"c", "1"}, {"d", "1"}}, 1000, 1),
              MakeSample("a", {{"verylongname", "1"}}, 1000, 1),
              MakeSample("a", {{"b", "toolong"}}, 1000, 1), MakeSample("a", {{"b", "ok"}}, 1000, 1)});
  EXPECT_EQ(result.rejected_for(RejectReason::kLabelLimit), 3u);
  EXPECT_EQ(result.appended, 1u);
}

TEST_F(StoreTest, SeriesViewsAppendSeveralSamplesPerSeriesInOrder) {
  const std::string name = "node_load1";
  const std::vector<LabelRef> a = {{kMetricNameLabel, name}, {"host", "a"}};
  const std::vector<LabelRef> b = {{kMetricNameLabel, name}, {"host", "b"}};
  const std::vector<int64_t> times = {1000, 2000, 3000};
  const std::vector<double> values = {1, 2, 3};
  const std::vector<int64_t> later_times = {4000};
  const std::vector<double> later_values = {4};
  // Series a twice in one call, b with one sample.
  const std::vector<SeriesSamples> series = {{a, times, values},
                                             {b, std::span(times).first(1), std::span(values).first(1)},
                                             {a, later_times, later_values}};
  auto result = store_->Append(series, {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->appended, 5u);
  EXPECT_EQ(result->new_series, 2u);
  EXPECT_EQ(Range("node_load1"),
            "node_load1{host=\"a\"} 1000=1 2000=2 3000=3 4000=4\n"
            "node_load1{host=\"b\"} 1000=1\n");
}

TEST_F(StoreTest, SeriesViewRejectionCountsEverySampleOfTheSeries) {
  Options options = StoreOptions();
  options.limits.max_label_value_length = 3;
  store_.reset();
  auto opened = Store::Open(options);
  ASSERT_TRUE(opened.ok());
  store_ = std::move(opened).value();
  const std::vector<LabelRef> labels = {{kMetricNameLabel, "up"}, {"job", "toolong"}};
  const std::vector<int64_t> times = {1000, 2000};
  const std::vector<double> values = {1, 1};
  const std::vector<SeriesSamples> series = {{labels, times, values}};
  auto result = store_->Append(series, {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->rejected_for(RejectReason::kLabelLimit), 2u);
  EXPECT_EQ(result->first_rejection,
            "label_limit: up{job=\"toolong\"} @ 1000 value of label \"job\" is longer than 3 bytes");
  EXPECT_EQ(store_->GetStats().series, 0u);
}

TEST_F(StoreTest, LabelNamesAndValuesRespectMatchers) {
  Append({MakeSample("up", {{"job", "a"}, {"zone", "eu"}}, 1000, 1),
          MakeSample("up", {{"job", "b"}}, 1000, 1),
          MakeSample("node_load1", {{"host", "h"}}, 1000, 1)});
  auto names = store_->LabelNames({}, kMinTime, kMaxTime);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"__name__", "host", "job", "zone"}));
  auto up = ParseSeriesSelector("up");
  EXPECT_EQ(*store_->LabelNames(*up, kMinTime, kMaxTime),
            (std::vector<std::string>{"__name__", "job", "zone"}));
  EXPECT_EQ(*store_->LabelValues("job", {}, kMinTime, kMaxTime), (std::vector<std::string>{"a", "b"}));
  auto eu = ParseSeriesSelector("{zone=\"eu\"}");
  EXPECT_EQ(*store_->LabelValues("job", *eu, kMinTime, kMaxTime), (std::vector<std::string>{"a"}));
  EXPECT_EQ(*store_->LabelValues("__name__", {}, kMinTime, kMaxTime),
            (std::vector<std::string>{"node_load1", "up"}));
}

TEST_F(SmallChunkStoreTest, LabelNamesAndValuesOfATimeRangeComeFromSeriesWithSamplesInIt) {
  // job=a only early, job=b only late, host=h throughout; on disk and in memory.
  std::vector<Sample> samples;
  for (int64_t t = 0; t < 600'000; t += 10'000) {
    if (t < 200'000) samples.push_back(MakeSample("up", {{"job", "a"}, {"zone", "eu"}}, t, 1));
    if (t >= 400'000) samples.push_back(MakeSample("up", {{"job", "b"}}, t, 1));
    samples.push_back(MakeSample("node_load1", {{"host", "h"}}, t, 1));
  }
  Append(samples);
  Maintain();
  using Names = std::vector<std::string>;
  EXPECT_EQ(*store_->LabelNames({}, 0, 100'000), (Names{"__name__", "host", "job", "zone"}));
  EXPECT_EQ(*store_->LabelNames({}, 450'000, 500'000), (Names{"__name__", "host", "job"}));
  EXPECT_EQ(*store_->LabelValues("job", {}, 0, 199'999), (Names{"a"}));
  EXPECT_EQ(*store_->LabelValues("job", {}, 200'000, 399'999), (Names{}));
  EXPECT_EQ(*store_->LabelValues("job", {}, 190'000, 400'000), (Names{"a", "b"}));
  auto up = ParseSeriesSelector("up");
  EXPECT_EQ(*store_->LabelValues("__name__", *up, 250'000, 300'000), (Names{}));
  EXPECT_EQ(*store_->LabelValues("__name__", {}, 250'000, 300'000), (Names{"node_load1"}));
  EXPECT_EQ(*store_->LabelNames(*up, 700'000, 800'000), (Names{}));
}

TEST_F(StoreTest, AllMetadataListsEveryName) {
  Append({}, {kLoad, kCpu});
  auto all = store_->AllMetadata();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.at("node_load1").help, "1m load average.");
}

TEST_F(StoreTest, SnapshotOpensAsAStoreWithTheSameData) {
  Append({MakeSample("x", {}, 1000, 1), MakeSample("x", {}, 2000, 2)}, {kLoad});
  Maintain();
  Append({MakeSample("x", {}, 3000, 3)});
  const std::string snapshot = (dir_ / "snap").string();
  Status status = store_->Snapshot(snapshot);
  ASSERT_TRUE(status.ok()) << status.ToString();
  Append({MakeSample("x", {}, 4000, 4)});
  store_.reset();
  Options options = StoreOptions();
  options.path = snapshot;
  auto opened = Store::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  store_ = std::move(opened).value();
  EXPECT_EQ(Range("x"), "x 1000=1 2000=2 3000=3\n");
  EXPECT_TRUE(store_->GetMetadata("node_load1").has_value());
}

TEST_F(StoreTest, SnapshotIntoExistingDirectoryIsInvalidArgument) {
  EXPECT_EQ(store_->Snapshot(dir_.string()).code(), Status::Code::kInvalidArgument);
}

TEST_F(StoreTest, ReopeningWithAnotherPartitionDurationIsInvalidArgument) {
  store_.reset();
  Options options = StoreOptions();
  options.partition_duration = std::chrono::hours(2);
  auto opened = Store::Open(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("partition duration is fixed"), std::string::npos)
      << opened.status().message();
}

TEST_F(StoreTest, AnalyzeCountsChunksSamplesAndCardinality) {
  std::vector<Sample> batch;
  for (int t = 0; t < 300; ++t) {
    batch.clear();
    for (int i = 0; i < 3; ++i) {
      batch.push_back(MakeSample("a", {{"i", std::to_string(i)}}, t * 10000, t));
    }
    batch.push_back(MakeSample("b", {}, t * 10000, 1));
    Append(batch);
  }
  Append({MakeSample("c", {}, 3600 * 1000 * 3, 1)});  // Ages every open chunk out.
  Maintain();
  auto analysis = store_->Analyze(10);
  ASSERT_TRUE(analysis.ok()) << analysis.status().ToString();
  EXPECT_EQ(analysis->chunk_samples, 1200u);
  EXPECT_GT(analysis->chunks, 4u);
  EXPECT_GT(analysis->chunk_bytes, 0u);
  ASSERT_FALSE(analysis->series_per_metric.empty());
  EXPECT_EQ(analysis->series_per_metric[0], (std::pair<std::string, uint64_t>{"a", 3}));
}

TEST_F(StoreTest, BackgroundMaintenanceWritesChunksWithoutBeingAsked) {
  Options options = StoreOptions();
  options.background_maintenance = true;
  options.maintenance_interval = std::chrono::milliseconds(10);
  options.max_samples_per_chunk = 2;
  store_.reset();
  auto opened = Store::Open(options);
  ASSERT_TRUE(opened.ok());
  store_ = std::move(opened).value();
  for (int i = 0; i < 10; ++i) Append({MakeSample("x", {}, i * 1000, i)});
  // Waits for the background thread's effect, not for a time.
  for (int i = 0; i < 10000 && store_->GetStats().partitions == 0; ++i) {
    std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(store_->GetStats().partitions, 1u);
  EXPECT_EQ(Range("x"), "x 0=0 1000=1 2000=2 3000=3 4000=4 5000=5 6000=6 7000=7 8000=8 9000=9\n");
}

}  // namespace
}  // namespace vitals::storage
