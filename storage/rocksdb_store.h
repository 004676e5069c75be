#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>

#include "storage/head.h"
#include "storage/index.h"
#include "storage/sample_iterator.h"
#include "storage/store.h"

namespace vitals::storage {

// The time-series engine on RocksDB (docs/storage.md has the full layout):
//   series       label-set key -> series id
//   series_meta  series id -> how far its samples are in chunks on disk
//   metadata     metric name -> type and help
//   head         log sequence -> the samples one Append accepted (the WAL)
//   chunks_<n>   series id + first timestamp -> compressed chunk, one column
//                family per time partition n, dropped whole by retention
// Appends go to the head column family with a synced write and into
// in-memory head chunks; Maintain() writes closed head chunks to their
// partition and deletes the log records they made redundant.
class RocksDbStore final : public Store {
 public:
  // No chunk spans more than this (cut on write), so a reader seeks this far
  // before its range and no further.
  static constexpr int64_t kMaxChunkSpanMs = 2 * 3600 * 1000;

  static Result<std::unique_ptr<Store>> Open(const Options& options);
  ~RocksDbStore() override;

  using Store::Append;
  Result<AppendResult> Append(std::span<const SeriesSamples> series,
                              const std::vector<MetricDesc>& metadata) override;
  Result<std::unique_ptr<SeriesSet>> Select(const std::vector<Matcher>& matchers,
                                            int64_t min_time_ms,
                                            int64_t max_time_ms) const override;
  Result<std::vector<Sample>> SelectLatest(const std::vector<Matcher>& matchers,
                                           int64_t min_time_ms,
                                           int64_t max_time_ms) const override;
  Result<std::vector<std::string>> LabelNames(const std::vector<Matcher>& matchers,
                                              int64_t min_time_ms,
                                              int64_t max_time_ms) const override;
  Result<std::vector<std::string>> LabelValues(const std::string& name,
                                               const std::vector<Matcher>& matchers,
                                               int64_t min_time_ms,
                                               int64_t max_time_ms) const override;
  std::optional<MetricDesc> GetMetadata(const std::string& metric_name) const override;
  std::map<std::string, MetricDesc> AllMetadata() const override;
  Stats GetStats() const override;
  Result<Analysis> Analyze(size_t top_n) const override;
  Status Maintain() override;
  Status Compact() override;
  Status Snapshot(const std::string& dir) override;

  // One column family of chunks covering [index * duration, (index+1) * duration).
  struct Partition {
    Partition(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* handle, int64_t index)
        : db(db), cf(handle), index(index) {}
    ~Partition() { db->DestroyColumnFamilyHandle(cf).PermitUncheckedError(); }
    rocksdb::DB* const db;
    rocksdb::ColumnFamilyHandle* const cf;
    const int64_t index;
  };
  using PartitionList = std::vector<std::shared_ptr<const Partition>>;

  // Adds one series' head chunks and out-of-order samples overlapping
  // [min_time, max_time] to `out`.
  void CopyHead(const MemSeries& series, int64_t min_time, int64_t max_time,
                SeriesChunks* out) const;
  // Adds one series' chunks on disk overlapping [min_time, max_time] from
  // `partitions` (oldest first) to `out`, with one iterator per partition
  // reused across series. Corruption names the series and partition.
  Status ReadDiskChunks(const MemSeries& series, const PartitionList& partitions,
                        std::vector<std::unique_ptr<rocksdb::Iterator>>* iterators,
                        int64_t min_time, int64_t max_time, SeriesChunks* out) const;
  // Partitions that may hold samples in [min_time, max_time], oldest first.
  PartitionList PartitionsFor(int64_t min_time, int64_t max_time) const;
  rocksdb::DB* db() const { return db_.get(); }

 private:
  enum class Verdict { kAppend, kOutOfOrderAccepted, kDuplicate, kConflict, kTooOld };
  struct Accepted {
    MemSeries* series;
    int64_t t;
    double v;
    bool in_order;
  };
  struct FlushItem;

