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

  // Appends a batch holding `value`; returns its seq (0 on failure).
  static uint64_t Append(Spool& spool, double value) {
    wire::Batch batch = BatchWithOneSample(value);
    auto seq = spool.Append(&batch);
    EXPECT_TRUE(seq.ok()) << seq.status().ToString();
    return seq.ok() ? *seq : 0;
  }

  std::string BatchPath(uint64_t seq) const {
    char name[32];
    std::snprintf(name, sizeof(name), "%020llu.batch", static_cast<unsigned long long>(seq));
    return options_.dir + "/" + name;
  }

  static void WriteRaw(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
  }

  static std::vector<uint64_t> Seqs(const Spool& spool) {
    std::vector<uint64_t> seqs;
    for (const auto& [seq, size] : spool.batches()) seqs.push_back(seq);
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

TEST_F(SpoolTest, EachBatchIsOneFile) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  Append(*spool, 1);
  Append(*spool, 2);
  EXPECT_TRUE(fs::exists(BatchPath(1)));
  EXPECT_TRUE(fs::exists(BatchPath(2)));
}

TEST_F(SpoolTest, RemoveDeletesTheBatchFile) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  uint64_t first = Append(*spool, 1);
  uint64_t second = Append(*spool, 2);
  ASSERT_TRUE(spool->Remove(first).ok());
  EXPECT_FALSE(fs::exists(BatchPath(first)));
  EXPECT_TRUE(fs::exists(BatchPath(second)));
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{second}));
  EXPECT_EQ(spool->Read(first).status().code(), Status::Code::kNotFound);
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
  auto read = spool->Read(3);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->SerializeAsString(), [] {
    wire::Batch expected = BatchWithOneSample(3);
    expected.set_seq(3);
    return expected.SerializeAsString();
  }());
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

TEST_F(SpoolTest, NumberingNeverRestartsOverSeveralRuns) {
  for (uint64_t run = 0; run < 3; ++run) {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    uint64_t seq = Append(*spool, 1);
    EXPECT_EQ(seq, run + 1) << "run " << run;
    ASSERT_TRUE(spool->Remove(seq).ok());
  }
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

TEST_F(SpoolTest, BytesCountsTheBatchFiles) {
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->bytes(), 0u);
  uint64_t first = Append(*spool, 1);
  uint64_t second = Append(*spool, 2);
  const uint64_t first_size = fs::file_size(BatchPath(first));
  const uint64_t second_size = fs::file_size(BatchPath(second));
  EXPECT_EQ(spool->bytes(), first_size + second_size);
  EXPECT_EQ(spool->batches().at(first), first_size);
  ASSERT_TRUE(spool->Remove(first).ok());
  EXPECT_EQ(spool->bytes(), second_size);
  spool.reset();

  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->bytes(), second_size);
}

TEST_F(SpoolTest, FullSpoolDropsTheOldestBatches) {
  // Every batch here has the same size: room for exactly three.
  uint64_t batch_size = 0;
  {
    auto probe = Open();
    ASSERT_NE(probe, nullptr);
    Append(*probe, 1);
    batch_size = probe->bytes();
  }
  fs::remove_all(options_.dir);
  options_.max_bytes = 3 * batch_size;
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  for (int i = 1; i <= 5; ++i) Append(*spool, i);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(spool->dropped(), 2u);
  EXPECT_EQ(spool->bytes(), 3 * batch_size);
  EXPECT_FALSE(fs::exists(BatchPath(1)));
  EXPECT_FALSE(fs::exists(BatchPath(2)));
}

TEST_F(SpoolTest, LeftoverTemporaryFileIsRemovedOnOpen) {
  { ASSERT_NE(Open(), nullptr); }
  // What an Append killed before its rename leaves behind.
  const std::string tmp = BatchPath(1) + ".tmp";
  WriteRaw(tmp, "half a batch");
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_TRUE(spool->batches().empty());
  EXPECT_EQ(spool->bytes(), 0u);
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(Append(*spool, 1), 1u);
}

TEST_F(SpoolTest, UnrelatedFilesAreIgnored) {
  { ASSERT_NE(Open(), nullptr); }
  WriteRaw(options_.dir + "/README", "not a batch");
  WriteRaw(options_.dir + "/12x.batch", "not a batch either");
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_TRUE(spool->batches().empty());
  EXPECT_EQ(Append(*spool, 1), 1u);
}

TEST_F(SpoolTest, CorruptBatchFileIsReportedCountedAndRemoved) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    Append(*spool, 1);
    Append(*spool, 2);
  }
  // Field 1 with wire type 7, which does not exist: undecodable.
  WriteRaw(BatchPath(1), std::string("\x0f\xff\xff", 3));
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  auto read = spool->Read(1);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(spool->corrupt(), 1u);
  EXPECT_FALSE(fs::exists(BatchPath(1)));
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{2}));
  EXPECT_EQ(spool->bytes(), fs::file_size(BatchPath(2)));
  EXPECT_TRUE(spool->Read(2).ok());
}

TEST_F(SpoolTest, BatchFileHoldingAnotherSeqIsCorrupt) {
  {
    auto spool = Open();
    ASSERT_NE(spool, nullptr);
    Append(*spool, 1);
    Append(*spool, 2);
  }
  fs::copy_file(BatchPath(2), BatchPath(1), fs::copy_options::overwrite_existing);
  auto spool = Open();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->Read(1).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(spool->corrupt(), 1u);
  EXPECT_FALSE(fs::exists(BatchPath(1)));
}

TEST_F(SpoolTest, EmptyDirectoryNameIsInvalid) {
  options_.dir = "";
  auto spool = Spool::Open(options_);
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace vitals::agent
