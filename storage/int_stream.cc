#include "storage/int_stream.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <numeric>

namespace vitals::storage::internal {
namespace {

// A stream of integers y (a chunk's timestamps minus the first, or its
// mantissas) is turned into residuals by a predictor; less their center and
// divided by their common factor, each is written in its block's code. See
// int_stream.h for the layout.

// --- Predictors ---

// Predictors: the differences of order 0, 1 or 2 (the first `order` of which
// are written in the stream's header), or kGrid: y[i] - i * slope.
enum Predictor : uint8_t { kOrder0 = 0, kOrder1 = 1, kOrder2 = 2, kGrid = 3 };
int OrderOf(int predictor) { return predictor == kGrid ? 0 : predictor; }

// The differences of `order` (0, 1 or 2) of `y`, starting from zeros, wrapping.
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

// Medians are exact for values spanning fewer than this many integers.
constexpr uint64_t kExactMedianSpan = 256;

// The median of x[0..n) as signed integers, exactly when they span fewer
// than kExactMedianSpan values (a few milliseconds of jitter: a center one
// off would cost a bit per sample there), else the median of 63 spread
// evenly, close enough for residuals that wide and much cheaper.
// REQUIRES: n > 0.
uint64_t Median(const uint64_t* x, size_t n) {
  const auto less = [](uint64_t a, uint64_t b) {
    return static_cast<int64_t>(a) < static_cast<int64_t>(b);
  };
  const auto [lo, hi] = std::minmax_element(x, x + n, less);
  if (*hi - *lo < kExactMedianSpan) {
    uint32_t counts[kExactMedianSpan] = {};
    for (size_t i = 0; i < n; ++i) ++counts[x[i] - *lo];
    size_t seen = 0;
    for (uint64_t v = 0;; ++v) {
      seen += counts[v];
      if (seen > n / 2) return *lo + v;
    }
  }
  constexpr size_t kSample = 63;
  uint64_t sample[kSample];
  const size_t m = std::min(n, kSample);
  for (size_t i = 0; i < m; ++i) sample[i] = x[m == n ? i : i * (n - 1) / (m - 1)];
  std::nth_element(sample, sample + m / 2, sample + m, less);
  return sample[m / 2];
}

// kGrid's slope for `y`: the median step when the steps span few values (as
// timestamps with jitter do), else the mean step (cheaper, and a line through
// the ends is as good a grid for such spread).
uint64_t GridSlope(const std::vector<uint64_t>& y) {
  if (y.size() < 2) return 0;
  std::vector<uint64_t> steps(y.size() - 1);
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 1; i < y.size(); ++i) {
    steps[i - 1] = y[i] - y[i - 1];
    lo = std::min(lo, static_cast<int64_t>(steps[i - 1]));
    hi = std::max(hi, static_cast<int64_t>(steps[i - 1]));
  }
  if (static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) >= kExactMedianSpan) {
    return static_cast<uint64_t>(static_cast<int64_t>(y.back() - y.front()) /
                                 static_cast<int64_t>(steps.size()));
  }
  return Median(steps.data(), steps.size());
}

// What `predictor` makes of `y`: y[i] - i * slope for kGrid, else the
// differences of its order.
std::vector<uint64_t> Predicted(const std::vector<uint64_t>& y, uint8_t predictor, uint64_t slope) {
  if (predictor != kGrid) return Differences(y, predictor);
  std::vector<uint64_t> x(y.size());
  for (size_t i = 0; i < y.size(); ++i) x[i] = y[i] - i * slope;
  return x;
}

