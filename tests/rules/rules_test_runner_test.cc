#include "rules/rules_test_runner.h"

#include <sstream>

#include <gtest/gtest.h>

namespace vitals::rules {
namespace {

std::string Promtool(const std::string& name) {
  return std::string(VITALS_SOURCE_DIR) + "/tests/conformance/promtool/" + name;
}

// Runs `file` and returns whether it passed; the report goes to *report.
bool RunFile(const std::string& file, std::string* report) {
  std::ostringstream out;
  bool ok = RunRuleTestFiles({file}, out);
  *report = out.str();
  return ok;
}

TEST(RuleTestRunnerTest, PassesPrometheusOwnUnitTests) {
  std::string report;
  EXPECT_TRUE(RunFile(Promtool("unittest.yml"), &report)) << report;
  EXPECT_NE(report.find("  SUCCESS"), std::string::npos);
}

TEST(RuleTestRunnerTest, FailsPrometheusFailingTests) {
  std::string report;
  EXPECT_FALSE(RunFile(Promtool("failing.yml"), &report));
  EXPECT_NE(report.find("  FAILED:"), std::string::npos) << report;
  EXPECT_NE(report.find("alertname: InstanceDown, time: 5m"), std::string::npos) << report;
  EXPECT_NE(report.find("expr: \"test\", time: 0s"), std::string::npos) << report;
}

TEST(RuleTestRunnerTest, PassesTheAtModifierAndNegativeOffsetTests) {
  std::string report;
  EXPECT_TRUE(RunFile(Promtool("at-modifier-test.yml"), &report)) << report;
  EXPECT_TRUE(RunFile(Promtool("negative-offset-test.yml"), &report)) << report;
}

TEST(RuleTestRunnerTest, ReportsABrokenRuleFile) {
  std::string report;
  EXPECT_FALSE(RunFile(Promtool("bad-rules-error-test.yml"), &report));
  EXPECT_NE(report.find("FAILED"), std::string::npos);
  EXPECT_FALSE(RunFile(Promtool("bad-rules-syntax-test.yml"), &report));
}

TEST(RuleTestRunnerTest, ReportsBadInputSeriesWithItsPosition) {
  std::string report;
  EXPECT_FALSE(RunFile(Promtool("bad-input-series.yml"), &report));
  EXPECT_NE(report.find("parse error"), std::string::npos) << report;
}

TEST(RuleTestRunnerTest, MissingFileFails) {
  std::string report;
  EXPECT_FALSE(RunFile("/nonexistent/tests.yml", &report));
}

}  // namespace
}  // namespace vitals::rules
