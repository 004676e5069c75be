#include "agent/service_versions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/labels.h"
#include "common/samples.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;

// The vitals_build_info samples in `set` as "service version" lines, sorted.
std::vector<std::string> Versions(const SampleSet& set) {
  std::vector<std::string> out;
  for (const Sample& s : set.samples()) {
    if (GetLabel(s.labels, kMetricNameLabel) != "vitals_build_info") continue;
    EXPECT_EQ(s.value, 1);
    out.push_back(std::string(GetLabel(s.labels, "service")) + " " +
                  std::string(GetLabel(s.labels, "version")));
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ServiceVersionsTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& name, const std::string& contents) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::trunc) << contents;
    return path;
  }

  std::unique_ptr<ServiceVersions> Create(std::vector<ServiceConfig> services,
                                          std::chrono::milliseconds timeout = 5s) {
    ServiceVersionsOptions options;
    options.services = std::move(services);
    options.command_timeout = timeout;
    auto versions = ServiceVersions::Create(std::move(options), clock_);
    EXPECT_TRUE(versions.ok()) << versions.status().ToString();
    return versions.ok() ? std::move(versions).value() : nullptr;
  }

  // Collects once, waits for the commands that started, and collects again.
  std::vector<std::string> CollectAfterCommandsRan(ServiceVersions& versions) {
    SampleSet first;
    versions.Collect(&first);
    versions.WaitForCommands();
    SampleSet second;
    versions.Collect(&second);
    return Versions(second);
  }

  testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
  FakeClock clock_;
};

TEST_F(ServiceVersionsTest, ReportsTheFirstLineOfTheVersionFile) {
  std::string file = WriteFile("VERSION", "  1.4.2 \nbuilt by ci\n");
  auto versions = Create({ServiceConfig{"shop", file, {}}});
  ASSERT_NE(versions, nullptr);
  SampleSet set;
  versions->Collect(&set);
  EXPECT_EQ(Versions(set), (std::vector<std::string>{"shop 1.4.2"}));
  ASSERT_EQ(set.metadata().count("vitals_build_info"), 1u);
  EXPECT_EQ(set.metadata().at("vitals_build_info").help,
            "The version of a service running on this host, from the agent's services config.");
}

TEST_F(ServiceVersionsTest, ReadsTheFileAgainEachTime) {
  std::string file = WriteFile("VERSION", "1.4.2\n");
  auto versions = Create({ServiceConfig{"shop", file, {}}});
  ASSERT_NE(versions, nullptr);
  SampleSet before;
  versions->Collect(&before);
  WriteFile("VERSION", "1.5.0\n");
  SampleSet after;
  versions->Collect(&after);
  EXPECT_EQ(Versions(after), (std::vector<std::string>{"shop 1.5.0"}));
}

TEST_F(ServiceVersionsTest, MissingFileReportsNothing) {
  auto versions = Create({ServiceConfig{"shop", dir_ + "/nonexistent", {}},
                          ServiceConfig{"api", WriteFile("api", "2.0\n"), {}}});
  ASSERT_NE(versions, nullptr);
  SampleSet set;
  versions->Collect(&set);
  EXPECT_EQ(Versions(set), (std::vector<std::string>{"api 2.0"}));
}

TEST_F(ServiceVersionsTest, EmptyFileReportsNothing) {
  auto versions = Create({ServiceConfig{"shop", WriteFile("VERSION", "\n"), {}}});
  ASSERT_NE(versions, nullptr);
  SampleSet set;
  versions->Collect(&set);
  EXPECT_TRUE(Versions(set).empty());
}

TEST_F(ServiceVersionsTest, ServicesWithoutASourceAreSkipped) {
  auto versions = Create({ServiceConfig{"shop", "", {}}});
  ASSERT_NE(versions, nullptr);
  EXPECT_TRUE(versions->empty());
}

TEST_F(ServiceVersionsTest, ReportsTheCommandsVersionOnceItRan) {
  auto versions =
      Create({ServiceConfig{"shop", "", {"/bin/sh", "-c", "echo 'shop 3.1.0'; echo usage >&2"}}});
  ASSERT_NE(versions, nullptr);
  SampleSet first;
  versions->Collect(&first);
  EXPECT_TRUE(Versions(first).empty());  // The first run has only started.
  versions->WaitForCommands();
  SampleSet second;
  versions->Collect(&second);
  EXPECT_EQ(Versions(second), (std::vector<std::string>{"shop shop 3.1.0"}));
}

TEST_F(ServiceVersionsTest, FailingCommandReportsNothing) {
  auto versions = Create({ServiceConfig{"shop", "", {"/bin/sh", "-c", "echo 1.0; exit 1"}}});
  ASSERT_NE(versions, nullptr);
  EXPECT_TRUE(CollectAfterCommandsRan(*versions).empty());
}

TEST_F(ServiceVersionsTest, CommandThatTimesOutReportsNothing) {
  auto versions = Create({ServiceConfig{"shop", "", {"/bin/sh", "-c", "exec sleep 60"}}}, 200ms);
  ASSERT_NE(versions, nullptr);
  EXPECT_TRUE(CollectAfterCommandsRan(*versions).empty());
}

TEST_F(ServiceVersionsTest, VersionStopsBeingReportedWhenTheCommandStartsFailing) {
  std::string flag = WriteFile("fail", "");
  std::filesystem::remove(flag);
  auto versions = Create(
      {ServiceConfig{"shop", "", {"/bin/sh", "-c", "test -e '" + flag + "' && exit 1; echo 1.0"}}});
  ASSERT_NE(versions, nullptr);
  EXPECT_EQ(CollectAfterCommandsRan(*versions), (std::vector<std::string>{"shop 1.0"}));
  versions->WaitForCommands();  // The run the last Collect started ends before the flag.
  WriteFile("fail", "");
  EXPECT_TRUE(CollectAfterCommandsRan(*versions).empty());
}

TEST_F(ServiceVersionsTest, CreateFailsForAMissingProgram) {
  ServiceVersionsOptions options;
  options.services = {ServiceConfig{"shop", "", {dir_ + "/no-such-program"}}};
  auto versions = ServiceVersions::Create(std::move(options), clock_);
  ASSERT_FALSE(versions.ok());
  EXPECT_NE(versions.status().message().find("service shop: version_command"), std::string::npos)
      << versions.status().message();
}

TEST(ParseVersionLineTest, TakesTheTrimmedFirstLine) {
  EXPECT_EQ(ParseVersionLine("v1.2.3\r\nextra").value(), "v1.2.3");
  EXPECT_EQ(ParseVersionLine("\t2026.11.22-abc123  ").value(), "2026.11.22-abc123");
}

TEST(ParseVersionLineTest, RejectsWhatCannotBeALabelValue) {
  EXPECT_FALSE(ParseVersionLine("").ok());
  EXPECT_FALSE(ParseVersionLine("   \nv1").ok());
  EXPECT_FALSE(ParseVersionLine(std::string(129, 'x')).ok());
  EXPECT_FALSE(ParseVersionLine("v1\x01").ok());
  EXPECT_FALSE(ParseVersionLine("v\xc3\xa9").ok());
}

}  // namespace
}  // namespace vitals::agent
