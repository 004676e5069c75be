#include "storage/rocksdb_store.h"
#include "storage/rocks_status.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>

#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "common/log.h"
#include "storage/encoding.h"

namespace vitals::storage {
namespace {

constexpr char kSeriesCf[] = "series";
constexpr char kSeriesMetaCf[] = "series_meta";
constexpr char kMetadataCf[] = "metadata";
constexpr char kHeadCf[] = "head";
constexpr std::string_view kPartitionPrefix = "chunks_";
constexpr char kLayoutKey[] = "layout";
// In the default family: the write-ahead log holds no record below this
// sequence number (written with each trim), so that numbering continues
// after a restart even when the trim emptied the log.
constexpr char kLogTrimmedKey[] = "log_trimmed_before";
// Partitions below this index (8 bytes, ordered) were dropped by retention.
constexpr char kDroppedBeforeKey[] = "dropped_before";
constexpr int kLayoutVersion = 2;
// Maintenance writes chunks in RocksDB batches of about this size.
constexpr size_t kFlushBatchBytes = 4 << 20;

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::string PartitionName(int64_t index) {
  return std::string(kPartitionPrefix) + std::to_string(index);
}

// series_meta value: log sequence the series is persisted through, and its
// newest sample on disk (time and value bits, for duplicate checks).
std::string SeriesMetaValue(uint64_t through_seq, int64_t max_t, uint64_t max_v_bits) {
  std::string v;
  PutVarint64(&v, through_seq);
  PutVarint64(&v, ZigZag(max_t));
  PutFixed64(&v, max_v_bits);
  return v;
}

rocksdb::ColumnFamilyOptions ChunkCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  // Chunks are already dense; zstd still finds the repetition between
  // neighbouring chunks and in the keys.
  // Large blocks let zstd see many neighbouring chunks of a series at once:
  // on the generated fleet 32 KiB blocks give 1.35 bytes/sample, 256 KiB
  // 1.02 (zstd levels 3 to 12 differ by under 2%). Warm reads are unchanged.
  cf.compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = 256 << 10;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kOutOfOrder: return "out_of_order";
    case RejectReason::kConflict: return "conflict";
    case RejectReason::kSeriesLimit: return "series_limit";
    case RejectReason::kLabelLimit: return "label_limit";
  }
  return "unknown";
}

uint64_t AppendResult::rejected_total() const {
  uint64_t total = 0;
  for (uint64_t r : rejected) total += r;
  return total;
}

struct RocksDbStore::FlushItem {
  MemSeries* series;
  size_t closed_count;             // Leading entries of series->closed written.
  std::vector<ClosedChunk> chunks;  // Copies of those entries.
  uint64_t through_seq;
  int64_t max_t;          // Newest sample on disk once written ...
  uint64_t max_v_bits;    // ... and its value.
};

Result<std::unique_ptr<Store>> Store::Open(const Options& options) {
  return RocksDbStore::Open(options);
}

Result<std::unique_ptr<Store>> RocksDbStore::Open(const Options& options) {
  if (options.path.empty()) return Status::InvalidArgument("storage path is empty");
  if (options.partition_duration.count() != 0 &&
      options.partition_duration < std::chrono::minutes(1)) {
    return Status::InvalidArgument("storage partition duration must be at least 1m");
  }
  if (options.max_samples_per_chunk < 2 || options.max_samples_per_chunk > 65535) {
    return Status::InvalidArgument("max samples per chunk must be between 2 and 65535");
  }
  if (options.max_chunk_age <= std::chrono::milliseconds(0) ||
      options.max_chunk_age.count() > kMaxChunkSpanMs) {
    return Status::InvalidArgument("max chunk age must be between 1ms and 2h");
  }
  if (options.retention.count() < 0 || options.out_of_order_window.count() < 0) {
    return Status::InvalidArgument("retention and out-of-order window must not be negative");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return Status::IOError("cannot create " + options.path + ": " + ec.message());

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.max_total_wal_size = 256ull << 20;
  db_options.paranoid_checks = true;

  std::vector<std::string> names;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, options.path, &names);
  if (!listed.ok()) names.clear();  // A new database.
  for (const char* required : {kSeriesCf, kSeriesMetaCf, kMetadataCf, kHeadCf}) {
    if (std::find(names.begin(), names.end(), required) == names.end()) names.push_back(required);
  }
  if (std::find(names.begin(), names.end(), rocksdb::kDefaultColumnFamilyName) == names.end()) {
    names.insert(names.begin(), rocksdb::kDefaultColumnFamilyName);
  }
  if (std::find(names.begin(), names.end(), "samples") != names.end()) {
    return Status::InvalidArgument("storage at " + options.path +
                                   " was written by the foundation's plain layout, which this "
                                   "version cannot read; move it aside and start empty");
  }
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    rocksdb::ColumnFamilyOptions cf;
    if (name.starts_with(kPartitionPrefix)) {
      cf = ChunkCfOptions(cache);
    } else {
      rocksdb::BlockBasedTableOptions table;
      table.block_cache = cache;
      cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
      // Series keys repeat their label names and most values from one
      // series to the next: zstd stores them in about half of what snappy
      // needs. The other families are small or short-lived.
      if (name == kSeriesCf) cf.compression = rocksdb::kZSTD;
    }
    descriptors.emplace_back(name, cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw),
                            "opening storage " + options.path));
  std::unique_ptr<RocksDbStore> store(new RocksDbStore(options, std::unique_ptr<rocksdb::DB>(raw)));
  store->block_cache_ = cache;
  RETURN_IF_ERROR(store->Init(std::move(handles), names));
  RETURN_IF_ERROR(store->CheckLayout());
  RETURN_IF_ERROR(store->LoadIndex());
  RETURN_IF_ERROR(store->ReplayLog());
  if (options.background_maintenance) {
    store->background_ = std::thread([s = store.get()] { s->BackgroundLoop(); });
  }
  return std::unique_ptr<Store>(std::move(store));
}

