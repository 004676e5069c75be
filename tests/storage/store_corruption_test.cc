// Damaged files on disk: the store must fail with a Status that says what is
// damaged (Corruption from our own records, RocksDB's report for its files),
// never crash or return wrong data silently.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>

#include "common/labels.h"
#include "common/samples.h"
#include "common/selector.h"
#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace vitals::storage {
namespace {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

const MetricDesc kLoad{"node_load1", MetricType::kGauge, "1m load average."};

Sample MakeSample(const std::string& host, int64_t timestamp_ms, double value) {
  Labels labels{{std::string(kMetricNameLabel), "node_load1"}, {"host", host}};
  Canonicalize(&labels);
  return Sample{std::move(labels), timestamp_ms, value};
}

// The database under the store, opened directly to damage one record.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles_, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(raw);
  }

  ~RawDb() {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    if (db_) db_->Close().PermitUncheckedError();
  }

  // The first column family whose name starts with `prefix`.
  rocksdb::ColumnFamilyHandle* Family(const std::string& prefix) const {
    for (auto* handle : handles_) {
      if (handle->GetName().starts_with(prefix)) return handle;
    }
    ADD_FAILURE() << "no column family " << prefix << "*";
    return handles_.front();
  }

  // The first (or last) key and value of a column family.
  std::pair<std::string, std::string> Entry(const std::string& family, bool last = false) const {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Family(family)));
    last ? it->SeekToLast() : it->SeekToFirst();
    EXPECT_TRUE(it->Valid()) << "column family " << family << "* is empty";
    if (!it->Valid()) return {};
    return {it->key().ToString(), it->value().ToString()};
  }

  void Put(const std::string& family, const std::string& key, const std::string& value) {
    rocksdb::Status s = db_->Put(rocksdb::WriteOptions(), Family(family), key, value);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Live SST files of column families whose name starts with `prefix`, largest first.
  std::vector<rocksdb::LiveFileMetaData> SstFiles(const std::string& prefix) const {
    std::vector<rocksdb::LiveFileMetaData> files;
    db_->GetLiveFilesMetaData(&files);
    std::erase_if(files, [&](const auto& f) { return !f.column_family_name.starts_with(prefix); });
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.size > b.size; });
    return files;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// Overwrites `length` bytes at `offset` of `path` with a pattern.
void Scribble(const std::filesystem::path& path, uint64_t offset, size_t length) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(file) << "cannot open " << path;
  file.seekp(static_cast<std::streamoff>(offset));
  std::string garbage(length, '\0');
  for (size_t i = 0; i < length; ++i) garbage[i] = static_cast<char>(0xA5 ^ (i * 37));
  file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  ASSERT_TRUE(file) << "cannot write " << path;
}

void WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
  ASSERT_TRUE(file) << "cannot write " << path;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

class StoreCorruptionTest : public ::testing::Test {
 protected:
  Options StoreOptions() const {
    Options options;
    options.path = db_path();
    options.background_maintenance = false;
    options.retention = std::chrono::milliseconds(0);
    options.max_samples_per_chunk = 4;
    options.partition_duration = std::chrono::minutes(1);
    options.persist_head_on_close = false;  // Keep the log: some tests damage it.
    return options;
  }

  std::string db_path() const { return (dir_ / "db").string(); }

