#include "common/samples.h"

#include <gtest/gtest.h>

namespace vitals {
namespace {

const MetricDesc kLoad{"node_load1", MetricType::kGauge, "1m load average."};
const MetricDesc kCpu{"node_cpu_seconds_total", MetricType::kCounter, "CPU time."};

TEST(SampleSetTest, SamplesGetTheNameLabelAndCanonicalLabels) {
  SampleSet set(1000);
  set.Add(kCpu, {{"mode", "user"}, {"cpu", "0"}, {"empty", ""}}, 5);
  ASSERT_EQ(set.size(), 1u);
  const Labels want = {{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"mode", "user"}};
  EXPECT_EQ(set.samples()[0].labels, want);
  EXPECT_EQ(set.samples()[0].timestamp_ms, 1000);
}

TEST(SampleSetTest, LabelReferencesAndOwnedLabelsMakeTheSameSample) {
  SampleSet set(1000);
  const std::string cpu = "3";
  set.Add(kCpu, {{"mode", "user"}, {"cpu", cpu}, {"empty", ""}}, 5);
  set.Add(kCpu, Labels{{"mode", "user"}, {"cpu", cpu}, {"empty", ""}}, 5);
  const std::vector<LabelRef> refs = {{"mode", "user"}, {"cpu", cpu}};
  set.AddFromRefs(kCpu, refs, 5, 1000);
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set.samples()[0].labels, set.samples()[1].labels);
  EXPECT_EQ(set.samples()[0].labels, set.samples()[2].labels);
  EXPECT_EQ(set.metadata().size(), 1u);
}

TEST(SampleSetTest, MetadataHoldsEachNameOnceWhateverTheOrderOfSamples) {
  SampleSet set;
  set.Add(kCpu, {{"cpu", "0"}}, 1);
  set.Add(kCpu, {{"cpu", "1"}}, 2);
  set.Add(kLoad, {}, 0.5);
  set.Add(kCpu, {{"cpu", "2"}}, 3);
  ASSERT_EQ(set.metadata().size(), 2u);
  EXPECT_EQ(set.metadata().at("node_load1").help, "1m load average.");
  EXPECT_EQ(set.metadata().at("node_cpu_seconds_total").type, MetricType::kCounter);
}

TEST(SampleSetTest, ASetAppendedElsewhereRecordsMetadataAgainWhenReused) {
  SampleSet round;
  SampleSet part;
  part.Add(kLoad, {}, 0.5);
  round.Append(std::move(part));
  EXPECT_TRUE(round.metadata().contains("node_load1"));
  // The same metric again into the emptied set: its metadata went to
  // `round`, so it must be recorded anew.
  part.Add(kLoad, {}, 0.7);
  EXPECT_TRUE(part.metadata().contains("node_load1"));
  EXPECT_EQ(part.size(), 1u);
}

TEST(SampleSetTest, ACopyRecordsItsOwnMetadata) {
  SampleSet original;
  original.Add(kLoad, {}, 0.5);
  SampleSet copy = original;
  copy.Add(kLoad, {}, 0.6);
  copy.Add(kCpu, {{"cpu", "0"}}, 1);
  EXPECT_EQ(copy.metadata().size(), 2u);
  EXPECT_EQ(original.metadata().size(), 1u);
}

}  // namespace
}  // namespace vitals
