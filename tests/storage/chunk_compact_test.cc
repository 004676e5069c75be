// EncodeCompact's encoding, kDecimalEntropy: what typical series cost,
// round trips through each of its predictors and codes, damaged chunks, and
// the exact bytes of chunks written by earlier versions (kDecimal) and by
// this one, which must keep decoding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "storage/chunk.h"
#include "tests/storage/chunk_testing.h"

namespace vitals::storage {
namespace {

using testing::Decode;
using testing::EncoderOf;
using testing::EncodingOf;
using testing::ExpectRoundTrips;
using testing::ExpectSafeDecode;
using testing::FromHex;
using testing::kDecimal;
using testing::kDecimalEntropy;
using testing::P;
using testing::Point;

// SplitMix64: the same numbers on every platform, unlike std:: distributions.
uint64_t Hash(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A bell-shaped integer in [-4 * half_range, 4 * half_range]: the sum of four
// uniform ones.
int64_t Bell(uint64_t i, int64_t half_range) {
  int64_t sum = 0;
  for (uint64_t j = 0; j < 4; ++j) {
    sum += static_cast<int64_t>(Hash(i * 4 + j) % static_cast<uint64_t>(2 * half_range + 1)) -
           half_range;
  }
  return sum;
}

// `n` samples 10 s apart with ±5 ms of jitter, values from `value(i)`.
std::vector<Point> Jittered(int n, const std::function<double(int)>& value) {
  std::vector<Point> points;
  for (int i = 0; i < n; ++i) {
    points.push_back(
        P(1'700'000'000'000 + i * 10'000 + static_cast<int64_t>(Hash(i) % 11) - 5, value(i)));
  }
  return points;
}

// `n` samples exactly 10 s apart, values from `value(i)`.
std::vector<Point> Regular(int n, const std::function<double(int)>& value) {
  std::vector<Point> points;
  for (int i = 0; i < n; ++i) points.push_back(P(1'700'000'000'000 + i * 10'000, value(i)));
  return points;
}

// The size of the compact chunk of `points`, checking it round-trips.
size_t CompactSize(const std::vector<Point>& points) {
  const std::string chunk = EncoderOf(points).EncodeCompact();
  EXPECT_EQ(EncodingOf(chunk), kDecimalEntropy);
  EXPECT_EQ(Decode(chunk), points);
  return chunk.size();
}

TEST(CompactChunkTest, PicksDecimalEntropyForDecimalValues) {
  const std::vector<Point> points = Jittered(120, [](int i) { return (230 + i % 9) / 10.0; });
  const ChunkEncoder enc = EncoderOf(points);
  const std::string compact = enc.EncodeCompact();
  EXPECT_EQ(EncodingOf(compact), kDecimalEntropy);
  EXPECT_LT(compact.size(), enc.Encode().size());
  EXPECT_EQ(Decode(compact), points);
}

// A chunk's header, scale and stream headers: what a constant series at
// regular intervals costs in all.
size_t ConstantChunkSize(int n) {
  return CompactSize(Regular(n, [](int) { return 16'777'216'000.0; }));
}

// Bits per sample that the values of `points` (at regular intervals) cost.
double ValueBitsPerSample(const std::vector<Point>& points) {
  const int n = static_cast<int>(points.size());
  return static_cast<double>(CompactSize(points) - ConstantChunkSize(n)) * 8 / n;
}

TEST(CompactChunkTest, ConstantSeriesAtRegularIntervalsCostsAFewBytesPerChunk) {
  EXPECT_LE(ConstantChunkSize(240), 28u);
}

TEST(CompactChunkTest, CounterWithRepeatingIncrementsCostsAsMuchAsAConstant) {
  EXPECT_LE(ValueBitsPerSample(Regular(240, [](int i) { return 1e12 + 1500.0 * i; })), 0.1);
}

TEST(CompactChunkTest, JitteredTimestampsCostAtMostFourBitsEach) {
  const size_t jittered = CompactSize(Jittered(240, [](int) { return 16'777'216'000.0; }));
  EXPECT_LE(static_cast<double>(jittered - ConstantChunkSize(240)) * 8 / 240, 4.0);
}

TEST(CompactChunkTest, CommonFactorsCostNothing) {
  // Memory in pages of 4096 bytes costs what the page counts cost.
  const auto pages = [](int i) { return 1e6 + static_cast<double>(Bell(i, 100)); };
  const size_t in_pages = CompactSize(Regular(240, pages));
  const size_t in_bytes = CompactSize(Regular(240, [&](int i) { return 4096 * pages(i); }));
  EXPECT_LE(in_bytes, in_pages + 4);
}

TEST(CompactChunkTest, NoisyCounterCostsLittleMoreThanTheEntropyOfItsIncrements) {
  // Increments nearly normal with a standard deviation of 462 (the sum of
  // four uniforms on ±400): an entropy of log2(462 * sqrt(2 pi e)) = 10.9 bits.
  double v = 1e9;
  EXPECT_LE(ValueBitsPerSample(Regular(240, [&](int i) { return v += 5000 + Bell(i, 400); })),
            10.9 + 0.5);
}

TEST(CompactChunkTest, RareSmallIncrementsCostAboutABitEach) {
  double v = 0;
  EXPECT_LE(ValueBitsPerSample(Regular(240, [&](int i) { return v += Hash(i) % 10 == 0; })), 1.25);
}

// Residuals from a fraction of one to 2^52, centred and not: every shape and
// shift of the block codes, the fast and slow paths of decoding.
TEST(CompactChunkTest, RoundTripsResidualsOfEveryMagnitude) {
  for (int magnitude = 0; magnitude <= 50; magnitude += 2) {
    SCOPED_TRACE("magnitude " + std::to_string(magnitude));
    const int64_t half_range = int64_t{1} << magnitude;
    ExpectRoundTrips(
        Jittered(100, [&](int i) { return static_cast<double>(Bell(i, half_range)); }));
    double counter = 0;
    ExpectRoundTrips(Regular(100, [&](int i) {
      return counter += static_cast<double>(half_range + Bell(i, half_range) / 4);
    }));
  }
}

TEST(CompactChunkTest, RoundTripsOutliersAndCounterResets) {
  double v = 1e12;
  ExpectRoundTrips(Jittered(200, [&](int i) {
    if (i == 50 || i == 51 || i == 140) v = static_cast<double>(i);  // Resets.
    if (i == 90) return 4e15;                                        // A spike.
    return v += 300 + Bell(i, 20);
  }));
}

TEST(CompactChunkTest, RoundTripsExtremeMantissasAndTimestamps) {
  constexpr double kMax = 9007199254740992.0;  // 2^53, the largest mantissa.
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();
  ExpectRoundTrips(
      {P(kMin, kMax), P(kMin + 1, -kMax), P(0, kMax), P(kMaxTime - 1, -kMax), P(kMaxTime, kMax)});
  std::vector<Point> points;
  for (int i = 0; i < 70; ++i) {
    const uint64_t t = static_cast<uint64_t>(kMin) + i * (uint64_t{1} << 57) + (Hash(i) >> 58);
    points.push_back(P(static_cast<int64_t>(t), i % 2 ? kMax : -kMax));
  }
  ExpectRoundTrips(points);
}

TEST(CompactChunkTest, RoundTripsEveryLengthAroundBlockBoundaries) {
  for (int n : {1, 2, 3, 4, 5, 31, 32, 33, 34, 63, 64, 65, 66, 95, 96, 97}) {
    SCOPED_TRACE("length " + std::to_string(n));
    ExpectRoundTrips(Jittered(n, [](int i) { return static_cast<double>(Bell(i, 1000)); }));
    ExpectRoundTrips(Jittered(n, [](int i) { return i * i * 0.5; }));  // Order 2.
    double v = 0;
    ExpectRoundTrips(
        Regular(n, [&](int i) { return v += 0.25 * static_cast<double>(Hash(i) % 4); }));
  }
}

TEST(CompactChunkTest, RoundTripsIrregularAndEqualIntervals) {
  std::vector<Point> points;
  int64_t t = -3'000'000;
  for (int i = 0; i < 150; ++i) {
    t += i % 40 == 39 ? 600'000 : (i % 3 == 0 ? 1 : 15'000);  // Gaps and bursts.
    points.push_back(P(t, static_cast<double>(Bell(i, 7)) / 1000));
  }
  ExpectRoundTrips(points);
}

TEST(CompactChunkTest, SeeksAcrossBlocks) {
  const std::vector<Point> points = Jittered(100, [](int i) { return i * 1.5; });
  const std::string chunk = EncoderOf(points).EncodeCompact();
  ChunkIterator it(chunk);
  ASSERT_TRUE(it.Seek(points[70].t - 1));
  EXPECT_EQ(it.t(), points[70].t);
  EXPECT_EQ(it.v(), 105);
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.t(), points[71].t);
  EXPECT_FALSE(it.Seek(points[99].t + 1));
  EXPECT_TRUE(it.status().ok());
}

// Chunks written by earlier versions, with the samples they hold.
struct GoldenChunk {
  const char* name;
  uint8_t encoding;
  std::string hex;
  std::vector<Point> points;
};

std::vector<Point> OldGauge() {
  std::vector<Point> points;
  for (int i = 0; i < 70; ++i) {
    points.push_back(
        P(1'700'000'000'000 + i * 10'000 + (i * 7 % 11) - 5, (230 + (i * 37 % 19)) / 10.0));
  }
  return points;
}

std::vector<Point> CounterWithReset() {
  std::vector<Point> points;
  int64_t t = -50'000;
  for (int i = 0; i < 100; ++i) {
    t += i % 17 == 0 ? 60'000 : 15'000;
    points.push_back(P(t, i < 60 ? 1e12 + i * 1234.0 + i % 3 : (i - 60) * 7.0));
  }
  return points;
}

std::vector<Point> Mixed() {
  std::vector<Point> points;
  for (int i = 0; i < 40; ++i) {
    points.push_back(P(1000 + i * 1000, i % 8 == 0 ? -4e9 - i : -(i * i) / 1000.0));
  }
  return points;
}

std::vector<Point> Constant() {
  std::vector<Point> points;
  for (int i = 0; i < 33; ++i) points.push_back(P(5'000 + i * 30'000, 16'777'216'000.0));
  return points;
}

std::vector<Point> Gauge() {
  std::vector<Point> points;
  for (int i = 0; i < 70; ++i) {
    points.push_back(P(1'700'000'000'000 + i * 10'000 + static_cast<int64_t>(Hash(i) % 11) - 5,
                       (230 + static_cast<int>(Hash(i + 500) % 19)) / 10.0));
  }
  return points;
}

std::vector<Point> Pages() {
  std::vector<Point> points;
  double v = 4096.0 * 1'000'000;
  for (int i = 0; i < 100; ++i) {
    points.push_back(P(1'000'000 + i * 15'000 + Bell(i, 2), v));
    v += 4096.0 * static_cast<double>(500 + Bell(i + 1000, i < 64 ? 40 : 300));
  }
  return points;
}

std::vector<Point> Sparse() {
  std::vector<Point> points;
  double v = 17;
  for (int i = 0; i < 96; ++i) {
    points.push_back(P(i * 60'000, v / 100));
    v += Hash(i) % 7 == 0 ? static_cast<double>(1 + Hash(i + 99) % 3) : 0;
  }
  return points;
}

std::vector<Point> Huge() {
  std::vector<Point> points;
  for (int i = 0; i < 40; ++i) {
    points.push_back(P(i * 1000, static_cast<double>(Bell(i, int64_t{1} << 50))));
  }
  return points;
}

std::vector<GoldenChunk> GoldenChunks() {
  return {
      // kDecimal, as written before kDecimalEntropy existed.
      {"gauge", kDecimal,
       "0246f69fabfef962da8e2a01284107ce1801616016016016160160160161601601700b0b00b00b00"
       "b0b00b00b00b0b00b00d8058584140c4f32600000000000000000000004c00000000000004000000"
       "004c000000000000000000000098000000000c",
       OldGauge()},
      {"counter", kDecimal,
       "0264a09c01b0af6800c7014407f53000000000000000000000000000000000000000000000000000"
       "00000000000000015f90000000000000000000000000000000000000000000000000000000010000"
       "0000afc80000000000000000000000000000000000000000000000000000000000000000afc80000"
       "00000000000000000000000000000000000000000000800000000000000057e40000000000000000"
       "00000000000000000000000000000000000000000000000057e40000000000000000000000000000"
       "000000000000000fea6040864d029e8d4a5100079e79e79e79e79e650a7a35298b19fd1a94c6277d"
       "1a94c6271d1a94c6277d1a94c6277d1a94c6271d1a94c6277d1a94c6277d1a94c6271d1a94c6277d"
       "1a94c6277d1a94c6271d1a94c6277d1a94c6277d1a94c6271d1a94c6277d1a94c6277d1a94c6271d"
       "1a94c6277d1a94c6277d1a94c6271d1a94c6277d1a94c6277d1a94c6271d1a94c6277d1a94c6277d"
       "1a94c6271d1a94c6277d1a94c62760000000001d1a94c58dfd1a94c58dfd1a94c58de0013a",
       CounterWithReset()},
      {"mixed", kDecimal,
       "0228d00fd8b0020304a005fd080a95f46a5293b7f00000017703a352949dbfe8d4a5276f3a352949"
       "db7e8d4a5276c3a352949da7e8d4a527673a352949d8f0000000fa03a352949d6fe8d4a527573a35"
       "2949d47e8d4a5274c3a352949d17e8d4a5273f3a352949cdf00000007d03a352949c9fe8d4a5271f"
       "3a352949c57e8d4a5270c3a352949c07e8d4a526f73a352949baf00000000003a352949b4fe8d4a5"
       "26c73a352949ae7e8d4a526ac3a352949a77e8d4a5268f3a3529499ff2a57d1a94a5e7fc00000000"
       "00e8d4a52e2ffa35294b87ce8d4a52e0dfa35294b7f0e8d4a52de9fa35294b75ce8d4a52dc3c",
       Mixed()},
      {"constant", kDecimal, "0221904e80cc3a0005a00875304068fe80000004", Constant()},
      // kDecimalEntropy: between them every predictor, shape, escapes, a
      // multiplier, all-zero residuals and shifts past the fast path.
      {"gauge", kDecimalEntropy,
       "0346f89fabfef962d78e2a0128c7ce200900740cbf753996e4f6d37776aea95ef7ae6a7c224403a1"
       "d37174b8db8dd8af771714d71604f780e82b4cfef8d3228a015ae300d06d496dc9273704b25a6346"
       "b6dc95f4f5bb25609dc50f3db380036c8f00",
       Gauge()},
      {"counter", kDecimalEntropy,
       "0364a09c01b0af680018800fea6000857e4700000340001a0001a0000d0000d0000094f46a528800"
       "14f46a5285964001c062e170b85c2e170b85c2e175440000000000000000a0000000300000000000"
       "00000280000000c0000000000000000a000000030000000000000000280000000c00000000000000"
       "00a000000030000000000000000280000000c0000000000000000a00000003000000000000000028"
       "0000000c0000000000000000a00000003000000000d4a6313ab5298b1bc000000000000000000000"
       "0000000001fc1fa7f07e810000",
       CounterWithReset()},
      {"pages", kDecimalEntropy,
       "0364f6887aced15a0035c7f5300940740ccca9651f493f7cad0a8b0a1b1be1b5ba0b53a43476a47b"
       "a28dbcef9e383572baaa0a7c16c8d87a6f6c787381ca8050fa1200000b7ac0003600182d66253fcb"
       "dfd978b48445fa6485d68a76ac691d848721527784de9b42e341cae33d749313e0168900cd201b9d"
       "80ca2d978263a022ad54297ba4c3d14b440c801bc90b2b4cd0f83f9e929b8da95fafc999ace40a6f"
       "4fab63cdb06540023d0266bd061e1cd1981ce091306d8c28",
       Pages()},
      {"sparse", kDecimalEntropy,
       "036000a0f3db020205c8f53000004344000f800001807e787e0001f83f1bc000000f000300", Sparse()},
      {"huge", kDecimalEntropy,
       "032800d8b0020005c5fd000000d5dc2f8d95cb46518a9e54dc79f01f64f7c0e994fb64dd537536de"
       "142fd7e7db69de1619f798db2f1ffd9ff50ca69ebe03a71a328697eab75940902dfaadd650240b44"
       "b3643c18f527c4b1bb2558b1bb80f8be94a0000000000001a81e7540dd4ee759d3dd35a55eeb84dd"
       "a29eec95b2e50dc5bcdea4f6c1ee6849b7f267d16b3194790edf0ae7d6aab845f4db05ba41bc0e19"
       "13fa9e6c76809e6a2d196d9e790652bbd76ba53439d4ba4b0f7e82135ff9867347d54ec07098a44e"
       "f6ef70e793a19e352acd8839721bdef6d094a13b43cdc6fd31547b9c09f3cf0767a6e53079b448c2"
       "c35407a231aa17022be3e7e205aef012f833a59df908b7578ac8ec911e4e91eb7e58dcfd5c0ce9d9"
       "d9c650573aad084dfadd66",
       Huge()},
      {"constant", kDecimalEntropy, "0321904e80cc3a0005c87530000011fd0000000000", Constant()},
  };
}

TEST(CompactChunkTest, DecodesTheChunksOfEarlierVersions) {
  for (const GoldenChunk& golden : GoldenChunks()) {
    SCOPED_TRACE(std::string(golden.name) + " encoding " + std::to_string(golden.encoding));
    const std::string chunk = FromHex(golden.hex);
    EXPECT_EQ(EncodingOf(chunk), golden.encoding);
    EXPECT_EQ(Decode(chunk), golden.points);
  }
}

TEST(CompactChunkTest, EveryTruncationOfAGoldenChunkIsCorruption) {
  for (const GoldenChunk& golden : GoldenChunks()) {
    const std::string chunk = FromHex(golden.hex);
    for (size_t len = 0; len < chunk.size(); ++len) {
      ChunkIterator it(std::string_view(chunk).substr(0, len));
      while (it.Next()) {
      }
      EXPECT_EQ(it.status().code(), Status::Code::kCorruption)
          << golden.name << " " << int{golden.encoding} << " cut to " << len;
    }
  }
}

TEST(CompactChunkTest, EverySingleBitFlipInAGoldenChunkDecodesSafely) {
  for (const GoldenChunk& golden : GoldenChunks()) {
    SCOPED_TRACE(std::string(golden.name) + " encoding " + std::to_string(golden.encoding));
    const std::string chunk = FromHex(golden.hex);
    for (size_t bit = 0; bit < chunk.size() * 8; ++bit) {
      std::string damaged = chunk;
      damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (0x80 >> (bit % 8)));
      ExpectSafeDecode(damaged);
    }
  }
}

TEST(CompactChunkTest, RandomDamageToGoldenChunksDecodesSafely) {
  std::mt19937_64 rng(4);
  for (const GoldenChunk& golden : GoldenChunks()) {
    const std::string chunk = FromHex(golden.hex);
    for (int round = 0; round < 3000; ++round) {
      std::string damaged = chunk;
      const int changes = 1 + static_cast<int>(rng() % 4);
      for (int c = 0; c < changes; ++c) {
        damaged[rng() % damaged.size()] = static_cast<char>(rng());
      }
      ExpectSafeDecode(damaged);
    }
  }
}

}  // namespace
}  // namespace vitals::storage
