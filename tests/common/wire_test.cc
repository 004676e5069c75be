#include "common/wire.h"

#include <gtest/gtest.h>

#include <bit>
#include <set>
#include <string>
#include <vector>

namespace vitals::wirecodec {
namespace {

const MetricDesc kCpu{"node_cpu_seconds_total", MetricType::kCounter,
                      "Seconds the CPUs spent in each mode."};
const MetricDesc kLoad{"node_load1", MetricType::kGauge, "1m load average."};

// One line per sample: series, timestamp and value.
std::string Dump(const std::vector<Sample>& samples) {
  std::string out;
  for (const Sample& s : samples) {
    out += FormatSeries(s.labels) + " " + std::to_string(s.timestamp_ms) + " " +
           std::to_string(s.value) + "\n";
  }
  return out;
}

// The decoded series as samples, each with its own copy of the labels.
std::vector<Sample> Samples(const DecodedBatch& decoded) {
  std::vector<Sample> out;
  for (const SeriesSamples& s : decoded.series) {
    for (size_t k = 0; k < s.timestamps_ms.size(); ++k) {
      out.push_back(Sample{ToLabels(s.labels), s.timestamps_ms[k], s.values[k]});
    }
  }
  return out;
}

// One line per metadata entry: name, type and help.
std::string Dump(const std::vector<MetricDesc>& metadata) {
  std::string out;
  for (const MetricDesc& m : metadata) {
    out += m.name + " " + std::string(MetricTypeName(m.type)) + " " + m.help + "\n";
  }
  return out;
}

// A batch holding one series with the given label strings and refs.
wire::Batch BatchWithSeries(std::vector<std::string> strings, std::vector<uint32_t> refs,
                            std::vector<int64_t> timestamps, std::vector<double> values) {
  wire::Batch batch;
  for (const std::string& s : strings) batch.add_strings(s);
  wire::Series* series = batch.add_series();
  for (uint32_t r : refs) series->add_label_refs(r);
  for (int64_t t : timestamps) series->add_timestamps_ms(t);
  for (double v : values) series->add_values(v);
  return batch;
}

TEST(NewEnvelopeTest, CarriesProtocolVersionOneDotZero) {
  wire::Envelope env = NewEnvelope();
  EXPECT_EQ(env.protocol_major(), 1u);
  EXPECT_EQ(env.protocol_major(), static_cast<uint32_t>(wire::PROTOCOL_MAJOR));
  EXPECT_EQ(env.protocol_minor(), 1u);
}

TEST(EncodeSamplesTest, InternsEachStringOncePerBatch) {
  SampleSet set(1000);
  set.Add(kCpu, {{"cpu", "0"}, {"mode", "idle"}}, 1.0);
  set.Add(kCpu, {{"cpu", "0"}, {"mode", "user"}}, 2.0);
  set.Add(kCpu, {{"cpu", "1"}, {"mode", "idle"}}, 3.0);
  wire::Batch batch;
  EncodeSamples(set, &batch);

  std::set<std::string> distinct(batch.strings().begin(), batch.strings().end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(batch.strings_size()));
  EXPECT_EQ(distinct, (std::set<std::string>{"__name__", "node_cpu_seconds_total", "cpu", "0", "1",
                                             "mode", "idle", "user"}));
}

TEST(EncodeSamplesTest, ReusesStringsAlreadyInBatch) {
  SampleSet first(1000);
  first.Add(kLoad, {}, 0.5);
  SampleSet second(2000);
  second.Add(kLoad, {{"host", "a"}}, 0.7);
  wire::Batch batch;
  EncodeSamples(first, &batch);
  EncodeSamples(second, &batch);
  EXPECT_EQ(batch.strings_size(), 4);  // __name__, node_load1, host, a
}

TEST(EncodeSamplesTest, GroupsSamplesOfOneSeries) {
  SampleSet set;
  set.Add(kLoad, {}, 0.5, 1000);
  set.Add(kCpu, {{"cpu", "0"}}, 7.0, 1000);
  set.Add(kLoad, {}, 0.6, 2000);
  wire::Batch batch;
  EncodeSamples(set, &batch);

  ASSERT_EQ(batch.series_size(), 2);
  const wire::Series& load = batch.series(0);
  ASSERT_EQ(load.timestamps_ms_size(), 2);
  EXPECT_EQ(load.timestamps_ms(0), 1000);
  EXPECT_EQ(load.timestamps_ms(1), 2000);
  EXPECT_EQ(load.values(0), 0.5);
  EXPECT_EQ(load.values(1), 0.6);
  EXPECT_EQ(batch.series(1).timestamps_ms_size(), 1);
}

TEST(EncodeSamplesTest, GroupsAndInternsAcrossManySeries) {
  // Enough series and strings to grow the encoder's indexes several times,
  // with each series' second sample coming after all first ones.
  SampleSet set;
  constexpr int kSeries = 700;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kSeries; ++i) {
      set.Add(kCpu, {{"cpu", std::to_string(i % 50)}, {"mode", "m" + std::to_string(i / 50)}},
              round * 1000 + i, 1000 * (round + 1));
    }
  }
  wire::Batch batch;
  batch.add_strings("cpu");  // A string already in the batch is reused.
  EncodeSamples(set, &batch);

