#include "storage/chunk.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <optional>
#include <vector>

namespace vitals::storage {
namespace {

// The decimal encodings code each stream in blocks of this many samples, each
// with its own code (kDecimal: bit width and frame of reference), so that a
// counter reset or a burst changes the code of its block only.
constexpr uint32_t kBlockSamples = 32;
// Largest decimal scale: values are mantissa / 10^scale, and 10^18 is exact.
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

// --- kDecimalEntropy streams ---
//
// A stream of integers y (timestamps minus the first, or mantissas) is turned
// into residuals by a predictor, and each residual, zigzagged to z, is written
// with the code its block of kBlockSamples chose.

// Predictors: the differences of order 0, 1 or 2 (the first `order` of which
// are written in the stream's header), or kGrid: y[i] - i * slope.
enum Predictor : uint8_t { kOrder0 = 0, kOrder1 = 1, kOrder2 = 2, kGrid = 3 };
int OrderOf(int predictor) { return predictor == kGrid ? 0 : predictor; }

// How a block writes each z: kUniform as `shift` bits; the others as a prefix
// code of q = z >> shift (shapes of the distribution of q) and then the low
// `shift` bits, or the code's escape and z with WriteLong.
enum Shape : uint8_t { kUniform = 0, kNarrow = 1, kWide = 2, kGeometric = 3 };

constexpr int kCodeBits = 11;  // The longest code.
constexpr int kMaxSymbols = 17;

// A canonical prefix code for q = 0 .. num_symbols - 2, then the escape.
struct PrefixCode {
  uint8_t num_symbols = 0;
  uint8_t length[kMaxSymbols] = {};
  uint16_t code[kMaxSymbols] = {};  // Right-aligned.
  // For every kCodeBits-bit string, the up to 4 codes it starts with, none
  // of them the escape: bits 0-3 their total length, 4-7 the first one's
  // length, 8-10 how many, 11 on 5 bits each the symbols. When the string
  // starts with the escape: its length in both length fields, count 0.
  uint32_t decode[1 << kCodeBits] = {};
  constexpr uint8_t escape() const { return static_cast<uint8_t>(num_symbols - 1); }
};

struct DecodeEntry {
  static constexpr int kMaxCount = 4;
  static constexpr int total_length(uint32_t e) { return static_cast<int>(e & 15); }
  static constexpr int first_length(uint32_t e) { return static_cast<int>(e >> 4 & 15); }
  static constexpr int count(uint32_t e) { return static_cast<int>(e >> 8 & 7); }
  static constexpr uint64_t symbol(uint32_t e, int i) { return e >> (11 + 5 * i) & 31; }
};

constexpr PrefixCode MakePrefixCode(std::initializer_list<uint8_t> lengths) {
  PrefixCode c;
  for (uint8_t length : lengths) c.length[c.num_symbols++] = length;
  // The symbol and length of the code each kCodeBits-bit string starts with.
  uint8_t first[1 << kCodeBits] = {}, first_length[1 << kCodeBits] = {};
  uint32_t next = 0;  // In units of 2^-kCodeBits.
  for (int length = 1; length <= kCodeBits; ++length) {
    for (int s = 0; s < c.num_symbols; ++s) {
      if (c.length[s] != length) continue;
      const uint32_t span = 1u << (kCodeBits - length);
      c.code[s] = static_cast<uint16_t>(next >> (kCodeBits - length));
      for (uint32_t j = next; j < next + span && j < (1u << kCodeBits); ++j) {
        first[j] = static_cast<uint8_t>(s);
        first_length[j] = static_cast<uint8_t>(length);
      }
      next += span;
    }
  }
  if (next != 1u << kCodeBits) return PrefixCode{};  // Incomplete: IsComplete fails.
  for (uint32_t bits = 0; bits < (1u << kCodeBits); ++bits) {
    uint32_t entry = 0;
    int used = 0, count = 0;
    while (count < DecodeEntry::kMaxCount) {
      // The next code starts `used` bits in; the bits after the string read as zeros.
      const uint32_t window = (bits << used) & ((1u << kCodeBits) - 1);
      const int length = first_length[window];
      if (used + length > kCodeBits || first[window] == c.escape()) break;
      entry |= uint32_t{first[window]} << (11 + 5 * count);
      used += length;
      ++count;
    }
    if (count == 0) used = first_length[bits];  // An escape.
    entry |= static_cast<uint32_t>(used) | static_cast<uint32_t>(first_length[bits]) << 4 |
             static_cast<uint32_t>(count) << 8;
    c.decode[bits] = entry;
  }
  return c;
}

// Every kCodeBits-bit string starts with a code: no invalid codes to check for.
constexpr bool IsComplete(const PrefixCode& c) {
  for (uint32_t entry : c.decode) {
    if (DecodeEntry::first_length(entry) == 0) return false;
  }
  return c.num_symbols > 0;
}

// Huffman codes for q when the residuals are roughly normal with a standard
// deviation of about 1.19 (kNarrow) or 1.68 (kWide) times 2^shift, and for
// geometric ones (kGeometric: Rice codes, q + 1 bits). Format constants: never
// change them, add a shape.
constexpr PrefixCode kCodes[4] = {
    {},
    MakePrefixCode({2, 2, 2, 3, 4, 5, 6, 7, 9, 10, 11, 11, 8}),
    MakePrefixCode({2, 2, 3, 3, 3, 4, 5, 6, 7, 8, 10, 11, 11, 11, 11, 11, 11}),
    MakePrefixCode({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10}),
};
static_assert(IsComplete(kCodes[kNarrow]) && IsComplete(kCodes[kWide]) &&
              IsComplete(kCodes[kGeometric]));

// The code of one block: a shape and a shift. REQUIRES: shift <= 64, and
// shift <= 63 unless kUniform.
struct BlockCode {
  uint8_t shape = kUniform;
  uint8_t shift = 0;
  friend bool operator==(const BlockCode&, const BlockCode&) = default;
};
constexpr uint64_t kNoFit = UINT64_MAX;

// Bits that z[0..n) take in `code`, or kNoFit if kUniform and some z needs
// more than `shift` bits.
uint64_t CodedBits(const uint64_t* z, size_t n, BlockCode code) {
  if (code.shape == kUniform) {
    if (code.shift < 64) {
      for (size_t i = 0; i < n; ++i) {
        if (z[i] >> code.shift != 0) return kNoFit;
      }
    }
    return n * code.shift;
  }
  const PrefixCode& pc = kCodes[code.shape];
  const uint8_t escape = pc.escape();
  uint64_t bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t q = z[i] >> code.shift;
    bits += code.shift + (q < escape ? pc.length[q] : pc.length[escape] + 7 + BitWidth(q));
  }
  return bits;
}

// Writes z[0..n) in `code`: the low `shift` bits of each, then unless
// kUniform the code of each q, an escape being followed by q with WriteLong.
// (Codes apart from the low bits let the decoder read several at once.)
void WriteCoded(const uint64_t* z, size_t n, BlockCode code, internal::BitBuffer* out) {
  for (size_t i = 0; i < n; ++i) out->Write(LowBits(z[i], code.shift), code.shift);
  if (code.shape == kUniform) return;
  const PrefixCode& pc = kCodes[code.shape];
  const uint8_t escape = pc.escape();
  for (size_t i = 0; i < n; ++i) {
    const uint64_t q = code.shift == 64 ? 0 : z[i] >> code.shift;
    if (q < escape) {
      out->Write(pc.code[q], pc.length[q]);
    } else {
      out->Write(pc.code[escape], pc.length[escape]);
      WriteLong(out, q);
    }
  }
}

// The cheapest code for z[0..n), with its bits in *bits.
BlockCode CheapestCode(const uint64_t* z, size_t n, uint64_t* bits) {
  uint64_t max = 0, sum = 0;
  bool sum_overflows = false;
  for (size_t i = 0; i < n; ++i) {
    max = std::max(max, z[i]);
    sum_overflows |= __builtin_add_overflow(sum, z[i], &sum);
  }
  BlockCode best{kUniform, static_cast<uint8_t>(BitWidth(max))};
  *bits = n * best.shift;
  if (max == 0 || sum_overflows) return best;
  // Each shape's best shift is next to log2 of the mean z (leaving out the
  // largest, which may be an outlier): one below or equal for the normal
  // shapes, equal or one above for kGeometric.
  const int mean_log = BitWidth(n > 1 ? (sum - max) / (n - 1) : sum) - 1;
  static constexpr struct {
    uint8_t shape;
    int offset;
  } kCandidates[] = {{kNarrow, -1}, {kNarrow, 0},    {kWide, -1},
                     {kWide, 0},    {kGeometric, 0}, {kGeometric, 1}};
  for (const auto& [shape, offset] : kCandidates) {
    const BlockCode code{shape, static_cast<uint8_t>(std::clamp(mean_log + offset, 0, 63))};
    const uint64_t b = CodedBits(z, n, code);
    if (b < *bits) {
      *bits = b;
      best = code;
    }
  }
  return best;
}

// A stream's residuals under one predictor, ready to write.
struct Residuals {
  uint8_t predictor = kOrder0;
  uint64_t slope = 0;       // kGrid.
  uint64_t head[2] = {};    // The first OrderOf(predictor) differences.
  uint64_t center = 0;      // Subtracted from every residual...
  uint64_t multiplier = 0;  // ...which is then divided by this; 0: all are zero.
  std::vector<uint64_t> z;  // Zigzagged (residual - center) / multiplier.
};

// The median of x[0..n) as signed integers. Reorders x.
uint64_t Median(uint64_t* x, size_t n) {
  std::nth_element(x, x + n / 2, x + n, [](uint64_t a, uint64_t b) {
    return static_cast<int64_t>(a) < static_cast<int64_t>(b);
  });
  return x[n / 2];
}

// The integers y[i] - i * slope for kGrid, else the differences of the
// predictor's order, with the slope for kGrid.
std::vector<uint64_t> Predicted(const std::vector<uint64_t>& y, uint8_t predictor,
                                uint64_t* slope) {
  *slope = 0;
  if (predictor != kGrid) return Differences(y, predictor);
  if (y.size() >= 2) {
    std::vector<uint64_t> steps(y.size() - 1);
    for (size_t i = 1; i < y.size(); ++i) steps[i - 1] = y[i] - y[i - 1];
    *slope = Median(steps.data(), steps.size());
  }
  std::vector<uint64_t> x(y.size());
  for (size_t i = 0; i < y.size(); ++i) x[i] = y[i] - i * *slope;
  return x;
}

// A quick estimate of the bits the residuals of x take: the bits of each
// one's distance from their mean. Good enough to rank predictors.
uint64_t EstimatedBits(const std::vector<uint64_t>& x, size_t order) {
  if (x.size() <= order) return 0;
  double sum = 0;
  for (size_t i = order; i < x.size(); ++i) sum += static_cast<double>(static_cast<int64_t>(x[i]));
  // Rounded to nearest: residuals around a mean of 0.9 are ones, not zeros.
  const double mean =
      std::clamp(std::nearbyint(sum / static_cast<double>(x.size() - order)), -0x1p62, 0x1p62);
  const auto center = static_cast<uint64_t>(static_cast<int64_t>(mean));
  uint64_t bits = 0;
  for (size_t i = 0; i < order; ++i) bits += 7 + BitWidth(ZigZag(x[i]));
  for (size_t i = order; i < x.size(); ++i) bits += BitWidth(ZigZag(x[i] - center));
  return bits;
}

// The residuals of `x`, what Predicted gave for `predictor` and `slope`.
Residuals Prepare(std::vector<uint64_t> x, uint8_t predictor, uint64_t slope) {
  Residuals r;
  r.predictor = predictor;
  r.slope = slope;
  const size_t order = std::min<size_t>(OrderOf(predictor), x.size());
  for (size_t i = 0; i < order; ++i) r.head[i] = x[i];
  x.erase(x.begin(), x.begin() + static_cast<ptrdiff_t>(order));
  if (x.empty()) return r;
  std::vector<uint64_t> scratch = x;
  r.center = Median(scratch.data(), scratch.size());
  uint64_t gcd = 0;
  for (uint64_t& e : x) {
    e -= r.center;
    if (gcd != 1) {
      const uint64_t magnitude = static_cast<int64_t>(e) < 0 ? 0 - e : e;
      gcd = std::gcd(gcd, magnitude);
    }
  }
  // A multiple of 2^63 cannot be divided out as a signed number; 1 will do.
  r.multiplier = gcd > uint64_t{INT64_MAX} ? 1 : gcd;
  r.z.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const uint64_t e = r.multiplier <= 1
                           ? x[i]
                           : static_cast<uint64_t>(static_cast<int64_t>(x[i]) /
                                                   static_cast<int64_t>(r.multiplier));
    r.z[i] = ZigZag(e);
  }
  return r;
}

