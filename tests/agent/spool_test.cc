#include "agent/spool.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/samples.h"
#include "common/wire.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {
namespace {

namespace fs = std::filesystem;

// What a record adds to a segment besides the batch (spool.cc's header).
constexpr uint64_t kRecordHeader = 21;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override { options_.dir = root_ + "/spool"; }

  std::unique_ptr<Spool> Open() {
    auto spool = Spool::Open(options_);
    EXPECT_TRUE(spool.ok()) << spool.status().ToString();
    return spool.ok() ? std::move(spool).value() : nullptr;
  }

  static wire::Batch BatchWithOneSample(double value) {
    SampleSet set(1000);
    set.Add(MetricDesc{"node_load1", MetricType::kGauge, "1m load average."}, {}, value);
    wire::Batch batch;
    wirecodec::EncodeSamples(set, &batch);
    return batch;
  }

  // The encoded batch holding `value` numbered `seq`, as Read returns it.
  static std::string Encoded(double value, uint64_t seq) {
    wire::Batch batch = BatchWithOneSample(value);
    batch.set_seq(seq);
    return batch.SerializeAsString();
  }

  // Appends a batch holding `value`; returns its seq (0 on failure).
  static uint64_t Append(Spool& spool, double value) {
    wire::Batch batch = BatchWithOneSample(value);
    auto seq = spool.Append(&batch);
    EXPECT_TRUE(seq.ok()) << seq.status().ToString();
    return seq.ok() ? *seq : 0;
  }

  // Bytes a batch holding one sample takes in a segment.
  static uint64_t RecordSize() { return kRecordHeader + Encoded(1, 1).size(); }

  std::string SegmentPath(uint64_t first_seq) const {
    char name[32];
    std::snprintf(name, sizeof(name), "%020llu.seg", static_cast<unsigned long long>(first_seq));
    return options_.dir + "/" + name;
  }

  // A batch file of the earlier format, one file per batch.
  std::string BatchFilePath(uint64_t seq) const {
    char name[32];
    std::snprintf(name, sizeof(name), "%020llu.batch", static_cast<unsigned long long>(seq));
    return options_.dir + "/" + name;
  }

  // The first seqs of the segment files in the spool directory.
  std::vector<uint64_t> Segments() const {
    std::vector<uint64_t> firsts;
    for (const auto& entry : fs::directory_iterator(options_.dir)) {
      const std::string name = entry.path().filename().string();
      if (name.ends_with(".seg")) firsts.push_back(std::stoull(name));
    }
    std::sort(firsts.begin(), firsts.end());
    return firsts;
  }

  // Bytes of every file in the spool directory but its id.
  uint64_t FileBytes() const {
    uint64_t bytes = 0;
    for (const auto& entry : fs::directory_iterator(options_.dir)) {
      if (entry.path().filename() != "spool_id") bytes += entry.file_size();
    }
    return bytes;
  }

  static void WriteRaw(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
  }

  static std::string ReadRaw(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Overwrites the byte at `offset` of `path` with its complement.
  static void FlipByte(const std::string& path, uint64_t offset) {
    std::string data = ReadRaw(path);
    ASSERT_LT(offset, data.size());
    data[offset] = static_cast<char>(~data[offset]);
    WriteRaw(path, data);
  }

  static std::vector<uint64_t> Seqs(const Spool& spool) {
    std::vector<uint64_t> seqs;
    for (const auto& [seq, location] : spool.batches()) seqs.push_back(seq);
    return seqs;
  }

  testing::TempDir tmp_;
  const std::string root_ = tmp_.path();
  SpoolOptions options_;
};

TEST_F(SpoolTest, NumbersBatchesFromOne) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  wire::Batch first = BatchWithOneSample(1);
  wire::Batch second = BatchWithOneSample(2);
  auto seq1 = spool->Append(&first);
  auto seq2 = spool->Append(&second);
  ASSERT_TRUE(seq1.ok() && seq2.ok());
  EXPECT_EQ(*seq1, 1u);
  EXPECT_EQ(*seq2, 2u);
  // Append numbers the batch it was given, too.
  EXPECT_EQ(first.seq(), 1u);
  EXPECT_EQ(second.seq(), 2u);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 2}));
}

TEST_F(SpoolTest, ReadReturnsTheAppendedBatch) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  wire::Batch batch = BatchWithOneSample(42);
  auto seq = spool->Append(&batch);
  ASSERT_TRUE(seq.ok());
  auto read = spool->Read(*seq);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->SerializeAsString(), batch.SerializeAsString());
}