RocksDbStore::RocksDbStore(const Options& options, std::unique_ptr<rocksdb::DB> db)
    : options_(options), db_(std::move(db)), partition_ms_(options.partition_duration.count()) {}

Status RocksDbStore::Init(std::vector<rocksdb::ColumnFamilyHandle*> handles,
                          const std::vector<std::string>& names) {
  Status status;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    if (name == rocksdb::kDefaultColumnFamilyName) {
      default_cf_ = handles[i];
    } else if (name == kSeriesCf) {
      series_cf_ = handles[i];
    } else if (name == kSeriesMetaCf) {
      series_meta_cf_ = handles[i];
    } else if (name == kMetadataCf) {
      metadata_cf_ = handles[i];
    } else if (name == kHeadCf) {
      head_cf_ = handles[i];
    } else if (name.starts_with(kPartitionPrefix)) {
      int64_t index = 0;
      try {
        index = std::stoll(name.substr(kPartitionPrefix.size()));
      } catch (const std::exception&) {
        status = Status::Corruption("storage " + options_.path + ": bad partition name " + name);
      }
      partitions_[index] = std::make_shared<Partition>(db_.get(), handles[i], index);
    } else {
      db_->DestroyColumnFamilyHandle(handles[i]).PermitUncheckedError();
      LOG_WARN << "storage: ignoring unknown column family " << name;
    }
  }
  return status;
}

RocksDbStore::~RocksDbStore() {
  {
    std::lock_guard lock(bg_mu_);
    stopping_ = true;
  }
  bg_cv_.notify_all();
  if (background_.joinable()) background_.join();
  if (options_.persist_head_on_close) {
    if (Status st = PersistHead(); !st.ok()) {
      LOG_WARN << "storage: writing the head on close: " << st.ToString()
               << " (the write-ahead log still holds it)";
    }
  }
  partitions_.clear();
  for (auto* cf : {default_cf_, series_cf_, series_meta_cf_, metadata_cf_, head_cf_}) {
    if (cf != nullptr) db_->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

Status RocksDbStore::CheckLayout() {
  constexpr std::string_view kPrefix = "v2 partition_ms=";
  std::string have;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), default_cf_, kLayoutKey, &have);
  if (partition_ms_ == 0) {  // Adopt the store's own layout.
    partition_ms_ = 24 * 3600 * 1000;
    if (s.ok() && have.starts_with(kPrefix)) {
      try {
        partition_ms_ = std::stoll(have.substr(kPrefix.size()));
      } catch (const std::exception&) {
        return Status::Corruption("storage " + options_.path + ": layout record \"" + have +
                                  "\" is damaged");
      }
    }
  }
  std::string want = "v" + std::to_string(kLayoutVersion) +
                     " partition_ms=" + std::to_string(partition_ms_);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Put(wo, default_cf_, kLayoutKey, want), "writing storage layout");
  }
  RETURN_IF_ERROR(FromRocks(s, "reading storage layout"));
  if (have != want) {
    return Status::InvalidArgument("storage at " + options_.path + " has layout \"" + have +
                                   "\" but the options ask for \"" + want +
                                   "\" (the partition duration is fixed when a store is created)");
  }
  return Status::Ok();
}

Status RocksDbStore::LoadIndex() {
  std::vector<std::unique_ptr<MemSeries>> loaded;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), series_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->value().size() != 8) {
      return Status::Corruption("storage " + options_.path + ": series index entry \"" +
                                it->key().ToString(true) + "\" has a bad id");
    }
    loaded.push_back(std::make_unique<MemSeries>(GetBigEndian64(it->value().data()),
                                                 it->key().ToString()));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "loading the series index"));
  std::sort(loaded.begin(), loaded.end(),
            [](const auto& a, const auto& b) { return a->id < b->id; });
  Labels labels;
  for (auto& series : loaded) {
    if (series->id == 0 || !LabelsFromSeriesKey(series->key, &labels) ||
        index_.FindById(series->id) != nullptr) {
      return Status::Corruption("storage " + options_.path + ": series index entry " +
                                std::to_string(series->id) + " is damaged");
    }
    index_.Add(std::move(series), labels);
  }

  it.reset(db_->NewIterator(rocksdb::ReadOptions(), series_meta_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t through = 0, max_t = 0, max_v_bits = 0;
    size_t pos = 0;
    std::string_view v = it->value().ToStringView();
    MemSeries* series =
        it->key().size() == 8 ? index_.FindById(GetBigEndian64(it->key().data())) : nullptr;
    if (series == nullptr || !GetVarint64(v, &pos, &through) || !GetVarint64(v, &pos, &max_t) ||
        !GetFixed64(v, &pos, &max_v_bits)) {
      return Status::Corruption("storage " + options_.path + ": series_meta entry \"" +
                                it->key().ToString(true) + "\" is damaged");
    }
    series->persisted_through_seq = through;
    series->persisted_max_t = UnZigZag(max_t);
    series->persisted_max_v_bits = max_v_bits;
    series->writer_last_t = series->persisted_max_t;
    series->writer_last_v_bits = max_v_bits;
    int64_t cur = max_time_.load();
    if (series->persisted_max_t > cur) max_time_ = series->persisted_max_t;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "loading series_meta"));
  RETURN_IF_ERROR(CheckNewestPartitionExists());

  std::unique_lock meta_lock(metadata_mu_);
  it.reset(db_->NewIterator(rocksdb::ReadOptions(), metadata_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view v = it->value().ToStringView();
    if (v.empty() || static_cast<uint8_t>(v[0]) > static_cast<uint8_t>(MetricType::kGauge)) {
      return Status::Corruption("storage " + options_.path + ": metadata of \"" +
                                it->key().ToString() + "\" is damaged");
    }
    metadata_[it->key().ToString()] =
        MetricDesc{it->key().ToString(), static_cast<MetricType>(v[0]), std::string(v.substr(1))};
  }
  return FromRocks(it->status(), "loading metadata");
}

