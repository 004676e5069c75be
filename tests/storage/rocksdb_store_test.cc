#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
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
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vitals-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << "mkdtemp " << tmpl;
    dir_ = tmpl;
    Reopen();
  }

  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Options StoreOptions() const {
    Options options;
    options.path = (dir_ / "db").string();
    return options;
  }

  // Closes the store (if open) and opens it again on the same directory.
  void Reopen() {
    store_.reset();
    auto store = Store::Open(StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  void Append(const std::vector<Sample>& samples, const std::vector<MetricDesc>& metadata = {}) {
    Status status = store_->Append(samples, metadata);
    ASSERT_TRUE(status.ok()) << status.ToString();
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

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
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
  Append({MakeSample("node_load1", {}, 500, 3.0), MakeSample("node_load1", {}, -2000, 1.0),
          MakeSample("node_load1", {}, -1000, 2.0)});
  EXPECT_EQ(Select("node_load1", kMinTime, -1), "node_load1 -1000 2.000000\n");
  EXPECT_EQ(Select("node_load1", kMinTime, -1500), "node_load1 -2000 1.000000\n");
  EXPECT_EQ(Select("node_load1", -5000, 1000), "node_load1 500 3.000000\n");
}

TEST_F(StoreTest, ReappendingSameSeriesAndTimestampOverwritesValue) {
  Append({MakeSample("node_load1", {}, 1000, 1.0)});
  Append({MakeSample("node_load1", {}, 1000, 7.0)});
  EXPECT_EQ(Select("node_load1"), "node_load1 1000 7.000000\n");
  EXPECT_EQ(store_->GetStats().series, 1u);
}

TEST_F(StoreTest, ResendingBatchIsHarmless) {
  std::vector<Sample> batch = {MakeSample("node_load1", {{"host", "a"}}, 1000, 1.0),
                               MakeSample("node_load1", {{"host", "b"}}, 1000, 2.0)};
  Append(batch, {kLoad});
  const std::string before = Select("node_load1");
  Append(batch, {kLoad});
  EXPECT_EQ(Select("node_load1"), before);
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
    Status status = store_->Append(batch, {kLoad});
    if (!status.ok()) fail(status.ToString());
  }
  done = true;
  for (std::thread& t : readers) t.join();

  EXPECT_EQ(first_error, "");
  EXPECT_EQ(store_->GetStats().series, static_cast<uint64_t>(kSeries));
  EXPECT_EQ(Select("node_load1{host=\"0\"}"), "node_load1{host=\"0\"} 200000 200.000000\n");
}

}  // namespace
}  // namespace vitals::storage