TEST_F(SpoolTest, ReadOfAnUnknownSeqIsNotFound) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  auto read = spool->Read(7);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kNotFound);
}

TEST_F(SpoolTest, BatchesAreAppendedToOneSegmentFile) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  Append(*spool, 1);
  Append(*spool, 2);
  Append(*spool, 3);
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{1}));
  EXPECT_EQ(fs::file_size(SegmentPath(1)), 3 * RecordSize());
}

TEST_F(SpoolTest, ReadAfterReopenComesFromDisk) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    for (int i = 1; i <= 12; ++i) Append(*spool, i);  // More than it keeps in memory.
  }
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  for (uint64_t seq = 1; seq <= 12; ++seq) {
    auto read = spool->ReadEncoded(seq);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, Encoded(static_cast<double>(seq), seq)) << "batch " << seq;
  }
}

TEST_F(SpoolTest, RemoveTakesTheBatchOutOfTheSpool) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  uint64_t first = Append(*spool, 1);
  uint64_t second = Append(*spool, 2);
  ASSERT_TRUE(spool->Remove(first).ok());
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{second}));
  EXPECT_EQ(spool->Read(first).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(spool->Read(second).ok());
}

TEST_F(SpoolTest, RemovingAnAbsentSeqIsOk) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  uint64_t seq = Append(*spool, 1);
  EXPECT_TRUE(spool->Remove(seq).ok());
  EXPECT_TRUE(spool->Remove(seq).ok());
  EXPECT_TRUE(spool->Remove(99).ok());
  EXPECT_TRUE(spool->batches().empty());
}

TEST_F(SpoolTest, ReopenFindsSpooledBatchesAndContinuesNumbering) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    Append(*spool, 1);
    Append(*spool, 2);
    Append(*spool, 3);
    ASSERT_TRUE(spool->Remove(2).ok());
  }
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 3}));
  auto read = spool->ReadEncoded(3);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, Encoded(3, 3));
  EXPECT_EQ(Append(*spool, 4), 4u);
}

TEST_F(SpoolTest, NumberingContinuesAfterEveryBatchWasRemoved) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    Append(*spool, 1);
    Append(*spool, 2);
    Append(*spool, 3);
    // Acknowledged out of order, the newest first.
    ASSERT_TRUE(spool->Remove(3).ok());
    ASSERT_TRUE(spool->Remove(1).ok());
    ASSERT_TRUE(spool->Remove(2).ok());
  }
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_TRUE(spool->batches().empty());
  EXPECT_EQ(Append(*spool, 4), 4u);
}

TEST_F(SpoolTest, NumberingContinuesAfterTheSegmentsWithBatchesWereDeleted) {
  options_.segment_bytes = 1;  // A segment per batch.
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    for (int i = 1; i <= 4; ++i) Append(*spool, i);
    for (uint64_t seq = 1; seq <= 4; ++seq) ASSERT_TRUE(spool->Remove(seq).ok());
    // Only the newest stays, its name keeping the numbering.
    EXPECT_EQ(Segments(), (std::vector<uint64_t>{4}));
  }
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_TRUE(spool->batches().empty());
  EXPECT_EQ(Append(*spool, 5), 5u);
}

TEST_F(SpoolTest, NumberingNeverRestartsOverSeveralRuns) {
  for (uint64_t run = 0; run < 3; ++run) {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    uint64_t seq = Append(*spool, 1);
    EXPECT_EQ(seq, run + 1) << "run " << run;
    ASSERT_TRUE(spool->Remove(seq).ok());
  }
}

TEST_F(SpoolTest, NumberingOfAFreshSpoolSurvivesAReopenWithoutBatches) {
  { ASSERT_NE(Open(), nullptr); }
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Append(*spool, 1), 1u);
}

TEST_F(SpoolTest, SpoolIdIsStableAcrossReopen) {
  uint64_t id = 0;
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    id = spool->id();
    Append(*spool, 1);
  }
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(spool->id(), id);
}

TEST_F(SpoolTest, FreshSpoolsHaveDifferentIds) {
  auto first = Open();
  options_.dir = root_ + "/other";
  auto second = Open();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first->id(), 0u);
  EXPECT_NE(second->id(), 0u);
  EXPECT_NE(first->id(), second->id());
}

