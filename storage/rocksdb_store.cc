#include "storage/rocksdb_store.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>

#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace vitals::storage {
namespace {

constexpr char kSeriesCf[] = "series";
constexpr char kSamplesCf[] = "samples";
constexpr char kMetadataCf[] = "metadata";

// Label names and values are UTF-8, in which 0xff never occurs, so it
// separates them unambiguously.
std::string SeriesKey(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) {
    key += l.name;
    key += '\xff';
    key += l.value;
    key += '\xff';
  }
  return key;
}

Labels LabelsFromKey(std::string_view key) {
  Labels labels;
  size_t pos = 0;
  while (pos < key.size()) {
    size_t name_end = key.find('\xff', pos);
    size_t value_end = key.find('\xff', name_end + 1);
    if (name_end == std::string_view::npos || value_end == std::string_view::npos) break;
    labels.push_back(Label{std::string(key.substr(pos, name_end - pos)),
                           std::string(key.substr(name_end + 1, value_end - name_end - 1))});
    pos = value_end + 1;
  }
  return labels;
}

void PutBigEndian64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBigEndian64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// Flipping the sign bit makes negative timestamps sort before positive ones.
std::string SampleKey(uint64_t id, int64_t timestamp_ms) {
  std::string key(16, '\0');
  PutBigEndian64(id, key.data());
  PutBigEndian64(static_cast<uint64_t>(timestamp_ms) ^ (1ULL << 63), key.data() + 8);
  return key;
}

int64_t TimestampFromKey(std::string_view key) {
  return static_cast<int64_t>(GetBigEndian64(key.data() + 8) ^ (1ULL << 63));
}

std::string EncodeValue(double v) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}

double DecodeValue(std::string_view in) {
  double v = 0;
  std::memcpy(&v, in.data(), 8);
  return v;
}

std::string EncodeMetadata(const MetricDesc& desc) {
  std::string out(1, static_cast<char>(desc.type));
  out += desc.help;
  return out;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsIOError()) return Status::IOError(msg);
  return Status::Internal(msg);
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const Options& options) {
  return RocksDbStore::Open(options);
}

Result<std::unique_ptr<Store>> RocksDbStore::Open(const Options& options) {
  if (options.path.empty()) return Status::InvalidArgument("storage path is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return Status::IOError("cannot create " + options.path + ": " + ec.message());

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  rocksdb::ColumnFamilyOptions cf_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {kSeriesCf, cf_options},
      {kSamplesCf, cf_options},
      {kMetadataCf, cf_options},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw),
                            "opening " + options.path));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<RocksDbStore> store(new RocksDbStore(options, std::move(db), std::move(handles)));
  RETURN_IF_ERROR(store->LoadIndex());
  return std::unique_ptr<Store>(std::move(store));
}

RocksDbStore::RocksDbStore(const Options& options, std::unique_ptr<rocksdb::DB> db,
                           std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : options_(options),
      db_(std::move(db)),
      default_cf_(handles[0]),
      series_cf_(handles[1]),
      samples_cf_(handles[2]),
      metadata_cf_(handles[3]) {}

RocksDbStore::~RocksDbStore() {
  for (auto* cf : {default_cf_, series_cf_, samples_cf_, metadata_cf_}) {
    db_->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

Status RocksDbStore::LoadIndex() {
  std::unique_lock lock(index_mu_);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), series_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->value().size() != 8) return Status::Corruption("series index: bad id length");
    uint64_t id = GetBigEndian64(it->value().data());
    Labels labels = LabelsFromKey(it->key().ToStringView());
    ids_by_name_[std::string(GetLabel(labels, kMetricNameLabel))].push_back(id);
    id_by_key_.emplace(it->key().ToString(), id);
    labels_by_id_.emplace(id, std::move(labels));
    next_id_ = std::max(next_id_, id + 1);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "loading series index"));
  it.reset(db_->NewIterator(rocksdb::ReadOptions(), metadata_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view v = it->value().ToStringView();
    if (v.empty()) return Status::Corruption("metadata: empty record");
    metadata_[it->key().ToString()] =
        MetricDesc{it->key().ToString(), static_cast<MetricType>(v[0]), std::string(v.substr(1))};
  }
  return FromRocks(it->status(), "loading metadata");
}

