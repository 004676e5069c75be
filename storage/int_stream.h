#pragma once

#include <cstdint>
#include <vector>

#include "storage/bit_stream.h"

// The integer streams inside the decimal chunk encodings (storage/chunk.h):
// a chunk's timestamps minus the first, and its values' mantissas. Streams
// are coded and decoded in blocks of kStreamBlock integers, each block with
// its own code, so that a counter reset or a burst affects only its block.

namespace vitals::storage::internal {

inline constexpr uint32_t kStreamBlock = 32;

// kDecimalEntropy. A stream of integers y[0..n) is, in order:
//   - 2 bits predictor: 0, 1, 2 for the differences of that order, 3 for the
//     grid y[i] - i * slope;
//   - for the grid, the slope; for order k, the first k differences;
//   - the center and the factor of the residuals (the rest of the
//     differences, or the grid's distances); factor 0 means every residual
//     is the center, and the stream ends here;
//   - per block of kStreamBlock integers: '0' to keep the previous block's
//     code (at first kUniform with shift 0), or '1', 2 bits shape (0 uniform,
//     1 and 2 for normal residuals, 3 geometric) and 7 bits shift; the low
//     `shift` bits of each z = zigzag((residual - center) / factor); and
//     unless the shape is uniform, the prefix code of each z >> shift (tables
//     in int_stream.cc), whose escape is followed by z >> shift itself.
// Numbers other than codes are written with BitBuffer::WriteLong, zigzagged
// if signed.

// Appends `y` as a kDecimalEntropy stream with the predictor, center, factor
// and block codes that make it about the smallest.
void WriteEntropyStream(const std::vector<uint64_t>& y, BitBuffer* out);

// Reads a kDecimalEntropy stream one block at a time. Copyable; borrows the
// bytes the BitSpan does.
class EntropyStreamReader {
 public:
  // Reads the stream's header from the bits [in.pos, in.end) of `bits`.
  // False if it is damaged or truncated.
  bool Start(BitSpan bits, Cursor in);

  // Decodes the next block, integers [index, index + count), into
  // out[0..count). False if it is damaged or truncated; the reader is then
  // unusable. REQUIRES: Start returned true; index is the count decoded so
  // far, a multiple of kStreamBlock; count <= kStreamBlock, less only for the
  // stream's last block.
  bool Decode(uint32_t index, uint32_t count, uint64_t* out);

  // Whether only the padding of a last byte follows what was read.
  bool AtPadding() const { return in_.AtPadding(); }

 private:
  bool DecodeResiduals(uint32_t count, uint64_t* out);

  BitSpan bits_;
  Cursor in_;
  uint8_t predictor_ = 0;
  uint8_t shape_ = 0;  // The current block's code.
  uint8_t shift_ = 0;
  uint64_t slope_ = 0;
  uint64_t head_[2] = {};
  uint64_t center_ = 0;
  uint64_t factor_ = 0;
  uint64_t value_ = 0;  // Orders 1 and 2: the last integer.
  uint64_t delta_ = 0;  // Order 2: the last first-order difference.
};

// kDecimal, no longer written: 2 bits order, then per block a header ('1' if
// the same as the last block's, which starts as width 0 and minimum 0, else
// '0', a 7-bit width and the zigzagged minimum with WriteLong), then each
// integer: the first `order` differences zigzagged with WriteLong, the rest
// as x - minimum in `width` bits.
class PackedStreamReader {
 public:
  // As EntropyStreamReader's.
  bool Start(BitSpan bits, Cursor in);
  bool Decode(uint32_t index, uint32_t count, uint64_t* out);
  bool AtPadding() const { return in_.AtPadding(); }

 private:
  BitSpan bits_;
  Cursor in_;
  uint8_t order_ = 0;
  uint8_t width_ = 0;  // Bits per packed value in the current block.
  uint64_t base_ = 0;  // Frame of reference of the current block.
  uint64_t value_ = 0;
  uint64_t delta_ = 0;  // For order 2: the last first-order difference.
};

}  // namespace vitals::storage::internal
