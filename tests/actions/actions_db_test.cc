#include "actions/actions_db.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/temp_dir.h"

namespace vitals::actions {
namespace {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

class ActionsDbTest : public ::testing::Test {
 protected:
  std::unique_ptr<ActionsDb> OpenDb() {
    Result<std::unique_ptr<ActionsDb>> db = ActionsDb::Open(dir_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  testing::TempDir tmp_;
  const std::string root_ = tmp_.path();
  const std::string dir_ = root_ + "/db";
};

TEST_F(ActionsDbTest, GetOfAMissingKeyIsEmpty) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  Result<std::optional<std::string>> got = db->Get("mode/shop");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(got->has_value());
}

TEST_F(ActionsDbTest, PutGetAndDeleteSurviveReopen) {
  {
    auto db = OpenDb();
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Put("mode/shop", R"({"mode":"read_only"})").ok());
    ASSERT_TRUE(db->Put("mode/blog", R"({"mode":"degraded"})").ok());
    ASSERT_TRUE(db->Delete("mode/blog").ok());
  }
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  Result<std::optional<std::string>> shop = db->Get("mode/shop");
  ASSERT_TRUE(shop.ok());
  EXPECT_EQ(shop->value_or("<none>"), R"({"mode":"read_only"})");
  Result<std::optional<std::string>> blog = db->Get("mode/blog");
  ASSERT_TRUE(blog.ok());
  EXPECT_FALSE(blog->has_value());
}

TEST_F(ActionsDbTest, PutOverwritesTheValue) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Put("k", "one").ok());
  ASSERT_TRUE(db->Put("k", "two").ok());
  EXPECT_EQ(db->Get("k")->value_or(""), "two");
}

TEST_F(ActionsDbTest, DeleteOfAMissingKeyIsOk) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(db->Delete("never-written").ok());
}

TEST_F(ActionsDbTest, ScanReturnsKeysWithThePrefixInByteOrderAfterReopen) {
  {
    auto db = OpenDb();
    ASSERT_NE(db, nullptr);
    for (const char* key : {"window/2", "mode/shop", "window/1", "windows", "window/10", "x"}) {
      ASSERT_TRUE(db->Put(key, std::string("v:") + key).ok());
    }
  }
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  Result<KeyValues> windows = db->Scan("window/");
  ASSERT_TRUE(windows.ok()) << windows.status().ToString();
  EXPECT_EQ(*windows, (KeyValues{{"window/1", "v:window/1"},
                                 {"window/10", "v:window/10"},
                                 {"window/2", "v:window/2"}}));
  Result<KeyValues> all = db->Scan("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 6u);
  Result<KeyValues> none = db->Scan("incident/");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(ActionsDbTest, ScanDoesNotSeeTheAuditFamily) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Put("a", "1").ok());
  Result<KeyValues> all = db->Scan("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (KeyValues{{"a", "1"}}));
}

TEST_F(ActionsDbTest, WriteAppliesEveryChangeOfABatch) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Put("incident/1", "open").ok());
  ActionsDb::StateBatch batch;
  batch.Put("incident/2", "open");
  batch.Delete("incident/1");
  batch.Put("restore/1", "snapshot");
  ASSERT_TRUE(db->Write(batch).ok());
  Result<KeyValues> all = db->Scan("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (KeyValues{{"incident/2", "open"}, {"restore/1", "snapshot"}}));
}

TEST_F(ActionsDbTest, WriteOfAnEmptyBatchIsOk) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(db->Write(ActionsDb::StateBatch()).ok());
}

TEST_F(ActionsDbTest, OpenBelowAFileReturnsAnIOErrorNamingThePath) {
  // A regular file where a directory should be: unwritable even for root.
  std::ofstream(root_ + "/file") << "not a directory";
  const std::string dir = root_ + "/file/db";
  Result<std::unique_ptr<ActionsDb>> db = ActionsDb::Open(dir);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kIOError);
  EXPECT_NE(db.status().message().find(dir), std::string::npos) << db.status().ToString();
}

TEST_F(ActionsDbTest, OpenWhileAlreadyOpenReturnsAnIOErrorNamingThePath) {
  auto first = OpenDb();
  ASSERT_NE(first, nullptr);
  Result<std::unique_ptr<ActionsDb>> second = ActionsDb::Open(dir_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kIOError);
  EXPECT_NE(second.status().message().find(dir_), std::string::npos) << second.status().ToString();
}

TEST_F(ActionsDbTest, OpenRejectsAnEmptyDirectory) {
  Result<std::unique_ptr<ActionsDb>> db = ActionsDb::Open("");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace vitals::actions
