#include "bench/datagen.h"

#include <gtest/gtest.h>

#include <bit>
#include <set>
#include <string>
#include <vector>

#include "storage/chunk.h"

namespace vitals::bench {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;

TEST(DataGeneratorTest, SameSeedGivesSameSamples) {
  DataGenerator a(7, 300, kStart, 10'000, true), b(7, 300, kStart, 10'000, true);
  std::vector<Sample> ra, rb;
  for (int round = 0; round < 5; ++round) {
    a.NextRound(&ra);
    b.NextRound(&rb);
    ASSERT_EQ(ra.size(), 300u);
    for (size_t i = 0; i < ra.size(); ++i) {
      EXPECT_EQ(ra[i].labels, rb[i].labels);
      EXPECT_EQ(ra[i].timestamp_ms, rb[i].timestamp_ms);
      EXPECT_EQ(std::bit_cast<uint64_t>(ra[i].value), std::bit_cast<uint64_t>(rb[i].value));
    }
  }
}

TEST(DataGeneratorTest, SeriesSamplesMatchWhatNextRoundGives) {
  DataGenerator gen(3, 250, kStart, 10'000, true);
  std::vector<std::vector<Sample>> rounds(20);
  for (auto& round : rounds) gen.NextRound(&round);
  for (size_t i = 0; i < gen.num_series(); ++i) {
    const auto samples = gen.SeriesSamples(i, rounds.size());
    for (size_t r = 0; r < rounds.size(); ++r) {
      EXPECT_EQ(samples[r].first, rounds[r][i].timestamp_ms);
      EXPECT_EQ(std::bit_cast<uint64_t>(samples[r].second),
                std::bit_cast<uint64_t>(rounds[r][i].value));
    }
  }
}

TEST(DataGeneratorTest, LabelSetsAreValidUniqueAndFiveToEightLabels) {
  DataGenerator gen(1, 1000, kStart, 10'000, false);
  std::set<Labels> seen;
  for (const Labels& labels : gen.series()) {
    EXPECT_TRUE(ValidateSeriesLabels(labels).ok()) << FormatSeries(labels);
    EXPECT_GE(labels.size(), 5u) << FormatSeries(labels);
    EXPECT_LE(labels.size(), 8u + 1) << FormatSeries(labels);  // node_uname_info has 4 of its own.
    EXPECT_TRUE(seen.insert(labels).second) << "duplicate " << FormatSeries(labels);
  }
}

TEST(DataGeneratorTest, JitteredTimestampsStayNearTheIntervalAndIncrease) {
  DataGenerator gen(5, 500, kStart, 10'000, true);
  for (size_t i = 0; i < gen.num_series(); i += 37) {
    const auto samples = gen.SeriesSamples(i, 100);
    for (size_t r = 1; r < samples.size(); ++r) {
      EXPECT_GE(samples[r].first - samples[r - 1].first, 10'000 - 10);
      EXPECT_LE(samples[r].first - samples[r - 1].first, 10'000 + 10);
    }
  }
}

TEST(DataGeneratorTest, EveryKindRoundTripsThroughCompactChunksAndMostAreDecimal) {
  DataGenerator gen(11, 1070, kStart, 10'000, true);
  size_t decimal = 0;
  for (size_t i = 0; i < gen.num_series(); ++i) {
    const auto samples = gen.SeriesSamples(i, 120);
    storage::ChunkEncoder enc;
    for (const auto& [t, v] : samples) enc.Append(t, v);
    const std::string chunk = enc.EncodeCompact();
    storage::ChunkIterator it(chunk);
    for (const auto& [t, v] : samples) {
      ASSERT_TRUE(it.Next()) << it.status().ToString();
      EXPECT_EQ(it.t(), t);
      EXPECT_EQ(std::bit_cast<uint64_t>(it.v()), std::bit_cast<uint64_t>(v));
    }
    EXPECT_FALSE(it.Next());
    EXPECT_TRUE(it.status().ok());
    decimal += storage::ReadChunkInfo(chunk)->encoding ==
               static_cast<uint8_t>(storage::ChunkEncoding::kDecimalEntropy);
  }
  EXPECT_GT(decimal, gen.num_series() * 9 / 10);
}

}  // namespace
}  // namespace vitals::bench
