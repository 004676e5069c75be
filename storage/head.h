#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "storage/chunk.h"
#include "storage/prefetch.h"

namespace vitals::storage {

// A head chunk that is full (or too old) and waits to be written to disk.
struct ClosedChunk {
  std::shared_ptr<const std::string> data;  // ChunkEncoder::Encode() output.
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint64_t first_seq = 0;  // Lowest write-ahead-log record its samples came from.
};

// Everything held in memory about one series: its identity and its head (the
// samples not yet in chunks on disk).
//
// Locking: `id` and `key` are fixed. Fields under "writer" are touched only
// by the single write path (Append, replay, Maintain all hold the store's
// write mutex). Fields under "head" change only under the write mutex, and
// readers copy them holding the store's visibility lock shared and the
// series' stripe of HeadLocks. Append changes them holding the visibility
// lock exclusively (so it needs no stripe); Maintain takes the stripe, so
// that it never holds up readers for more than one series at a time.
struct MemSeries {
  MemSeries(uint64_t series_id, std::string series_key)
      : id(series_id), key(std::move(series_key)) {}

  const uint64_t id;
  const std::string key;  // See AppendSeriesKey.

  // --- writer ---
  // Newest accepted sample, including ones of the batch being appended.
  int64_t writer_last_t = std::numeric_limits<int64_t>::min();
  uint64_t writer_last_v_bits = 0;
  // The log sequence of the batch that last changed writer_last_*, so that a
  // failed write can restore them without a per-batch map.
  uint64_t writer_batch_seq = 0;
  // Samples of write-ahead-log records below this are all in chunks on disk.
  uint64_t persisted_through_seq = 0;
  int64_t persisted_max_t = std::numeric_limits<int64_t>::min();
  uint64_t persisted_max_v_bits = 0;

  // --- head ---
  ChunkEncoder open;        // Newest samples, in order.
  uint64_t open_first_seq = 0;
  std::vector<ClosedChunk> closed;  // Oldest first; may overlap (out-of-order data).
  // Out-of-order samples not yet folded into a closed chunk, sorted by time.
  std::vector<std::pair<int64_t, double>> out_of_order;
  uint64_t out_of_order_first_seq = 0;

  // Hints ahead of appending to the head: first the open chunk's fields,
  // then (once those are in cache) the end of its buffer.
  void PrefetchOpen() const {
    Prefetch(&open);
    Prefetch(reinterpret_cast<const char*>(&open) + sizeof(open) - 1);
  }
  void PrefetchOpenTail() const { PrefetchForWrite(open.tail()); }

  bool HasHeadData() const { return open.num_samples() > 0 || !closed.empty() || !out_of_order.empty(); }
  // The lowest log sequence of samples still only in memory, or UINT64_MAX.
  uint64_t FirstUnpersistedSeq() const;
  // Samples and bytes of memory in the head.
  uint64_t HeadSamples() const;
  uint64_t HeadBytes() const;
};

// Striped mutexes guarding MemSeries head fields: far fewer mutexes than
// series, little contention since readers hold one only to copy a head.
class HeadLocks {
 public:
  std::mutex& For(uint64_t series_id) { return stripes_[series_id % kStripes]; }

 private:
  static constexpr size_t kStripes = 4096;
  std::mutex stripes_[kStripes];
};

}  // namespace vitals::storage
