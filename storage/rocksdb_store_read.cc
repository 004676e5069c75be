// The read side of RocksDbStore: selection, series sets, analysis.

#include <algorithm>
#include <limits>
#include <mutex>
#include <set>

#include "storage/encoding.h"
#include "storage/rocksdb_store.h"

namespace vitals::storage {
namespace {

std::string Origin(const MemSeries& series) {
  Labels labels;
  LabelsFromSeriesKey(series.key, &labels);
  return "series " + FormatSeries(labels) + " (id " + std::to_string(series.id) + ")";
}

class RocksSeriesSet final : public SeriesSet {
 public:
  // `heads[i]` is the head snapshot of `series[i]`.
  RocksSeriesSet(const RocksDbStore& store, std::vector<const MemSeries*> series,
                 std::vector<SeriesChunks> heads, RocksDbStore::PartitionList partitions,
                 int64_t min_time, int64_t max_time)
      : store_(store),
        series_(std::move(series)),
        heads_(std::move(heads)),
        partitions_(std::move(partitions)),
        iterators_(partitions_.size()),
        min_time_(min_time),
        max_time_(max_time) {}

  bool Next() override {
    current_.reset();
    while (status_.ok() && next_ < series_.size()) {
      const MemSeries& series = *series_[next_];
      SeriesChunks data = std::move(heads_[next_]);
      ++next_;
      if (data.complete_from > min_time_) {
        status_ =
            store_.ReadDiskChunks(series, partitions_, &iterators_, min_time_, max_time_, &data);
        if (!status_.ok()) return false;
      }
      if (data.chunks.empty() && data.loose.empty()) continue;
      data.series_key = series.key;
      data.series_id = series.id;
      auto it = std::make_unique<MergedSampleIterator>(std::move(data), min_time_, max_time_);
      if (!it->Prime()) {
        if (!it->status().ok()) {
          status_ = it->status();
          return false;
        }
        continue;
      }
      LabelsFromSeriesKey(series.key, &labels_);
      current_ = std::move(it);
      return true;
    }
    return false;
  }

  const Labels& labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Samples() override { return std::move(current_); }
  Status status() const override { return status_; }

