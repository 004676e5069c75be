#pragma once

// Helpers shared by the chunk tests: samples compared bit for bit, building
// encoders, decoding with error checks, and decoding damaged chunks safely.

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "storage/chunk.h"

namespace vitals::storage::testing {

struct Point {
  int64_t t;
  uint64_t bits;  // Values compare bit for bit, so NaN payloads and -0.0 count.
  friend bool operator==(const Point&, const Point&) = default;
};

inline std::ostream& operator<<(std::ostream& os, const Point& p) {
  return os << "(" << p.t << ", " << std::bit_cast<double>(p.bits) << " = 0x" << std::hex << p.bits
            << std::dec << ")";
}

inline Point P(int64_t t, double v) { return {t, std::bit_cast<uint64_t>(v)}; }

inline ChunkEncoder EncoderOf(const std::vector<Point>& points) {
  ChunkEncoder enc;
  for (const Point& p : points) enc.Append(p.t, std::bit_cast<double>(p.bits));
  return enc;
}

// Every sample of `chunk`; fails the test if decoding reports an error.
inline std::vector<Point> Decode(std::string_view chunk) {
  std::vector<Point> out;
  ChunkIterator it(chunk);
  while (it.Next()) out.push_back(P(it.t(), it.v()));
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return out;
}

inline uint8_t EncodingOf(std::string_view chunk) {
  Result<ChunkInfo> info = ReadChunkInfo(chunk);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? info->encoding : 0;
}

// Both encodings of `points` decode to exactly `points`.
inline void ExpectRoundTrips(const std::vector<Point>& points) {
  const ChunkEncoder enc = EncoderOf(points);
  EXPECT_EQ(Decode(enc.Encode()), points) << "Gorilla";
  EXPECT_EQ(Decode(enc.EncodeCompact()), points) << "compact";
}

// Decodes a damaged chunk: either an error or samples, never a crash or an
// out-of-bounds read (run under ASan); reaching the end without error
// implies the header's facts hold.
inline void ExpectSafeDecode(std::string_view chunk) {
  Result<ChunkInfo> info = ReadChunkInfo(chunk);
  ChunkIterator it(chunk);
  size_t n = 0;
  int64_t last = 0;
  while (it.Next()) {
    if (n > 0) {
      ASSERT_GT(it.t(), last);
    }
    last = it.t();
    ++n;
  }
  if (it.status().ok()) {
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(n, info->num_samples);
    if (n > 0) {
      EXPECT_EQ(last, info->max_time);
    }
  } else {
    EXPECT_EQ(it.status().code(), Status::Code::kCorruption);
    EXPECT_NE(it.status().message(), "");
  }
}

// The bytes a string of hex digits stands for.
inline std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

constexpr uint8_t kGorilla = static_cast<uint8_t>(ChunkEncoding::kGorilla);
constexpr uint8_t kDecimal = static_cast<uint8_t>(ChunkEncoding::kDecimal);
constexpr uint8_t kDecimalEntropy = static_cast<uint8_t>(ChunkEncoding::kDecimalEntropy);

}  // namespace vitals::storage::testing