// series_meta says up to when series are on disk; the partition holding the
// newest of those must exist unless retention dropped it. A missing one means
// RocksDB lost column families (a damaged MANIFEST), which would otherwise
// open as an empty store.
Status RocksDbStore::CheckNewestPartitionExists() {
  const int64_t newest = max_time_.load();
  if (newest == std::numeric_limits<int64_t>::min()) return Status::Ok();
  const int64_t index = PartitionOf(newest);
  const int64_t retention = options_.retention.count();
  if (partitions_.contains(index)) return Status::Ok();
  if (retention > 0 && (index + 1) * partition_ms_ <= SaturatingSub(newest, retention)) {
    return Status::Ok();
  }
  // Retention may have dropped it, measured from newer samples still in the log.
  std::string dropped;
  if (db_->Get(rocksdb::ReadOptions(), default_cf_, kDroppedBeforeKey, &dropped).ok() &&
      dropped.size() == 8 && index < TimeFromOrdered(GetBigEndian64(dropped.data()))) {
    return Status::Ok();
  }
  return Status::Corruption("storage " + options_.path + ": partition " + PartitionName(index) +
                            ", which holds samples up to " + std::to_string(newest) +
                            " according to series_meta, is missing (damaged MANIFEST?)");
}

Status RocksDbStore::ReplayLog() {
  std::lock_guard lock(write_mu_);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), head_cf_));
  uint64_t replayed = 0;
  bool first = true;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8) {
      return Status::Corruption("storage " + options_.path + ": write-ahead log key \"" +
                                it->key().ToString(true) + "\" is damaged");
    }
    uint64_t seq = GetBigEndian64(it->key().data());
    if (first) log_trimmed_before_ = seq;
    first = false;
    std::string_view record = it->value().ToStringView();
    size_t pos = 0;
    int64_t prev_t = 0;  // Deltas wrap (unsigned), which the decoder undoes exactly.
    while (pos < record.size()) {
      uint64_t id = 0, dt = 0, bits = 0;
      if (!GetVarint64(record, &pos, &id) || !GetVarint64(record, &pos, &dt) ||
          !GetFixed64(record, &pos, &bits)) {
        return Status::Corruption("storage " + options_.path + ": write-ahead log record " +
                                  std::to_string(seq) + " is truncated");
      }
      MemSeries* series = index_.FindById(id);
      if (series == nullptr) {
        return Status::Corruption("storage " + options_.path + ": write-ahead log record " +
                                  std::to_string(seq) + " refers to unknown series " +
                                  std::to_string(id));
      }
      int64_t t = static_cast<int64_t>(static_cast<uint64_t>(prev_t) +
                                       static_cast<uint64_t>(UnZigZag(dt)));
      prev_t = t;
      double v = std::bit_cast<double>(bits);
      if (seq < series->persisted_through_seq) continue;
      Verdict verdict = Judge(*series, t, v, /*replay=*/true, nullptr);
      if (verdict == Verdict::kDuplicate || verdict == Verdict::kConflict) continue;
      bool in_order = verdict == Verdict::kAppend;
      if (in_order) {
        series->writer_last_t = t;
        series->writer_last_v_bits = bits;
      }
      ApplyToHead(*series, t, v, seq, in_order);
      if (t > max_time_.load()) max_time_ = t;
      ++replayed;
    }
    last_seq_ = seq;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "replaying the write-ahead log"));
  // Sequence numbers must keep rising across restarts: a reused one would
  // fall under the trim's range deletion and below the series' persisted
  // sequence, and its samples would be lost on the next replay.
  uint64_t trimmed_before = 0;
  std::string marker;
  if (db_->Get(rocksdb::ReadOptions(), default_cf_, kLogTrimmedKey, &marker).ok()) {
    if (marker.size() != 8) {
      return Status::Corruption("storage " + options_.path + ": record " + kLogTrimmedKey +
                                " is damaged");
    }
    trimmed_before = GetBigEndian64(marker.data());
  }
  index_.ForEach([&](const MemSeries& s) {  // Stores written before the marker existed.
    trimmed_before = std::max(trimmed_before, s.persisted_through_seq);
  });
  if (trimmed_before > 0) last_seq_ = std::max(last_seq_, trimmed_before - 1);
  if (first) log_trimmed_before_ = last_seq_ + 1;
  if (replayed > 0) LOG_INFO << "storage: replayed " << replayed << " samples from the write-ahead log";
  return Status::Ok();
}

int64_t RocksDbStore::PartitionOf(int64_t t) const { return FloorDiv(t, partition_ms_); }

bool RocksDbStore::InPartitionOf(int64_t a, int64_t b) {
  if (a < recent_partition_start_ || a >= recent_partition_end_) {
    const int64_t index = PartitionOf(a);
    int64_t start, end;
    if (__builtin_mul_overflow(index, partition_ms_, &start) ||
        __builtin_add_overflow(start, partition_ms_, &end)) {
      return index == PartitionOf(b);
    }
    recent_partition_start_ = start;
    recent_partition_end_ = end;
  }
  return b >= recent_partition_start_ && b < recent_partition_end_;
}