  ASSERT_EQ(batch.series_size(), kSeries);
  std::set<std::vector<uint32_t>> refs;
  for (int i = 0; i < kSeries; ++i) {
    const wire::Series& series = batch.series(i);
    refs.emplace(series.label_refs().begin(), series.label_refs().end());
    ASSERT_EQ(series.values_size(), 2);
    EXPECT_EQ(series.values(0), i);
    EXPECT_EQ(series.values(1), 1000 + i);
  }
  EXPECT_EQ(refs.size(), static_cast<size_t>(kSeries));
  std::set<std::string> distinct(batch.strings().begin(), batch.strings().end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(batch.strings_size()));
  EXPECT_EQ(batch.strings(0), "cpu");
  EXPECT_EQ(batch.strings_size(), 1 + 1 + 1 + 50 + 1 + 14);  // cpu, __name__, name, 0-49, mode, m0-m13
}

TEST(EncodeSamplesTest, WritesLabelRefsAsSortedNameValuePairs) {
  SampleSet set;
  set.Add(kCpu, {{"mode", "idle"}, {"cpu", "0"}}, 1.0, 1000);
  wire::Batch batch;
  EncodeSamples(set, &batch);

  ASSERT_EQ(batch.series_size(), 1);
  std::string pairs;
  const wire::Series& series = batch.series(0);
  for (int k = 0; k + 1 < series.label_refs_size(); k += 2) {
    pairs +=
        batch.strings(series.label_refs(k)) + "=" + batch.strings(series.label_refs(k + 1)) + ";";
  }
  EXPECT_EQ(pairs, "__name__=node_cpu_seconds_total;cpu=0;mode=idle;");
}

TEST(EncodeSamplesTest, WritesMetadataOncePerMetricName) {
  SampleSet set(1000);
  set.Add(kCpu, {{"cpu", "0"}}, 1.0);
  set.Add(kCpu, {{"cpu", "1"}}, 1.0);
  set.Add(kLoad, {}, 0.5);
  wire::Batch batch;
  EncodeSamples(set, &batch);

  ASSERT_EQ(batch.metadata_size(), 2);
  EXPECT_EQ(batch.metadata(0).name(), "node_cpu_seconds_total");
  EXPECT_EQ(batch.metadata(0).type(), wire::METRIC_TYPE_COUNTER);
  EXPECT_EQ(batch.metadata(0).help(), kCpu.help);
  EXPECT_EQ(batch.metadata(1).name(), "node_load1");
  EXPECT_EQ(batch.metadata(1).type(), wire::METRIC_TYPE_GAUGE);
}

