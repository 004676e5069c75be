#include "storage/sample_iterator.h"

#include <algorithm>
#include <bit>

#include "storage/encoding.h"

namespace vitals::storage {

std::string OriginOf(const SeriesChunks& data) {
  Labels labels;
  LabelsFromSeriesKey(data.series_key, &labels);
  return "series " + FormatSeries(labels) + " (id " + std::to_string(data.series_id) + ")";
}

MergedSampleIterator::MergedSampleIterator(SeriesChunks data, int64_t min_time, int64_t max_time)
    : data_(std::move(data)), min_time_(min_time), max_time_(max_time) {
  std::vector<std::pair<ChunkInfo, size_t>> infos;
  infos.reserve(data_.chunks.size());
  for (size_t i = 0; i < data_.chunks.size(); ++i) {
    auto info = ReadChunkInfo(data_.chunks[i]);
    if (!info.ok()) {
      Fail(Status::Corruption(OriginOf(data_) + ": " + info.status().message()));
      return;
    }
    infos.emplace_back(*info, i);
  }
  std::sort(infos.begin(), infos.end(), [](const auto& a, const auto& b) {
    return a.first.min_time < b.first.min_time;
  });
  bool overlapping = !data_.loose.empty();
  for (size_t i = 1; i < infos.size() && !overlapping; ++i) {
    overlapping = infos[i].first.min_time <= infos[i - 1].first.max_time;
  }
  std::vector<std::string> sorted;
  sorted.reserve(infos.size());
  for (auto& [info, i] : infos) sorted.push_back(std::move(data_.chunks[i]));
  data_.chunks = std::move(sorted);
  if (!overlapping) return;

  merged_mode_ = true;
  for (const std::string& chunk : data_.chunks) {
    ChunkIterator it(chunk);
    while (it.Next()) {
      if (it.t() >= min_time_ && it.t() <= max_time_) merged_.emplace_back(it.t(), it.v());
    }
    if (!it.status().ok()) {
      Fail(Status::Corruption(OriginOf(data_) + ": " + it.status().message()));
      return;
    }
  }
  for (const auto& [t, v] : data_.loose) {
    if (t >= min_time_ && t <= max_time_) merged_.emplace_back(t, v);
  }
  // Stable, so that of two samples with one timestamp the first source wins.
  std::stable_sort(merged_.begin(), merged_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  merged_.erase(std::unique(merged_.begin(), merged_.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                merged_.end());
}

bool MergedSampleIterator::Fail(Status status) {
  status_ = std::move(status);
  merged_mode_ = true;
  merged_.clear();
  merged_pos_ = 0;
  return false;
}

bool MergedSampleIterator::Prime() {
  primed_result_ = Next();
  primed_ = true;
  return primed_result_;
}

bool MergedSampleIterator::Next() {
  if (primed_) {
    primed_ = false;
    return primed_result_;
  }
  if (!status_.ok()) return false;
  if (!merged_mode_) return NextSequential();
  if (merged_pos_ >= merged_.size()) return false;
  t_ = merged_[merged_pos_].first;
  v_ = merged_[merged_pos_].second;
  ++merged_pos_;
  return true;
}

bool MergedSampleIterator::NextSequential() {
  while (true) {
    bool positioned;
    if (current_) {
      positioned = current_->Next();
    } else {
      if (next_chunk_ >= data_.chunks.size()) return false;
      current_.emplace(data_.chunks[next_chunk_++]);
      // Seek lands on the chunk's first sample >= min_time.
      positioned = min_time_ > std::numeric_limits<int64_t>::min() ? current_->Seek(min_time_)
                                                                    : current_->Next();
    }
    if (!positioned) {
      if (!current_->status().ok()) {
        return Fail(Status::Corruption(OriginOf(data_) + ": " + current_->status().message()));
      }
      current_.reset();
      continue;
    }
    if (current_->t() > max_time_) {  // Chunks are in time order: nothing further qualifies.
      current_.reset();
      next_chunk_ = data_.chunks.size();
      return false;
    }
    t_ = current_->t();
    v_ = current_->v();
    return true;
  }
}

}  // namespace vitals::storage