Result<std::shared_ptr<const RocksDbStore::Partition>> RocksDbStore::GetOrCreatePartition(
    int64_t index) {
  {
    std::shared_lock lock(partitions_mu_);
    if (auto it = partitions_.find(index); it != partitions_.end()) return it->second;
  }
  std::unique_lock lock(partitions_mu_);
  if (auto it = partitions_.find(index); it != partitions_.end()) return it->second;
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  RETURN_IF_ERROR(FromRocks(
      db_->CreateColumnFamily(ChunkCfOptions(block_cache_), PartitionName(index), &handle),
      "creating partition " + PartitionName(index)));
  auto partition = std::make_shared<const Partition>(db_.get(), handle, index);
  partitions_[index] = partition;
  return partition;
}

RocksDbStore::PartitionList RocksDbStore::PartitionsFor(int64_t min_time, int64_t max_time) const {
  int64_t first = PartitionOf(min_time);
  int64_t last = PartitionOf(max_time);
  std::shared_lock lock(partitions_mu_);
  PartitionList out;
  for (auto it = partitions_.lower_bound(first); it != partitions_.end() && it->first <= last; ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::string RocksDbStore::ValidateLimits(std::span<const LabelRef> labels) const {
  const Limits& limits = options_.limits;
  if (limits.max_label_count > 0 && labels.size() > limits.max_label_count) {
    return "has " + std::to_string(labels.size()) + " labels, more than the limit of " +
           std::to_string(limits.max_label_count);
  }
  for (const LabelRef& l : labels) {
    if (limits.max_label_name_length > 0 && l.name.size() > limits.max_label_name_length) {
      return "label name \"" + std::string(l.name.substr(0, 64)) + "...\" is longer than " +
             std::to_string(limits.max_label_name_length) + " bytes";
    }
    if (limits.max_label_value_length > 0 && l.value.size() > limits.max_label_value_length) {
      return "value of label \"" + std::string(l.name) + "\" is longer than " +
             std::to_string(limits.max_label_value_length) + " bytes";
    }
  }
  return "";
}

std::string RocksDbStore::CheckSeriesLimits(
    const Labels& labels, std::map<std::string, uint64_t, std::less<>>* pending) const {
  const Limits& limits = options_.limits;
  auto check = [&](std::string_view name, uint64_t limit) -> std::string {
    if (limit == 0) return "";
    std::string_view value = GetLabel(labels, name);
    if (value.empty()) return "";
    std::string pending_key = std::string(name) + "=" + std::string(value);
    uint64_t have = index_.CountWithLabel(name, value) + (*pending)[pending_key];
    if (have >= limit) {
      return "would exceed the limit of " + std::to_string(limit) + " series with " +
             std::string(name) + "=\"" + std::string(value) + "\"";
    }
    return "";
  };
  if (std::string why = check(kMetricNameLabel, limits.max_series_per_metric); !why.empty()) {
    return why;
  }
  if (std::string why = check(limits.tenant_label, limits.max_series_per_tenant); !why.empty()) {
    return why;
  }
  for (std::string_view name : {std::string_view(kMetricNameLabel),
                                std::string_view(limits.tenant_label)}) {
    std::string_view value = GetLabel(labels, name);
    if (!value.empty()) ++(*pending)[std::string(name) + "=" + std::string(value)];
  }
  return "";
}

RocksDbStore::Verdict RocksDbStore::Judge(MemSeries& series, int64_t t, double v, bool replay,
                                          const std::vector<Accepted>* batch) const {
  if (t > series.writer_last_t) return Verdict::kAppend;
  if (t == series.writer_last_t) {
    return Bits(v) == series.writer_last_v_bits ? Verdict::kDuplicate : Verdict::kConflict;
  }
  if (auto stored = LookupSample(series, t, batch)) {
    return Bits(*stored) == Bits(v) ? Verdict::kDuplicate : Verdict::kConflict;
  }
  if (replay) return Verdict::kOutOfOrderAccepted;
  int64_t window = options_.out_of_order_window.count();
  const int64_t max_t = max_time_.load();
  if (window > 0 && max_t != std::numeric_limits<int64_t>::min() && t >= max_t - window) {
    return Verdict::kOutOfOrderAccepted;
  }
  return Verdict::kTooOld;
}

namespace {

std::optional<double> FindInChunk(std::string_view chunk, int64_t t) {
  ChunkIterator it(chunk);
  if (!it.Seek(t) || it.t() != t) return std::nullopt;
  return it.v();
}

}  // namespace

std::optional<double> RocksDbStore::LookupSample(const MemSeries& series, int64_t t,
                                                 const std::vector<Accepted>* batch) const {
  if (batch != nullptr) {
    for (auto it = batch->rbegin(); it != batch->rend(); ++it) {
      if (it->series == &series && it->t == t) return it->v;
    }
  }
  {
    // The writer's own view: nothing else changes the head meanwhile.
    if (series.open.num_samples() > 0 && t >= series.open.min_time() &&
        t <= series.open.max_time()) {
      if (auto v = FindInChunk(series.open.Encode(), t)) return v;
    }
    for (const ClosedChunk& c : series.closed) {
      if (t < c.min_time || t > c.max_time) continue;
      if (auto v = FindInChunk(*c.data, t)) return v;
    }
    auto it = std::lower_bound(series.out_of_order.begin(), series.out_of_order.end(),
                               std::make_pair(t, -std::numeric_limits<double>::infinity()),
                               [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it != series.out_of_order.end() && it->first == t) return it->second;
  }
  for (const auto& partition : PartitionsFor(t, t)) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), partition->cf));
    int64_t start = std::max(partition->index * partition_ms_, SaturatingSub(t, kMaxChunkSpanMs));
    std::string end_key = ChunkKey(series.id, t);
    for (it->Seek(ChunkKey(series.id, start)); it->Valid(); it->Next()) {
      if (it->key().compare(end_key) > 0) break;
      auto info = ReadChunkInfo(it->value().ToStringView());
      if (!info.ok() || info->max_time < t) continue;
      if (auto v = FindInChunk(it->value().ToStringView(), t)) return v;
    }
  }
  return std::nullopt;
}

