#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <rocksdb/db.h>

#include "storage/store.h"

namespace vitals::storage {

// Store on RocksDB with three column families:
//   series   labels key -> series id (8 bytes big-endian), loaded into memory on Open
//   samples  series id (8 BE) + timestamp (8 BE, sign bit flipped) -> float64 (8 bytes LE)
//   metadata metric name -> type byte + help text
// so one series' samples are contiguous and in time order.
class RocksDbStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const Options& options);
  ~RocksDbStore() override;

  Status Append(const std::vector<Sample>& samples,
                const std::vector<MetricDesc>& metadata) override;
  Result<std::vector<Sample>> SelectLatest(const std::vector<Matcher>& matchers,
                                           int64_t min_time_ms, int64_t max_time_ms) override;
  std::optional<MetricDesc> GetMetadata(const std::string& metric_name) const override;
  Stats GetStats() const override;

 private:
  RocksDbStore(const Options& options, std::unique_ptr<rocksdb::DB> db,
               std::vector<rocksdb::ColumnFamilyHandle*> handles);
  Status LoadIndex();

  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  // Column family handles: ours to destroy before the DB closes.
  rocksdb::ColumnFamilyHandle* default_cf_;
  rocksdb::ColumnFamilyHandle* series_cf_;
  rocksdb::ColumnFamilyHandle* samples_cf_;
  rocksdb::ColumnFamilyHandle* metadata_cf_;

  std::mutex write_mu_;  // Serialises Append.
  mutable std::shared_mutex index_mu_;
  std::unordered_map<std::string, uint64_t> id_by_key_;   // GUARDED_BY(index_mu_)
  std::map<uint64_t, Labels> labels_by_id_;                // GUARDED_BY(index_mu_)
  std::map<std::string, std::vector<uint64_t>, std::less<>> ids_by_name_;  // GUARDED_BY(index_mu_)
  std::map<std::string, MetricDesc, std::less<>> metadata_;  // GUARDED_BY(index_mu_)
  uint64_t next_id_ = 1;              // GUARDED_BY(write_mu_)
  std::atomic<uint64_t> samples_appended_{0};
};

}  // namespace vitals::storage
