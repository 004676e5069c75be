#pragma once

// Byte layouts shared by the storage engine's keys and records. Fixed-width
// integers in keys are big-endian so RocksDB's bytewise order is numeric
// order; timestamps have their sign bit flipped so negative times sort first.

#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "common/labels.h"

namespace vitals::storage {

inline void PutBigEndian64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

inline uint64_t GetBigEndian64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// a - b, saturated to int64's range instead of overflowing.
inline int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t out;
  if (!__builtin_sub_overflow(a, b, &out)) return out;
  return b > 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
}

inline uint64_t OrderedTime(int64_t t) { return static_cast<uint64_t>(t) ^ (1ULL << 63); }
inline int64_t TimeFromOrdered(uint64_t v) { return static_cast<int64_t>(v ^ (1ULL << 63)); }

inline std::string BigEndianKey(uint64_t v) {
  std::string key(8, '\0');
  PutBigEndian64(v, key.data());
  return key;
}

// Chunk key: series id + the chunk's first timestamp. A series' chunks are
// contiguous and in time order; timestamps are unique within a series, so the
// key is unique too.
inline std::string ChunkKey(uint64_t series_id, int64_t min_time_ms) {
  std::string key(16, '\0');
  PutBigEndian64(series_id, key.data());
  PutBigEndian64(OrderedTime(min_time_ms), key.data() + 8);
  return key;
}

inline void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads a varint at *pos; false (leaving *pos undefined) if the input ends.
inline bool GetVarint64(std::string_view in, size_t* pos, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *pos < in.size(); shift += 7) {
    uint64_t byte = static_cast<unsigned char>(in[(*pos)++]);
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      *v = result;
      return true;
    }
  }
  return false;
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  std::memcpy(buf, &v, 8);
  out->append(buf, 8);
}
inline bool GetFixed64(std::string_view in, size_t* pos, uint64_t* v) {
  if (in.size() - *pos < 8) return false;
  std::memcpy(v, in.data() + *pos, 8);
  *pos += 8;
  return true;
}

// Series key: "name 0xFF value 0xFF" for every label, sorted by name. 0xFF
// never occurs in UTF-8, so it separates names and values unambiguously.
void AppendSeriesKey(std::span<const LabelRef> labels, std::string* key);
// The series key's hash for the in-memory index (not stored anywhere, so it
// may change between versions): 8 bytes per multiply.
uint64_t HashSeriesKey(std::string_view key);
// InvalidArgument-free decode: a malformed key yields false.
bool LabelsFromSeriesKey(std::string_view key, Labels* labels);
// Orders two series keys as their label sets order (name, then value, label
// by label), without decoding them.
int CompareSeriesKeys(std::string_view a, std::string_view b);

}  // namespace vitals::storage
