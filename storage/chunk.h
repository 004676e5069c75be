#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/bit_stream.h"
#include "storage/int_stream.h"

// Compressed chunks of (timestamp, value) samples of one series.
//
// Every chunk starts with the same header: an encoding byte, the sample count
// (uvarint), the first timestamp (zigzag varint, milliseconds) and the last
// timestamp minus the first (uvarint, wrapping). The rest depends on the
// encoding:
//
//   kGorilla (1)  Facebook's Gorilla, as Prometheus's XOR chunk: timestamps as
//                 delta-of-delta with the '0', '10'+14, '110'+17, '1110'+20 and
//                 '1111'+64 bit buckets; values XOR'd with the previous value
//                 with leading/trailing-zero window reuse. Any float64
//                 round-trips bit for bit. What the head appends to.
//   kDecimalEntropy (3)
//                 Values that are all exactly mantissa / 10^scale (what a
//                 parsed "23.4" or "0.0123" is); written by EncodeCompact when
//                 smaller than kGorilla. A scale byte, the byte length of the
//                 timestamp stream, then two streams of integers, t - first t
//                 and the mantissas (storage/int_stream.h has their layout).
//                 Each stream names a predictor (the differences of order 0,
//                 1 or 2, or y[i] - i * slope for regular intervals), a center
//                 subtracted from the residuals and a common factor divided
//                 out of them (4096 for bytes counted in pages; 0 when every
//                 residual is the center, which makes constants and steady
//                 counters nearly free). Per block of 32 samples a code
//                 follows: each residual zigzagged to z, its low `shift` bits
//                 written as they are, and z >> shift in a fixed prefix code
//                 shaped for normal (two widths) or geometric residuals, with
//                 an escape for outliers, or not at all ("uniform"). On the
//                 benchmark fleet a residual costs about half a bit more than
//                 its entropy.
//   kDecimal (2)  The same values as kDecimalEntropy, each stream's residuals
//                 packed per block at the block's bit width above its minimum.
//                 No longer written; still read.
//
// Decoders check every read against the chunk's end: damaged or truncated
// chunks give a Corruption status, never a crash or an out-of-bounds read.
// Chunks carry no checksum; a bit flip that still decodes consistently yields
// wrong samples (storage layers below, such as RocksDB blocks, checksum).

namespace vitals::storage {

enum class ChunkEncoding : uint8_t {
  kGorilla = 1,
  kDecimal = 2,  // Read only: EncodeCompact writes kDecimalEntropy instead.
  kDecimalEntropy = 3,
};

// Builds one Gorilla chunk of samples in strictly increasing timestamp order.
// Holds only the encoded bits and the few words of state the next sample
// needs, so one per active series is affordable. Not thread-safe.
class ChunkEncoder {
 public:
  ChunkEncoder();
  ChunkEncoder(const ChunkEncoder&) = default;
  ChunkEncoder& operator=(const ChunkEncoder&) = default;
  ChunkEncoder(ChunkEncoder&&) noexcept = default;
  ChunkEncoder& operator=(ChunkEncoder&&) noexcept = default;

  // Adds one sample. Any value, including NaNs (kept bit for bit), is fine.
  // REQUIRES: num_samples() == 0 || t_ms > max_time().
  void Append(int64_t t_ms, double v);

  size_t num_samples() const { return num_samples_; }
  // Where Append will write next, for a prefetch hint.
  const void* tail() const { return bits_.tail(); }
  // REQUIRES: num_samples() > 0.
  int64_t min_time() const { return min_time_; }
  int64_t max_time() const { return max_time_; }
  // The value of the sample at max_time(). REQUIRES: num_samples() > 0.
  double last_value() const { return std::bit_cast<double>(prev_value_); }

  // Bytes of memory this encoder holds, itself plus its heap buffer.
  size_t MemoryBytes() const;

  // A complete kGorilla chunk of everything appended so far. The encoder stays
  // usable and may keep appending.
  std::string Encode() const;

  // The smallest encoding of everything appended so far: kDecimalEntropy when
  // every value is exactly representable and that is smaller, else kGorilla.
  // Costs a full decode and re-encode; meant for closing a chunk, not for
  // every sample.
  std::string EncodeCompact() const;

