#include "storage/chunk.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

namespace vitals::storage {
namespace {

// kDecimal packs each stream in blocks of this many samples, each with its own
// bit width and frame of reference, so one counter reset or outlier widens
// only its block.
constexpr uint32_t kBlockSamples = 32;
// Largest kDecimal scale: values are mantissa / 10^scale, and 10^18 is exact.
constexpr int kMaxScale = 18;
// Mantissas are kept to |m| <= 2^53 so that the conversion to double is exact.
constexpr double kMaxMantissa = 9007199254740992.0;
constexpr double kPow10[kMaxScale + 1] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                          1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

uint64_t ZigZag(uint64_t x) {
  return (x << 1) ^ static_cast<uint64_t>(static_cast<int64_t>(x) >> 63);
}
uint64_t UnZigZag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }
int BitWidth(uint64_t x) { return 64 - std::countl_zero(x); }
uint64_t LowBits(uint64_t x, int count) {
  return count == 64 ? x : x & ((uint64_t{1} << count) - 1);
}

void PutUvarint(std::string* out, uint64_t x) {
  while (x >= 0x80) {
    out->push_back(static_cast<char>(x | 0x80));
    x >>= 7;
  }
  out->push_back(static_cast<char>(x));
}

bool GetUvarint(std::string_view* in, uint64_t* out) {
  uint64_t x = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // Overflows 64 bits.
    x |= uint64_t{byte & 0x7fu} << shift;
    if (byte < 0x80) {
      *out = x;
      return true;
    }
  }
  return false;
}

void PutHeader(std::string* out, ChunkEncoding encoding, uint32_t num_samples, int64_t min_time,
               int64_t max_time) {
  out->push_back(static_cast<char>(encoding));
  PutUvarint(out, num_samples);
  PutUvarint(out, ZigZag(static_cast<uint64_t>(min_time)));
  PutUvarint(out, static_cast<uint64_t>(max_time) - static_cast<uint64_t>(min_time));
}

// Parses the common header off the front of *in.
Status ParseHeader(std::string_view* in, ChunkInfo* info) {
  if (in->empty()) return Status::Corruption("chunk: empty");
  info->encoding = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  if (info->encoding != static_cast<uint8_t>(ChunkEncoding::kGorilla) &&
      info->encoding != static_cast<uint8_t>(ChunkEncoding::kDecimal)) {
    return Status::Corruption("chunk: unknown encoding " + std::to_string(info->encoding));
  }
  uint64_t count, min_zz, span;
  if (!GetUvarint(in, &count) || !GetUvarint(in, &min_zz) || !GetUvarint(in, &span)) {
    return Status::Corruption("chunk: truncated header");
  }
  if (count > UINT32_MAX) return Status::Corruption("chunk: sample count out of range");
  info->num_samples = static_cast<uint32_t>(count);
  info->min_time = static_cast<int64_t>(UnZigZag(min_zz));
  info->max_time = static_cast<int64_t>(static_cast<uint64_t>(info->min_time) + span);
  const bool consistent = count == 0   ? info->min_time == 0 && span == 0
                          : count == 1 ? span == 0
                                       : info->max_time > info->min_time;
  if (!consistent) return Status::Corruption("chunk: header times inconsistent with sample count");
  return Status::Ok();
}

// Writes `x` as a 7-bit bit length and then that many bits.
void WriteLong(internal::BitBuffer* out, uint64_t x) {
  const int width = BitWidth(x);
  out->Write(static_cast<uint64_t>(width), 7);
  out->Write(x, width);
}

// Differences of `order` (0, 1 or 2) of `y`, starting from zeros, wrapping.
std::vector<uint64_t> Differences(const std::vector<uint64_t>& y, int order) {
  std::vector<uint64_t> x(y);
  for (int k = 0; k < order; ++k) {
    uint64_t prev = 0;
    for (uint64_t& e : x) {
      const uint64_t cur = e;
      e = cur - prev;
      prev = cur;
    }
  }
  return x;
}