// The codes the blocks of a stream use; `same` where a block reuses the
// previous block's code (at first kUniform with shift 0).
struct StreamPlan {
  std::vector<BlockCode> codes;
  std::vector<bool> same;
  uint64_t bits = 0;  // Of the whole stream.
};

// Calls fn(begin, end) for the residuals of each block: residual i is sample
// i + order, and blocks are of kBlockSamples samples.
template <typename Fn>
void ForEachBlock(size_t num_residuals, size_t order, Fn fn) {
  for (size_t begin = 0; begin < num_residuals;) {
    const size_t end = std::min(
        num_residuals, (begin + order) / kBlockSamples * kBlockSamples + kBlockSamples - order);
    fn(begin, end);
    begin = end;
  }
}

// The kDecimalEntropy stream header of `r`: 2 bits predictor, the slope if
// kGrid, the head, center and multiplier (zigzagged where signed).
void WriteStreamHeader(const Residuals& r, internal::BitBuffer* out) {
  out->Write(r.predictor, 2);
  if (r.predictor == kGrid) WriteLong(out, ZigZag(r.slope));
  for (int i = 0; i < OrderOf(r.predictor); ++i) WriteLong(out, ZigZag(r.head[i]));
  WriteLong(out, ZigZag(r.center));
  WriteLong(out, r.multiplier);
}