TEST_F(SpoolTest, BytesCountsTheSegmentFiles) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->bytes(), 0u);
  uint64_t first = Append(*spool, 1);
  Append(*spool, 2);
  EXPECT_EQ(spool->bytes(), 2 * RecordSize());
  EXPECT_EQ(spool->bytes(), FileBytes());
  EXPECT_EQ(spool->batches().at(first).size, Encoded(1, 1).size());
  // The acknowledgement is a record too; the segment still holds batch 2.
  ASSERT_TRUE(spool->Remove(first).ok());
  EXPECT_EQ(spool->bytes(), FileBytes());
  spool.reset();

  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->bytes(), FileBytes());
}

TEST_F(SpoolTest, NewSegmentStartsWhenTheTailPassesSegmentBytes) {
  options_.segment_bytes = 2 * RecordSize();
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  for (int i = 1; i <= 5; ++i) Append(*spool, i);
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_EQ(spool->batches().at(4).segment, 3u);
}

TEST_F(SpoolTest, SegmentIsDeletedOnceNoneOfItsBatchesIsWaiting) {
  options_.segment_bytes = 2 * RecordSize();
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  for (int i = 1; i <= 5; ++i) Append(*spool, i);
  ASSERT_TRUE(spool->Remove(4).ok());
  ASSERT_TRUE(spool->Remove(1).ok());
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{1, 3, 5}));
  ASSERT_TRUE(spool->Remove(2).ok());
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{3, 5}));
  ASSERT_TRUE(spool->Remove(3).ok());
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{5}));
  EXPECT_EQ(spool->bytes(), FileBytes());
}

TEST_F(SpoolTest, SegmentWithNothingWaitingIsDeletedOnOpen) {
  options_.segment_bytes = 2 * RecordSize();
  std::string acknowledged_tail;
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    Append(*spool, 1);
    Append(*spool, 2);
    ASSERT_TRUE(spool->Remove(1).ok());
    ASSERT_TRUE(spool->Remove(2).ok());
    acknowledged_tail = ReadRaw(SegmentPath(1));
    Append(*spool, 3);  // Starts segment 3, then deletes segment 1.
    EXPECT_EQ(Segments(), (std::vector<uint64_t>{3}));
  }
  // What a crash between the two would have left.
  WriteRaw(SegmentPath(1), acknowledged_tail);
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{3}));
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{3}));
  EXPECT_EQ(spool->bytes(), FileBytes());
}

TEST_F(SpoolTest, FullSpoolDropsTheOldestBatches) {
  // Room for exactly three batches; a spool this small has a segment per
  // batch, so it drops one batch at a time.
  options_.max_bytes = 3 * RecordSize();
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  for (int i = 1; i <= 5; ++i) Append(*spool, i);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(spool->dropped(), 2u);
  EXPECT_EQ(spool->bytes(), 3 * RecordSize());
  EXPECT_EQ(FileBytes(), 3 * RecordSize());
  EXPECT_EQ(spool->Read(1).status().code(), Status::Code::kNotFound);
}

TEST_F(SpoolTest, FullSpoolDropsAWholeSegmentAtATime) {
  options_.max_bytes = 64 * RecordSize();
  options_.segment_bytes = 4 * RecordSize();
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  for (int i = 1; i <= 65; ++i) Append(*spool, i);
  // The 65th needed room: segment 1 (batches 1 to 4) went.
  EXPECT_EQ(spool->dropped(), 4u);
  EXPECT_EQ(spool->batches().begin()->first, 5u);
  EXPECT_EQ(spool->batches().size(), 61u);
  EXPECT_LE(spool->bytes(), options_.max_bytes);
  EXPECT_EQ(spool->bytes(), FileBytes());
}

TEST_F(SpoolTest, SegmentBytesIsCappedByMaxBytes) {
  options_.max_bytes = 16 * RecordSize();  // Segments of two batches at most.
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  for (int i = 1; i <= 5; ++i) Append(*spool, i);
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{1, 3, 5}));
}

TEST_F(SpoolTest, LeftoverTemporaryFileIsRemovedOnOpen) {
  { ASSERT_NE(Open(), nullptr); }
  // What an interrupted write of the spool id (or of an earlier format's
  // batch file) leaves behind.
  const std::string tmp = options_.dir + "/spool_id.tmp";
  WriteRaw(tmp, "half a file");
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_TRUE(spool->batches().empty());
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(Append(*spool, 1), 1u);
}

