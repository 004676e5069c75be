#include "storage/head.h"

#include <algorithm>

namespace vitals::storage {

uint64_t MemSeries::FirstUnpersistedSeq() const {
  uint64_t first = UINT64_MAX;
  if (open.num_samples() > 0) first = open_first_seq;
  for (const ClosedChunk& c : closed) first = std::min(first, c.first_seq);
  if (!out_of_order.empty()) first = std::min(first, out_of_order_first_seq);
  return first;
}

uint64_t MemSeries::HeadSamples() const {
  uint64_t n = open.num_samples() + out_of_order.size();
  for (const ClosedChunk& c : closed) {
    auto info = ReadChunkInfo(*c.data);
    if (info.ok()) n += info->num_samples;
  }
  return n;
}

uint64_t MemSeries::HeadBytes() const {
  uint64_t bytes = open.MemoryBytes() + out_of_order.capacity() * sizeof(out_of_order[0]);
  for (const ClosedChunk& c : closed) bytes += sizeof(ClosedChunk) + c.data->capacity();
  return bytes;
}

}  // namespace vitals::storage