// Chooses each block's code: the cheapest, or the previous block's when that
// costs at most the 9 bits of naming another.
StreamPlan PlanStream(const Residuals& r) {
  StreamPlan plan;
  internal::BitBuffer header;
  WriteStreamHeader(r, &header);
  plan.bits = header.bit_size();
  if (r.multiplier == 0) return plan;
  BlockCode prev;
  ForEachBlock(r.z.size(), OrderOf(r.predictor), [&](size_t begin, size_t end) {
    const uint64_t* z = r.z.data() + begin;
    const size_t n = end - begin;
    uint64_t best_bits;
    const BlockCode best = CheapestCode(z, n, &best_bits);
    const uint64_t prev_bits = CodedBits(z, n, prev);
    const bool same = prev_bits != kNoFit && 1 + prev_bits <= 10 + best_bits;
    if (!same) prev = best;
    plan.codes.push_back(prev);
    plan.same.push_back(same);
    plan.bits += same ? 1 + prev_bits : 10 + best_bits;
  });
  return plan;
}

// Writes the stream of `r` as `plan` says (built by PlanStream(r)): the
// header, then unless the multiplier is 0 (all residuals zero), per block '0'
// for the same code or '1', 2 bits shape and 7 bits shift, and the block's z.
void WriteCodedStream(const Residuals& r, const StreamPlan& plan, internal::BitBuffer* out) {
  WriteStreamHeader(r, out);
  if (r.multiplier == 0) return;
  size_t block = 0;
  ForEachBlock(r.z.size(), OrderOf(r.predictor), [&](size_t begin, size_t end) {
    const BlockCode code = plan.codes[block];
    if (plan.same[block]) {
      out->Write(0, 1);
    } else {
      out->Write(uint64_t{1} << 9 | uint64_t{code.shape} << 7 | code.shift, 10);
    }
    WriteCoded(r.z.data() + begin, end - begin, code, out);
    ++block;
  });
}