void RocksDbStore::CloseOpenChunk(MemSeries& series) {
  ClosedChunk closed;
  closed.data = std::make_shared<const std::string>(series.open.Encode());
  closed.min_time = series.open.min_time();
  closed.max_time = series.open.max_time();
  closed.first_seq = series.open_first_seq;
  series.closed.push_back(std::move(closed));
  series.open = ChunkEncoder();
}

void RocksDbStore::ApplyToHead(MemSeries& series, int64_t t, double v, uint64_t seq,
                               bool in_order) {
  if (!in_order) {
    if (series.out_of_order.empty()) series.out_of_order_first_seq = seq;
    auto it = std::lower_bound(series.out_of_order.begin(), series.out_of_order.end(), t,
                               [](const auto& a, int64_t key) { return a.first < key; });
    series.out_of_order.insert(it, {t, v});
    return;
  }
  ChunkEncoder& open = series.open;
  if (open.num_samples() > 0 &&
      (open.num_samples() >= options_.max_samples_per_chunk ||
       !InPartitionOf(open.min_time(), t) ||
       SaturatingSub(t, open.min_time()) >= options_.max_chunk_age.count())) {
    CloseOpenChunk(series);
  }
  if (open.num_samples() == 0) series.open_first_seq = seq;
  open.Append(t, v);
}