TEST(DecodeBatchTest, RoundTripsSamples) {
  SampleSet set;
  set.Add(kCpu, {{"cpu", "0"}, {"mode", "idle"}}, 12.5, 1000);
  set.Add(kCpu, {{"cpu", "0"}, {"mode", "idle"}}, 13.5, 2000);
  set.Add(kLoad, {}, -0.25, -5);
  wire::Batch batch;
  EncodeSamples(set, &batch);

  auto decoded = DecodeBatch(batch, {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(Dump(Samples(*decoded)),
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1000 12.500000\n"
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 2000 13.500000\n"
            "node_load1 -5 -0.250000\n");
}

TEST(DecodeBatchTest, RoundTripsMetadata) {
  SampleSet set(1000);
  set.Add(kCpu, {{"cpu", "0"}}, 1.0);
  set.Add(MetricDesc{"odd", MetricType::kUntyped, ""}, {}, 1.0);
  wire::Batch batch;
  EncodeSamples(set, &batch);

  auto decoded = DecodeBatch(batch, {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(Dump(decoded->metadata),
            "node_cpu_seconds_total counter Seconds the CPUs spent in each mode.\n"
            "odd untyped \n");
}

TEST(DecodeBatchTest, KeepsStaleMarkerBitPattern) {
  SampleSet set;
  set.Add(kLoad, {}, StaleMarker(), 1000);
  wire::Batch batch;
  EncodeSamples(set, &batch);

  auto decoded = DecodeBatch(batch, {});
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(Samples(*decoded).size(), 1u);
  EXPECT_TRUE(IsStaleMarker(Samples(*decoded)[0].value));
}

TEST(DecodeBatchTest, AddsAgentLabelsInSortOrder) {
  SampleSet set;
  set.Add(kCpu, {{"cpu", "0"}}, 1.0, 1000);
  wire::Batch batch;
  EncodeSamples(set, &batch);

  Labels agent_labels = {{"agent", "web-01"}, {"env", "prod"}, {"instance", "web-01"}};
  auto decoded = DecodeBatch(batch, agent_labels);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  std::vector<Sample> samples = Samples(*decoded);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(FormatSeries(samples[0].labels),
            "node_cpu_seconds_total{agent=\"web-01\",cpu=\"0\",env=\"prod\",instance=\"web-01\"}");
  EXPECT_TRUE(ValidateSeriesLabels(samples[0].labels).ok());
}

TEST(DecodeBatchTest, AgentLabelsOverrideSameNameLabels) {
  SampleSet set;
  set.Add(kLoad, {{"instance", "spoofed"}, {"agent", "other"}}, 1.0, 1000);
  wire::Batch batch;
  EncodeSamples(set, &batch);

  const Labels agent_labels = {{"agent", "web-01"}, {"instance", "web-01"}};  // Outlives `decoded`.
  auto decoded = DecodeBatch(batch, agent_labels);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  std::vector<Sample> samples = Samples(*decoded);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(FormatSeries(samples[0].labels), "node_load1{agent=\"web-01\",instance=\"web-01\"}");
}

TEST(DecodeBatchTest, MergesAgentLabelsAroundSeriesLabelsAndDropsEmptyValues) {
  // Series labels sort before, between and after the agent's.
  wire::Batch batch = BatchWithSeries({"__name__", "up", "b", "1", "empty", "", "z", "2"},
                                      {0, 1, 2, 3, 4, 5, 6, 7}, {1000, 2000}, {1.0, 0.0});
  const Labels agent_labels = {{"agent", "web-01"}, {"c", "3"}, {"instance", "web-01"}};
  auto decoded = DecodeBatch(batch, agent_labels);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->series.size(), 1u);
  EXPECT_EQ(decoded->num_samples, 2u);
  EXPECT_EQ(Dump(Samples(*decoded)),
            "up{agent=\"web-01\",b=\"1\",c=\"3\",instance=\"web-01\",z=\"2\"} 1000 1.000000\n"
            "up{agent=\"web-01\",b=\"1\",c=\"3\",instance=\"web-01\",z=\"2\"} 2000 0.000000\n");
}

TEST(DecodeBatchTest, StringUsedAsValueAndAsBadNameIsJudgedPerUse) {
  // "1x" is a fine value but not a label name; interned once, checked for both.
  wire::Batch batch = BatchWithSeries({"__name__", "up", "a", "1x"}, {0, 1, 2, 3}, {1000}, {1.0});
  wire::Series* second = batch.add_series();
  for (uint32_t r : {0u, 1u, 3u, 3u}) second->add_label_refs(r);
  second->add_timestamps_ms(1000);
  second->add_values(1.0);
  auto decoded = DecodeBatch(batch, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(), "InvalidArgument: series 1: invalid label name \"1x\"");
}

TEST(DecodeBatchTest, DecodedSeriesStayValidWhenTheResultIsMoved) {
  SampleSet set;
  set.Add(kCpu, {{"cpu", "0"}}, 1.0, 1000);
  wire::Batch batch;
  EncodeSamples(set, &batch);
  const Labels agent_labels = {{"agent", "a"}};
  auto decoded = DecodeBatch(batch, agent_labels);
  ASSERT_TRUE(decoded.ok());
  DecodedBatch moved = std::move(decoded).value();
  EXPECT_EQ(Dump(Samples(moved)), "node_cpu_seconds_total{agent=\"a\",cpu=\"0\"} 1000 1.000000\n");
}

TEST(DecodeBatchTest, AcceptsEmptyBatch) {
  auto decoded = DecodeBatch(wire::Batch(), {});
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->series.empty());
  EXPECT_TRUE(decoded->metadata.empty());
}

TEST(DecodeBatchTest, RejectsOutOfRangeNameRef) {
  wire::Batch batch = BatchWithSeries({"__name__", "up"}, {0, 1, 2, 1}, {1000}, {1.0});
  auto decoded = DecodeBatch(batch, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(), "InvalidArgument: series 0: label reference out of range");
}

TEST(DecodeBatchTest, RejectsOutOfRangeValueRef) {
  wire::Batch batch = BatchWithSeries({"__name__", "up"}, {0, 4294967295u}, {1000}, {1.0});
  auto decoded = DecodeBatch(batch, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(), "InvalidArgument: series 0: label reference out of range");
}

TEST(DecodeBatchTest, RejectsOddNumberOfLabelRefs) {
  wire::Batch batch = BatchWithSeries({"__name__", "up"}, {0, 1, 0}, {1000}, {1.0});
  auto decoded = DecodeBatch(batch, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(),
            "InvalidArgument: series 0: odd number of label references");
}

TEST(DecodeBatchTest, RejectsMismatchedTimestampsAndValues) {
  wire::Batch batch = BatchWithSeries({"__name__", "up"}, {0, 1}, {1000, 2000}, {1.0});
  auto decoded = DecodeBatch(batch, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(), "InvalidArgument: series 0: 2 timestamps but 1 values");
}

TEST(DecodeBatchTest, RejectsInvalidMetricName) {
  wire::Batch batch = BatchWithSeries({"__name__", "bad-name"}, {0, 1}, {1000}, {1.0});
  auto decoded = DecodeBatch(batch, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(),
            "InvalidArgument: series 0: invalid metric name \"bad-name\"");
}

TEST(DecodeBatchTest, RejectsSeriesWithoutMetricName) {
  wire::Batch batch = BatchWithSeries({"job", "node"}, {0, 1}, {1000}, {1.0});
  EXPECT_FALSE(DecodeBatch(batch, {}).ok());
}

TEST(DecodeBatchTest, RejectsInvalidLabelValue) {
  wire::Batch batch =
      BatchWithSeries({"__name__", "up", "job", "\xED\xA0\x80"}, {0, 1, 2, 3}, {1000}, {1.0});
  auto decoded = DecodeBatch(batch, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(),
            "InvalidArgument: series 0: label \"job\" has a value that is not UTF-8");
}

TEST(DecodeBatchTest, RejectsDuplicateLabelNames) {
  wire::Batch batch =
      BatchWithSeries({"__name__", "up", "job", "a", "b"}, {0, 1, 2, 3, 2, 4}, {1000}, {1.0});
  EXPECT_FALSE(DecodeBatch(batch, {}).ok());
}

TEST(DecodeBatchTest, RejectsWholeBatchWhenLaterSeriesIsInvalid) {
  SampleSet set;
  set.Add(kLoad, {}, 1.0, 1000);
  wire::Batch batch;
  EncodeSamples(set, &batch);
  wire::Series* bad = batch.add_series();
  bad->add_label_refs(0);
  bad->add_label_refs(99);
  bad->add_timestamps_ms(1000);
  bad->add_values(1.0);

  auto decoded = DecodeBatch(batch, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(), "InvalidArgument: series 1: label reference out of range");
}

TEST(DecodeBatchTest, RejectsMetadataWithInvalidName) {
  wire::Batch batch;
  wire::MetricMetadata* m = batch.add_metadata();
  m->set_name("not a name");
  auto decoded = DecodeBatch(batch, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(),
            "InvalidArgument: metadata: invalid metric name \"not a name\"");
}

TEST(MetricTypeWireTest, RoundTripsEveryType) {
  for (MetricType t : {MetricType::kUntyped, MetricType::kCounter, MetricType::kGauge}) {
    EXPECT_EQ(FromWire(ToWire(t)), t);
  }
}

TEST(MetricTypeWireTest, UnknownWireTypeIsUntyped) {
  EXPECT_EQ(FromWire(static_cast<wire::MetricType>(42)), MetricType::kUntyped);
}

}  // namespace
}  // namespace vitals::wirecodec