 private:
  const RocksDbStore& store_;
  const std::vector<const MemSeries*> series_;
  std::vector<SeriesChunks> heads_;
  const RocksDbStore::PartitionList partitions_;
  std::vector<std::unique_ptr<rocksdb::Iterator>> iterators_;  // One per partition, lazily.
  const int64_t min_time_;
  const int64_t max_time_;
  size_t next_ = 0;
  Labels labels_;
  std::unique_ptr<MergedSampleIterator> current_;
  Status status_;
};

}  // namespace

void RocksDbStore::CopyHead(const MemSeries& series, int64_t min_time, int64_t max_time,
                            SeriesChunks* out) const {
  std::lock_guard lock(head_locks_.For(series.id));
  const ChunkEncoder& open = series.open;
  if (open.num_samples() > 0 && open.min_time() <= max_time && open.max_time() >= min_time) {
    out->chunks.push_back(open.Encode());
  }
  for (const ClosedChunk& c : series.closed) {
    if (c.min_time <= max_time && c.max_time >= min_time) out->chunks.push_back(*c.data);
  }
  for (const auto& sample : series.out_of_order) {
    if (sample.first >= min_time && sample.first <= max_time) out->loose.push_back(sample);
  }
  // Chunks reach disk oldest first and leave memory only once written, so
  // with no out-of-order samples (which may sit on disk inside the memory
  // range) memory holds everything from its oldest chunk on.
  if (options_.out_of_order_window.count() == 0 && series.out_of_order.empty()) {
    int64_t oldest = open.num_samples() > 0 ? open.min_time() : INT64_MAX;
    for (const ClosedChunk& c : series.closed) oldest = std::min(oldest, c.min_time);
    out->complete_from = oldest;
  }
}

Status RocksDbStore::ReadDiskChunks(const MemSeries& series, const PartitionList& partitions,
                                    std::vector<std::unique_ptr<rocksdb::Iterator>>* iterators,
                                    int64_t min_time, int64_t max_time, SeriesChunks* out) const {
  for (size_t i = 0; i < partitions.size(); ++i) {
    const Partition& partition = *partitions[i];
    auto& it = (*iterators)[i];
    if (!it) it.reset(db_->NewIterator(rocksdb::ReadOptions(), partition.cf));
    int64_t partition_start = partition.index * partition_ms_;
    int64_t from = std::max(partition_start, SaturatingSub(min_time, kMaxChunkSpanMs));
    std::string end_key = ChunkKey(series.id, max_time);
    for (it->Seek(ChunkKey(series.id, from)); it->Valid(); it->Next()) {
      if (it->key().compare(end_key) > 0) break;
      std::string_view chunk = it->value().ToStringView();
      auto info = ReadChunkInfo(chunk);
      if (!info.ok()) {
        return Status::Corruption("storage: chunk of " + Origin(series) + " in partition chunks_" +
                                  std::to_string(partition.index) + ": " + info.status().message());
      }
      if (info->max_time >= min_time) out->chunks.emplace_back(chunk);
    }
    if (!it->status().ok()) {
      return Status::Corruption("storage: reading partition chunks_" +
                                std::to_string(partition.index) + ": " + it->status().ToString());
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<SeriesSet>> RocksDbStore::Select(const std::vector<Matcher>& matchers,
                                                        int64_t min_time_ms,
                                                        int64_t max_time_ms) const {
  if (matchers.empty()) return Status::InvalidArgument("a selection needs at least one matcher");
  std::vector<const MemSeries*> series;
  // Heads are copied before disk is read: a chunk that moves to disk
  // meanwhile is then seen twice (the iterator drops the copy), never not at
  // all. Copying them all under the visibility lock shows whole batches only.
  std::vector<SeriesChunks> heads;
  {
    std::shared_lock lock(visibility_mu_);
    series = index_.Select(matchers);
    heads.resize(series.size());
    for (size_t i = 0; i < series.size(); ++i) {
      CopyHead(*series[i], min_time_ms, max_time_ms, &heads[i]);
    }
  }
  return std::unique_ptr<SeriesSet>(std::make_unique<RocksSeriesSet>(
      *this, std::move(series), std::move(heads), PartitionsFor(min_time_ms, max_time_ms),
      min_time_ms, max_time_ms));
}

Result<std::vector<Sample>> RocksDbStore::SelectLatest(const std::vector<Matcher>& matchers,
                                                       int64_t min_time_ms,
                                                       int64_t max_time_ms) const {
  if (matchers.empty()) return Status::InvalidArgument("a selection needs at least one matcher");
  // The common case, a query at "now": every series' newest sample is the
  // last of its open head chunk, read without decoding anything.
  {
    std::vector<Sample> out;
    bool all_in_head = true;
    std::shared_lock lock(visibility_mu_);
    std::vector<const MemSeries*> series = index_.Select(matchers);
    out.reserve(series.size());
    for (const MemSeries* s : series) {
      std::lock_guard head_lock(head_locks_.For(s->id));
      const ChunkEncoder& open = s->open;
      if (open.num_samples() == 0 || open.max_time() > max_time_ms) {
        all_in_head = false;
        break;
      }
      if (open.max_time() < min_time_ms) continue;
      Sample sample{{}, open.max_time(), open.last_value()};
      LabelsFromSeriesKey(s->key, &sample.labels);
      out.push_back(std::move(sample));
    }
    if (all_in_head) return out;
  }
  ASSIGN_OR_RETURN(auto set, Select(matchers, min_time_ms, max_time_ms));
  std::vector<Sample> out;
  while (set->Next()) {
    auto it = set->Samples();
    Sample latest{set->labels(), 0, 0};
    while (it->Next()) {
      latest.timestamp_ms = it->t();
      latest.value = it->v();
    }
    RETURN_IF_ERROR(it->status());
    out.push_back(std::move(latest));
  }
  RETURN_IF_ERROR(set->status());
  return out;
}

bool RocksDbStore::CoversAllData(int64_t min_time, int64_t max_time) const {
  if (max_time < max_time_.load()) return false;
  std::shared_lock lock(partitions_mu_);
  int64_t oldest = min_head_time_.load();
  if (!partitions_.empty()) oldest = std::min(oldest, partitions_.begin()->first * partition_ms_);
  return min_time <= oldest;
}

Status RocksDbStore::ForEachSeriesInRange(const std::vector<Matcher>& matchers, int64_t min_time,
                                          int64_t max_time,
                                          const std::function<void(const Labels&)>& fn) const {
  // Select needs a matcher; every series has a metric name.
  static const std::vector<Matcher> kEverySeries = {
      *Matcher::Create(MatchType::kRegexMatch, std::string(kMetricNameLabel), ".+")};
  ASSIGN_OR_RETURN(auto set, Select(matchers.empty() ? kEverySeries : matchers, min_time, max_time));
  while (set->Next()) fn(set->labels());
  return set->status();
}

Result<std::vector<std::string>> RocksDbStore::LabelNames(const std::vector<Matcher>& matchers,
                                                          int64_t min_time_ms,
                                                          int64_t max_time_ms) const {
  if (CoversAllData(min_time_ms, max_time_ms)) return index_.LabelNames(matchers);
  std::set<std::string, std::less<>> names;
  RETURN_IF_ERROR(ForEachSeriesInRange(matchers, min_time_ms, max_time_ms, [&](const Labels& labels) {
    for (const Label& l : labels) names.insert(l.name);
  }));
  return std::vector<std::string>(names.begin(), names.end());
}

Result<std::vector<std::string>> RocksDbStore::LabelValues(const std::string& name,
                                                           const std::vector<Matcher>& matchers,
                                                           int64_t min_time_ms,
                                                           int64_t max_time_ms) const {
  if (CoversAllData(min_time_ms, max_time_ms)) return index_.LabelValues(name, matchers);
  std::set<std::string, std::less<>> values;
  RETURN_IF_ERROR(ForEachSeriesInRange(matchers, min_time_ms, max_time_ms, [&](const Labels& labels) {
    std::string_view value = GetLabel(labels, name);
    if (!value.empty() && !values.contains(value)) values.emplace(value);
  }));
  return std::vector<std::string>(values.begin(), values.end());
}

Result<Analysis> RocksDbStore::Analyze(size_t top_n) const {
  Analysis analysis;
  analysis.stats = GetStats();
  PartitionList partitions;
  {
    std::shared_lock lock(partitions_mu_);
    for (const auto& [index, partition] : partitions_) partitions.push_back(partition);
  }
  for (const auto& partition : partitions) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), partition->cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto info = ReadChunkInfo(it->value().ToStringView());
      if (!info.ok()) {
        uint64_t id = it->key().size() >= 8 ? GetBigEndian64(it->key().data()) : 0;
        return Status::Corruption("storage: partition chunks_" + std::to_string(partition->index) +
                                  ", chunk of series id " + std::to_string(id) + ": " +
                                  info.status().message());
      }
      ++analysis.chunks;
      analysis.chunk_samples += info->num_samples;
      analysis.chunk_bytes += it->value().size();
    }
    if (!it->status().ok()) {
      return Status::Corruption("storage: reading partition chunks_" +
                                std::to_string(partition->index) + ": " + it->status().ToString());
    }
    uint64_t sst = 0;
    db_->GetIntProperty(partition->cf, rocksdb::DB::Properties::kTotalSstFilesSize, &sst);
    analysis.sst_bytes += sst;
  }
  analysis.series_per_metric = index_.TopMetrics(top_n);
  analysis.values_per_label_name = index_.TopLabelNames(top_n);
  return analysis;
}

}  // namespace vitals::storage