Result<AppendResult> RocksDbStore::Append(std::span<const SeriesSamples> input,
                                          const std::vector<MetricDesc>& metadata) {
  std::lock_guard write_lock(write_mu_);
  AppendResult result;
  const uint64_t seq = last_seq_ + 1;
  rocksdb::WriteBatch batch;
  size_t num_samples = 0;
  for (const SeriesSamples& s : input) num_samples += s.timestamps_ms.size();
  std::vector<Accepted> accepted;
  accepted.reserve(num_samples);
  // Series created by this batch become visible only once it is durable.
  std::vector<std::unique_ptr<MemSeries>> created;
  std::vector<Labels> created_labels;
  std::unordered_map<std::string_view, MemSeries*> created_by_key;
  std::map<std::string, uint64_t, std::less<>> pending_counts;
  // Writer state to restore if the write fails: (series, last t, last v).
  struct Undo {
    MemSeries* series;
    int64_t last_t;
    uint64_t last_v_bits;
  };
  std::vector<Undo> touched;
  std::string record;
  record.reserve(num_samples * 12);
  int64_t prev_t = 0;

  auto reject = [&](RejectReason reason, std::span<const LabelRef> labels, int64_t t,
                    std::string_view why, uint64_t count) {
    result.rejected[static_cast<size_t>(reason)] += count;
    if (result.first_rejection.empty()) {
      result.first_rejection = std::string(RejectReasonName(reason)) + ": " +
                               FormatSeries(ToLabels(labels)) + " @ " + std::to_string(t) +
                               (why.empty() ? "" : " ") + std::string(why);
    }
  };

  // Looking a series up costs cache misses: its labels (wherever the caller
  // keeps them), the index slot, the series, the series' key. So that they
  // overlap, the first pass builds and hashes every key, fetching the labels
  // kLabelsAhead series ahead; the second fetches the slot kSlotAhead series
  // ahead, the series kSeriesAhead ahead and its key kKeyAhead ahead of
  // comparing it.
  constexpr size_t kLabelsAhead = 8;
  constexpr size_t kSlotAhead = 32;
  constexpr size_t kSeriesAhead = 16;
  constexpr size_t kKeyAhead = 8;
  std::string keys;
  std::vector<std::pair<size_t, uint64_t>> key_ends(input.size());  // (end offset, hash)
  for (size_t i = 0; i < input.size(); ++i) {
    if (i + kLabelsAhead < input.size()) {
      for (const LabelRef& l : input[i + kLabelsAhead].labels) {
        Prefetch(l.name.data());
        Prefetch(l.value.data());
      }
    }
    size_t start = keys.size();
    AppendSeriesKey(input[i].labels, &keys);
    key_ends[i] = {keys.size(), SeriesIndex::HashKey(std::string_view(keys).substr(start))};
  }
  for (size_t i = 0; i < std::min(kSlotAhead, input.size()); ++i) {
    index_.PrefetchSlot(key_ends[i].second);
  }
  for (size_t i = 0; i < input.size(); ++i) {
    const SeriesSamples& in = input[i];
    if (i + kSlotAhead < input.size()) index_.PrefetchSlot(key_ends[i + kSlotAhead].second);
    if (i + kSeriesAhead < input.size()) index_.PrefetchSeries(key_ends[i + kSeriesAhead].second);
    if (i + kKeyAhead < input.size()) index_.PrefetchKey(key_ends[i + kKeyAhead].second);
    const size_t n = std::min(in.timestamps_ms.size(), in.values.size());
    if (n == 0) continue;
    if (std::string why = ValidateLimits(in.labels); !why.empty()) {
      reject(RejectReason::kLabelLimit, in.labels, in.timestamps_ms[0], why, n);
      continue;
    }
    size_t start = i == 0 ? 0 : key_ends[i - 1].first;
    std::string_view key(keys.data() + start, key_ends[i].first - start);
    MemSeries* series = index_.Find(key, key_ends[i].second);
    if (series == nullptr) {
      if (auto it = created_by_key.find(key); it != created_by_key.end()) series = it->second;
    }
    if (series == nullptr) {
      // 0xFF separates the key's fields (it never occurs in UTF-8); a label
      // holding it would make the key ambiguous.
      if (std::ranges::any_of(in.labels, [](const LabelRef& l) {
            return l.name.find('\xff') != std::string_view::npos ||
                   l.value.find('\xff') != std::string_view::npos;
          })) {
        reject(RejectReason::kLabelLimit, in.labels, in.timestamps_ms[0],
               "has a label holding the byte 0xFF, which is not UTF-8", n);
        continue;
      }
      Labels labels = ToLabels(in.labels);
      if (std::string why = CheckSeriesLimits(labels, &pending_counts); !why.empty()) {
        reject(RejectReason::kSeriesLimit, in.labels, in.timestamps_ms[0], why, n);
        continue;
      }
      uint64_t id = index_.next_id() + created.size();
      created.push_back(std::make_unique<MemSeries>(id, std::string(key)));
      created_labels.push_back(std::move(labels));
      series = created.back().get();
      created_by_key.emplace(series->key, series);
      batch.Put(series_cf_, key, BigEndianKey(id));
      ++result.new_series;
    }
    for (size_t k = 0; k < n; ++k) {
      const int64_t t = in.timestamps_ms[k];
      const double v = in.values[k];
      switch (Judge(*series, t, v, /*replay=*/false, &accepted)) {
        case Verdict::kDuplicate:
          ++result.duplicates;
          continue;
        case Verdict::kConflict:
          reject(RejectReason::kConflict, in.labels, t, "differs from the stored value", 1);
          continue;
        case Verdict::kTooOld:
          reject(RejectReason::kOutOfOrder, in.labels, t,
                 "is older than the series' newest sample", 1);
          continue;
        case Verdict::kAppend:
          if (series->writer_batch_seq != seq) {
            touched.push_back({series, series->writer_last_t, series->writer_last_v_bits});
            series->writer_batch_seq = seq;
          }
          series->writer_last_t = t;
          series->writer_last_v_bits = Bits(v);
          accepted.push_back({series, t, v, true});
          break;
        case Verdict::kOutOfOrderAccepted:
          accepted.push_back({series, t, v, false});
          break;
      }
      PutVarint64(&record, series->id);
      PutVarint64(&record, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(t) -
                                                       static_cast<uint64_t>(prev_t))));
      PutFixed64(&record, Bits(v));
      prev_t = t;
    }
  }

  std::vector<const MetricDesc*> changed_metadata;
  {
    std::map<std::string_view, const MetricDesc*> latest;
    for (const MetricDesc& desc : metadata) latest[desc.name] = &desc;
    std::shared_lock lock(metadata_mu_);
    for (const auto& [name, desc] : latest) {
      auto it = metadata_.find(name);
      if (it != metadata_.end() && it->second.type == desc->type && it->second.help == desc->help) {
        continue;
      }
      std::string value(1, static_cast<char>(desc->type));
      value += desc->help;
      batch.Put(metadata_cf_, desc->name, value);
      changed_metadata.push_back(desc);
    }
  }
  if (!record.empty()) batch.Put(head_cf_, BigEndianKey(seq), record);
  if (batch.Count() > 0) {
    rocksdb::WriteOptions write_options;
    write_options.sync = options_.sync_writes;
    Status written = FromRocks(db_->Write(write_options, &batch), "appending samples");
    if (!written.ok()) {
      for (const Undo& undo : touched) {
        undo.series->writer_last_t = undo.last_t;
        undo.series->writer_last_v_bits = undo.last_v_bits;
        undo.series->writer_batch_seq = 0;
      }
      return written;
    }
  }
  if (!record.empty()) last_seq_ = seq;

  std::unique_lock visibility(visibility_mu_);
  for (size_t i = 0; i < created.size(); ++i) index_.Add(std::move(created[i]), created_labels[i]);
  int64_t max_t = max_time_.load();
  int64_t min_t = min_head_time_.load();
  // Each head chunk is fetched a few samples ahead, its buffer's end once
  // the chunk's fields are in.
  constexpr size_t kOpenAhead = 16;
  constexpr size_t kTailAhead = 8;
  for (size_t j = 0; j < accepted.size(); ++j) {
    if (j + kOpenAhead < accepted.size()) accepted[j + kOpenAhead].series->PrefetchOpen();
    if (j + kTailAhead < accepted.size()) accepted[j + kTailAhead].series->PrefetchOpenTail();
    const Accepted& a = accepted[j];
    ApplyToHead(*a.series, a.t, a.v, seq, a.in_order);
    max_t = std::max(max_t, a.t);
    min_t = std::min(min_t, a.t);
  }
  max_time_ = max_t;
  min_head_time_ = min_t;
  visibility.unlock();
  if (!changed_metadata.empty()) {
    std::unique_lock lock(metadata_mu_);
    for (const MetricDesc* desc : changed_metadata) metadata_[desc->name] = *desc;
  }
  result.appended = accepted.size();
  samples_appended_ += accepted.size();
  return result;
}