 private:
  internal::BitBuffer bits_;  // Payload after the header.
  uint32_t num_samples_ = 0;
  uint8_t leading_ = 0xff;  // XOR window of the last written value; 0xff: none yet.
  uint8_t trailing_ = 0;
  int64_t min_time_ = 0;
  int64_t max_time_ = 0;
  uint64_t delta_ = 0;       // Last timestamp delta, wrapping.
  uint64_t prev_value_ = 0;  // Bits of the last value.
};

// Reads the samples of an encoded chunk of either encoding, in order.
// The chunk bytes are borrowed and must outlive the iterator. Not thread-safe.
class ChunkIterator {
 public:
  explicit ChunkIterator(std::string_view chunk);

  // Advances to the next sample. False at the end of the chunk, or when the
  // chunk is damaged: then status() is a Corruption saying what is wrong and
  // every later call returns false. Samples are decoded a block at a time, so
  // on damage the samples of the damaged block are not returned.
  bool Next() {
    if (buffered_ < buffer_size_) {
      t_ = times_buf_[buffered_];
      v_ = values_buf_[buffered_];
      ++buffered_;
      valid_ = true;
      return true;
    }
    return NextBlock();
  }

  // Positions at the first sample with t() >= t_ms, starting from the current
  // sample (which stays if it already qualifies) or the first one if Next()
  // was never called. False if there is none, or on corruption (see status()).
  bool Seek(int64_t t_ms);

  // The current sample. REQUIRES: the last Next() or Seek() returned true.
  int64_t t() const { return t_; }
  double v() const { return v_; }

  const Status& status() const { return status_; }

 private:
  // Samples decoded per refill of the buffers: one block of the decimal
  // encodings' streams.
  static constexpr uint32_t kBufferSamples = internal::kStreamBlock;

  bool NextBlock();
  bool Fail(std::string_view what);
  bool AtEnd();
  bool DecodeGorilla(uint32_t count);
  bool DecodeDecimal(uint32_t count);
  template <typename Reader>
  bool StartStreams(Reader* times, Reader* mantissas, uint64_t time_bits);

  internal::BitSpan data_;  // After the header.
  internal::Cursor bits_;   // kGorilla: the payload.
  uint32_t num_samples_ = 0;
  uint32_t index_ = 0;        // Samples decoded so far.
  uint32_t buffered_ = 0;     // Next sample of the buffers to return.
  uint32_t buffer_size_ = 0;  // Samples in the buffers.
  bool valid_ = false;        // At a sample: the last Next() or Seek() returned true.
  bool done_ = false;         // Past the end, or failed.
  ChunkEncoding encoding_ = ChunkEncoding::kGorilla;
  uint8_t leading_ = 0xff;
  uint8_t trailing_ = 0;
  int64_t min_time_ = 0;
  int64_t max_time_ = 0;
  int64_t t_ = 0;
  double v_ = 0;
  int64_t last_t_ = 0;       // Last decoded timestamp.
  uint64_t delta_ = 0;       // kGorilla: last timestamp delta, wrapping.
  uint64_t value_bits_ = 0;  // kGorilla: bits of v_.
  double divisor_ = 1;       // Decimal encodings: v_ is mantissa / divisor_ (10^scale).
  internal::PackedStreamReader packed_times_;        // kDecimal: t - min_time.
  internal::PackedStreamReader packed_mantissas_;    // kDecimal.
  internal::EntropyStreamReader entropy_times_;      // kDecimalEntropy: t - min_time.
  internal::EntropyStreamReader entropy_mantissas_;  // kDecimalEntropy.
  Status status_;
  int64_t times_buf_[kBufferSamples];
  double values_buf_[kBufferSamples];
};

// What a chunk's header says, read without decoding the samples.
struct ChunkInfo {
  uint32_t num_samples = 0;
  int64_t min_time = 0;  // 0 for an empty chunk.
  int64_t max_time = 0;
  uint8_t encoding = 0;  // A ChunkEncoding.
};

// The header of `chunk`. Corruption if it is truncated or malformed.
Result<ChunkInfo> ReadChunkInfo(std::string_view chunk);

}  // namespace vitals::storage