TEST_F(SpoolTest, UnrelatedFilesAreIgnored) {
  { ASSERT_NE(Open(), nullptr); }
  WriteRaw(options_.dir + "/README", "not a batch");
  WriteRaw(options_.dir + "/12x.batch", "not a batch either");
  WriteRaw(options_.dir + "/12x.seg", "not a segment");
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_TRUE(spool->batches().empty());
  EXPECT_EQ(Append(*spool, 1), 1u);
}

TEST_F(SpoolTest, EmptyDirectoryNameIsInvalid) {
  options_.dir = "";
  auto spool = Spool::Open(options_);
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), Status::Code::kInvalidArgument);
}

// Crash recovery.

TEST_F(SpoolTest, TornLastRecordIsCutOffAndCounted) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    for (int i = 1; i <= 3; ++i) Append(*spool, i);
  }
  // The third Append was cut short by a crash: it never returned, so batch 3
  // was never sent, and its seq is free again.
  fs::resize_file(SegmentPath(1), 3 * RecordSize() - 5);
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(spool->corrupt(), 1u);
  EXPECT_EQ(fs::file_size(SegmentPath(1)), 2 * RecordSize());
  EXPECT_EQ(Append(*spool, 30), 3u);
  spool.reset();

  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->corrupt(), 0u);
  EXPECT_EQ(Seqs(*reopened), (std::vector<uint64_t>{1, 2, 3}));
  auto read = reopened->ReadEncoded(3);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, Encoded(30, 3));
}

TEST_F(SpoolTest, ZerosAfterTheLastRecordAreCutOff) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    Append(*spool, 1);
  }
  // A power loss can leave a file longer than what was written to it.
  fs::resize_file(SegmentPath(1), RecordSize() + 4096);
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1}));
  EXPECT_EQ(spool->corrupt(), 1u);
  EXPECT_EQ(fs::file_size(SegmentPath(1)), RecordSize());
  EXPECT_EQ(Append(*spool, 2), 2u);
}

TEST_F(SpoolTest, DamagedRecordInTheMiddleIsSkipped) {
  uint64_t payload_of_2 = 0;
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    for (int i = 1; i <= 3; ++i) Append(*spool, i);
    payload_of_2 = spool->batches().at(2).offset;
  }
  FlipByte(SegmentPath(1), payload_of_2 + 3);
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(spool->corrupt(), 1u);
  auto read = spool->ReadEncoded(3);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, Encoded(3, 3));
  EXPECT_EQ(Append(*spool, 4), 4u);
}

TEST_F(SpoolTest, DamagedRecordSizeInTheMiddleIsSkipped) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    for (int i = 1; i <= 3; ++i) Append(*spool, i);
  }
  // The size field of record 2 (bytes 17 to 20 of its header), made huge.
  FlipByte(SegmentPath(1), RecordSize() + 20);
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(spool->corrupt(), 1u);
  EXPECT_TRUE(spool->Read(3).ok());
}

TEST_F(SpoolTest, TornAcknowledgementOnlyMeansTheBatchIsSentAgain) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    Append(*spool, 1);
    Append(*spool, 2);
    ASSERT_TRUE(spool->Remove(1).ok());
  }
  fs::resize_file(SegmentPath(1), fs::file_size(SegmentPath(1)) - 1);
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Append(*spool, 3), 3u);
}

TEST_F(SpoolTest, ReadOfABatchDamagedOnDiskIsCorruption) {
  uint64_t payload_of_1 = 0;
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    Append(*spool, 1);
    Append(*spool, 2);
    payload_of_1 = spool->batches().at(1).offset;
  }
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  FlipByte(SegmentPath(1), payload_of_1);  // After Open checked it.
  auto read = spool->Read(1);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(spool->corrupt(), 1u);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{2}));
  EXPECT_TRUE(spool->Read(2).ok());
}

// The earlier format, one `<seq>.batch` file per batch.

