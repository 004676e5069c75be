#include "agent/checks/exec_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "tests/agent/checks/support/check_test_support.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {

void PrintTo(const PerfDatum& d, std::ostream* os) {
  *os << "{" << d.label << ", " << d.value << ", " << d.uom << "}";
}

namespace {

using namespace std::chrono_literals;
using testing::DeadlineAfter;
using ::testing::HasSubstr;
using testing::MakeCheck;
using testing::SampleValue;
using ::testing::StartsWith;
using testing::Steady;
using vitals::testing::TempDir;

const std::string kPlugin = std::string(VITALS_FIXTURES_DIR) + "/plugins/check_fixture.sh";

// Runs the fixture plugin with `args` (a YAML list's items) once.
CheckOutcome RunPlugin(const std::string& args, std::chrono::milliseconds timeout = 5s) {
  auto check = testing::MustMakeCheck("exec", "command: [" + kPlugin + ", " + args + "]");
  if (check == nullptr) return CheckOutcome();
  return check->Run(DeadlineAfter(timeout));
}

// True once `pid` has exited (it may linger as a zombie of another parent).
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

TEST(ExecCheckTest, ExitZeroIsOkWithTheFirstLineAsMessage) {
  CheckOutcome outcome = RunPlugin("ok");
  EXPECT_EQ(outcome.status, CheckStatus::kOk);
  EXPECT_EQ(outcome.message, "FIXTURE OK - all good");
}

TEST(ExecCheckTest, ExitOneIsWarning) {
  CheckOutcome outcome = RunPlugin("warning");
  EXPECT_EQ(outcome.status, CheckStatus::kWarning);
  EXPECT_EQ(outcome.message, "FIXTURE WARNING - disk at 85%");
}

TEST(ExecCheckTest, ExitTwoIsCritical) {
  CheckOutcome outcome = RunPlugin("critical");
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "FIXTURE CRITICAL - replica lag 120s");
}

TEST(ExecCheckTest, ExitThreeIsUnknown) {
  CheckOutcome outcome = RunPlugin("unknown");
  EXPECT_EQ(outcome.status, CheckStatus::kUnknown);
  EXPECT_EQ(outcome.message, "FIXTURE UNKNOWN - cannot read status");
}

TEST(ExecCheckTest, OtherExitStatusIsUnknownAndSaysSo) {
  CheckOutcome outcome = RunPlugin("exit, \"4\"");
  EXPECT_EQ(outcome.status, CheckStatus::kUnknown);
  EXPECT_EQ(outcome.message, kPlugin + " exited with status 4: FIXTURE exits 4");
}

TEST(ExecCheckTest, PerfDataBecomesSamplesInBaseUnits) {
  CheckOutcome outcome = RunPlugin("ok");
  EXPECT_EQ(outcome.samples.size(), 3u);
  EXPECT_DOUBLE_EQ(*SampleValue(outcome.samples, "vitals_check_perfdata",
                                {{"label", "response time"}, {"uom", "seconds"}}),
                   0.012);
  EXPECT_DOUBLE_EQ(
      *SampleValue(outcome.samples, "vitals_check_perfdata", {{"label", "size"}, {"uom", "bytes"}}),
      2048);
  EXPECT_DOUBLE_EQ(*SampleValue(outcome.samples, "vitals_check_perfdata",
                                {{"label", "uptime"}, {"uom", "counter"}}),
                   5);
  EXPECT_EQ(outcome.samples.metadata().at("vitals_check_perfdata").type, MetricType::kGauge);
}

TEST(ExecCheckTest, PercentBecomesRatio) {
  CheckOutcome outcome = RunPlugin("warning");
  EXPECT_DOUBLE_EQ(
      *SampleValue(outcome.samples, "vitals_check_perfdata", {{"label", "used"}, {"uom", "ratio"}}),
      0.85);
}

TEST(ExecCheckTest, ReadsPerfDataFromLongTextLines) {
  CheckOutcome outcome = RunPlugin("multiline");
  EXPECT_EQ(outcome.status, CheckStatus::kOk);
  EXPECT_EQ(outcome.message, "FIXTURE OK - first line");
  EXPECT_EQ(*SampleValue(outcome.samples, "vitals_check_perfdata", {{"label", "a"}}), 1);
  EXPECT_EQ(*SampleValue(outcome.samples, "vitals_check_perfdata", {{"label", "b"}}), 2);
  EXPECT_EQ(*SampleValue(outcome.samples, "vitals_check_perfdata", {{"label", "c"}}), 3);
}

TEST(ExecCheckTest, UsesStderrAsMessageWhenStdoutIsEmpty) {
  CheckOutcome outcome = RunPlugin("stderr");
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, "cannot connect: permission denied");
}

TEST(ExecCheckTest, PassesConfiguredEnvironment) {
  auto check = testing::MustMakeCheck(
      "exec", "command: [" + kPlugin + ", env]\nenv: {VITALS_FIXTURE_VALUE: forty-two}");
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(5s));
  EXPECT_EQ(outcome.message, "FIXTURE OK - VITALS_FIXTURE_VALUE=forty-two");
}