Status RocksDbStore::Append(const std::vector<Sample>& samples,
                            const std::vector<MetricDesc>& metadata) {
  std::lock_guard write_lock(write_mu_);
  rocksdb::WriteBatch batch;
  // Series created by this batch become visible only once it is durable.
  std::vector<std::pair<std::string, uint64_t>> new_series;
  std::unordered_map<std::string, uint64_t> batch_ids;
  std::string id_bytes(8, '\0');
  {
    std::shared_lock read_lock(index_mu_);
    for (const Sample& s : samples) {
      std::string key = SeriesKey(s.labels);
      uint64_t id;
      if (auto it = id_by_key_.find(key); it != id_by_key_.end()) {
        id = it->second;
      } else if (auto bit = batch_ids.find(key); bit != batch_ids.end()) {
        id = bit->second;
      } else {
        id = next_id_ + new_series.size();
        PutBigEndian64(id, id_bytes.data());
        batch.Put(series_cf_, key, id_bytes);
        batch_ids.emplace(key, id);
        new_series.emplace_back(std::move(key), id);
      }
      batch.Put(samples_cf_, SampleKey(id, s.timestamp_ms), EncodeValue(s.value));
    }
    // Only the last entry per name counts, as in the in-memory update below;
    // comparing earlier entries with the stored one could skip a needed write.
    std::map<std::string_view, const MetricDesc*> latest_metadata;
    for (const MetricDesc& desc : metadata) latest_metadata[desc.name] = &desc;
    for (const auto& [name, desc] : latest_metadata) {
      auto it = metadata_.find(name);
      if (it != metadata_.end() && it->second.type == desc->type && it->second.help == desc->help) {
        continue;
      }
      batch.Put(metadata_cf_, desc->name, EncodeMetadata(*desc));
    }
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  RETURN_IF_ERROR(FromRocks(db_->Write(write_options, &batch), "appending samples"));

  std::unique_lock lock(index_mu_);
  for (auto& [key, id] : new_series) {
    Labels labels = LabelsFromKey(key);
    ids_by_name_[std::string(GetLabel(labels, kMetricNameLabel))].push_back(id);
    labels_by_id_.emplace(id, std::move(labels));
    id_by_key_.emplace(std::move(key), id);
  }
  next_id_ += new_series.size();
  for (const MetricDesc& desc : metadata) metadata_[desc.name] = desc;
  samples_appended_ += samples.size();
  return Status::Ok();
}

Result<std::vector<Sample>> RocksDbStore::SelectLatest(const std::vector<Matcher>& matchers,
                                                       int64_t min_time_ms, int64_t max_time_ms) {
  // Candidate series: by metric name when an equality matcher names it.
  std::vector<std::pair<uint64_t, Labels>> candidates;
  {
    std::shared_lock lock(index_mu_);
    const std::vector<uint64_t>* by_name = nullptr;
    for (const Matcher& m : matchers) {
      if (m.name() == kMetricNameLabel && m.type() == MatchType::kEqual) {
        auto it = ids_by_name_.find(m.value());
        if (it == ids_by_name_.end()) return std::vector<Sample>{};
        by_name = &it->second;
        break;
      }
    }
    if (by_name != nullptr) {
      for (uint64_t id : *by_name) {
        const Labels& labels = labels_by_id_.at(id);
        if (MatchesAll(matchers, labels)) candidates.emplace_back(id, labels);
      }
    } else {
      for (const auto& [id, labels] : labels_by_id_) {
        if (MatchesAll(matchers, labels)) candidates.emplace_back(id, labels);
      }
    }
  }

  std::vector<Sample> out;
  rocksdb::ReadOptions read_options;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, samples_cf_));
  for (auto& [id, labels] : candidates) {
    it->SeekForPrev(SampleKey(id, max_time_ms));
    if (!it->Valid()) continue;
    rocksdb::Slice key = it->key();
    if (key.size() != 16 || GetBigEndian64(key.data()) != id) continue;
    int64_t t = TimestampFromKey(key.ToStringView());
    if (t < min_time_ms) continue;
    out.push_back(Sample{std::move(labels), t, DecodeValue(it->value().ToStringView())});
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading samples"));
  std::sort(out.begin(), out.end(),
            [](const Sample& a, const Sample& b) { return a.labels < b.labels; });
  return out;
}

std::optional<MetricDesc> RocksDbStore::GetMetadata(const std::string& metric_name) const {
  std::shared_lock lock(index_mu_);
  auto it = metadata_.find(metric_name);
  if (it == metadata_.end()) return std::nullopt;
  return it->second;
}

Stats RocksDbStore::GetStats() const {
  Stats stats;
  {
    std::shared_lock lock(index_mu_);
    stats.series = labels_by_id_.size();
    stats.metric_names = metadata_.size();
  }
  stats.samples_appended = samples_appended_.load();
  uint64_t sst = 0;
  db_->GetIntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &sst);
  stats.disk_bytes = sst;
  return stats;
}

}  // namespace vitals::storage
