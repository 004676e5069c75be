#include <algorithm>
#include <cstring>
#include "storage/encoding.h"

namespace vitals::storage {

void AppendSeriesKey(std::span<const LabelRef> labels, std::string* key) {
  size_t add = 0;
  for (const LabelRef& l : labels) add += l.name.size() + l.value.size() + 2;
  const size_t old_size = key->size();
  key->resize(old_size + add);
  char* out = key->data() + old_size;
  for (const LabelRef& l : labels) {
    std::memcpy(out, l.name.data(), l.name.size());
    out += l.name.size();
    *out++ = '\xff';
    std::memcpy(out, l.value.data(), l.value.size());
    out += l.value.size();
    *out++ = '\xff';
  }
}

namespace {

// 64x64 -> 128-bit multiply, folded: the mixing step of wyhash-style hashes.
__extension__ using UInt128 = unsigned __int128;

inline uint64_t Fold(uint64_t a, uint64_t b) {
  const UInt128 product = static_cast<UInt128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

constexpr uint64_t kHashSeed = 0x2d358dccaa6c78a5ull;
constexpr uint64_t kFieldMul = 0x8bb84b93962eacc9ull;
constexpr uint64_t kWordMul = 0x4b33a62ed433d4a3ull;

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The 1..7 bytes at p as one word (overlapping reads; the length is hashed
// separately, so every (bytes, length) pair still maps to one word).
inline uint64_t LoadShort(const char* p, size_t n) {
  if (n >= 4) return Load32(p) | (Load32(p + n - 4) << 32);
  return static_cast<uint64_t>(static_cast<unsigned char>(p[0])) |
         static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
         static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
}

}  // namespace

uint64_t HashSeriesKey(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = Fold(kHashSeed ^ n, kFieldMul);
  for (; n >= 8; p += 8, n -= 8) h = Fold(h ^ Load64(p), kWordMul);
  if (n > 0) h = Fold(h ^ LoadShort(p, n), kWordMul);
  return Fold(h, kFieldMul);
}

bool LabelsFromSeriesKey(std::string_view key, Labels* labels) {
  labels->clear();
  size_t pos = 0;
  while (pos < key.size()) {
    size_t name_end = key.find('\xff', pos);
    if (name_end == std::string_view::npos) return false;
    size_t value_end = key.find('\xff', name_end + 1);
    if (value_end == std::string_view::npos) return false;
    labels->push_back(Label{std::string(key.substr(pos, name_end - pos)),
                            std::string(key.substr(name_end + 1, value_end - name_end - 1))});
    pos = value_end + 1;
  }
  return true;
}


int CompareSeriesKeys(std::string_view a, std::string_view b) {
  // Keys are name\xffvalue\xff... and \xff never occurs in valid UTF-8, so
  // up to the first differing byte both keys are in the same field at the
  // same offset. There, the key whose field ends (\xff) is the smaller, as
  // the shorter string; otherwise the bytes decide, as string comparison.
  const size_t n = std::min(a.size(), b.size());
  const auto* pa = reinterpret_cast<const unsigned char*>(a.data());
  const auto* pb = reinterpret_cast<const unsigned char*>(b.data());
  size_t i = 0;
  // Eight bytes at a time: keys of one metric share long prefixes.
  for (; i + 8 <= n; i += 8) {
    uint64_t wa, wb;
    std::memcpy(&wa, pa + i, 8);
    std::memcpy(&wb, pb + i, 8);
    if (wa != wb) break;
  }
  while (i < n && pa[i] == pb[i]) ++i;
  if (i == n) return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
  if (pa[i] == 0xff) return -1;
  if (pb[i] == 0xff) return 1;
  return pa[i] < pb[i] ? -1 : 1;
}

}  // namespace vitals::storage
