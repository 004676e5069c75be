#include "common/subprocess.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace vitals {
namespace {

// A directory holding an executable `tool` and a plain file `data`.
class ResolveExecutableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tool_ = dir_.WriteFile("tool", "#!/bin/sh\nexit 0\n");
    ASSERT_EQ(chmod(tool_.c_str(), 0755), 0);
    dir_.WriteFile("data", "not a program\n");
  }

  testing::TempDir dir_;
  std::string tool_;
};

TEST_F(ResolveExecutableTest, FindsAProgramInALaterPathEntry) {
  auto path = ResolveExecutable("tool", "/nonexistent/vitals:" + dir_.path());
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, tool_);
}

TEST_F(ResolveExecutableTest, AnEmptyPathEntryMeansTheCurrentDirectory) {
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(dir_.path());
  auto path = ResolveExecutable("tool", "/nonexistent/vitals::/also/missing");
  std::filesystem::current_path(before);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, tool_);
}

TEST_F(ResolveExecutableTest, AProgramOnNoPathEntryIsNotFound) {
  auto path = ResolveExecutable("tool", "/nonexistent/vitals:/also/missing");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Status::Code::kNotFound);
}

TEST_F(ResolveExecutableTest, AGivenPathToAPlainFileIsRefusedNamingIt) {
  auto path = ResolveExecutable(dir_.File("data"), "");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(path.status().message().find("data\" is not an executable file"), std::string::npos)
      << path.status().message();
}

}  // namespace
}  // namespace vitals
