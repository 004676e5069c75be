#include "storage/chunk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/samples.h"
#include "tests/storage/chunk_testing.h"

namespace vitals::storage {
namespace {

using testing::Decode;
using testing::EncoderOf;
using testing::EncodingOf;
using testing::ExpectRoundTrips;
using testing::ExpectSafeDecode;
using testing::kDecimalEntropy;
using testing::kGorilla;
using testing::P;
using testing::Point;

TEST(ChunkTest, EmptyChunkHasNoSamples) {
  ChunkEncoder enc;
  EXPECT_EQ(enc.num_samples(), 0u);
  for (const std::string& chunk : {enc.Encode(), enc.EncodeCompact()}) {
    EXPECT_TRUE(Decode(chunk).empty());
    Result<ChunkInfo> info = ReadChunkInfo(chunk);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->num_samples, 0u);
  }
}

TEST(ChunkTest, OneSampleRoundTrips) { ExpectRoundTrips({P(1'700'000'000'000, 42.5)}); }

TEST(ChunkTest, RegularCounterRoundTrips) {
  std::vector<Point> points;
  for (int i = 0; i < 720; ++i) points.push_back(P(1'700'000'000'000 + i * 10'000, i * 1.5));
  ExpectRoundTrips(points);
}

TEST(ChunkTest, SpecialValuesRoundTripBitExactly) {
  const double kNaNWithPayload = std::bit_cast<double>(uint64_t{0x7ff8dead0000beef});
  const std::vector<double> values = {
      std::numeric_limits<double>::quiet_NaN(),
      StaleMarker(),
      kNaNWithPayload,
      -std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(),
      -0.0,
      0.0,
      std::numeric_limits<double>::denorm_min(),
      -std::numeric_limits<double>::denorm_min(),
      std::numeric_limits<double>::min(),
      std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(),
      1.0,
      StaleMarker(),
  };
  std::vector<Point> points;
  for (size_t i = 0; i < values.size(); ++i) points.push_back(P(1000 + 15 * i, values[i]));
  ExpectRoundTrips(points);
  EXPECT_EQ(
      std::bit_cast<uint64_t>(std::bit_cast<double>(Decode(EncoderOf(points).Encode())[1].bits)),
      kStaleNaNBits);
}

TEST(ChunkTest, StaleMarkerKeepsItsBits) {
  const std::vector<Point> points = {P(10, 1.0), P(20, StaleMarker())};
  const std::vector<Point> decoded = Decode(EncoderOf(points).EncodeCompact());
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[1].bits, kStaleNaNBits);
  EXPECT_TRUE(IsStaleMarker(std::bit_cast<double>(decoded[1].bits)));
}

TEST(ChunkTest, IrregularAndNegativeTimestampsRoundTrip) {
  ExpectRoundTrips({P(-1'000'000, 1), P(-999'999, 2), P(-5, 3), P(0, 4), P(1, 5), P(9'001, 6),
                    P(9'002, 7), P(2'000'000, 8), P(2'000'003, 9)});
}

TEST(ChunkTest, EqualDeltasRoundTrip) {
  std::vector<Point> points;
  for (int i = 0; i < 300; ++i) points.push_back(P(i * 15'000, 7));
  ExpectRoundTrips(points);
}

TEST(ChunkTest, HugeDeltasAcrossTheWholeInt64RangeRoundTrip) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  ExpectRoundTrips({P(kMin, 1), P(kMax, 2)});
  ExpectRoundTrips({P(kMin, 1), P(kMin + 1, 2), P(0, 3), P(1, 4), P(kMax - 1, 5), P(kMax, 6)});
  ExpectRoundTrips(
      {P(kMin, 0.5), P(kMin + (1 << 20), 0.25), P(kMax - (1 << 19), 0.125), P(kMax, 1)});
}

TEST(ChunkTest, DeltaOfDeltaBucketEdgesRoundTrip) {
  std::vector<Point> points = {P(0, 0)};
  int64_t t = 0, delta = 1'000'000'000;  // The first delta is itself a large delta-of-delta.
  for (int64_t dod : {0L, 8191L, 8192L, -8192L, -8193L, 65535L, 65536L, -65536L, -65537L, 524287L,
                      524288L, -524288L, -524289L, 1L << 40, -(1L << 39)}) {
    delta += dod;
    ASSERT_GT(delta, 0);
    t += delta;
    points.push_back(P(t, static_cast<double>(dod)));
  }
  ExpectRoundTrips(points);
}

TEST(ChunkTest, ReadChunkInfoReportsHeaderFacts) {
  const ChunkEncoder enc = EncoderOf({P(-20, 1), P(5, 2), P(70, 3)});
  EXPECT_EQ(enc.min_time(), -20);
  EXPECT_EQ(enc.max_time(), 70);
  Result<ChunkInfo> info = ReadChunkInfo(enc.Encode());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->num_samples, 3u);
  EXPECT_EQ(info->min_time, -20);
  EXPECT_EQ(info->max_time, 70);
  EXPECT_EQ(info->encoding, kGorilla);
}

TEST(ChunkTest, ReadChunkInfoRejectsDamagedHeaders) {
  EXPECT_EQ(ReadChunkInfo("").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ReadChunkInfo("\x07\x01\x00\x00").status().code(), Status::Code::kCorruption);
  const std::string chunk = EncoderOf({P(1'700'000'000'000, 1), P(1'700'000'010'000, 2)}).Encode();
  EXPECT_EQ(ReadChunkInfo(chunk.substr(0, 4)).status().code(), Status::Code::kCorruption);
}

TEST(ChunkTest, SeekFindsFirstSampleAtOrAfterTime) {
  const std::string chunk = EncoderOf({P(10, 1), P(20, 2), P(30, 3), P(40, 4)}).Encode();
  ChunkIterator it(chunk);
  ASSERT_TRUE(it.Seek(15));
  EXPECT_EQ(it.t(), 20);
  ASSERT_TRUE(it.Seek(20));  // The current sample already qualifies.
  EXPECT_EQ(it.t(), 20);
  ASSERT_TRUE(it.Seek(5));  // Never goes back.
  EXPECT_EQ(it.t(), 20);
  ASSERT_TRUE(it.Seek(40));
  EXPECT_EQ(it.v(), 4);
  EXPECT_FALSE(it.Seek(41));
  EXPECT_FALSE(it.Next());
  EXPECT_TRUE(it.status().ok());
}

TEST(ChunkTest, SeekBeforeFirstNextStartsAtFirstSample) {
  const std::string chunk = EncoderOf({P(10, 1), P(20, 2)}).EncodeCompact();
  ChunkIterator it(chunk);
  ASSERT_TRUE(it.Seek(0));
  EXPECT_EQ(it.t(), 10);
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.t(), 20);
}

TEST(ChunkTest, SeekPastTheEndReturnsFalse) {
  const std::string chunk = EncoderOf({P(10, 1), P(20, 2)}).Encode();
  ChunkIterator it(chunk);
  EXPECT_FALSE(it.Seek(21));
  EXPECT_TRUE(it.status().ok());
  EXPECT_FALSE(it.Next());
}

TEST(ChunkTest, EncodeSnapshotStaysValidWhileEncoderKeepsAppending) {
  ChunkEncoder enc;
  std::vector<Point> points;
  std::vector<std::pair<std::string, std::vector<Point>>> snapshots;
  for (int i = 0; i < 200; ++i) {
    points.push_back(P(i * 1000 + (i % 7), std::sin(i) * 100));
    enc.Append(points.back().t, std::bit_cast<double>(points.back().bits));
    if (i % 13 == 0) snapshots.emplace_back(enc.Encode(), points);
  }
  for (const auto& [chunk, expected] : snapshots) EXPECT_EQ(Decode(chunk), expected);
  EXPECT_EQ(Decode(enc.Encode()), points);
}

TEST(ChunkTest, CopiedEncoderContinuesIndependently) {
  ChunkEncoder a = EncoderOf({P(1, 1), P(2, 2)});
  ChunkEncoder b = a;
  a.Append(3, 3);
  b.Append(4, 4);
  EXPECT_EQ(Decode(a.Encode()), (std::vector<Point>{P(1, 1), P(2, 2), P(3, 3)}));
  EXPECT_EQ(Decode(b.Encode()), (std::vector<Point>{P(1, 1), P(2, 2), P(4, 4)}));
}

TEST(ChunkTest, MemoryBytesStaysNearEncodedSize) {
  ChunkEncoder enc;
  EXPECT_LE(enc.MemoryBytes(), 96u);
  for (int i = 0; i < 720; ++i) enc.Append(i * 10'000 + i % 5, 1e9 + i * 12345.678);
  const size_t encoded = enc.Encode().size();
  EXPECT_LE(enc.MemoryBytes(), encoded + encoded / 2 + 96);
}

TEST(ChunkTest, EncodeCompactPicksDecimalForNegativeAndLargeIntegers) {
  std::vector<Point> points;
  for (int i = 0; i < 120; ++i) {
    points.push_back(P(i * 10'000, i % 2 ? -4e15 - i : static_cast<double>(i - 60)));
  }
  const std::string compact = EncoderOf(points).EncodeCompact();
  EXPECT_EQ(EncodingOf(compact), kDecimalEntropy);
  EXPECT_EQ(Decode(compact), points);
}

TEST(ChunkTest, EncodeCompactFallsBackToGorillaForValuesWithoutExactDecimal) {
  for (double odd : {std::numeric_limits<double>::quiet_NaN(), StaleMarker(), -0.0,
                     std::numeric_limits<double>::infinity(), 0.1 + 0.2, 1e300,
                     std::numeric_limits<double>::denorm_min(), 9007199254740993.0 * 4}) {
    std::vector<Point> points;
    for (int i = 0; i < 50; ++i) points.push_back(P(i * 10'000, i * 0.5));
    points.push_back(P(50 * 10'000, odd));
    const std::string compact = EncoderOf(points).EncodeCompact();
    EXPECT_EQ(EncodingOf(compact), kGorilla) << odd;
    EXPECT_EQ(Decode(compact), points) << odd;
  }
}

TEST(ChunkTest, ConstantCompactChunkTakesAFewBytes) {
  std::vector<Point> points;
  for (int i = 0; i < 720; ++i) points.push_back(P(1'700'000'000'000 + i * 10'000, 16'777'216'000));
  const std::string compact = EncoderOf(points).EncodeCompact();
  EXPECT_EQ(Decode(compact), points);
  EXPECT_LT(compact.size(), 80u);
}

// Random chunks of assorted shapes, decoded and compared with what went in.
TEST(ChunkTest, RandomChunksRoundTripInBothEncodings) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    const int n = static_cast<int>(rng() % 300);
    const int shape = static_cast<int>(rng() % 6);
    int64_t t = static_cast<int64_t>(rng());
    if (rng() % 2) t = static_cast<int64_t>(rng() % 2'000'000'000'000) - 1'000'000'000'000;
    std::vector<Point> points;
    double level = static_cast<double>(rng() % 1000);
    for (int i = 0; i < n; ++i) {
      double v = 0;
      switch (shape) {
        case 0:
          v = std::bit_cast<double>(rng());
          break;  // Any bits at all.
        case 1:
          level += static_cast<double>(rng() % 5000);
          v = level;
          break;  // Counter.
        case 2:
          v = static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 100;
          break;
        case 3:
          v = level;
          break;  // Constant.
        case 4:
          v = static_cast<double>(rng() % 100'000) / 1e6;
          break;  // Latency-like.
        default:
          v = static_cast<double>(rng() % 4) * 0.1;
          break;  // Few repeated values.
      }
      points.push_back(P(t, v));
      const uint64_t step = rng() % 4 == 0 ? rng() >> (rng() % 64) : 10'000 + rng() % 11 - 5;
      if (step == 0 || step > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          __builtin_add_overflow(t, static_cast<int64_t>(step), &t)) {
        break;
      }
    }
    SCOPED_TRACE("round " + std::to_string(round) + " shape " + std::to_string(shape));
    ExpectRoundTrips(points);
  }
}

std::vector<std::string> SampleChunks() {
  std::vector<std::string> chunks;
  std::mt19937_64 rng(7);
  std::vector<Point> counter, gauge, odd;
  for (int i = 0; i < 150; ++i) {
    const int64_t t = 1'700'000'000'000 + i * 10'000 + static_cast<int64_t>(rng() % 7);
    counter.push_back(P(t, i * 1024.0 + static_cast<double>(rng() % 100)));
    gauge.push_back(P(t, static_cast<double>(rng() % 500) / 10));
    odd.push_back(P(t, i % 10 == 0 ? StaleMarker() : std::bit_cast<double>(rng())));
  }
  for (const auto& points : {counter, gauge, odd}) {
    const ChunkEncoder enc = EncoderOf(points);
    chunks.push_back(enc.Encode());
    chunks.push_back(enc.EncodeCompact());
  }
  return chunks;
}

TEST(ChunkTest, EveryTruncationFailsWithCorruption) {
  for (const std::string& chunk : SampleChunks()) {
    for (size_t len = 0; len < chunk.size(); ++len) {
      const std::string cut = chunk.substr(0, len);
      ChunkIterator it(cut);
      while (it.Next()) {
      }
      EXPECT_EQ(it.status().code(), Status::Code::kCorruption) << "length " << len;
    }
  }
}

TEST(ChunkTest, RandomByteFlipsNeverCrash) {
  std::mt19937_64 rng(99);
  for (const std::string& chunk : SampleChunks()) {
    for (int round = 0; round < 2000; ++round) {
      std::string damaged = chunk;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
      }
      ExpectSafeDecode(damaged);
    }
  }
}

TEST(ChunkTest, TrailingGarbageIsCorruption) {
  std::string chunk = EncoderOf({P(10, 1), P(20, 2)}).Encode();
  chunk += "garbage";
  ChunkIterator it(chunk);
  while (it.Next()) {
  }
  EXPECT_EQ(it.status().code(), Status::Code::kCorruption);
}

TEST(ChunkTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    if (!bytes.empty()) bytes[0] = static_cast<char>(1 + rng() % 3);
    ExpectSafeDecode(bytes);
  }
}

}  // namespace
}  // namespace vitals::storage