TEST_F(SpoolTest, BatchFilesOfTheEarlierFormatAreTakenOver) {
  fs::create_directories(options_.dir);
  WriteRaw(BatchFilePath(4), Encoded(4, 4));
  WriteRaw(BatchFilePath(5), Encoded(5, 5));
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{4, 5}));
  auto read = spool->ReadEncoded(4);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, Encoded(4, 4));
  EXPECT_EQ(Append(*spool, 6), 6u);
  EXPECT_EQ(spool->bytes(), FileBytes());

  ASSERT_TRUE(spool->Remove(4).ok());
  EXPECT_FALSE(fs::exists(BatchFilePath(4)));
  EXPECT_EQ(spool->bytes(), FileBytes());
  spool.reset();

  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Seqs(*reopened), (std::vector<uint64_t>{5, 6}));
  ASSERT_TRUE(reopened->Remove(5).ok());
  ASSERT_TRUE(reopened->Remove(6).ok());
  reopened.reset();
  auto emptied = Open();
  ASSERT_NE(emptied, nullptr);
  EXPECT_EQ(Append(*emptied, 7), 7u);
}

TEST_F(SpoolTest, NumberingContinuesFromTheEarlierFormatsLastSeqFile) {
  // The earlier format renamed the newest batch to last_seq when it left.
  fs::create_directories(options_.dir);
  WriteRaw(options_.dir + "/last_seq", Encoded(1, 7));
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    EXPECT_TRUE(spool->batches().empty());
    EXPECT_FALSE(fs::exists(options_.dir + "/last_seq"));  // The segment's name keeps it.
    ASSERT_TRUE(spool->Remove(Append(*spool, 8)).ok());
  }
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(Append(*spool, 9), 9u);
}

TEST_F(SpoolTest, FullSpoolDropsBatchFilesOfTheEarlierFormatFirst) {
  fs::create_directories(options_.dir);
  WriteRaw(BatchFilePath(1), Encoded(1, 1));
  WriteRaw(BatchFilePath(2), Encoded(2, 2));
  options_.max_bytes = 2 * RecordSize();
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  Append(*spool, 3);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(spool->dropped(), 1u);
  EXPECT_FALSE(fs::exists(BatchFilePath(1)));
}

TEST_F(SpoolTest, UnreadableBatchFileIsReportedCountedAndRemoved) {
  fs::create_directories(options_.dir);
  // Field 1 with wire type 7, which does not exist: undecodable.
  WriteRaw(BatchFilePath(1), std::string("\x0f\xff\xff", 3));
  WriteRaw(BatchFilePath(2), Encoded(2, 2));
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  auto read = spool->Read(1);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(spool->corrupt(), 1u);
  EXPECT_FALSE(fs::exists(BatchFilePath(1)));
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{2}));
  EXPECT_TRUE(spool->Read(2).ok());
}

TEST_F(SpoolTest, BatchFileHoldingAnotherSeqIsCorrupt) {
  fs::create_directories(options_.dir);
  WriteRaw(BatchFilePath(1), Encoded(2, 2));
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->Read(1).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(spool->corrupt(), 1u);
  EXPECT_FALSE(fs::exists(BatchFilePath(1)));
}

// Inspect.

TEST_F(SpoolTest, InspectSeesWhatAnOpenSpoolHolds) {
  options_.segment_bytes = 2 * RecordSize();
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  for (int i = 1; i <= 5; ++i) Append(*spool, i);
  ASSERT_TRUE(spool->Remove(2).ok());
  ASSERT_TRUE(spool->Remove(3).ok());
  auto contents = Spool::Inspect(options_.dir);
  ASSERT_TRUE(contents.ok()) << contents.status().ToString();
  EXPECT_EQ(contents->seqs, (std::vector<uint64_t>{1, 4, 5}));
  EXPECT_EQ(contents->bytes, spool->bytes());
  EXPECT_EQ(contents->next_seq, 6u);
}

TEST_F(SpoolTest, InspectChangesNothing) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    Append(*spool, 1);
    Append(*spool, 2);
  }
  fs::resize_file(SegmentPath(1), 2 * RecordSize() - 1);  // Batch 2 half written.
  auto contents = Spool::Inspect(options_.dir);
  ASSERT_TRUE(contents.ok()) << contents.status().ToString();
  EXPECT_EQ(contents->seqs, (std::vector<uint64_t>{1}));
  EXPECT_EQ(contents->next_seq, 2u);
  EXPECT_EQ(fs::file_size(SegmentPath(1)), 2 * RecordSize() - 1);
}

TEST_F(SpoolTest, InspectOfAMissingDirectoryIsNotFound) {
  auto contents = Spool::Inspect(root_ + "/nowhere");
  ASSERT_FALSE(contents.ok());
  EXPECT_EQ(contents.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace vitals::agent
