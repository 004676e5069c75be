// vitalsctl as operators run it.

#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "common/curve_keys.h"
#include "storage/store.h"
#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

// Runs vitalsctl with `args`; returns its exit status, output in *output.
int RunCtl(const TempDir& dir, const std::vector<std::string>& args, std::string* output) {
  std::vector<std::string> argv = {CtlBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string error;
  auto process = Process::Start(argv, dir.File("ctl"), &error);
  if (process == nullptr) {
    ADD_FAILURE() << error;
    return -1;
  }
  auto status = process->Wait(30s);
  *output = process->Output();
  return status.value_or(-1);
}

TEST(VitalsctlTest, KeysGenerateWritesAUsableKeyPair) {
  TempDir dir;
  std::string output;
  ASSERT_EQ(RunCtl(dir, {"keys", "generate", "--name", "web-01", "--dir", dir.path()}, &output), 0)
      << output;
  auto secret = ReadCurveKeyFile(dir.File("web-01.key"));
  auto public_key = ReadCurveKeyFile(dir.File("web-01.pub"));
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  ASSERT_TRUE(public_key.ok()) << public_key.status().ToString();
  EXPECT_NE(*secret, *public_key);
  EXPECT_NE(output.find(*public_key), std::string::npos) << output;
  struct stat st {};
  ASSERT_EQ(stat(dir.File("web-01.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(VitalsctlTest, KeysGenerateRefusesToOverwrite) {
  TempDir dir;
  std::string output;
  ASSERT_EQ(RunCtl(dir, {"keys", "generate", "--name", "a", "--dir", dir.path()}, &output), 0);
  const std::string before = ReadFile(dir.File("a.key"));
  EXPECT_NE(RunCtl(dir, {"keys", "generate", "--name", "a", "--dir", dir.path()}, &output), 0);
  EXPECT_EQ(ReadFile(dir.File("a.key")), before);
}

TEST(VitalsctlTest, CheckAgentConfigAcceptsTheShippedExample) {
  TempDir dir;
  std::string output;
  EXPECT_EQ(RunCtl(dir, {"check", "agent-config", VITALS_SOURCE_DIR "/deploy/examples/agent.yml"},
                   &output),
            0)
      << output;
}

TEST(VitalsctlTest, CheckCollectorConfigReportsFileLineAndKey) {
  TempDir dir;
  WriteFile(dir.File("collector.yml"), "storage:\n  path: /tmp/x\n  retension: 15d\n");
  std::string output;
  EXPECT_EQ(RunCtl(dir, {"check", "collector-config", dir.File("collector.yml")}, &output), 2);
  EXPECT_NE(output.find("collector.yml:3: storage.retension: unknown key"), std::string::npos)
      << output;
}

// A stopped collector's storage: two series of node_load1, five samples each.
void WriteStore(const std::string& path) {
  storage::Options options;
  options.path = path;
  options.background_maintenance = false;
  auto store = storage::Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (int i = 0; i < 5; ++i) {
    std::vector<Sample> batch;
    for (const char* host : {"a", "b"}) {
      batch.push_back(Sample{{{"__name__", "node_load1"}, {"agent", host}}, 1000 * (i + 1), 0.5 * i});
    }
    auto appended = (*store)->Append(batch, {MetricDesc{"node_load1", MetricType::kGauge, "load"}});
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  }
  ASSERT_TRUE((*store)->Maintain().ok());
}

TEST(VitalsctlTest, TsdbStatsReportsSeriesAndCardinality) {
  TempDir dir;
  WriteStore(dir.File("db"));
  std::string output;
  ASSERT_EQ(RunCtl(dir, {"tsdb", "stats", dir.File("db")}, &output), 0) << output;
  EXPECT_NE(output.find("Series: 2\n"), std::string::npos) << output;
  EXPECT_NE(output.find("Metric names: 1\n"), std::string::npos) << output;
  EXPECT_NE(output.find("2 node_load1\n"), std::string::npos) << output;
}

TEST(VitalsctlTest, TsdbDumpPrintsMatchingSamples) {
  TempDir dir;
  WriteStore(dir.File("db"));
  std::string output;
  ASSERT_EQ(RunCtl(dir, {"tsdb", "dump", dir.File("db"), "--match", "node_load1{agent=\"b\"}",
                         "--min-time", "4000"},
                   &output),
            0)
      << output;
  const std::string stdout_part = output.substr(output.find("--- stdout ---\n") + 15);
  EXPECT_EQ(stdout_part,
            "node_load1{agent=\"b\"} 1.5 4000\n"
            "node_load1{agent=\"b\"} 2 5000\n")
      << output;
}

TEST(VitalsctlTest, TsdbStatsOnAMissingDirectoryFails) {
  TempDir dir;
  std::string output;
  EXPECT_EQ(RunCtl(dir, {"tsdb", "stats", dir.File("nothing")}, &output), 1);
  EXPECT_NE(output.find("not a Vitals storage directory"), std::string::npos) << output;
}

}  // namespace
}  // namespace vitals::testing