// One kDecimal stream: 2 bits order, then per block of kBlockSamples a header
// ('1' if the same as the last block's, which starts as width 0 and minimum
// 0, else '0', a 7-bit width and the zigzagged minimum with WriteLong), then
// each sample: the
// first `order` ones zigzagged with WriteLong, the rest as x - minimum in
// `width` bits.
void WritePackedStream(const std::vector<uint64_t>& y, int order, internal::BitBuffer* out) {
  const std::vector<uint64_t> x = Differences(y, order);
  out->Write(static_cast<uint64_t>(order), 2);
  int prev_width = 0;
  int64_t prev_lo = 0;
  for (size_t begin = 0; begin < x.size(); begin += kBlockSamples) {
    const size_t end = std::min(x.size(), begin + kBlockSamples);
    const size_t packed = std::max(begin, static_cast<size_t>(order));
    int64_t lo = 0, hi = 0;
    if (packed < end) {
      const auto [min_it, max_it] = std::minmax_element(
          x.begin() + packed, x.begin() + end,
          [](uint64_t a, uint64_t b) { return static_cast<int64_t>(a) < static_cast<int64_t>(b); });
      lo = static_cast<int64_t>(*min_it);
      hi = static_cast<int64_t>(*max_it);
    }
    const int width = BitWidth(static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo));
    if (width == prev_width && lo == prev_lo) {
      out->Write(1, 1);
    } else {
      out->Write(static_cast<uint64_t>(width), 8);  // A leading 0 bit, then 7 bits.
      WriteLong(out, ZigZag(static_cast<uint64_t>(lo)));
      prev_width = width;
      prev_lo = lo;
    }
    for (size_t i = begin; i < end; ++i) {
      if (i < packed) {
        WriteLong(out, ZigZag(x[i]));
      } else {
        out->Write(x[i] - static_cast<uint64_t>(lo), width);
      }
    }
  }
}

// The smallest WritePackedStream of `y` over the orders 0, 1 and 2.
internal::BitBuffer SmallestPackedStream(const std::vector<uint64_t>& y) {
  internal::BitBuffer best;
  for (int order = 0; order <= 2; ++order) {
    internal::BitBuffer candidate;
    WritePackedStream(y, order, &candidate);
    if (order == 0 || candidate.bit_size() < best.bit_size()) best = std::move(candidate);
  }
  return best;
}

// The mantissa of `v` at `scale` if v is exactly mantissa / 10^scale, bit for
// bit, with |mantissa| <= 2^53.
std::optional<int64_t> MantissaAt(double v, int scale) {
  if (!std::isfinite(v)) return std::nullopt;
  const double scaled = std::nearbyint(v * kPow10[scale]);
  if (!(std::fabs(scaled) <= kMaxMantissa)) return std::nullopt;
  const auto m = static_cast<int64_t>(scaled);
  if (std::bit_cast<uint64_t>(static_cast<double>(m) / kPow10[scale]) !=
      std::bit_cast<uint64_t>(v)) {
    return std::nullopt;
  }
  return m;
}

// The smallest scale at which every value has a mantissa (see MantissaAt),
// and the mantissas, as uint64 bits; nullopt if there is none.
std::optional<int> DecimalScale(const std::vector<double>& values,
                                std::vector<uint64_t>* mantissas) {
  int scale = 0;
  for (double v : values) {
    while (!MantissaAt(v, scale)) {
      if (++scale > kMaxScale) return std::nullopt;
    }
  }
  mantissas->clear();
  for (double v : values) {
    const std::optional<int64_t> m = MantissaAt(v, scale);
    if (!m) return std::nullopt;
    mantissas->push_back(static_cast<uint64_t>(*m));
  }
  return scale;
}

}  // namespace

