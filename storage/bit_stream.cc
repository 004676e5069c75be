#include "storage/bit_stream.h"

namespace vitals::storage::internal {

BitBuffer::BitBuffer(const BitBuffer& other)
    : size_(other.size_),
      capacity_(other.size_),
      pending_(other.pending_),
      pending_bits_(other.pending_bits_) {
  if (size_ > 0) {
    buf_ = std::make_unique_for_overwrite<uint8_t[]>(size_);
    std::memcpy(buf_.get(), other.buf_.get(), size_);
  }
}

BitBuffer& BitBuffer::operator=(const BitBuffer& other) {
  if (this != &other) *this = BitBuffer(other);
  return *this;
}

void BitBuffer::Flush() {
  if (size_ + 8 > capacity_) {
    const uint32_t grown = std::max<uint32_t>(16, (capacity_ + capacity_ / 2 + 7) & ~7u);
    auto bigger = std::make_unique_for_overwrite<uint8_t[]>(grown);
    if (size_ > 0) std::memcpy(bigger.get(), buf_.get(), size_);
    buf_ = std::move(bigger);
    capacity_ = grown;
  }
  const uint64_t big_endian = __builtin_bswap64(pending_);
  std::memcpy(buf_.get() + size_, &big_endian, 8);
  size_ += 8;
}

void BitBuffer::AppendTo(std::string* out) const {
  out->append(reinterpret_cast<const char*>(buf_.get()), size_);
  const uint64_t aligned = pending_bits_ == 0 ? 0 : pending_ << (64 - pending_bits_);
  for (int shift = 56; shift > 56 - 8 * ((pending_bits_ + 7) / 8); shift -= 8) {
    out->push_back(static_cast<char>(aligned >> shift));
  }
}

}  // namespace vitals::storage::internal
