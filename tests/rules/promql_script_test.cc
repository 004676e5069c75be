#include "tests/rules/promql_script.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>

#include "tests/support/temp_dir.h"

namespace vitals::promql {
namespace {

std::string ParseError(std::string_view text) {
  auto script = PromqlScript::Parse(text, "t.test");
  return script.ok() ? "ok" : script.status().message();
}

TEST(PromqlScriptTest, ReadsLoadSeriesAtTheIntervalFromZero) {
  auto script = PromqlScript::Parse("load 5m\n  m{a=\"b\"} 1+1x2 _ 7\n  n 3\n", "t.test");
  ASSERT_TRUE(script.ok()) << script.status().ToString();
  ASSERT_EQ(script->commands().size(), 1u);
  const auto& load = std::get<LoadCommand>(script->commands()[0]);
  EXPECT_EQ(load.line, 1);
  EXPECT_EQ(load.interval, std::chrono::minutes(5));
  ASSERT_EQ(load.series.size(), 2u);
  EXPECT_EQ(FormatSeries(load.series[0].labels), "m{a=\"b\"}");
  EXPECT_EQ(load.series[0].values.size(), 5u);
  EXPECT_FALSE(load.series[0].values[3].has_value());
}

TEST(PromqlScriptTest, ReadsEvalModesTimesAndExpectations) {
  auto script = PromqlScript::Parse(
      "eval instant at 1h5m sum(m)\n  {} 3\n  m{a=\"b\"} 1\n\n"
      "eval_ordered instant at 10s topk(1, m)\n  m 2\n\n"
      "eval_fail instant at 0m m\n\n"
      "# comment\n"
      "eval instant at 50m 1 - -1\n  2\n",
      "t.test");
  ASSERT_TRUE(script.ok()) << script.status().ToString();
  ASSERT_EQ(script->commands().size(), 4u);
  const auto& first = std::get<EvalCommand>(script->commands()[0]);
  EXPECT_EQ(first.mode, EvalCommand::Mode::kUnordered);
  EXPECT_EQ(first.time_ms, 3'900'000);
  EXPECT_EQ(first.expr_text, "sum(m)");
  ASSERT_EQ(first.samples.size(), 2u);
  EXPECT_EQ(first.samples[1].position, 2);
  EXPECT_EQ(std::get<EvalCommand>(script->commands()[1]).mode, EvalCommand::Mode::kOrdered);
  EXPECT_EQ(std::get<EvalCommand>(script->commands()[2]).mode, EvalCommand::Mode::kFail);
  const auto& scalar = std::get<EvalCommand>(script->commands()[3]);
  EXPECT_EQ(scalar.line, 11);
  EXPECT_EQ(scalar.expr_text, "1 - -1");
  EXPECT_EQ(scalar.scalar, 2.0);
  EXPECT_EQ(scalar.Describe(), "eval instant at 50m 1 - -1");
}

TEST(PromqlScriptTest, CommentLineEndsALoadBlock) {
  // As in test.go, a comment is a blank line, so the next line is a command.
  EXPECT_EQ(ParseError("load 1m\n  m 1\n  # note\n  n 2\n"), "t.test:4: invalid command \"n 2\"");
}

TEST(PromqlScriptTest, ErrorsNameTheFileAndLine) {
  EXPECT_EQ(ParseError("\nfrobnicate\n"), "t.test:2: invalid command \"frobnicate\"");
  EXPECT_EQ(ParseError("load\n"), "t.test:1: invalid load command. (load <step:duration>)");
  EXPECT_EQ(ParseError("eval at 5m m\n"),
            "t.test:1: invalid evaluation command. (eval[_fail|_ordered] instant [at "
            "<offset:duration>] <query>");
  EXPECT_EQ(ParseError("eval instant at 5m m\n  m 1 2\n"),
            "t.test:2: expecting multiple values in instant evaluation not allowed");
}

TEST(PromqlScriptTest, ParseErrorsPointIntoTheLine) {
  EXPECT_EQ(ParseError("load 5m\n  m{a=\"b\" 1\n"),
            "t.test:2:9: parse error: unexpected character inside braces: '1'");
  EXPECT_EQ(ParseError("eval instant at 5m sum(\n"),
            "t.test:1:24: parse error: unclosed left parenthesis");
}

TEST(PromqlScriptTest, BadDurationsAreErrors) {
  EXPECT_TRUE(ParseError("load 5x\n  m 1\n").starts_with("t.test:1: invalid step definition \"5x\""));
  EXPECT_TRUE(ParseError("eval instant at 5q m\n").starts_with("t.test:1: invalid step definition"));
}


// Runs `text` as "t.test" over a fresh store.
class PromqlScriptRunTest : public ::testing::Test {
 protected:
  void SetUp() override { options_.scratch_dir = scratch_.path(); }

  ScriptReport Run(std::string_view text) {
    auto script = PromqlScript::Parse(text, "t.test");
    EXPECT_TRUE(script.ok()) << script.status().ToString();
    if (!script.ok()) return {};
    return script->Run(options_);
  }

  // The failure report of `text`, "" if every eval passed.
  std::string Failures(std::string_view text) {
    ScriptReport report = Run(text);
    EXPECT_TRUE(report.error.ok()) << report.error.ToString();
    return report.Failures("t.test");
  }

