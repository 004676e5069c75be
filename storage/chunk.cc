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

using internal::BitSpan;
using internal::Cursor;
using internal::LowBits;
using internal::UnZigZag;
using internal::ZigZag;

// Largest decimal scale: values are mantissa / 10^scale, and 10^18 is exact.
constexpr int kMaxScale = 18;
// Mantissas are kept to |m| <= 2^53 so that the conversion to double is exact.
constexpr double kMaxMantissa = 9007199254740992.0;
constexpr double kPow10[kMaxScale + 1] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                          1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

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
  if (info->encoding < static_cast<uint8_t>(ChunkEncoding::kGorilla) ||
      info->encoding > static_cast<uint8_t>(ChunkEncoding::kDecimalEntropy)) {
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

  internal::BitBuffer time_bits, value_bits;
  internal::WriteEntropyStream(times, &time_bits);
  internal::WriteEntropyStream(mantissas, &value_bits);
  std::string decimal;
  PutHeader(&decimal, ChunkEncoding::kDecimalEntropy, num_samples_, min_time_, max_time_);
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
  num_samples_ = info.num_samples;
  if (encoding_ == ChunkEncoding::kGorilla || num_samples_ == 0) {
    data_ = BitSpan(reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
    bits_ = {0, data_.size() * 8};
    return;
  }
  // The decimal encodings: scale, timestamp stream length, the two streams.
  uint64_t time_bytes = 0;
  if (rest.empty() || static_cast<uint8_t>(rest.front()) > kMaxScale) {
    Fail("bad decimal scale");
    return;
  }
  divisor_ = kPow10[static_cast<uint8_t>(rest.front())];
  rest.remove_prefix(1);
  if (!GetUvarint(&rest, &time_bytes) || time_bytes > rest.size()) {
    Fail("bad timestamp stream length");
    return;
  }
  data_ = BitSpan(reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
  const bool started = encoding_ == ChunkEncoding::kDecimalEntropy
                           ? StartStreams(&entropy_times_, &entropy_mantissas_, time_bytes * 8)
                           : StartStreams(&packed_times_, &packed_mantissas_, time_bytes * 8);
  if (!started) Fail("bad stream header");
}

template <typename Reader>
bool ChunkIterator::StartStreams(Reader* times, Reader* mantissas, uint64_t time_bits) {
  return times->Start(data_, Cursor{0, time_bits}) &&
         mantissas->Start(data_, Cursor{time_bits, data_.size() * 8});
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
  bool ok;
  if (encoding_ == ChunkEncoding::kGorilla || num_samples_ == 0) {
    ok = bits_.AtPadding();
  } else if (encoding_ == ChunkEncoding::kDecimal) {
    ok = packed_times_.AtPadding() && packed_mantissas_.AtPadding();
  } else {
    ok = entropy_times_.AtPadding() && entropy_mantissas_.AtPadding();
  }
  if (!ok) return Fail("trailing bytes");
  done_ = true;
  return false;
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
    if (!data_.Read(&in, 64, &value)) return Fail("truncated");
    t = min_time_;
    times_buf_[0] = t;
    values_buf_[0] = std::bit_cast<double>(value);
    k = 1;
  }
  for (; k < count; ++k) {
    // Timestamp: '0', or '10', '110', '1110' + 14, 17 or 20 bits, or '1111' + 64 bits.
    uint64_t word = data_.Peek(in.pos);
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
        if (!data_.Read(&in, 64, &dod)) return Fail("truncated");
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
    word = data_.Peek(in.pos);
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
      if (!data_.Read(&in, significant, &x)) return Fail("truncated");
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

bool ChunkIterator::DecodeDecimal(uint32_t count) {
  uint64_t times[kBufferSamples], mantissas[kBufferSamples];
  const bool entropy = encoding_ == ChunkEncoding::kDecimalEntropy;
  if (!(entropy ? entropy_times_.Decode(index_, count, times)
                : packed_times_.Decode(index_, count, times))) {
    return Fail("truncated or bad timestamp stream");
  }
  if (!(entropy ? entropy_mantissas_.Decode(index_, count, mantissas)
                : packed_mantissas_.Decode(index_, count, mantissas))) {
    return Fail("truncated or bad value stream");
  }
  // Locals, not members, which times_buf_ might alias as far as the compiler
  // knows; and one check after the loop rather than a branch per sample.
  const int64_t min_time = min_time_, max_time = max_time_;
  int64_t prev = last_t_;
  bool ordered = true;
  uint32_t k = 0;
  if (index_ == 0) {  // The first is min_time exactly.
    ordered = times[0] == 0;
    prev = min_time;
    times_buf_[k++] = min_time;
  }
  for (; k < count; ++k) {
    const auto t = static_cast<int64_t>(static_cast<uint64_t>(min_time) + times[k]);
    ordered &= (t > prev) & (t <= max_time);
    prev = t;
    times_buf_[k] = t;
  }
  if (!ordered) return Fail("timestamp out of order or outside header's range");
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