  RocksDbStore(const Options& options, std::unique_ptr<rocksdb::DB> db);
  Status Init(std::vector<rocksdb::ColumnFamilyHandle*> handles,
              const std::vector<std::string>& names);
  // Whether [min_time, max_time] holds every sample in the store.
  bool CoversAllData(int64_t min_time, int64_t max_time) const;
  // Calls fn(labels) for every series matching `matchers` (all if empty)
  // with a sample in [min_time, max_time].
  Status ForEachSeriesInRange(const std::vector<Matcher>& matchers, int64_t min_time,
                              int64_t max_time,
                              const std::function<void(const Labels&)>& fn) const;
  Status CheckLayout();
  Status LoadIndex();
  Status CheckNewestPartitionExists();
  Status ReplayLog();

  int64_t PartitionOf(int64_t t) const;
  // PartitionOf(a) == PartitionOf(b), usually without a division: the bounds
  // of the partition last asked about are kept. REQUIRES: write_mu_ held.
  bool InPartitionOf(int64_t a, int64_t b);
  Result<std::shared_ptr<const Partition>> GetOrCreatePartition(int64_t index);
  std::string ValidateLimits(std::span<const LabelRef> labels) const;
  std::string CheckSeriesLimits(const Labels& labels,
                                std::map<std::string, uint64_t, std::less<>>* pending) const;
  // REQUIRES: write_mu_ held.
  Verdict Judge(MemSeries& series, int64_t t, double v, bool replay,
                const std::vector<Accepted>* batch) const;
  // The stored value of `series` at `t` in the head, the current batch or on disk.
  std::optional<double> LookupSample(const MemSeries& series, int64_t t,
                                     const std::vector<Accepted>* batch) const;
  void ApplyToHead(MemSeries& series, int64_t t, double v, uint64_t seq, bool in_order);
  // REQUIRES: the series' stripe lock held.
  void CloseOpenChunk(MemSeries& series);
  void FoldOutOfOrder(MemSeries& series);
  Status WriteFlushItems(std::vector<FlushItem>& items);
  // Maintain, and with `close_open_chunks` first closes every open head
  // chunk (on close: Options::persist_head_on_close).
  Status MaintainImpl(bool close_open_chunks);
  // Writes the whole head to chunks and compacts the emptied log away.
  Status PersistHead();
  Status ApplyRetention();
  void BackgroundLoop();

  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;  // Owned; destroyed before db_.
  rocksdb::ColumnFamilyHandle* series_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* series_meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* metadata_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* head_cf_ = nullptr;
  int64_t partition_ms_ = 0;  // Fixed at creation (stored in the default family).
  std::shared_ptr<rocksdb::Cache> block_cache_;  // Shared by every column family.

  std::mutex maintain_mu_;  // Serialises Maintain.
  std::mutex write_mu_;     // The one write path: Append, replay, Maintain's head edits.
  uint64_t last_seq_ = 0;            // GUARDED_BY(write_mu_)
  uint64_t log_trimmed_before_ = 0;  // GUARDED_BY(write_mu_)
  // [start, end) of the partition InPartitionOf last computed.
  int64_t recent_partition_start_ = 0;  // GUARDED_BY(write_mu_)
  int64_t recent_partition_end_ = 0;    // GUARDED_BY(write_mu_)

  SeriesIndex index_;
  mutable HeadLocks head_locks_;
  // Append holds it exclusively while it applies a batch to the head (and
  // publishes new series); Select shares it while copying heads, so a reader
  // sees a batch whole or not at all.
  mutable std::shared_mutex visibility_mu_;
  std::atomic<int64_t> max_time_{std::numeric_limits<int64_t>::min()};
  std::atomic<int64_t> min_head_time_{std::numeric_limits<int64_t>::max()};
  std::atomic<uint64_t> samples_appended_{0};
  std::atomic<uint64_t> head_samples_{0};  // As of the last Maintain.
  std::atomic<uint64_t> head_bytes_{0};
  std::atomic<uint64_t> head_series_{0};

  mutable std::shared_mutex partitions_mu_;
  std::map<int64_t, std::shared_ptr<const Partition>> partitions_;  // GUARDED_BY(partitions_mu_)

  mutable std::shared_mutex metadata_mu_;
  std::map<std::string, MetricDesc, std::less<>> metadata_;  // GUARDED_BY(metadata_mu_)

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stopping_ = false;  // GUARDED_BY(bg_mu_)
  std::thread background_;
};

}  // namespace vitals::storage