// A quick estimate of the bits each predictor's output for `y` takes: its
// head, and of each residual the bits of its distance from their mean. Good
// enough to rank predictors, and two passes over y for all four.
std::array<uint64_t, 4> EstimatedBits(const std::vector<uint64_t>& y, uint64_t slope) {
  // The residual of every predictor at i, for i >= 2.
  const auto residuals = [&](size_t i) {
    const uint64_t d1 = y[i] - y[i - 1];
    return std::array<uint64_t, 4>{y[i], d1, d1 - (y[i - 1] - y[i - 2]), y[i] - i * slope};
  };
  std::array<uint64_t, 4> bits = {};
  if (y.size() < 3) return bits;  // Hardly matters.
  // Sums wrap, but are exact when the residuals are small enough for their
  // count; past that the mean hardly matters to the estimate.
  std::array<uint64_t, 4> sums = {}, magnitudes = {};
  for (size_t i = 2; i < y.size(); ++i) {
    const std::array<uint64_t, 4> r = residuals(i);
    for (int p = 0; p < 4; ++p) {
      sums[p] += r[p];
      magnitudes[p] |= r[p] ^ static_cast<uint64_t>(static_cast<int64_t>(r[p]) >> 63);
    }
  }
  const auto count = static_cast<int64_t>(y.size() - 2);
  std::array<uint64_t, 4> means = {};
  for (int p = 0; p < 4; ++p) {
    if (magnitudes[p] >> (63 - BitWidth(static_cast<uint64_t>(count))) != 0) continue;
    // Rounded to nearest: residuals around a mean of 0.9 are ones, not zeros.
    const auto total = static_cast<int64_t>(sums[p]);
    const int64_t rest = total % count;
    means[p] = static_cast<uint64_t>(total / count +
                                     (2 * std::abs(rest) >= count ? (total < 0 ? -1 : 1) : 0));
  }
  for (size_t i = 2; i < y.size(); ++i) {
    const std::array<uint64_t, 4> r = residuals(i);
    for (int p = 0; p < 4; ++p) bits[p] += BitWidth(ZigZag(r[p] - means[p]));
  }
  // The first two samples: head values of orders 1 and 2, residuals else.
  const uint64_t head_bits = 7 + BitWidth(ZigZag(y[0]));
  bits[kOrder0] +=
      BitWidth(ZigZag(y[0] - means[kOrder0])) + BitWidth(ZigZag(y[1] - means[kOrder0]));
  bits[kOrder1] += head_bits + BitWidth(ZigZag(y[1] - y[0] - means[kOrder1]));
  bits[kOrder2] += head_bits + 7 + BitWidth(ZigZag(y[1] - 2 * y[0]));
  bits[kGrid] +=
      BitWidth(ZigZag(y[0] - means[kGrid])) + BitWidth(ZigZag(y[1] - slope - means[kGrid]));
  return bits;
}

// --- Residuals ---

// A stream's residuals under one predictor, ready to write.
struct Residuals {
  uint8_t predictor = kOrder0;
  uint64_t slope = 0;       // kGrid.
  uint64_t head[2] = {};    // The first OrderOf(predictor) differences.
  uint64_t center = 0;      // Subtracted from every residual...
  uint64_t factor = 0;      // ...which is then divided by this; 0: all are zero.
  std::vector<uint64_t> z;  // Zigzagged (residual - center) / factor.
};

// The residuals of `x`, what Predicted gave for `predictor` and `slope`.
Residuals Prepare(std::vector<uint64_t> x, uint8_t predictor, uint64_t slope) {
  Residuals r;
  r.predictor = predictor;
  r.slope = slope;
  const size_t order = std::min<size_t>(OrderOf(predictor), x.size());
  for (size_t i = 0; i < order; ++i) r.head[i] = x[i];
  x.erase(x.begin(), x.begin() + static_cast<ptrdiff_t>(order));
  if (x.empty()) return r;
  r.center = Median(x.data(), x.size());
  uint64_t gcd = 0;
  for (uint64_t& e : x) {
    e -= r.center;
    if (gcd != 1) {
      const uint64_t magnitude = static_cast<int64_t>(e) < 0 ? 0 - e : e;
      gcd = std::gcd(gcd, magnitude);
    }
  }
  // A multiple of 2^63 cannot be divided out as a signed number; 1 will do.
  r.factor = gcd > uint64_t{INT64_MAX} ? 1 : gcd;
  r.z.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const uint64_t e =
        r.factor <= 1
            ? x[i]
            : static_cast<uint64_t>(static_cast<int64_t>(x[i]) / static_cast<int64_t>(r.factor));
    r.z[i] = ZigZag(e);
  }
  return r;
}

// --- Block codes ---