namespace internal {

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

inline void BitBuffer::Write(uint64_t bits, int count) {
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

}  // namespace internal

// --- ChunkEncoder ---

ChunkEncoder::ChunkEncoder() = default;

void ChunkEncoder::Append(int64_t t_ms, double v) {
  const uint64_t value = std::bit_cast<uint64_t>(v);
  if (num_samples_ == 0) {
    min_time_ = max_time_ = t_ms;
    bits_.Write(value, 64);
    prev_value_ = value;
    num_samples_ = 1;
    return;
  }
  if (t_ms <= max_time_ || num_samples_ == UINT32_MAX) std::abort();  // REQUIRES violated.

  const uint64_t delta = static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(max_time_);
  const auto dod = static_cast<int64_t>(delta - delta_);
  const auto udod = static_cast<uint64_t>(dod);
  if (dod == 0) {
    bits_.Write(0, 1);
  } else if (dod >= -(1 << 13) && dod < (1 << 13)) {
    bits_.Write((uint64_t{0b10} << 14) | LowBits(udod, 14), 16);
  } else if (dod >= -(1 << 16) && dod < (1 << 16)) {
    bits_.Write((uint64_t{0b110} << 17) | LowBits(udod, 17), 20);
  } else if (dod >= -(1 << 19) && dod < (1 << 19)) {
    bits_.Write((uint64_t{0b1110} << 20) | LowBits(udod, 20), 24);
  } else {
    bits_.Write(0b1111, 4);
    bits_.Write(udod, 64);
  }
  delta_ = delta;
  max_time_ = t_ms;

  const uint64_t x = value ^ prev_value_;
  if (x == 0) {
    bits_.Write(0, 1);
  } else {
    const int leading = std::min(std::countl_zero(x), 31);
    const int trailing = std::countr_zero(x);
    if (leading_ != 0xff && leading >= leading_ && trailing >= trailing_) {
      bits_.Write(0b10, 2);
      bits_.Write(x >> trailing_, 64 - leading_ - trailing_);
    } else {
      leading_ = static_cast<uint8_t>(leading);
      trailing_ = static_cast<uint8_t>(trailing);
      const int significant = 64 - leading - trailing;
      // 6 bits of significant-bit count; 64 is written as 0.
      bits_.Write((uint64_t{0b11} << 11) | (static_cast<uint64_t>(leading) << 6) |
                      static_cast<uint64_t>(significant & 63),
                  13);
      bits_.Write(x >> trailing, significant);
    }
  }
  prev_value_ = value;
  ++num_samples_;
}

size_t ChunkEncoder::MemoryBytes() const { return sizeof(*this) + bits_.capacity(); }

std::string ChunkEncoder::Encode() const {
  std::string out;
  out.reserve(24 + bits_.bit_size() / 8 + 8);
  PutHeader(&out, ChunkEncoding::kGorilla, num_samples_, min_time_, max_time_);
  bits_.AppendTo(&out);
  return out;
}

std::string ChunkEncoder::EncodeCompact() const {
  std::string gorilla = Encode();
  if (num_samples_ == 0) return gorilla;
  std::vector<uint64_t> times;
  std::vector<double> values;
  times.reserve(num_samples_);
  values.reserve(num_samples_);
  for (ChunkIterator it(gorilla); it.Next();) {
    times.push_back(static_cast<uint64_t>(it.t()) - static_cast<uint64_t>(min_time_));
    values.push_back(it.v());
  }
  std::vector<uint64_t> mantissas;
  const std::optional<int> scale = DecimalScale(values, &mantissas);
  if (!scale) return gorilla;

  const internal::BitBuffer time_bits = SmallestPackedStream(times);
  const internal::BitBuffer value_bits = SmallestPackedStream(mantissas);
  std::string decimal;
  PutHeader(&decimal, ChunkEncoding::kDecimal, num_samples_, min_time_, max_time_);
  decimal.push_back(static_cast<char>(*scale));
  PutUvarint(&decimal, (time_bits.bit_size() + 7) / 8);
  time_bits.AppendTo(&decimal);
  value_bits.AppendTo(&decimal);
  return decimal.size() < gorilla.size() ? decimal : gorilla;
}

// --- ChunkIterator ---

ChunkIterator::ChunkIterator(std::string_view chunk) {
  ChunkInfo info;
  std::string_view rest = chunk;
  if (Status st = ParseHeader(&rest, &info); !st.ok()) {
    status_ = std::move(st);
    done_ = true;
    return;
  }
  encoding_ = static_cast<ChunkEncoding>(info.encoding);
  min_time_ = info.min_time;
  max_time_ = info.max_time;
  if (encoding_ == ChunkEncoding::kDecimal && info.num_samples > 0) {
    uint64_t time_bytes = 0;
    if (rest.empty() || static_cast<uint8_t>(rest.front()) > kMaxScale) {
      status_ = Status::Corruption("chunk: bad decimal scale");
      done_ = true;
      return;
    }
    divisor_ = kPow10[static_cast<uint8_t>(rest.front())];
    rest.remove_prefix(1);
    if (!GetUvarint(&rest, &time_bytes) || time_bytes > rest.size()) {
      status_ = Status::Corruption("chunk: bad timestamp stream length");
      done_ = true;
      return;
    }
    data_ = reinterpret_cast<const uint8_t*>(rest.data());
    size_ = rest.size();
    times_.in = {0, time_bytes * 8};
    mantissas_.in = {time_bytes * 8, size_ * 8};
    uint64_t order = 0;
    if (!ReadBits(&times_.in, 2, &order) || order > 2) {
      Fail("bad timestamp order");
      return;
    }
    times_.order = static_cast<uint8_t>(order);
    if (!ReadBits(&mantissas_.in, 2, &order) || order > 2) {
      Fail("bad value order");
      return;
    }
    mantissas_.order = static_cast<uint8_t>(order);
  } else {
    data_ = reinterpret_cast<const uint8_t*>(rest.data());
    size_ = rest.size();
    bits_ = {0, size_ * 8};
  }
  num_samples_ = info.num_samples;
}

bool ChunkIterator::Fail(std::string_view what) {
  if (status_.ok()) {
    status_ = Status::Corruption("chunk: " + std::string(what) + " at sample " +
                                 std::to_string(index_) + " of " + std::to_string(num_samples_));
  }
  done_ = true;
  return false;
}

bool ChunkIterator::AtEnd() {
  // Anything after the last sample but the padding of the last byte is damage.
  const auto padded = [](const Cursor& c) { return c.end - c.pos < 8; };
  const bool ok = encoding_ == ChunkEncoding::kGorilla ? padded(bits_)
                                                       : padded(times_.in) && padded(mantissas_.in);
  if (!ok) return Fail("trailing bytes");
  done_ = true;
  return false;
}

__attribute__((always_inline)) inline uint64_t ChunkIterator::Peek(const Cursor& in) const {
  const uint64_t byte = in.pos >> 3;
  uint64_t word = 0;
  if (byte + 8 <= size_) {
    std::memcpy(&word, data_ + byte, 8);
    word = __builtin_bswap64(word);
  } else {
    for (uint64_t i = 0; byte + i < size_; ++i) word |= uint64_t{data_[byte + i]} << (56 - 8 * i);
  }
  return word << (in.pos & 7);
}

__attribute__((always_inline)) inline bool ChunkIterator::ReadBits(Cursor* in, int count,
                                                                   uint64_t* out) const {
  if (static_cast<uint64_t>(count) > in->end - in->pos) return false;
  if (count == 0) {
    *out = 0;
    return true;
  }
  if (count <= 56) {
    *out = Peek(*in) >> (64 - count);
    in->pos += count;
    return true;
  }
  const uint64_t high = Peek(*in) >> 32;
  in->pos += 32;
  *out = (high << (count - 32)) | (Peek(*in) >> (96 - count));
  in->pos += count - 32;
  return true;
}

bool ChunkIterator::ReadLong(Cursor* in, uint64_t* out) const {
  uint64_t width = 0;
  return ReadBits(in, 7, &width) && width <= 64 && ReadBits(in, static_cast<int>(width), out);
}

bool ChunkIterator::NextBlock() {
  valid_ = false;
  if (done_) return false;
  if (index_ == num_samples_) return AtEnd();
  const uint32_t count = std::min(kBufferSamples, num_samples_ - index_);
  const bool ok =
      encoding_ == ChunkEncoding::kGorilla ? DecodeGorilla(count) : DecodeDecimal(count);
  if (!ok) return false;
  index_ += count;
  if (index_ == num_samples_ && last_t_ != max_time_) {
    return Fail("last timestamp differs from header");
  }
  buffer_size_ = count;
  buffered_ = 0;
  return Next();
}

bool ChunkIterator::DecodeGorilla(uint32_t count) {
  // Locals, not members, so the loop keeps its state in registers.
  Cursor in = bits_;
  uint64_t delta = delta_;
  uint64_t value = value_bits_;
  int64_t t = last_t_;
  int leading = leading_, trailing = trailing_;
  uint32_t k = 0;
  if (index_ == 0) {
    if (!ReadBits(&in, 64, &value)) return Fail("truncated");
    t = min_time_;
    times_buf_[0] = t;
    values_buf_[0] = std::bit_cast<double>(value);
    k = 1;
  }
  for (; k < count; ++k) {
    // Timestamp: '0', or '10', '110', '1110' + 14, 17 or 20 bits, or '1111' + 64 bits.
    uint64_t word = Peek(in);
    uint64_t dod = 0;
    const uint64_t left = in.end - in.pos;
    if (word >> 63 == 0) {
      if (left < 1) return Fail("truncated");
      in.pos += 1;
    } else {
      const int ones = std::min(std::countl_one(word), 4);
      if (ones == 4) {
        if (left < 4) return Fail("truncated");
        in.pos += 4;
        if (!ReadBits(&in, 64, &dod)) return Fail("truncated");
      } else {
        static constexpr int kWidths[] = {0, 14, 17, 20};
        const int width = kWidths[ones];
        const int used = ones + 1 + width;
        if (static_cast<uint64_t>(used) > left) return Fail("truncated");
        // Sign-extend the `width` bits after the prefix.
        dod = static_cast<uint64_t>(static_cast<int64_t>(word << (ones + 1)) >> (64 - width));
        in.pos += used;
      }
    }
    delta += dod;
    const auto next_t = static_cast<int64_t>(static_cast<uint64_t>(t) + delta);
    if (next_t <= t || next_t > max_time_) {
      return Fail("timestamp out of order or past header's max");
    }
    t = next_t;
    times_buf_[k] = t;

    // Value: '0' same, '10' + bits in the last window, '11' + 5 bits leading
    // zeros + 6 bits significant-bit count + the bits.
    word = Peek(in);
    if (word >> 63 == 0) {
      if (in.pos == in.end) return Fail("truncated");
      in.pos += 1;
    } else {
      int significant;
      if ((word >> 62 & 1) == 0) {
        if (leading == 0xff) return Fail("value reuses a window before any was set");
        if (in.end - in.pos < 2) return Fail("truncated");
        significant = 64 - leading - trailing;
        in.pos += 2;
      } else {
        leading = static_cast<int>(word >> 57 & 31);
        significant = static_cast<int>(word >> 51 & 63);
        if (significant == 0) significant = 64;
        if (leading + significant > 64) return Fail("bad value window");
        if (in.end - in.pos < 13) return Fail("truncated");
        trailing = 64 - leading - significant;
        in.pos += 13;
      }
      uint64_t x;
      if (!ReadBits(&in, significant, &x)) return Fail("truncated");
      value ^= x << trailing;
    }
    values_buf_[k] = std::bit_cast<double>(value);
  }
  bits_ = in;
  delta_ = delta;
  value_bits_ = value;
  last_t_ = t;
  leading_ = static_cast<uint8_t>(leading);
  trailing_ = static_cast<uint8_t>(trailing);
  return true;
}

bool ChunkIterator::DecodePacked(PackedInts* ints, uint32_t count, uint64_t* out) {
  Cursor in = ints->in;
  uint64_t same;
  if (!ReadBits(&in, 1, &same)) return false;
  if (!same) {
    uint64_t width, base;
    if (!ReadBits(&in, 7, &width) || width > 64 || !ReadLong(&in, &base)) return false;
    ints->width = static_cast<uint8_t>(width);
    ints->base = UnZigZag(base);
  }
  uint32_t k = 0;
  for (; k < count && index_ + k < ints->order; ++k) {
    if (!ReadLong(&in, &out[k])) return false;
    out[k] = UnZigZag(out[k]);
  }
  const int width = ints->width;
  const uint64_t base = ints->base;
  if (static_cast<uint64_t>(width) * (count - k) > in.end - in.pos) return false;
  if (width == 0) {
    for (; k < count; ++k) out[k] = base;
  } else if (width <= 56) {
    for (; k < count; ++k) {
      out[k] = base + (Peek(in) >> (64 - width));
      in.pos += width;
    }
  } else {
    for (; k < count; ++k) {
      uint64_t x = 0;
      ReadBits(&in, width, &x);  // Cannot fail: checked above.
      out[k] = base + x;
    }
  }
  ints->in = in;
  // Undo the differences.
  uint64_t value = ints->value, delta = ints->delta;
  switch (ints->order) {
    case 0:
      break;
    case 1:
      for (uint32_t i = 0; i < count; ++i) out[i] = value += out[i];
      break;
    default:
      for (uint32_t i = 0; i < count; ++i) {
        delta += out[i];
        out[i] = value += delta;
      }
      break;
  }
  ints->value = count > 0 ? out[count - 1] : value;
  ints->delta = delta;
  return true;
}

bool ChunkIterator::DecodeDecimal(uint32_t count) {
  static_assert(kBufferSamples == kBlockSamples, "one decimal block per refill");
  uint64_t times[kBufferSamples], mantissas[kBufferSamples];
  if (!DecodePacked(&times_, count, times)) return Fail("truncated or bad timestamp stream");
  if (!DecodePacked(&mantissas_, count, mantissas)) return Fail("truncated or bad value stream");
  int64_t prev = last_t_;
  for (uint32_t k = 0; k < count; ++k) {
    const auto t = static_cast<int64_t>(static_cast<uint64_t>(min_time_) + times[k]);
    if ((index_ + k == 0 ? t != min_time_ : t <= prev) || t > max_time_) {
      return Fail("timestamp out of order or outside header's range");
    }
    prev = t;
    times_buf_[k] = t;
  }
  last_t_ = prev;
  // Division is the costliest step; whole numbers (scale 0) skip it.
  if (divisor_ == 1) {
    for (uint32_t k = 0; k < count; ++k) {
      values_buf_[k] = static_cast<double>(static_cast<int64_t>(mantissas[k]));
    }
  } else {
    for (uint32_t k = 0; k < count; ++k) {
      values_buf_[k] = static_cast<double>(static_cast<int64_t>(mantissas[k])) / divisor_;
    }
  }
  return true;
}

bool ChunkIterator::Seek(int64_t t_ms) {
  if (valid_ && t_ >= t_ms) return true;
  if (status_.ok() && t_ms > max_time_) {
    valid_ = false;  // Nothing qualifies; skip decoding the rest.
    done_ = true;
    buffered_ = buffer_size_;
    return false;
  }
  while (Next()) {
    if (t_ >= t_ms) return true;
  }
  return false;
}

Result<ChunkInfo> ReadChunkInfo(std::string_view chunk) {
  ChunkInfo info;
  RETURN_IF_ERROR(ParseHeader(&chunk, &info));
  return info;
}

}  // namespace vitals::storage