  // Two series with chunks on disk in two partitions, a few samples only in
  // the write-ahead log, and metadata; then closes the store. With
  // `compact`, everything but the log and metadata ends up in SST files.
  void WriteData(bool compact = false) {
    auto store = Store::Open(StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::vector<Sample> samples;
    for (int i = 0; i < 100; ++i) {
      samples.push_back(MakeSample("a", i * 1000, i * 0.37));
      samples.push_back(MakeSample("b", i * 1000, 1000.0 / (i + 1)));
    }
    ASSERT_TRUE((*store)->Append(samples, {kLoad}).ok());
    ASSERT_TRUE((*store)->Maintain().ok());
    ASSERT_TRUE((*store)->Append({MakeSample("a", 100000, 1), MakeSample("b", 100000, 2)}, {})
                    .ok());
    if (compact) {
      Status compacted = (*store)->Compact();
      ASSERT_TRUE(compacted.ok()) << compacted.ToString();
    }
  }

  // The first error reading every sample of every series, or OK.
  static Status ReadEverything(const Store& store) {
    auto matchers = ParseSeriesSelector("{__name__=~\".+\"}");
    if (!matchers.ok()) return matchers.status();
    auto set = store.Select(*matchers, kMinTime, kMaxTime);
    if (!set.ok()) return set.status();
    while ((*set)->Next()) {
      auto it = (*set)->Samples();
      while (it->Next()) {
      }
      if (!it->status().ok()) return it->status();
    }
    return (*set)->status();
  }

  // Opens the store and reads everything: the first error, or OK.
  Status OpenAndRead() {
    auto store = Store::Open(StoreOptions());
    if (!store.ok()) return store.status();
    return ReadEverything(**store);
  }

  testing::TempDir tmp_;
  const std::filesystem::path dir_{tmp_.path()};
};

TEST_F(StoreCorruptionTest, UndamagedStoreReadsBackCleanly) {
  WriteData(/*compact=*/true);
  Status status = OpenAndRead();
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST_F(StoreCorruptionTest, ChunkWithGarbageHeaderIsCorruptionNamingSeriesAndPartition) {
  WriteData();
  {
    RawDb raw(db_path());
    auto [key, value] = raw.Entry("chunks_");
    raw.Put("chunks_", key, "\xff garbage, not a chunk");
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("series node_load1{host=\"a\"}"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("partition chunks_0"), std::string::npos) << status.ToString();
}

TEST_F(StoreCorruptionTest, EmptyChunkIsCorruptionNamingSeriesAndPartition) {
  WriteData();
  {
    RawDb raw(db_path());
    raw.Put("chunks_", raw.Entry("chunks_").first, "");
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("series node_load1{host=\"a\"}"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("partition chunks_0"), std::string::npos) << status.ToString();
}

TEST_F(StoreCorruptionTest, TruncatedChunkIsCorruptionNamingSeries) {
  WriteData();
  {
    RawDb raw(db_path());
    auto [key, value] = raw.Entry("chunks_");
    raw.Put("chunks_", key, value.substr(0, value.size() / 2));
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("series node_load1{host=\"a\"}"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("chunk"), std::string::npos) << status.ToString();
}

TEST_F(StoreCorruptionTest, AnalyzeReportsDamagedChunkWithItsPartition) {
  WriteData();
  {
    RawDb raw(db_path());
    raw.Put("chunks_", raw.Entry("chunks_").first, "\x01");
  }
  auto store = Store::Open(StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto analysis = (*store)->Analyze(10);
  ASSERT_FALSE(analysis.ok());
  EXPECT_EQ(analysis.status().code(), Status::Code::kCorruption) << analysis.status().ToString();
  EXPECT_NE(analysis.status().message().find("partition chunks_0"), std::string::npos)
      << analysis.status().ToString();
}

TEST_F(StoreCorruptionTest, DamagedSeriesMetaIsCorruptionOnOpen) {
  WriteData();
  {
    RawDb raw(db_path());
    raw.Put("series_meta", raw.Entry("series_meta").first, "\x80");
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("series_meta entry"), std::string::npos) << status.ToString();
}

TEST_F(StoreCorruptionTest, SeriesIdOfWrongLengthIsCorruptionOnOpen) {
  WriteData();
  {
    RawDb raw(db_path());
    raw.Put("series", raw.Entry("series").first, "abc");
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("series index entry"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("bad id"), std::string::npos) << status.ToString();
}

TEST_F(StoreCorruptionTest, TruncatedWriteAheadLogRecordIsCorruptionOnOpen) {
  WriteData();
  {
    RawDb raw(db_path());
    auto [key, value] = raw.Entry("head", /*last=*/true);
    ASSERT_GT(value.size(), 3u);
    raw.Put("head", key, value.substr(0, value.size() - 3));
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("write-ahead log record"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("truncated"), std::string::npos) << status.ToString();
}

TEST_F(StoreCorruptionTest, WriteAheadLogRecordOfUnknownSeriesIsCorruptionOnOpen) {
  WriteData();
  {
    RawDb raw(db_path());
    auto [key, value] = raw.Entry("head", /*last=*/true);
    // Series id 99 (a one-byte varint), timestamp delta 0, eight value bytes.
    raw.Put("head", key, std::string("\x63\x00", 2) + std::string(8, '\0'));
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("unknown series 99"), std::string::npos) << status.ToString();
}

TEST_F(StoreCorruptionTest, EmptyMetadataValueIsCorruptionOnOpen) {
  WriteData();
  {
    RawDb raw(db_path());
    raw.Put("metadata", "node_load1", "");
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find("metadata of \"node_load1\""), std::string::npos)
      << status.ToString();
}

TEST_F(StoreCorruptionTest, DamagedChunkSstFileIsReportedWithItsFileName) {
  WriteData(/*compact=*/true);
  std::string file;
  {
    RawDb raw(db_path());
    auto files = raw.SstFiles("chunks_");
    ASSERT_FALSE(files.empty());
    file = files.front().name;  // "/000012.sst"
    // Data blocks come first in an SST file: damage one of them.
    Scribble(db_path() + file, files.front().size / 4, 64);
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find(file.substr(1)), std::string::npos) << status.ToString();
}

TEST_F(StoreCorruptionTest, DamagedSeriesIndexSstFileIsReportedWithItsFileName) {
  WriteData(/*compact=*/true);
  std::string file;
  {
    RawDb raw(db_path());
    auto files = raw.SstFiles("series");
    std::erase_if(files, [](const auto& f) { return f.column_family_name != "series"; });
    ASSERT_FALSE(files.empty());
    file = files.front().name;
    Scribble(db_path() + file, files.front().size / 4, 16);
  }
  Status status = OpenAndRead();
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find(file.substr(1)), std::string::npos) << status.ToString();
}

TEST_F(StoreCorruptionTest, GarbageCurrentFileFailsOpenAndLeavesDataIntact) {
  WriteData();
  const std::filesystem::path current = dir_ / "db" / "CURRENT";
  const std::string original = ReadFile(current);
  WriteFile(current, "\x01\x02garbage\n");
  auto store = Store::Open(StoreOptions());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("opening storage"), std::string::npos)
      << store.status().ToString();
  // The failed open must not have replaced the database with an empty one.
  WriteFile(current, original);
  Status status = OpenAndRead();
  EXPECT_TRUE(status.ok()) << status.ToString();
  auto reopened = Store::Open(StoreOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->GetStats().series, 2u);
}

TEST_F(StoreCorruptionTest, EmptyCurrentFileFailsOpen) {
  WriteData();
  WriteFile(dir_ / "db" / "CURRENT", "");
  auto store = Store::Open(StoreOptions());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("CURRENT"), std::string::npos)
      << store.status().ToString();
}

std::filesystem::path FindManifest(const std::filesystem::path& db) {
  for (const auto& entry : std::filesystem::directory_iterator(db)) {
    if (entry.path().filename().string().starts_with("MANIFEST-")) return entry.path();
  }
  return {};
}

TEST_F(StoreCorruptionTest, GarbageInManifestFailsOpen) {
  WriteData();
  std::filesystem::path manifest = FindManifest(dir_ / "db");
  ASSERT_FALSE(manifest.empty());
  Scribble(manifest, std::filesystem::file_size(manifest) / 2, 64);
  auto store = Store::Open(StoreOptions());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().ToString();
  EXPECT_NE(store.status().message().find("MANIFEST"), std::string::npos)
      << store.status().ToString();
}

// DISABLED: fails today. RocksDB takes a MANIFEST cut short for one whose
// last write was interrupted and opens the older state it describes: the
// chunks_* families (and their data) are gone, and the store opens with its
// series index intact but no samples, without any error. The store could
// notice, since series_meta says which series have chunks on disk.
TEST_F(StoreCorruptionTest, TruncatedManifestFailsOpenOrKeepsTheData) {
  WriteData();
  std::filesystem::path manifest = FindManifest(dir_ / "db");
  ASSERT_FALSE(manifest.empty());
  std::filesystem::resize_file(manifest, std::filesystem::file_size(manifest) / 2);
  auto store = Store::Open(StoreOptions());
  if (!store.ok()) {  // A clear failure is fine.
    EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().ToString();
    EXPECT_NE(store.status().message().find("MANIFEST"), std::string::npos)
        << store.status().ToString();
    return;
  }
  auto matchers = ParseSeriesSelector("node_load1");
  ASSERT_TRUE(matchers.ok());
  auto latest = (*store)->SelectLatest(*matchers, kMinTime, kMaxTime);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->size(), 2u) << "opened without error, but the samples are gone";
}

}  // namespace
}  // namespace vitals::storage