TEST(ExecCheckTest, HangingPluginAndItsChildrenAreKilledAtTheDeadline) {
  TempDir dir;
  const std::string pid_file = dir.File("child.pid");
  const auto start = Steady::now();
  CheckOutcome outcome = RunPlugin("hang, " + pid_file, 500ms);
  const auto elapsed = Steady::now() - start;
  EXPECT_EQ(outcome.status, CheckStatus::kCritical);
  EXPECT_EQ(outcome.message, kPlugin + ": timed out after 500ms; killed its process group");
  EXPECT_GE(elapsed, 490ms);
  EXPECT_LT(elapsed, 500ms + 200ms);

  pid_t child = 0;
  std::ifstream(pid_file) >> child;
  ASSERT_GT(child, 0);
  // SIGKILL has been sent to the group; the child's end is asynchronous.
  const auto give_up = Steady::now() + 5s;
  while (!ProcessGone(child) && Steady::now() < give_up) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(ProcessGone(child)) << "the plugin's child " << child << " survived";
}

TEST(ExecCheckTest, FindsCommandsWithoutSlashInPath) {
  auto check = testing::MustMakeCheck("exec", "command: [sh, -c, \"echo from sh; exit 1\"]");
  ASSERT_NE(check, nullptr);
  CheckOutcome outcome = check->Run(DeadlineAfter(5s));
  EXPECT_EQ(outcome.status, CheckStatus::kWarning);
  EXPECT_EQ(outcome.message, "from sh");
}

TEST(ExecCheckTest, MissingCommandIsRefusedAtStartNamingTheKey) {
  auto check = MakeCheck("exec", "command: [check_does_not_exist_anywhere, -H, db]");
  ASSERT_FALSE(check.ok());
  EXPECT_THAT(check.status().message(),
              StartsWith("agent.yml:5: checks[0].command: cannot execute: "
                         "\"check_does_not_exist_anywhere\" not found in PATH"));
}

TEST(ExecCheckTest, MissingCommandPathIsRefusedAtStart) {
  auto check = MakeCheck("exec", "command: [/nonexistent/check_thing]");
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(),
            "agent.yml:5: checks[0].command: cannot execute: \"/nonexistent/check_thing\" does "
            "not exist");
}

TEST(ExecCheckTest, NonExecutableFileIsRefusedAtStart) {
  TempDir dir;
  const std::string script = dir.WriteFile("plugin.sh", "#!/bin/sh\nexit 0\n");
  auto check = MakeCheck("exec", "command: [" + script + "]");
  ASSERT_FALSE(check.ok());
  EXPECT_THAT(check.status().message(), HasSubstr("is not an executable file"));
}

TEST(ExecCheckTest, EmptyCommandIsRefused) {
  auto check = MakeCheck("exec", "command: []");
  ASSERT_FALSE(check.ok());
  EXPECT_THAT(check.status().message(), StartsWith("agent.yml:5: checks[0].command: must name"));
}

TEST(PerfDataTest, ParsesQuotedLabelsWithSpacesAndQuotes) {
  EXPECT_EQ(ParsePerfData("'disk /var'=10MB;;; 'it''s'=3"),
            (std::vector<PerfDatum>{{"disk /var", 10.0 * 1024 * 1024, "bytes"}, {"it's", 3, ""}}));
}

TEST(PerfDataTest, ConvertsTimeUnitsToSeconds) {
  EXPECT_EQ(ParsePerfData("a=2s b=250ms c=40us"),
            (std::vector<PerfDatum>{
                {"a", 2, "seconds"}, {"b", 0.25, "seconds"}, {"c", 40e-6, "seconds"}}));
}

TEST(PerfDataTest, ConvertsByteUnitsInPowersOf1024) {
  EXPECT_EQ(ParsePerfData("a=1B b=1KB c=1MB d=1GB e=1TB"),
            (std::vector<PerfDatum>{{"a", 1, "bytes"},
                                    {"b", 1024, "bytes"},
                                    {"c", 1024.0 * 1024, "bytes"},
                                    {"d", 1024.0 * 1024 * 1024, "bytes"},
                                    {"e", 1024.0 * 1024 * 1024 * 1024, "bytes"}}));
}

TEST(PerfDataTest, KeepsUnknownUnitsAsGiven) {
  EXPECT_EQ(ParsePerfData("temp=21.5C;30;40"), (std::vector<PerfDatum>{{"temp", 21.5, "C"}}));
}

TEST(PerfDataTest, ReadsNegativeAndExponentValues) {
  EXPECT_EQ(ParsePerfData("offset=-0.5s big=1e3"),
            (std::vector<PerfDatum>{{"offset", -0.5, "seconds"}, {"big", 1000, ""}}));
}

TEST(PerfDataTest, SkipsUndeterminedAndMalformedItems) {
  EXPECT_EQ(ParsePerfData("a=U;1;2 garbage =5 b=x 'open=1 c=2"),
            (std::vector<PerfDatum>{{"c", 2, ""}}));
}

TEST(PerfDataTest, KeepsFirstValueOfRepeatedLabel) {
  EXPECT_EQ(ParsePerfData("a=1 a=2"), (std::vector<PerfDatum>{{"a", 1, ""}}));
}

TEST(PluginOutputTest, SplitsMessageAndPerfData) {
  PluginOutput out =
      SplitPluginOutput("DISK OK - free space: / 3326 MB | /=2643MB;5948;5958;0;5968\n");
  EXPECT_EQ(out.message, "DISK OK - free space: / 3326 MB");
  EXPECT_EQ(out.perfdata, " /=2643MB;5948;5958;0;5968");
}

TEST(PluginOutputTest, OutputWithoutPerfDataIsAllMessage) {
  PluginOutput out = SplitPluginOutput("PING OK\nsecond line\n");
  EXPECT_EQ(out.message, "PING OK");
  EXPECT_EQ(out.perfdata, "");
}

}  // namespace
}  // namespace vitals::agent
