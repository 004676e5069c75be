// `vitalsctl rules check` against the real `promtool check rules` (Prometheus
// 2.42, Debian package `prometheus`): every rule file of the conformance data
// and of tests/rules/testdata/rule_files/ must get the same exit status, the
// same stdout and the same problems. Comparisons are skipped when promtool is
// not installed (scripts/setup installs it); the vitalsctl-only cases run
// regardless.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

struct ProgramRun {
  int status = -1;
  std::string out, err;
};

ProgramRun RunProgram(const std::string& binary, const std::vector<std::string>& args) {
  TempDir dir;
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string error;
  auto process = Process::Start(argv, dir.File("run"), &error);
  if (process == nullptr) {
    ADD_FAILURE() << error;
    return {};
  }
  ProgramRun run;
  run.status = process->Wait(60s).value_or(-1);
  run.out = process->Stdout();
  run.err = process->Stderr();
  return run;
}

std::string Promtool() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/promtool";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Problems as a sorted list of lines, with the "line:column: " positions
// dropped: Vitals adds positions where Prometheus has none, and Prometheus
// lists label and annotation problems in Go's random map order.
std::vector<std::string> Problems(const std::string& stderr_text) {
  static const std::regex kPositions(R"(^([^ ]+: )(\d+:\d+: )+)");
  std::vector<std::string> lines;
  std::stringstream in(stderr_text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(std::regex_replace(line, kPositions, "$1"));
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> RuleFiles() {
  std::vector<std::string> files;
  for (const char* dir : {VITALS_SOURCE_DIR "/tests/conformance/promtool",
                          VITALS_SOURCE_DIR "/tests/rules/testdata/rule_files"}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() == ".yml") files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

class RulesCheckConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RulesCheckConformanceTest, SameVerdictAsPromtool) {
  const std::string promtool = Promtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not installed (scripts/setup installs it)";
  ProgramRun want = RunProgram(promtool, {"check", "rules", GetParam()});
  ProgramRun got = RunProgram(CtlBinary(), {"rules", "check", GetParam()});
  EXPECT_EQ(got.status, want.status) << "promtool:\n" << want.err << "vitalsctl:\n" << got.err;
  EXPECT_EQ(got.out, want.out);
  // libyaml and yaml-cpp word syntax errors differently (and promtool prints
  // them twice); the verdict and the line are what must agree there.
  if (want.err.find(": yaml: line ") == std::string::npos) {
    EXPECT_EQ(Problems(got.err), Problems(want.err)) << "promtool:\n"
                                                     << want.err << "vitalsctl:\n"
                                                     << got.err;
  }
}

INSTANTIATE_TEST_SUITE_P(RuleFiles, RulesCheckConformanceTest, ::testing::ValuesIn(RuleFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

const std::string kDuplicates =
    VITALS_SOURCE_DIR "/tests/conformance/promtool/rules_duplicates.yml";
const std::string kGood = VITALS_SOURCE_DIR "/tests/conformance/promtool/rules.yml";
const std::string kBad = VITALS_SOURCE_DIR "/tests/conformance/promtool/bad-rules-syntax.yml";

TEST(RulesCheckTest, LintFlagsGiveThePromtoolExitStatus) {
  const std::string promtool = Promtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not installed";
  for (const std::vector<std::string>& flags : std::vector<std::vector<std::string>>{
           {"--lint-fatal"}, {"--lint=none"}, {"--lint=all"}, {"--lint=none", "--lint-fatal"}}) {
    std::vector<std::string> promtool_args = {"check", "rules"};
    std::vector<std::string> ctl_args = {"rules", "check"};
    promtool_args.insert(promtool_args.end(), flags.begin(), flags.end());
    ctl_args.insert(ctl_args.end(), flags.begin(), flags.end());
    promtool_args.push_back(kDuplicates);
    ctl_args.push_back(kDuplicates);
    ProgramRun want = RunProgram(promtool, promtool_args);
    ProgramRun got = RunProgram(CtlBinary(), ctl_args);
    EXPECT_EQ(got.status, want.status) << flags[0];
    EXPECT_EQ(got.out, want.out) << flags[0];
    EXPECT_EQ(got.err, want.err) << flags[0];
  }
}

TEST(RulesCheckTest, SeveralFilesFailTogetherAndAreAllReported) {
  ProgramRun got = RunProgram(CtlBinary(), {"rules", "check", kGood, kBad});
  EXPECT_EQ(got.status, 1);
  EXPECT_EQ(got.out,
            "Checking " + kGood + "\n  SUCCESS: 5 rules found\n\nChecking " + kBad + "\n\n");
  EXPECT_EQ(got.err, "  FAILED:\n" + kBad +
                         ": 7:15: group \"bad-syntax\", rule 1, \"x\": could not parse "
                         "expression: 1:7: parse error: unexpected end of input\n");
}

TEST(RulesCheckTest, DuplicateRulesAreReportedButPassByDefault) {
  ProgramRun got = RunProgram(CtlBinary(), {"rules", "check", kDuplicates});
  EXPECT_EQ(got.status, 0);
  EXPECT_EQ(got.err,
            "  FAILED:\nlint error 1 duplicate rule(s) found.\nMetric: job:test:count_over_time1m\n"
            "Label(s):\nMight cause inconsistency while recording expressions\n");
  EXPECT_EQ(RunProgram(CtlBinary(), {"rules", "check", "--lint-fatal", kDuplicates}).status, 3);
}

TEST(RulesCheckTest, MissingFileFailsBeforeCheckingAny) {
  ProgramRun got = RunProgram(CtlBinary(), {"rules", "check", kGood, "/nonexistent/rules.yml"});
  EXPECT_EQ(got.status, 1);
  EXPECT_EQ(got.out, "");
  EXPECT_EQ(got.err, "vitalsctl: error: path '/nonexistent/rules.yml' does not exist\n");
}

TEST(RulesCheckTest, VitalsDirectiveMistakesFailWithTheirPosition) {
  TempDir dir;
  const std::string file = dir.File("rules.yml");
  WriteFile(file,
            "groups:\n"
            "  - name: g  # vitals: eval=sometimes\n"
            "    rules: []\n");
  ProgramRun got = RunProgram(CtlBinary(), {"rules", "check", file});
  EXPECT_EQ(got.status, 1);
  EXPECT_EQ(got.err, "  FAILED:\n" + file +
                         ": 2:14: group \"g\": vitals directive: eval must be on_ingest or "
                         "interval, not \"sometimes\"\n");
}

// `vitalsctl rules test` and `promtool test rules` on Prometheus's own unit
// tests and the examples shipped in deploy/rules: the same verdict.
class RulesTestConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RulesTestConformanceTest, SameVerdictAsPromtool) {
  const std::string file = GetParam();
  ProgramRun ours = RunProgram(CtlBinary(), {"rules", "test", file});
  EXPECT_NE(ours.status, -1);
  const std::string promtool = Promtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not installed";
  ProgramRun theirs = RunProgram(promtool, {"test", "rules", file});
  EXPECT_EQ(ours.status, theirs.status) << "ours:\n" << ours.out << ours.err << "\npromtool:\n"
                                        << theirs.out << theirs.err;
}

INSTANTIATE_TEST_SUITE_P(
    UnitTestFiles, RulesTestConformanceTest,
    ::testing::Values(VITALS_SOURCE_DIR "/tests/conformance/promtool/unittest.yml",
                      VITALS_SOURCE_DIR "/tests/conformance/promtool/failing.yml",
                      VITALS_SOURCE_DIR "/tests/conformance/promtool/at-modifier-test.yml",
                      VITALS_SOURCE_DIR "/tests/conformance/promtool/negative-offset-test.yml",
                      VITALS_SOURCE_DIR "/tests/conformance/promtool/bad-input-series.yml",
                      VITALS_SOURCE_DIR "/tests/conformance/promtool/bad-rules-error-test.yml",
                      VITALS_SOURCE_DIR "/tests/conformance/promtool/bad-rules-syntax-test.yml",
                      VITALS_SOURCE_DIR "/tests/conformance/promtool/long-period.yml",
                      VITALS_SOURCE_DIR "/deploy/rules/host_test.yml",
                      VITALS_SOURCE_DIR "/deploy/rules/dependencies_test.yml",
                      VITALS_SOURCE_DIR "/deploy/rules/predictive_test.yml"),
    [](const ::testing::TestParamInfo<std::string>& info) {
      std::string name = std::filesystem::path(info.param).stem().string();
      std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
      return name;
    });

}  // namespace
}  // namespace vitals::testing
