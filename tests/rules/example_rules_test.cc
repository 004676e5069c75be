// The example rule files of deploy/rules/ and their unit tests: they must pass
// under our rule-test runner and, when it is installed, under the real
// promtool (`promtool test rules`, `promtool check rules`), so that both agree.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "rules/rule_file.h"
#include "rules/rules_test_runner.h"

namespace vitals::rules {
namespace {

const char* const kExamples[] = {"host", "dependencies", "predictive"};

std::string RulesDir() { return std::string(VITALS_SOURCE_DIR) + "/deploy/rules/"; }
std::string RuleFile(const std::string& name) { return RulesDir() + name + ".yml"; }
std::string TestFile(const std::string& name) { return RulesDir() + name + "_test.yml"; }

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool PromtoolOnPath() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

// Runs `promtool <args>` and returns its exit status (-1 if it did not exit);
// stdout and stderr go to *output.
int RunPromtool(const std::string& args, std::string* output) {
  std::string command = "promtool " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  output->clear();
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output->append(buffer, n);
  int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

class ExampleRulesTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ExampleRulesTest, PassesOurRunner) {
  std::ostringstream report;
  ASSERT_TRUE(RunRuleTestFiles({TestFile(GetParam())}, report)) << report.str();
  EXPECT_NE(report.str().find("  SUCCESS"), std::string::npos) << report.str();
}

TEST_P(ExampleRulesTest, PassesPromtoolTestRules) {
  if (!PromtoolOnPath()) GTEST_SKIP() << "promtool is not on PATH";
  std::string output;
  EXPECT_EQ(RunPromtool("test rules " + ShellQuote(TestFile(GetParam())), &output), 0) << output;
}

TEST_P(ExampleRulesTest, PassesPromtoolCheckRules) {
  if (!PromtoolOnPath()) GTEST_SKIP() << "promtool is not on PATH";
  std::string output;
  EXPECT_EQ(RunPromtool("check rules " + ShellQuote(RuleFile(GetParam())), &output), 0) << output;
  EXPECT_EQ(output.find("FAILED"), std::string::npos) << output;
}

INSTANTIATE_TEST_SUITE_P(DeployRules, ExampleRulesTest, ::testing::ValuesIn(kExamples),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

// Our reader accepts each file with as many rules as promtool finds, and
// reads the on-ingest directive of dependencies.yml (a comment to promtool).
TEST(ExampleRulesTest, RuleFilesLoadWithTheirDirectives) {
  struct Expected {
    const char* name;
    size_t rules;
  };
  for (const Expected& e :
       {Expected{"host", 16}, Expected{"dependencies", 8}, Expected{"predictive", 4}}) {
    auto file = LoadRuleFile(RuleFile(e.name));
    ASSERT_TRUE(file.ok()) << e.name << ": " << file.status().ToString();
    EXPECT_EQ(file->RuleCount(), e.rules) << e.name;
    EXPECT_TRUE(FindDuplicateRules(*file).empty()) << e.name;
    for (const RuleGroupDesc& group : file->groups) {
      EvalTrigger want =
          group.name == "dependencies-down" ? EvalTrigger::kOnIngest : EvalTrigger::kInterval;
      EXPECT_EQ(group.trigger, want) << e.name << ": group " << group.name;
    }
  }
}

// All files at once, as `promtool test rules deploy/rules/*_test.yml` runs them.
TEST(ExampleRulesTest, AllFilesPassOurRunnerTogether) {
  std::vector<std::string> files;
  for (const char* name : kExamples) files.push_back(TestFile(name));
  std::ostringstream report;
  EXPECT_TRUE(RunRuleTestFiles(files, report)) << report.str();
}

}  // namespace
}  // namespace vitals::rules
