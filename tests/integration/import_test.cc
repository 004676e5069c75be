// vitalsctl tsdb import openmetrics, run as operators run it, and compared
// with what promtool tsdb create-blocks-from openmetrics (Prometheus 2.42)
// makes of the same file.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "common/exposition_parser.h"
#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kPromtool[] = "/usr/bin/promtool";
const std::string kFixture = std::string(VITALS_FIXTURES_DIR) + "/openmetrics/backfill.om";

// Runs `argv`; returns its exit status, its output in *output.
int RunProgram(const TempDir& dir, const std::vector<std::string>& argv, const std::string& name,
        std::string* output, std::string* stdout_only = nullptr) {
  std::string error;
  auto process = Process::Start(argv, dir.File(name), &error);
  if (process == nullptr) {
    ADD_FAILURE() << error;
    return -1;
  }
  auto status = process->Wait(60s);
  *output = process->Output();
  if (stdout_only != nullptr) *stdout_only = process->Stdout();
  return status.value_or(-1);
}

// A dump (either tool's) as sorted "series value timestamp_ms" lines with
// canonical labels and values, so the two can be compared. `prefix` turns
// promtool's nameless `{__name__="x", ...}` lines into text-format lines.
std::vector<std::string> Normalize(const std::string& dump, bool promtool) {
  std::vector<std::string> lines;
  std::istringstream in(dump);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream one(promtool ? "x" + line : line);
    exposition::Parser parser(one, "dump", exposition::Format::kPrometheusText);
    exposition::Entry entry;
    auto more = parser.Next(&entry);
    if (!more.ok() || !*more || !entry.timestamp_ms) {
      ADD_FAILURE() << "unparseable dump line: " << line;
      continue;
    }
    if (promtool) entry.labels.erase(entry.labels.begin());  // The "x" name.
    Canonicalize(&entry.labels);
    char value[40];
    if (std::isnan(entry.value)) {
      std::snprintf(value, sizeof value, "NaN");
    } else {
      std::snprintf(value, sizeof value, "%.17g", entry.value);
    }
    lines.push_back(FormatSeries(entry.labels) + " " + value + " " +
                    std::to_string(*entry.timestamp_ms));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

TEST(VitalsctlImportTest, ImportsAnOpenMetricsFileAndPrintsWhatItStored) {
  TempDir dir;
  std::string output, stdout_text;
  ASSERT_EQ(RunProgram(dir,
                {CtlBinary(), "tsdb", "import", "openmetrics", kFixture, dir.File("data")},
                "import", &output, &stdout_text),
            0)
      << output;
  EXPECT_NE(stdout_text.find("Samples: 23 read, 23 stored, 0 duplicates\n"), std::string::npos)
      << stdout_text;
  EXPECT_NE(stdout_text.find("Series: 19 new\n"), std::string::npos) << stdout_text;
  EXPECT_NE(stdout_text.find("Time range: 2023-11-14T22:13:20Z .. 2023-11-14T22:13:50Z "
                             "(1700000000000 .. 1700000030000 ms)\n"),
            std::string::npos)
      << stdout_text;
  EXPECT_NE(stdout_text.find("Exemplars ignored: 1\n"), std::string::npos) << stdout_text;
  EXPECT_NE(stdout_text.find("Rejected: 0\n"), std::string::npos) << stdout_text;

  // The directory is an ordinary storage directory now.
  ASSERT_EQ(RunProgram(dir, {CtlBinary(), "tsdb", "stats", dir.File("data")}, "stats", &output), 0)
      << output;
  EXPECT_NE(output.find("Series: 19\n"), std::string::npos) << output;
}

TEST(VitalsctlImportTest, ImportingTheSameFileTwiceStoresNothingNew) {
  TempDir dir;
  std::string output, stdout_text;
  const std::vector<std::string> argv = {CtlBinary(), "tsdb", "import", "openmetrics", kFixture,
                                         dir.File("data")};
  ASSERT_EQ(RunProgram(dir, argv, "first", &output), 0) << output;
  ASSERT_EQ(RunProgram(dir, argv, "second", &output, &stdout_text), 0) << output;
  EXPECT_NE(stdout_text.find("Samples: 23 read, 0 stored, 23 duplicates\n"), std::string::npos)
      << stdout_text;
}

TEST(VitalsctlImportTest, NamesFileAndLineOfAnErrorAndStoresNothing) {
  TempDir dir;
  WriteFile(dir.File("bad.om"), "# TYPE up gauge\nup 1 1700000000\nup{job=\"a\" 1 1700000001\n"
                                "# EOF\n");
  std::string output;
  EXPECT_EQ(RunProgram(dir,
                {CtlBinary(), "tsdb", "import", "openmetrics", dir.File("bad.om"),
                 dir.File("data")},
                "import", &output),
            1);
  EXPECT_NE(output.find(dir.File("bad.om") + ":3:12: expected ',' or '}' after a label value"),
            std::string::npos)
      << output;
  EXPECT_FALSE(std::filesystem::exists(dir.File("data") + "/CURRENT"));
}

TEST(VitalsctlImportTest, StoresExactlyWhatPromtoolCreateBlocksFromStores) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is not installed (scripts/setup installs it)";
  TempDir dir;
  std::string output;
  ASSERT_EQ(RunProgram(dir,
                {kPromtool, "tsdb", "create-blocks-from", "openmetrics", kFixture,
                 dir.File("blocks")},
                "promtool-create", &output),
            0)
      << output;
  std::filesystem::create_directories(dir.File("blocks") + "/wal");  // `dump` opens it as a DB.
  std::string promtool_dump;
  ASSERT_EQ(RunProgram(dir, {kPromtool, "tsdb", "dump", dir.File("blocks")}, "promtool-dump", &output,
                &promtool_dump),
            0)
      << output;

  ASSERT_EQ(RunProgram(dir,
                {CtlBinary(), "tsdb", "import", "openmetrics", kFixture, dir.File("data")},
                "import", &output),
            0)
      << output;
  std::string vitals_dump;
  ASSERT_EQ(RunProgram(dir,
                {CtlBinary(), "tsdb", "dump", dir.File("data"), "--match",
                 "{__name__=~\".+\"}"},
                "dump", &output, &vitals_dump),
            0)
      << output;

  std::vector<std::string> expected = Normalize(promtool_dump, /*promtool=*/true);
  EXPECT_EQ(expected.size(), 23u);
  EXPECT_EQ(Join(Normalize(vitals_dump, /*promtool=*/false)), Join(expected));
}

TEST(VitalsctlImportTest, PromtoolAndVitalsctlRefuseAFileWithoutEof) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is not installed (scripts/setup installs it)";
  TempDir dir;
  WriteFile(dir.File("no-eof.om"), "up 1 1700000000\n");
  std::string output;
  EXPECT_NE(RunProgram(dir,
                {kPromtool, "tsdb", "create-blocks-from", "openmetrics", dir.File("no-eof.om"),
                 dir.File("blocks")},
                "promtool", &output),
            0)
      << output;
  EXPECT_EQ(RunProgram(dir,
                {CtlBinary(), "tsdb", "import", "openmetrics", dir.File("no-eof.om"),
                 dir.File("data")},
                "import", &output),
            1);
  EXPECT_NE(output.find("must end with \"# EOF\""), std::string::npos) << output;
}

}  // namespace
}  // namespace vitals::testing