// How a block writes each z = zigzag((residual - center) / factor): kUniform
// as its low `shift` bits alone; the others as the low `shift` bits and then
// q = z >> shift in a prefix code for a shape of q's distribution, whose last
// symbol is an escape followed by q itself with BitBuffer::WriteLong.
enum Shape : uint8_t { kUniform = 0, kNarrow = 1, kWide = 2, kGeometric = 3 };

constexpr int kCodeBits = 11;  // The longest code.
constexpr int kMaxSymbols = 17;

// A canonical prefix code for q = 0 .. num_symbols - 2, then the escape.
struct PrefixCode {
  uint8_t num_symbols = 0;
  uint8_t length[kMaxSymbols] = {};
  uint16_t code[kMaxSymbols] = {};  // Right-aligned.
  // For every kCodeBits-bit string, the up to 4 codes it starts with, none
  // of them the escape: bytes 0-3 the symbols, byte 4 their total length,
  // byte 5 the first one's length, byte 6 how many. When the string starts
  // with the escape: its length in both length bytes, count 0.
  uint64_t decode[1 << kCodeBits] = {};
  constexpr uint8_t escape() const { return static_cast<uint8_t>(num_symbols - 1); }
};

// The fields of PrefixCode::decode's entries.
struct DecodeEntry {
  static constexpr int kMaxCount = 4;
  static constexpr uint64_t Make(const uint8_t (&symbols)[kMaxCount], int total_length,
                                 int first_length, int count) {
    uint64_t e = 0;
    for (int i = 0; i < kMaxCount; ++i) e |= uint64_t{symbols[i]} << (8 * i);
    return e | static_cast<uint64_t>(total_length) << 32 |
           static_cast<uint64_t>(first_length) << 40 | static_cast<uint64_t>(count) << 48;
  }
  static constexpr int total_length(uint64_t e) { return static_cast<int>(e >> 32 & 0xff); }
  static constexpr int first_length(uint64_t e) { return static_cast<int>(e >> 40 & 0xff); }
  static constexpr int count(uint64_t e) { return static_cast<int>(e >> 48 & 0xff); }
  static constexpr uint8_t symbol(uint64_t e, int i) { return static_cast<uint8_t>(e >> (8 * i)); }
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
    uint8_t symbols[DecodeEntry::kMaxCount] = {};
    int used = 0, count = 0;
    while (count < DecodeEntry::kMaxCount) {
      // The next code starts `used` bits in; the bits after the string read as zeros.
      const uint32_t window = (bits << used) & ((1u << kCodeBits) - 1);
      const int length = first_length[window];
      if (used + length > kCodeBits || first[window] == c.escape()) break;
      symbols[count++] = first[window];
      used += length;
    }
    if (count == 0) used = first_length[bits];  // An escape.
    c.decode[bits] = DecodeEntry::Make(symbols, used, first_length[bits], count);
  }
  return c;
}