// The kDecimalEntropy stream of `y` with the predictor that looks smallest.
internal::BitBuffer SmallestCodedStream(const std::vector<uint64_t>& y) {
  std::vector<uint64_t> best;
  uint8_t best_predictor = kOrder0;
  uint64_t best_slope = 0, best_bits = UINT64_MAX;
  for (uint8_t predictor : {kOrder0, kOrder1, kOrder2, kGrid}) {
    uint64_t slope;
    std::vector<uint64_t> x = Predicted(y, predictor, &slope);
    const uint64_t bits = EstimatedBits(x, OrderOf(predictor));
    if (bits < best_bits) {
      best_bits = bits;
      best = std::move(x);
      best_predictor = predictor;
      best_slope = slope;
    }
  }
  const Residuals r = Prepare(std::move(best), best_predictor, best_slope);
  internal::BitBuffer out;
  WriteCodedStream(r, PlanStream(r), &out);
  return out;
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

// The 64 bits from bit `pos` of data[0..size) on, first bit highest; at least
// the first 57 are real, and bits past the end read as zeros.
__attribute__((always_inline)) inline uint64_t PeekBits(const uint8_t* data, uint64_t size,
                                                        uint64_t pos) {
  const uint64_t byte = pos >> 3;
  uint64_t word = 0;
  if (byte + 8 <= size) {
    std::memcpy(&word, data + byte, 8);
    word = __builtin_bswap64(word);
  } else {
    for (uint64_t i = 0; byte + i < size; ++i) word |= uint64_t{data[byte + i]} << (56 - 8 * i);
  }
  return word << (pos & 7);
}

// Reads the `count` codes of a block from bit *pos (advanced) of
// data[0..size) into q[0..count): several codes per table lookup, so that
// consecutive codes depend on each other through few instructions. False if
// they run past bit `end`.
bool DecodePrefixes(const uint8_t* data, uint64_t size, uint64_t* pos_inout, uint64_t end,
                    const PrefixCode& code, uint32_t count, uint64_t* q) {
  uint64_t pos = *pos_inout;
  uint64_t word = PeekBits(data, size, pos);  // The bits from pos on...
  int left = 64 - static_cast<int>(pos & 7);  // ...this many of them real.
  uint32_t k = 0;
  while (k < count) {
    if (left < kCodeBits) {
      word = PeekBits(data, size, pos);
      left = 64 - static_cast<int>(pos & 7);
    }
    const uint32_t entry = code.decode[word >> (64 - kCodeBits)];
    const int n = DecodeEntry::count(entry);
    if (n > 0 && count - k >= DecodeEntry::kMaxCount) [[likely]] {
      for (int i = 0; i < DecodeEntry::kMaxCount; ++i) q[k + i] = DecodeEntry::symbol(entry, i);
      const int length = DecodeEntry::total_length(entry);
      k += n;
      word <<= length;
      left -= length;
      pos += static_cast<uint64_t>(length);
    } else if (n > 0) {  // Near the end: one code at a time.
      q[k++] = DecodeEntry::symbol(entry, 0);
      const int length = DecodeEntry::first_length(entry);
      word <<= length;
      left -= length;
      pos += static_cast<uint64_t>(length);
    } else {  // The escape, then q with WriteLong: a 7-bit width, then that many bits.
      pos += static_cast<uint64_t>(DecodeEntry::first_length(entry));
      if (pos + 7 > end) return false;
      const auto width = static_cast<int>(PeekBits(data, size, pos) >> 57);
      pos += 7;
      if (width > 64 || pos + static_cast<uint64_t>(width) > end) return false;
      uint64_t x = width == 0 ? 0 : PeekBits(data, size, pos) >> (64 - std::min(width, 32));
      if (width > 32) x = x << (width - 32) | PeekBits(data, size, pos + 32) >> (96 - width);
      q[k++] = x;
      pos += static_cast<uint64_t>(width);
      left = 0;
    }
  }
  if (pos > end) return false;
  *pos_inout = pos;
  return true;
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

  const internal::BitBuffer time_bits = SmallestCodedStream(times);
  const internal::BitBuffer value_bits = SmallestCodedStream(mantissas);
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
    data_ = reinterpret_cast<const uint8_t*>(rest.data());
    size_ = rest.size();
    bits_ = {0, size_ * 8};
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
  data_ = reinterpret_cast<const uint8_t*>(rest.data());
  size_ = rest.size();
  if (encoding_ == ChunkEncoding::kDecimalEntropy) {
    coded_times_.in = {0, time_bytes * 8};
    coded_mantissas_.in = {time_bytes * 8, size_ * 8};
    if (!ReadCodedHeader(&coded_times_)) {
      Fail("bad timestamp stream header");
    } else if (!ReadCodedHeader(&coded_mantissas_)) {
      Fail("bad value stream header");
    }
    return;
  }
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
  bool ok;
  if (encoding_ == ChunkEncoding::kGorilla || num_samples_ == 0) {
    ok = padded(bits_);
  } else if (encoding_ == ChunkEncoding::kDecimal) {
    ok = padded(times_.in) && padded(mantissas_.in);
  } else {
    ok = padded(coded_times_.in) && padded(coded_mantissas_.in);
  }
  if (!ok) return Fail("trailing bytes");
  done_ = true;
  return false;
}

__attribute__((always_inline)) inline uint64_t ChunkIterator::Peek(const Cursor& in) const {
  return PeekBits(data_, size_, in.pos);
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

bool ChunkIterator::ReadCodedHeader(CodedInts* ints) {
  uint64_t predictor;
  if (!ReadBits(&ints->in, 2, &predictor)) return false;
  ints->predictor = static_cast<uint8_t>(predictor);
  if (predictor == kGrid) {
    if (!ReadLong(&ints->in, &ints->slope)) return false;
    ints->slope = UnZigZag(ints->slope);
  }
  for (int i = 0; i < OrderOf(ints->predictor); ++i) {
    if (!ReadLong(&ints->in, &ints->head[i])) return false;
    ints->head[i] = UnZigZag(ints->head[i]);
  }
  if (!ReadLong(&ints->in, &ints->center) || !ReadLong(&ints->in, &ints->multiplier)) return false;
  ints->center = UnZigZag(ints->center);
  return true;
}

bool ChunkIterator::DecodeCoded(CodedInts* ints, uint32_t count, uint64_t* out) {
  uint32_t k = 0;
  const uint32_t order = OrderOf(ints->predictor);
  for (; k < count && index_ + k < order; ++k) out[k] = ints->head[index_ + k];
  if (k < count && !DecodeResiduals(ints, count - k, out + k)) return false;
  // Undo the prediction.
  uint64_t value = ints->value, delta = ints->delta;
  switch (ints->predictor) {
    case kOrder0:
      break;
    case kOrder1:
      for (uint32_t i = 0; i < count; ++i) out[i] = value += out[i];
      break;
    case kOrder2:
      for (uint32_t i = 0; i < count; ++i) {
        delta += out[i];
        out[i] = value += delta;
      }
      break;
    default: {
      // Locals: `out` might alias members as far as the compiler knows.
      const uint64_t slope = ints->slope;
      uint64_t offset = index_ * slope;
      for (uint32_t i = 0; i < count; ++i, offset += slope) out[i] += offset;
      break;
    }
  }
  ints->value = value;
  ints->delta = delta;
  return true;
}

bool ChunkIterator::DecodeResiduals(CodedInts* ints, uint32_t count, uint64_t* out) {
  const uint64_t center = ints->center, multiplier = ints->multiplier;
  if (multiplier == 0) {  // Every residual is zero.
    for (uint32_t k = 0; k < count; ++k) out[k] = center;
    return true;
  }
  Cursor in = ints->in;
  uint64_t changed;
  if (!ReadBits(&in, 1, &changed)) return false;
  if (changed) {
    uint64_t shape, shift;
    if (!ReadBits(&in, 2, &shape) || !ReadBits(&in, 7, &shift)) return false;
    if (shift > (shape == kUniform ? 64u : 63u)) return false;
    ints->shape = static_cast<uint8_t>(shape);
    ints->shift = static_cast<uint8_t>(shift);
  }
  // The low bits of every z, which for kUniform are all of it.
  const int shift = ints->shift;
  if (static_cast<uint64_t>(shift) * count > in.end - in.pos) return false;
  const bool uniform = ints->shape == kUniform;
  uint64_t z[kBufferSamples];
  if (shift <= 56) {
    for (uint32_t k = 0; k < count; ++k) {
      const uint64_t low = (Peek(in) >> 1) >> (63 - shift);  // Also right for shift 0.
      in.pos += static_cast<uint64_t>(shift);
      if (uniform) {
        out[k] = center + UnZigZag(low) * multiplier;
      } else {
        z[k] = low;
      }
    }
  } else {
    for (uint32_t k = 0; k < count; ++k) {
      ReadBits(&in, shift, &z[k]);  // Cannot fail: checked above.
      if (uniform) out[k] = center + UnZigZag(z[k]) * multiplier;
    }
  }
  if (!uniform) {
    // The high bits, q.
    uint64_t q[kBufferSamples];
    if (!DecodePrefixes(data_, size_, &in.pos, in.end, kCodes[ints->shape], count, q)) {
      return false;
    }
    for (uint32_t k = 0; k < count; ++k) {
      out[k] = center + UnZigZag(z[k] | q[k] << shift) * multiplier;
    }
  }
  ints->in = in;
  return true;
}

bool ChunkIterator::DecodeDecimal(uint32_t count) {
  static_assert(kBufferSamples == kBlockSamples, "one decimal block per refill");
  uint64_t times[kBufferSamples], mantissas[kBufferSamples];
  const bool coded = encoding_ == ChunkEncoding::kDecimalEntropy;
  if (!(coded ? DecodeCoded(&coded_times_, count, times) : DecodePacked(&times_, count, times))) {
    return Fail("truncated or bad timestamp stream");
  }
  if (!(coded ? DecodeCoded(&coded_mantissas_, count, mantissas)
              : DecodePacked(&mantissas_, count, mantissas))) {
    return Fail("truncated or bad value stream");
  }
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