// Out-of-order samples become closed chunks, split so that no chunk crosses
// a partition or spans more than the maximum chunk age.
void RocksDbStore::FoldOutOfOrder(MemSeries& series) {
  ChunkEncoder encoder;
  auto flush = [&] {
    if (encoder.num_samples() == 0) return;
    ClosedChunk closed;
    closed.data = std::make_shared<const std::string>(encoder.Encode());
    closed.min_time = encoder.min_time();
    closed.max_time = encoder.max_time();
    closed.first_seq = series.out_of_order_first_seq;
    series.closed.push_back(std::move(closed));
    encoder = ChunkEncoder();
  };
  for (const auto& [t, v] : series.out_of_order) {
    if (encoder.num_samples() > 0 &&
        (encoder.num_samples() >= options_.max_samples_per_chunk ||
         PartitionOf(t) != PartitionOf(encoder.min_time()) ||
         SaturatingSub(t, encoder.min_time()) >= options_.max_chunk_age.count())) {
      flush();
    }
    encoder.Append(t, v);
  }
  flush();
  series.out_of_order.clear();
  series.out_of_order.shrink_to_fit();
}

Status RocksDbStore::Maintain() { return MaintainImpl(/*close_open_chunks=*/false); }

Status RocksDbStore::PersistHead() {
  const auto started = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(MaintainImpl(/*close_open_chunks=*/true));
  RETURN_IF_ERROR(FromRocks(db_->CompactRange(rocksdb::CompactRangeOptions(), head_cf_, nullptr,
                                              nullptr),
                            "compacting the write-ahead log"));
  // Every family's memtable to SST files, so RocksDB's own log files, which
  // hold all of the above, are obsolete and deleted when the database closes.
  std::vector<rocksdb::ColumnFamilyHandle*> families = {default_cf_, series_cf_, series_meta_cf_,
                                                        metadata_cf_, head_cf_};
  for (const auto& partition : PartitionsFor(std::numeric_limits<int64_t>::min(),
                                             std::numeric_limits<int64_t>::max())) {
    families.push_back(partition->cf);
  }
  RETURN_IF_ERROR(FromRocks(db_->Flush(rocksdb::FlushOptions(), families), "flushing on close"));
  LOG_INFO << "storage: wrote the head to chunks on close in "
           << std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started).count()
           << " ms";
  return Status::Ok();
}

Status RocksDbStore::MaintainImpl(bool close_open_chunks) {
  std::lock_guard maintain_lock(maintain_mu_);
  std::vector<FlushItem> items;
  {
    std::lock_guard write_lock(write_mu_);
    const int64_t max_t = max_time_.load();
    const int64_t cutoff = max_t == std::numeric_limits<int64_t>::min()
                               ? max_t
                               : max_t - options_.max_chunk_age.count();
    uint64_t head_samples = 0, head_bytes = 0, head_series = 0;
    int64_t min_head = std::numeric_limits<int64_t>::max();
    index_.ForEach([&](MemSeries& s) {
      if (!s.HasHeadData()) return;
      std::lock_guard lock(head_locks_.For(s.id));
      if (s.open.num_samples() > 0 && (close_open_chunks || s.open.min_time() < cutoff)) {
        CloseOpenChunk(s);
      }
      if (!s.out_of_order.empty()) FoldOutOfOrder(s);
      if (s.open.num_samples() > 0) min_head = std::min(min_head, s.open.min_time());
      head_samples += s.HeadSamples();
      head_bytes += s.HeadBytes();
      ++head_series;
      if (s.closed.empty()) return;
      FlushItem item{&s, s.closed.size(), s.closed,
                     s.open.num_samples() > 0 ? s.open_first_seq : last_seq_ + 1,
                     s.persisted_max_t, s.persisted_max_v_bits};
      for (const ClosedChunk& c : s.closed) min_head = std::min(min_head, c.min_time);
      items.push_back(std::move(item));
    });
    head_samples_ = head_samples;
    head_bytes_ = head_bytes;
    head_series_ = head_series;
    min_head_time_ = min_head;
  }

  RETURN_IF_ERROR(WriteFlushItems(items));

  {
    std::lock_guard write_lock(write_mu_);
    for (FlushItem& item : items) {
      MemSeries& s = *item.series;
      std::lock_guard lock(head_locks_.For(s.id));
      s.closed.erase(s.closed.begin(), s.closed.begin() + static_cast<long>(item.closed_count));
      s.persisted_through_seq = item.through_seq;
      s.persisted_max_t = item.max_t;
      s.persisted_max_v_bits = item.max_v_bits;
    }
    uint64_t keep_from = last_seq_ + 1;
    index_.ForEach([&](MemSeries& s) {
      if (!s.HasHeadData()) return;
      std::lock_guard lock(head_locks_.For(s.id));
      keep_from = std::min(keep_from, s.FirstUnpersistedSeq());
    });
    if (keep_from > log_trimmed_before_) {
      rocksdb::WriteBatch trim;
      RETURN_IF_ERROR(FromRocks(trim.DeleteRange(head_cf_, BigEndianKey(0), BigEndianKey(keep_from)),
                                "trimming the write-ahead log"));
      RETURN_IF_ERROR(FromRocks(trim.Put(default_cf_, kLogTrimmedKey, BigEndianKey(keep_from)),
                                "trimming the write-ahead log"));
      RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &trim),
                                "trimming the write-ahead log"));
      log_trimmed_before_ = keep_from;
    }
  }
  return ApplyRetention();
}