// Every kCodeBits-bit string starts with a code: no invalid codes to check for.
constexpr bool IsComplete(const PrefixCode& c) {
  for (uint64_t entry : c.decode) {
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
void WriteCoded(const uint64_t* z, size_t n, BlockCode code, BitBuffer* out) {
  for (size_t i = 0; i < n; ++i) out->Write(LowBits(z[i], code.shift), code.shift);
  if (code.shape == kUniform) return;
  const PrefixCode& pc = kCodes[code.shape];
  const uint8_t escape = pc.escape();
  for (size_t i = 0; i < n; ++i) {
    const uint64_t q = z[i] >> code.shift;
    if (q < escape) {
      out->Write(pc.code[q], pc.length[q]);
    } else {
      out->Write(pc.code[escape], pc.length[escape]);
      out->WriteLong(q);
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
  // Candidates from the mean z, leaving out the largest (which may be an
  // outlier). Normal residuals with standard deviation s have a mean z of
  // about 1.6 s - 0.5: the normal shapes are tried at the shift that puts
  // s / 2^shift in [1.05, 2.1), kNarrow's range and then kWide's; kGeometric
  // (Rice) at the shift nearest log2(mean z * ln 2).
  const double mean = static_cast<double>(n > 1 ? (sum - max) / (n - 1) : sum);
  const double deviation = (mean + 0.5) / 1.6;
  const int normal_shift =
      std::clamp(static_cast<int>(std::floor(std::log2(deviation / 1.05))), 0, 63);
  const int geometric_shift = std::clamp(static_cast<int>(std::log2(mean * 0.69 + 1)), 0, 63);
  const BlockCode candidates[] = {{kNarrow, static_cast<uint8_t>(normal_shift)},
                                  {kWide, static_cast<uint8_t>(normal_shift)},
                                  {kGeometric, static_cast<uint8_t>(geometric_shift)}};
  for (const BlockCode& code : candidates) {
    const uint64_t b = CodedBits(z, n, code);
    if (b < *bits) {
      *bits = b;
      best = code;
    }
  }
  return best;
}

// --- Streams ---

// The codes the blocks of a stream use; `same` where a block reuses the
// previous block's code (at first kUniform with shift 0).
struct StreamPlan {
  std::vector<BlockCode> codes;
  std::vector<bool> same;
  uint64_t bits = 0;  // Of the whole stream.
};

// Calls fn(begin, end) for the residuals of each block: residual i is sample
// i + order, and blocks are of kStreamBlock samples.
template <typename Fn>
void ForEachBlock(size_t num_residuals, size_t order, Fn fn) {
  for (size_t begin = 0; begin < num_residuals;) {
    const size_t end = std::min(
        num_residuals, (begin + order) / kStreamBlock * kStreamBlock + kStreamBlock - order);
    fn(begin, end);
    begin = end;
  }
}

// The kDecimalEntropy stream header of `r`: 2 bits predictor, the slope if
// kGrid, the head, center and factor (zigzagged where signed).
void WriteStreamHeader(const Residuals& r, BitBuffer* out) {
  out->Write(r.predictor, 2);
  if (r.predictor == kGrid) out->WriteLong(ZigZag(r.slope));
  for (int i = 0; i < OrderOf(r.predictor); ++i) out->WriteLong(ZigZag(r.head[i]));
  out->WriteLong(ZigZag(r.center));
  out->WriteLong(r.factor);
}

// Chooses each block's code: the cheapest, or the previous block's when that
// costs at most the 9 bits of naming another.
StreamPlan PlanStream(const Residuals& r) {
  StreamPlan plan;
  BitBuffer header;
  WriteStreamHeader(r, &header);
  plan.bits = header.bit_size();
  if (r.factor == 0) return plan;
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
// header, then unless the factor is 0 (all residuals zero), per block '0'
// for the same code or '1', 2 bits shape and 7 bits shift, and the block's z.
void WriteCodedStream(const Residuals& r, const StreamPlan& plan, BitBuffer* out) {
  WriteStreamHeader(r, out);
  if (r.factor == 0) return;
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

// --- Decoding ---

// An escaped q of a block: its index in the block, and q.
struct Escape {
  uint32_t index;
  uint64_t q;
};

// Reads the `count` codes of a block in `code` from *in (advanced): q into
// q[0..count) (which has room for 3 more), except that escaped ones, too
// large for a byte, go to escapes[0..*num_escapes) with 0 in q. Several codes
// per table lookup, so that consecutive codes depend on each other through
// few instructions. False if they run past in->end.
bool DecodePrefixes(BitSpan bits, Cursor* in, const PrefixCode& code, uint32_t count, uint8_t* q,
                    Escape* escapes, uint32_t* num_escapes) {
  uint64_t pos = in->pos;
  uint64_t word = bits.Peek(pos);             // The bits from pos on...
  int left = 64 - static_cast<int>(pos & 7);  // ...this many of them real.
  uint32_t k = 0;
  *num_escapes = 0;
  while (k < count) {
    if (left < kCodeBits) {
      word = bits.Peek(pos);
      left = 64 - static_cast<int>(pos & 7);
    }
    const uint64_t entry = code.decode[word >> (64 - kCodeBits)];
    const int n = DecodeEntry::count(entry);
    if (n > 0) [[likely]] {
      // All four symbols at once; only n of them count, the rest are
      // overwritten next (or lie past the block).
      const auto symbols = static_cast<uint32_t>(entry);
      std::memcpy(q + k, &symbols, 4);
      const int length = count - k >= DecodeEntry::kMaxCount ? DecodeEntry::total_length(entry)
                                                             : DecodeEntry::first_length(entry);
      k += count - k >= DecodeEntry::kMaxCount ? n : 1;
      word <<= length;
      left -= length;
      pos += static_cast<uint64_t>(length);
    } else {  // The escape, then q itself.
      Cursor rest{pos + static_cast<uint64_t>(DecodeEntry::first_length(entry)), in->end};
      Escape& escape = escapes[(*num_escapes)++];
      if (rest.pos > rest.end || !bits.ReadLong(&rest, &escape.q)) return false;
      escape.index = k;
      q[k++] = 0;
      pos = rest.pos;
      left = 0;
    }
  }
  if (pos > in->end) return false;
  in->pos = pos;
  return true;
}

// Turns differences of `order` (1 or 2) in out[0..count) back into the
// integers, carrying the last integer and difference in *value and *delta.
void UndoDifferences(int order, uint32_t count, uint64_t* value, uint64_t* delta, uint64_t* out) {
  // Locals: `out` might alias *value and *delta as far as the compiler knows.
  uint64_t v = *value, d = *delta;
  if (order == 1) {
    for (uint32_t i = 0; i < count; ++i) out[i] = v += out[i];
  } else {
    for (uint32_t i = 0; i < count; ++i) {
      d += out[i];
      out[i] = v += d;
    }
  }
  *value = v;
  *delta = d;
}

}  // namespace

void WriteEntropyStream(const std::vector<uint64_t>& y, BitBuffer* out) {
  const uint64_t slope = GridSlope(y);
  const std::array<uint64_t, 4> estimates = EstimatedBits(y, slope);
  const auto predictor = static_cast<uint8_t>(std::min_element(estimates.begin(), estimates.end()) -
                                              estimates.begin());
  const Residuals r = Prepare(Predicted(y, predictor, slope), predictor, slope);
  WriteCodedStream(r, PlanStream(r), out);
}

bool EntropyStreamReader::Start(BitSpan bits, Cursor in) {
  bits_ = bits;
  in_ = in;
  uint64_t predictor;
  if (!bits_.Read(&in_, 2, &predictor)) return false;
  predictor_ = static_cast<uint8_t>(predictor);
  if (predictor_ == kGrid) {
    if (!bits_.ReadLong(&in_, &slope_)) return false;
    slope_ = UnZigZag(slope_);
  }
  for (int i = 0; i < OrderOf(predictor_); ++i) {
    if (!bits_.ReadLong(&in_, &head_[i])) return false;
    head_[i] = UnZigZag(head_[i]);
  }
  if (!bits_.ReadLong(&in_, &center_) || !bits_.ReadLong(&in_, &factor_)) return false;
  center_ = UnZigZag(center_);
  return true;
}

bool EntropyStreamReader::Decode(uint32_t index, uint32_t count, uint64_t* out) {
  uint32_t k = 0;
  const uint32_t order = OrderOf(predictor_);
  for (; k < count && index + k < order; ++k) out[k] = head_[index + k];
  if (k < count && !DecodeResiduals(count - k, out + k)) return false;
  // Undo the prediction.
  if (predictor_ == kGrid) {
    const uint64_t slope = slope_;  // A local: `out` might alias it.
    uint64_t offset = index * slope;
    for (uint32_t i = 0; i < count; ++i, offset += slope) out[i] += offset;
  } else if (predictor_ != kOrder0) {
    UndoDifferences(predictor_, count, &value_, &delta_, out);
  }
  return true;
}

bool EntropyStreamReader::DecodeResiduals(uint32_t count, uint64_t* out) {
  // Locals, not members, which `out` might alias as far as the compiler knows.
  const uint64_t center = center_, factor = factor_;
  const BitSpan bits = bits_;
  if (factor == 0) {  // Every residual is the center.
    for (uint32_t k = 0; k < count; ++k) out[k] = center;
    return true;
  }
  Cursor in = in_;
  uint64_t changed;
  if (!bits.Read(&in, 1, &changed)) return false;
  if (changed) {
    uint64_t shape, shift;
    if (!bits.Read(&in, 2, &shape) || !bits.Read(&in, 7, &shift)) return false;
    if (shift > (shape == kUniform ? 64u : 63u)) return false;
    shape_ = static_cast<uint8_t>(shape);
    shift_ = static_cast<uint8_t>(shift);
  }
  // The low bits of every z, which for kUniform are all of it.
  const int shift = shift_;
  if (static_cast<uint64_t>(shift) * count > in.end - in.pos) return false;
  uint64_t z[kStreamBlock];
  if (shift == 0) {
    std::fill_n(z, count, 0);
  } else if (shift <= 56) {
    // As in DecodePrefixes: a word of bits refilled only when it runs short.
    uint64_t word = bits.Peek(in.pos);
    int left = 64 - static_cast<int>(in.pos & 7);
    for (uint32_t k = 0; k < count; ++k) {
      if (left < shift) {
        word = bits.Peek(in.pos);
        left = 64 - static_cast<int>(in.pos & 7);
      }
      z[k] = word >> (64 - shift);
      word <<= shift;
      left -= shift;
      in.pos += static_cast<uint64_t>(shift);
    }
  } else {
    for (uint32_t k = 0; k < count; ++k) bits.Read(&in, shift, &z[k]);  // Checked above.
  }
  if (shape_ != kUniform) {
    // The high bits, q.
    uint8_t q[kStreamBlock + DecodeEntry::kMaxCount - 1];
    Escape escapes[kStreamBlock];
    uint32_t num_escapes;
    if (!DecodePrefixes(bits, &in, kCodes[shape_], count, q, escapes, &num_escapes)) return false;
    for (uint32_t k = 0; k < count; ++k) z[k] |= uint64_t{q[k]} << shift;
    for (uint32_t e = 0; e < num_escapes; ++e) z[escapes[e].index] |= escapes[e].q << shift;
  }
  if (factor == 1) {
    for (uint32_t k = 0; k < count; ++k) out[k] = center + UnZigZag(z[k]);
  } else {
    for (uint32_t k = 0; k < count; ++k) out[k] = center + UnZigZag(z[k]) * factor;
  }
  in_ = in;
  return true;
}

bool PackedStreamReader::Start(BitSpan bits, Cursor in) {
  bits_ = bits;
  in_ = in;
  uint64_t order;
  if (!bits_.Read(&in_, 2, &order) || order > 2) return false;
  order_ = static_cast<uint8_t>(order);
  return true;
}

bool PackedStreamReader::Decode(uint32_t index, uint32_t count, uint64_t* out) {
  const BitSpan bits = bits_;  // A local: `out` might alias members.
  Cursor in = in_;
  uint64_t same;
  if (!bits.Read(&in, 1, &same)) return false;
  if (!same) {
    uint64_t width, base;
    if (!bits.Read(&in, 7, &width) || width > 64 || !bits.ReadLong(&in, &base)) return false;
    width_ = static_cast<uint8_t>(width);
    base_ = UnZigZag(base);
  }
  uint32_t k = 0;
  for (; k < count && index + k < order_; ++k) {
    if (!bits.ReadLong(&in, &out[k])) return false;
    out[k] = UnZigZag(out[k]);
  }
  const int width = width_;
  const uint64_t base = base_;
  if (static_cast<uint64_t>(width) * (count - k) > in.end - in.pos) return false;
  if (width == 0) {
    for (; k < count; ++k) out[k] = base;
  } else if (width <= 56) {
    for (; k < count; ++k) {
      out[k] = base + (bits.Peek(in.pos) >> (64 - width));
      in.pos += static_cast<uint64_t>(width);
    }
  } else {
    for (; k < count; ++k) {
      uint64_t x = 0;
      bits.Read(&in, width, &x);  // Cannot fail: checked above.
      out[k] = base + x;
    }
  }
  in_ = in;
  if (order_ != 0) UndoDifferences(order_, count, &value_, &delta_, out);
  return true;
}

}  // namespace vitals::storage::internal
