#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include "common/selector.h"
#include "ctl/tsdb.h"
#include "tests/support/scratch_store.h"
#include "tests/support/temp_dir.h"

namespace vitals::ctl {
namespace {

constexpr char kOpenMetrics[] =
    "# TYPE http_requests counter\n"
    "# HELP http_requests Requests served.\n"
    "http_requests_total{code=\"200\"} 10 1700000000\n"
    "http_requests_total{code=\"200\"} 12 1700000015.5\n"
    "http_requests_total{code=\"500\"} 1 1700000000 # {trace_id=\"abc\"} 1 1700000000\n"
    "# TYPE temperature_celsius gauge\n"
    "# UNIT temperature_celsius celsius\n"
    "temperature_celsius{room=\"a \\\"b\\\"\"} -Inf 1700000000\n"
    "temperature_celsius{room=\"c\"} NaN 1700000000\n"
    "# EOF\n";

class TsdbImportTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(storage::Limits{}); }
  void TearDown() override { store_.reset(); }

  void Open(const storage::Limits& limits) {
    store_.reset();
    storage::Options options = testing::ScratchStoreOptions(dir_.path());
    options.limits = limits;
    store_ = testing::OpenScratchStore(options);
  }

  Result<ImportSummary> Import(const std::string& text, ImportOptions options = {}) {
    std::istringstream in(text);
    return ImportExposition(in, "data.om", *store_, options);
  }

  // Stored samples as "series value @t" lines.
  std::string Dump() {
    auto matchers = ParseSeriesSelector("{__name__=~\".+\"}");
    auto set = store_->Select(*matchers, INT64_MIN, INT64_MAX);
    EXPECT_TRUE(set.ok());
    std::ostringstream out;
    while ((*set)->Next()) {
      auto it = (*set)->Samples();
      while (it->Next()) out << FormatSeries((*set)->labels()) << " " << it->v() << " @" << it->t() << "\n";
    }
    return out.str();
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(TsdbImportTest, StoresEverySampleWithMetadata) {
  auto summary = Import(kOpenMetrics);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(Dump(),
            "http_requests_total{code=\"200\"} 10 @1700000000000\n"
            "http_requests_total{code=\"200\"} 12 @1700000015500\n"
            "http_requests_total{code=\"500\"} 1 @1700000000000\n"
            "temperature_celsius{room=\"a \\\"b\\\"\"} -inf @1700000000000\n"
            "temperature_celsius{room=\"c\"} nan @1700000000000\n");
  EXPECT_EQ(summary->samples, 5);
  EXPECT_EQ(summary->appended, 5);
  EXPECT_EQ(summary->new_series, 4);
  EXPECT_EQ(summary->metadata, 2);
  EXPECT_EQ(summary->exemplars_ignored, 1);
  EXPECT_EQ(summary->min_time_ms, 1700000000000);
  EXPECT_EQ(summary->max_time_ms, 1700000015500);
  EXPECT_EQ(summary->lines, 10);
  auto counter = store_->GetMetadata("http_requests");
  ASSERT_TRUE(counter.has_value());
  EXPECT_EQ(counter->type, MetricType::kCounter);
  EXPECT_EQ(counter->help, "Requests served.");
  auto gauge = store_->GetMetadata("temperature_celsius");
  ASSERT_TRUE(gauge.has_value());
  EXPECT_EQ(gauge->type, MetricType::kGauge);
}

TEST_F(TsdbImportTest, WritesInBatchesOfTheConfiguredSize) {
  std::string text;
  for (int i = 0; i < 25; ++i) text += "m " + std::to_string(i) + " " + std::to_string(i) + "\n";
  text += "# EOF\n";
  auto summary = Import(text, ImportOptions{.batch_samples = 10});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->appended, 25);
  EXPECT_EQ(store_->GetStats().samples_appended, 25);
}

TEST_F(TsdbImportTest, ReadsThePrometheusTextFormatInMilliseconds) {
  auto summary = Import("# TYPE up gauge\nup{job=\"a\"} 1 1700000000123\n",
                        ImportOptions{.format = exposition::Format::kPrometheusText});
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(Dump(), "up{job=\"a\"} 1 @1700000000123\n");
}

TEST_F(TsdbImportTest, CountsWhatStorageRefusesByReason) {
  storage::Limits limits;
  limits.max_series_per_metric = 1;
  Open(limits);
  auto summary = Import(
      "a{x=\"1\"} 1 20\n"
      "a{x=\"1\"} 2 10\n"   // out of order
      "a{x=\"1\"} 3 20\n"   // conflict
      "a{x=\"1\"} 1 20\n"   // duplicate
      "a{x=\"2\"} 1 20\n"   // second series of `a`: over the limit
      "# EOF\n");
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->appended, 1);
  EXPECT_EQ(summary->duplicates, 1);
  EXPECT_EQ(summary->rejected[static_cast<size_t>(storage::RejectReason::kOutOfOrder)], 1);
  EXPECT_EQ(summary->rejected[static_cast<size_t>(storage::RejectReason::kConflict)], 1);
  EXPECT_EQ(summary->rejected[static_cast<size_t>(storage::RejectReason::kSeriesLimit)], 1);
  EXPECT_NE(summary->first_rejection, "");
}

TEST_F(TsdbImportTest, RefusesSamplesWithoutTimestampNamingTheLine) {
  auto summary = Import("a 1 1\nb 2\n# EOF\n");
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().message(), "data.om:2: sample b has no timestamp");
}

TEST_F(TsdbImportTest, RefusesInvalidLabelsNamingTheLine) {
  auto summary = Import("a{x=\"1\",x=\"2\"} 1 1\n# EOF\n");
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().message(),
            "data.om:1: a{x=\"1\",x=\"2\"}: duplicate label name \"x\"");
}

TEST_F(TsdbImportTest, ReportsSyntaxErrorsWithFileLineAndColumn) {
  auto summary = Import("a 1 1\na{ 1 1\n# EOF\n");
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().message(), "data.om:2:4: expected a label name or '}'");
}

}  // namespace
}  // namespace vitals::ctl