Status RocksDbStore::WriteFlushItems(std::vector<FlushItem>& items) {
  const int64_t retention = options_.retention.count();
  const int64_t newest = max_time_.load();
  const int64_t expired_before = retention > 0 && newest != std::numeric_limits<int64_t>::min()
                                     ? newest - retention
                                     : std::numeric_limits<int64_t>::min();
  rocksdb::WriteBatch batch;
  auto write = [&]() -> Status {
    if (batch.Count() == 0) return Status::Ok();
    // Not synced: the samples are in the synced write-ahead log already, and
    // RocksDB's log keeps this write ordered before the trim that follows.
    Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "writing chunks");
    batch.Clear();
    return s;
  };
  for (FlushItem& item : items) {
    for (const ClosedChunk& chunk : item.chunks) {
      int64_t partition_index = PartitionOf(chunk.min_time);
      if ((partition_index + 1) * partition_ms_ <= expired_before) continue;  // Already expired.
      ASSIGN_OR_RETURN(auto partition, GetOrCreatePartition(partition_index));
      ChunkEncoder compact;
      ChunkIterator it(*chunk.data);
      double last_v = 0;
      while (it.Next()) {
        compact.Append(it.t(), it.v());
        last_v = it.v();
      }
      if (compact.num_samples() > 0 && compact.max_time() >= item.max_t) {
        item.max_t = compact.max_time();
        item.max_v_bits = Bits(last_v);
      }
      if (!it.status().ok()) {
        return Status::Internal("head chunk of series " + std::to_string(item.series->id) +
                                " does not decode: " + it.status().message());
      }
      batch.Put(partition->cf, ChunkKey(item.series->id, chunk.min_time), compact.EncodeCompact());
    }
    batch.Put(series_meta_cf_, BigEndianKey(item.series->id),
              SeriesMetaValue(item.through_seq, item.max_t, item.max_v_bits));
    if (batch.GetDataSize() >= kFlushBatchBytes) RETURN_IF_ERROR(write());
  }
  return write();
}

Status RocksDbStore::ApplyRetention() {
  const int64_t retention = options_.retention.count();
  if (retention <= 0 || max_time_.load() == std::numeric_limits<int64_t>::min()) {
    return Status::Ok();
  }
  const int64_t expired_before = max_time_.load() - retention;
  std::vector<std::shared_ptr<const Partition>> expired;
  {
    std::unique_lock lock(partitions_mu_);
    for (auto it = partitions_.begin(); it != partitions_.end();) {
      if ((it->first + 1) * partition_ms_ > expired_before) break;
      expired.push_back(it->second);
      it = partitions_.erase(it);
    }
  }
  if (expired.empty()) return Status::Ok();
  // Remembered so that opening does not mistake a dropped partition for a lost one.
  RETURN_IF_ERROR(FromRocks(db_->Put(rocksdb::WriteOptions(), default_cf_, kDroppedBeforeKey,
                                     BigEndianKey(OrderedTime(expired.back()->index + 1))),
                            "recording retention"));
  for (const auto& partition : expired) {
    // Readers holding the partition keep its handle; RocksDB deletes the
    // files once the last one lets go.
    RETURN_IF_ERROR(FromRocks(db_->DropColumnFamily(partition->cf),
                              "dropping expired partition " + PartitionName(partition->index)));
    LOG_INFO << "storage: retention dropped partition " << PartitionName(partition->index);
  }
  return Status::Ok();
}

void RocksDbStore::BackgroundLoop() {
  std::unique_lock lock(bg_mu_);
  while (!stopping_) {
    bg_cv_.wait_for(lock, options_.maintenance_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Status s = Maintain();
    if (!s.ok()) LOG_ERROR << "storage: maintenance failed: " << s.ToString();
    lock.lock();
  }
}

Status RocksDbStore::Compact() {
  PartitionList partitions = PartitionsFor(std::numeric_limits<int64_t>::min(),
                                           std::numeric_limits<int64_t>::max());
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (const auto& partition : partitions) {
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(options, partition->cf, nullptr, nullptr),
                              "compacting partition " + PartitionName(partition->index)));
  }
  for (auto* cf : {default_cf_, series_cf_, series_meta_cf_, metadata_cf_, head_cf_}) {
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(options, cf, nullptr, nullptr), "compacting"));
  }
  // With every family flushed, RocksDB can delete its log files.
  return FromRocks(db_->FlushWAL(true), "syncing the log");
}

Status RocksDbStore::Snapshot(const std::string& dir) {
  if (std::filesystem::exists(dir)) {
    return Status::InvalidArgument("snapshot directory " + dir + " already exists");
  }
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "starting a snapshot"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir), "writing snapshot " + dir);
}

std::optional<MetricDesc> RocksDbStore::GetMetadata(const std::string& metric_name) const {
  std::shared_lock lock(metadata_mu_);
  auto it = metadata_.find(metric_name);
  if (it == metadata_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, MetricDesc> RocksDbStore::AllMetadata() const {
  std::shared_lock lock(metadata_mu_);
  return {metadata_.begin(), metadata_.end()};
}

Stats RocksDbStore::GetStats() const {
  Stats stats;
  stats.series = index_.size();
  stats.metric_names = index_.metric_names();
  stats.samples_appended = samples_appended_.load();
  stats.head_series = head_series_.load();
  stats.head_samples = head_samples_.load();
  stats.head_bytes = head_bytes_.load();
  {
    std::shared_lock lock(partitions_mu_);
    stats.partitions = partitions_.size();
    if (!partitions_.empty()) stats.min_time_ms = partitions_.begin()->first * partition_ms_;
  }
  int64_t min_head = min_head_time_.load();
  if (stats.partitions == 0 && min_head != std::numeric_limits<int64_t>::max()) {
    stats.min_time_ms = min_head;
  }
  int64_t max_t = max_time_.load();
  if (max_t != std::numeric_limits<int64_t>::min()) stats.max_time_ms = max_t;
  uint64_t sst = 0;
  db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &sst);
  stats.disk_bytes = sst;
  return stats;
}

}  // namespace vitals::storage
