#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/chunk.h"
#include "storage/store.h"

namespace vitals::storage {

// Everything known about one series' samples in a time range: encoded
// chunks from disk and from the head (any order; they may overlap, and the
// same chunk may appear twice while it is being written to disk) and loose
// out-of-order samples from the head, sorted by time.
struct SeriesChunks {
  std::vector<std::string> chunks;
  std::vector<std::pair<int64_t, double>> loose;
  // Which series, for Corruption messages ("series up{a=\"b\"} (id 7)"),
  // built only when one is needed: the key is borrowed and must outlive the
  // iterator (the store's series outlive every read).
  std::string_view series_key;
  uint64_t series_id = 0;
  // Every sample of the series at or after this time is in `chunks` and
  // `loose` already (copied from memory), so disk need not be read for a
  // range that starts here or later. INT64_MAX when unknown.
  int64_t complete_from = INT64_MAX;
};

// Iterates the union of a SeriesChunks' samples within [min_time, max_time],
// oldest first, each timestamp once. Chunks that do not overlap (the normal
// case) are decoded one after another; otherwise everything is decoded,
// sorted and deduplicated.
// "series <labels> (id N)", for error messages.
std::string OriginOf(const SeriesChunks& data);

class MergedSampleIterator final : public SampleIterator {
 public:
  MergedSampleIterator(SeriesChunks data, int64_t min_time, int64_t max_time);

  bool Next() override;
  int64_t t() const override { return t_; }
  double v() const override { return v_; }
  Status status() const override { return status_; }

  // Moves to the first sample so that the caller can tell whether the range
  // holds any; the following Next() then returns that sample again.
  bool Prime();

 private:
  bool NextSequential();
  bool Fail(Status status);

  SeriesChunks data_;
  const int64_t min_time_;
  const int64_t max_time_;
  Status status_;
  int64_t t_ = 0;
  double v_ = 0;
  bool primed_ = false;
  bool primed_result_ = false;

  // Sequential mode: chunks in time order, none overlapping.
  bool merged_mode_ = false;
  size_t next_chunk_ = 0;
  std::optional<ChunkIterator> current_;
  // Merged mode: every sample, decoded.
  std::vector<std::pair<int64_t, double>> merged_;
  size_t merged_pos_ = 0;
};

}  // namespace vitals::storage
