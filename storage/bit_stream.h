#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

// Bit strings for the chunk encodings (storage/chunk.h): an append-only
// writer, bounds-checked reading, and the integer helpers both sides share.
// Bits are big-endian: the first bit is the highest bit of the first byte.

namespace vitals::storage::internal {

inline uint64_t ZigZag(uint64_t x) {
  return (x << 1) ^ static_cast<uint64_t>(static_cast<int64_t>(x) >> 63);
}
inline uint64_t UnZigZag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }
inline int BitWidth(uint64_t x) { return 64 - std::countl_zero(x); }
// The low `count` bits of x. REQUIRES: count <= 64.
inline uint64_t LowBits(uint64_t x, int count) {
  return count == 64 ? x : x & ((uint64_t{1} << count) - 1);
}

// An append-only bit string, held in whole 64-bit words plus the bits not yet
// filling one. Grows by half its size, not doubling, to keep per-series
// memory near the encoded size.
class BitBuffer {
 public:
  BitBuffer() = default;
  BitBuffer(const BitBuffer& other);
  BitBuffer& operator=(const BitBuffer& other);
  BitBuffer(BitBuffer&&) noexcept = default;
  BitBuffer& operator=(BitBuffer&&) noexcept = default;

  // Appends the low `count` bits of `bits`, highest first.
  // REQUIRES: count <= 64 and bits < 2^count.
  void Write(uint64_t bits, int count) {
    const int free = 64 - pending_bits_;
    if (count < free) {
      pending_ = (pending_ << count) | bits;  // count < 64 here.
      pending_bits_ = static_cast<uint8_t>(pending_bits_ + count);
      return;
    }
    // Fill the word, store it, and keep the rest of `bits`.
    const int rest = count - free;
    pending_ = (free == 64 ? 0 : pending_ << free) | (bits >> rest);
    Flush();
    pending_ = LowBits(bits, rest);
    pending_bits_ = static_cast<uint8_t>(rest);
  }
  // Appends `x` as a 7-bit bit length and then that many bits.
  void WriteLong(uint64_t x) {
    const int width = BitWidth(x);
    Write(static_cast<uint64_t>(width), 7);
    Write(x, width);
  }

  uint64_t bit_size() const { return uint64_t{size_} * 8 + pending_bits_; }
  // Where the next word will be stored, for a prefetch hint.
  const void* tail() const { return buf_.get() + size_; }
  size_t capacity() const { return capacity_; }
  // Appends the bits as bytes, the last one padded with zero bits.
  void AppendTo(std::string* out) const;

 private:
  void Flush();

  std::unique_ptr<uint8_t[]> buf_;
  uint32_t size_ = 0;         // Bytes used in buf_, a multiple of 8.
  uint32_t capacity_ = 0;     // Bytes allocated in buf_.
  uint64_t pending_ = 0;      // Bits not yet in buf_, low-order.
  uint8_t pending_bits_ = 0;  // 0..63.
};

// A range of bits being read: the next one and one past the last.
struct Cursor {
  uint64_t pos = 0;
  uint64_t end = 0;
  // At most 7 bits left: the padding of a last byte.
  bool AtPadding() const { return end - pos < 8; }
};

// Bounds-checked reads of bits from bytes it borrows. Reads never touch
// memory outside the bytes, whatever the positions asked for.
class BitSpan {
 public:
  BitSpan() = default;
  BitSpan(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  uint64_t size() const { return size_; }  // In bytes.

  // The 64 bits from bit `pos` on, first bit highest; at least the first 57
  // are real, and bits past the end read as zeros.
  __attribute__((always_inline)) uint64_t Peek(uint64_t pos) const {
    const uint64_t byte = pos >> 3;
    uint64_t word = 0;
    if (byte + 8 <= size_) {
      std::memcpy(&word, data_ + byte, 8);
      word = __builtin_bswap64(word);
    } else {
      for (uint64_t i = 0; byte + i < size_; ++i) word |= uint64_t{data_[byte + i]} << (56 - 8 * i);
    }
    return word << (pos & 7);
  }

  // Reads `count` bits at in->pos into *out and advances. False, leaving
  // *in as it was, if fewer than `count` are left before in->end.
  // REQUIRES: count <= 64 and in->pos <= in->end.
  __attribute__((always_inline)) bool Read(Cursor* in, int count, uint64_t* out) const {
    if (static_cast<uint64_t>(count) > in->end - in->pos) return false;
    if (count == 0) {
      *out = 0;
      return true;
    }
    if (count <= 56) {
      *out = Peek(in->pos) >> (64 - count);
      in->pos += static_cast<uint64_t>(count);
      return true;
    }
    const uint64_t high = Peek(in->pos) >> 32;
    *out = (high << (count - 32)) | (Peek(in->pos + 32) >> (96 - count));
    in->pos += static_cast<uint64_t>(count);
    return true;
  }

  // Reads what BitBuffer::WriteLong wrote. False if truncated or the width
  // is over 64. REQUIRES: in->pos <= in->end.
  bool ReadLong(Cursor* in, uint64_t* out) const {
    uint64_t width = 0;
    return Read(in, 7, &width) && width <= 64 && Read(in, static_cast<int>(width), out);
  }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace vitals::storage::internal