  testing::TempDir scratch_;
  ScriptRunOptions options_;
};

constexpr std::string_view kTwoSeries =
    "load 1m\n"
    "  m{i=\"1\"} 1 2\n"
    "  m{i=\"2\"} 10 20\n"
    "\n";

TEST_F(PromqlScriptRunTest, PassesWhenTheResultMatchesInAnyOrder) {
  EXPECT_EQ(Failures(std::string(kTwoSeries) +
                     "eval instant at 1m m\n  m{i=\"2\"} 20\n  m{i=\"1\"} 2\n"),
            "");
}

TEST_F(PromqlScriptRunTest, ReportsAWrongValueWithFileLineExpectedAndGot) {
  EXPECT_EQ(Failures(std::string(kTwoSeries) +
                     "eval instant at 1m m\n  m{i=\"1\"} 2\n  m{i=\"2\"} 21\n"),
            "t.test:5: eval instant at 1m m\n"
            "  expected 21 for m{i=\"2\"} but got 20\n"
            "  expected:\n"
            "    m{i=\"1\"} 2\n"
            "    m{i=\"2\"} 21\n"
            "  got:\n"
            "    m{i=\"1\"} 2\n"
            "    m{i=\"2\"} 20\n");
}

TEST_F(PromqlScriptRunTest, ReportsMissingAndUnexpectedSeries) {
  EXPECT_NE(Failures(std::string(kTwoSeries) + "eval instant at 1m m\n  m{i=\"1\"} 2\n")
                .find("unexpected metric m{i=\"2\"} in result"),
            std::string::npos);
  EXPECT_NE(Failures(std::string(kTwoSeries) +
                     "eval instant at 1m m{i=\"1\"}\n  m{i=\"1\"} 2\n  m{i=\"3\"} 2\n")
                .find("expected metric m{i=\"3\"} with 2 not found"),
            std::string::npos);
}

TEST_F(PromqlScriptRunTest, ComparesWithRelativeToleranceAndNaNEqualsNaN) {
  EXPECT_EQ(Failures(std::string(kTwoSeries) + "eval instant at 1m sum(m)\n  {} 22.0000001\n"), "");
  EXPECT_NE(Failures(std::string(kTwoSeries) + "eval instant at 1m sum(m)\n  {} 22.001\n"), "");
  EXPECT_EQ(Failures("eval instant at 0m NaN\n  NaN\n"), "");
}

TEST_F(PromqlScriptRunTest, ScalarResultsCompareTheValue) {
  EXPECT_EQ(Failures("eval instant at 0m 1 + 1\n  2\n"), "");
  EXPECT_NE(Failures("eval instant at 0m 1 + 1\n  3\n").find("expected scalar 3 but got 2"),
            std::string::npos);
}

TEST_F(PromqlScriptRunTest, EvalFailPassesOnlyOnAnError) {
  const std::string duplicate = "load 1m\n  a{j=\"x\"} 1\n  b{j=\"x\"} 1\n\n";
  EXPECT_EQ(Failures(duplicate + "eval_fail instant at 0m abs({__name__=~\"a|b\"})\n"), "");
  EXPECT_NE(Failures(duplicate + "eval_fail instant at 0m abs(a)\n")
                .find("expected an error but got none"),
            std::string::npos);
}

TEST_F(PromqlScriptRunTest, EvalOrderedChecksPositions) {
  EXPECT_EQ(Failures(std::string(kTwoSeries) +
                     "eval_ordered instant at 1m sort_desc(m)\n  m{i=\"2\"} 20\n  m{i=\"1\"} 2\n"),
            "");
  EXPECT_NE(Failures(std::string(kTwoSeries) +
                     "eval_ordered instant at 1m sort_desc(m)\n  m{i=\"1\"} 2\n  m{i=\"2\"} 20\n")
                .find("at position 2 but was at 1"),
            std::string::npos);
}

TEST_F(PromqlScriptRunTest, ClearDropsAllData) {
  EXPECT_EQ(Failures(std::string(kTwoSeries) + "clear\n\neval instant at 1m m\n"), "");
}

TEST_F(PromqlScriptRunTest, SkippedEvalsAreCountedNotRun) {
  options_.skip = {{5, "not supported"}};
  ScriptReport report = Run(std::string(kTwoSeries) + "eval instant at 1m m\n  m 999\n");
  ASSERT_EQ(report.evals.size(), 1u);
  EXPECT_EQ(report.evals[0].result, EvalOutcome::Result::kSkipped);
  EXPECT_EQ(report.Summary(), "0 passed, 0 failed, 1 skipped");
}

TEST_F(PromqlScriptRunTest, ALoadTheStoreRejectsStopsTheRun) {
  // Another value for an existing sample, as Prometheus's appender refuses.
  ScriptReport report = Run("load 1m\n  m 1\n\nload 1m\n  m 2\n\neval instant at 0m m\n  m 1\n");
  EXPECT_FALSE(report.error.ok());
  EXPECT_NE(report.error.message().find("t.test:4: load"), std::string::npos)
      << report.error.ToString();
  EXPECT_TRUE(report.evals.empty());
}

}  // namespace
}  // namespace vitals::promql
