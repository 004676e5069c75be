#include "rules/promql/parser.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rules/promql/functions.h"
#include "rules/promql/printer.h"

namespace vitals::promql {
namespace {

const std::string kConformanceDir = VITALS_SOURCE_DIR "/tests/conformance";

// The printed form of `input`, or its error message.
std::string Outcome(std::string_view input) {
  auto expr = ParseExpr(input);
  if (!expr.ok()) return "error: " + expr.status().message();
  return "print: " + Print(**expr);
}

// Printing, parsing the print and printing again gives the same text.
void ExpectRoundTrip(const std::string& input) {
  auto first = ParseExpr(input);
  ASSERT_TRUE(first.ok()) << input << ": " << first.status().ToString();
  const std::string printed = Print(**first);
  auto second = ParseExpr(printed);
  ASSERT_TRUE(second.ok()) << "printed form of " << input << " does not parse: " << printed
                           << ": " << second.status().ToString();
  EXPECT_EQ(Print(**second), printed) << input;
}

struct Case {
  int line = 0;
  std::string input;
  std::string want;  // "print: ..." or "error: ...".
};

// Reads testdata/parse_cases.txt (format described at its top).
std::vector<Case> ReadCases() {
  std::ifstream in(VITALS_SOURCE_DIR "/tests/rules/testdata/parse_cases.txt");
  std::vector<Case> cases;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.starts_with("input: ")) {
      cases.push_back({number, line.substr(7), ""});
    } else if (line.starts_with("input-json: ")) {
      cases.push_back({number, nlohmann::json::parse(line.substr(12)).get<std::string>(), ""});
    } else if (line.starts_with("print: ") || line.starts_with("error: ")) {
      cases.back().want = line;
    }
  }
  return cases;
}

TEST(ParserTest, MatchesPrometheusOnEveryCaseInTestdata) {
  const std::vector<Case> cases = ReadCases();
  int errors = 0;
  for (const Case& c : cases) {
    EXPECT_EQ(Outcome(c.input), c.want) << "parse_cases.txt:" << c.line << ": " << c.input;
    errors += c.want.starts_with("error: ");
  }
  EXPECT_GE(cases.size(), 150u);
  EXPECT_GE(errors, 60);
}

TEST(ParserTest, PrintedFormsOfTestdataRoundTrip) {
  for (const Case& c : ReadCases()) {
    if (c.want.starts_with("print: ")) ExpectRoundTrip(c.input);
  }
}

TEST(ParserTest, ParsesTheBenchmarkRule) {
  EXPECT_EQ(Outcome("sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m]))\n"
                    "  / sum by (job) (rate(http_requests_total[5m])) > 0.05"),
            "print: sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m])) / "
            "sum by (job) (rate(http_requests_total[5m])) > 0.05");
}

TEST(ParserTest, BuildsTreeWithPositionsAndTypes) {
  auto parsed = ParseExpr("sum by (job) (rate(x{a=\"b\"}[5m] offset 1m)) > bool 2");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Expr& root = **parsed;
  ASSERT_EQ(root.kind(), NodeKind::kBinary);
  const auto& cmp = root.As<BinaryExpr>();
  EXPECT_EQ(cmp.op, BinaryOp::kGtr);
  EXPECT_TRUE(cmp.return_bool);
  EXPECT_EQ(cmp.matching, nullptr);  // Dropped: the right side is a scalar.
  EXPECT_EQ(root.type(), ValueType::kVector);
  EXPECT_EQ(root.pos.start, 0);
  EXPECT_EQ(root.pos.end, 52);

  const auto& sum = cmp.lhs->As<AggregateExpr>();
  EXPECT_EQ(sum.op, AggregateOp::kSum);
  EXPECT_EQ(sum.grouping, std::vector<std::string>{"job"});
  EXPECT_FALSE(sum.without);
  EXPECT_EQ(sum.pos.end, 43);

  const auto& rate = sum.expr->As<Call>();
  EXPECT_EQ(rate.func->name, "rate");
  EXPECT_EQ(rate.pos.start, 14);
  const auto& range = rate.args[0]->As<MatrixSelector>();
  EXPECT_EQ(range.range, std::chrono::minutes(5));
  EXPECT_EQ(range.vector_selector->offset, std::chrono::minutes(1));
  EXPECT_EQ(range.vector_selector->name, "x");
  ASSERT_EQ(range.vector_selector->matchers.size(), 2u);
  EXPECT_EQ(range.vector_selector->matchers.back().ToString(), "__name__=\"x\"");
  EXPECT_EQ(range.pos.start, 19);
  EXPECT_EQ(range.pos.end, 41);
  EXPECT_EQ(cmp.rhs->As<NumberLiteral>().value, 2);
}

TEST(ParserTest, RecordsVectorMatching) {
  auto parsed = ParseExpr("a / ignoring (x) group_right (y, z) b or c");
  ASSERT_TRUE(parsed.ok());
  const auto& orr = (*parsed)->As<BinaryExpr>();
  EXPECT_EQ(orr.op, BinaryOp::kOr);
  EXPECT_EQ(orr.matching->card, Cardinality::kManyToMany);
  const auto& div = orr.lhs->As<BinaryExpr>();
  EXPECT_EQ(div.matching->card, Cardinality::kOneToMany);
  EXPECT_FALSE(div.matching->on);
  EXPECT_EQ(div.matching->matching_labels, std::vector<std::string>{"x"});
  EXPECT_EQ(div.matching->include, (std::vector<std::string>{"y", "z"}));
}

TEST(ParserTest, RecordsAtModifiersAndSubqueries) {
  auto parsed = ParseExpr("max_over_time(rate(x[1m])[1h:30s] @ 1603775091.5 offset -2m)");
  ASSERT_TRUE(parsed.ok());
  const auto& sq = (*parsed)->As<Call>().args[0]->As<SubqueryExpr>();
  EXPECT_EQ(sq.range, std::chrono::hours(1));
  EXPECT_EQ(sq.step, std::chrono::seconds(30));
  EXPECT_EQ(sq.offset, std::chrono::minutes(-2));
  EXPECT_EQ(sq.at, AtModifier::kTimestamp);
  EXPECT_EQ(sq.at_timestamp_ms, 1603775091500);

  auto end = ParseExpr("x @ end()");
  ASSERT_TRUE(end.ok());
  EXPECT_EQ((*end)->As<VectorSelector>().at, AtModifier::kEnd);
}

TEST(ParserTest, FoldsNegationIntoNumberLiterals) {
  auto parsed = ParseExpr("-2 ^ 2");
  ASSERT_TRUE(parsed.ok());
  // '^' binds tighter than unary minus: -(2 ^ 2).
  EXPECT_EQ((*parsed)->kind(), NodeKind::kUnary);
  auto literal = ParseExpr("- 2");
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ((*literal)->As<NumberLiteral>().value, -2);
  EXPECT_EQ((*literal)->pos.start, 0);
}

TEST(ParserTest, ReportsLineAndColumnOnLaterLines) {
  EXPECT_EQ(Outcome("sum(\n  rate(foo[5m])\n) by (job\n"),
            "error: 4:1: parse error: unclosed left parenthesis");
  EXPECT_EQ(Outcome("foo\n  + bar baz"), "error: 2:9: parse error: unexpected identifier \"baz\"");
  EXPECT_EQ(Outcome("1 ==\n  1"),
            "error: 1:3: parse error: comparisons between scalars must use BOOL modifier");
}

TEST(ParserTest, ErrorsAreInvalidArgument) {
  auto parsed = ParseExpr("foo +");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument);
}

TEST(ParseMetricSelectorTest, ReturnsMatchersWithNameLast) {
  auto matchers = ParseMetricSelector("up{job=\"node\", instance=~\"a.*\"}");
  ASSERT_TRUE(matchers.ok()) << matchers.status().ToString();
  ASSERT_EQ(matchers->size(), 3u);
  EXPECT_EQ((*matchers)[0].ToString(), "job=\"node\"");
  EXPECT_EQ((*matchers)[2].ToString(), "__name__=\"up\"");
}

TEST(ParseMetricSelectorTest, RejectsSelectorsMatchingEverything) {
  auto matchers = ParseMetricSelector("{job=~\".*\"}");
  ASSERT_FALSE(matchers.ok());
  EXPECT_EQ(matchers.status().message(),
            "1:1: parse error: vector selector must contain at least one non-empty matcher");
}

TEST(ParseMetricSelectorTest, RejectsOtherExpressions) {
  EXPECT_FALSE(ParseMetricSelector("rate(x[5m])").ok());
  EXPECT_FALSE(ParseMetricSelector("x offset 5m").ok());
  EXPECT_FALSE(ParseMetricSelector("x{").ok());
}

TEST(FormatNumberTest, PrintsLikeGo) {
  EXPECT_EQ(FormatNumber(1), "1");
  EXPECT_EQ(FormatNumber(0.5), "0.5");
  EXPECT_EQ(FormatNumber(123456), "123456");
  EXPECT_EQ(FormatNumber(1e6), "1e+06");
  EXPECT_EQ(FormatNumber(1.5e-5), "1.5e-05");
  EXPECT_EQ(FormatNumber(1e100), "1e+100");
  EXPECT_EQ(FormatNumber(-0.0001), "-0.0001");
  EXPECT_EQ(FormatNumber(INFINITY), "+Inf");
  EXPECT_EQ(FormatNumber(-INFINITY), "-Inf");
  EXPECT_EQ(FormatNumber(NAN), "NaN");
}

TEST(FunctionTableTest, KnowsEveryPrometheusFunction) {
  EXPECT_EQ(AllFunctions().size(), 70u);
  for (size_t i = 1; i < AllFunctions().size(); ++i) {
    EXPECT_LT(AllFunctions()[i - 1].name, AllFunctions()[i].name);
  }
  const Function* round = FindFunction("round");
  ASSERT_NE(round, nullptr);
  EXPECT_EQ(round->variadic, 1);
  EXPECT_EQ(FindFunction("Round"), nullptr);
  EXPECT_EQ(FindFunction("time")->return_type, ValueType::kScalar);
}

// The expression of every eval command in Prometheus's engine test scripts.
std::vector<std::string> ConformanceEvalExpressions() {
  static const std::regex kEval(R"(^eval(?:_(?:fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$)");
  std::vector<std::string> exprs;
  for (const auto& entry : std::filesystem::directory_iterator(kConformanceDir + "/promql")) {
    if (entry.path().extension() != ".test") continue;
    std::ifstream in(entry.path());
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_match(line, m, kEval)) exprs.push_back(m[2]);
    }
  }
  return exprs;
}

TEST(ConformanceTest, EveryEvalExpressionParsesAndRoundTrips) {
  // The eval_fail commands in 2.42's scripts all fail at evaluation, not parsing.
  const std::vector<std::string> exprs = ConformanceEvalExpressions();
  EXPECT_GE(exprs.size(), 560u);
  for (const std::string& e : exprs) ExpectRoundTrip(e);
}

void CollectExprs(const YAML::Node& node, std::vector<std::string>* out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (kv.first.as<std::string>() == "expr" && kv.second.IsScalar()) {
        out->push_back(kv.second.as<std::string>());
      } else {
        CollectExprs(kv.second, out);
      }
    }
  } else if (node.IsSequence()) {
    for (const auto& child : node) CollectExprs(child, out);
  }
}

std::vector<std::string> PromtoolExprs(const std::string& file) {
  std::vector<std::string> exprs;
  CollectExprs(YAML::LoadFile(kConformanceDir + "/promtool/" + file), &exprs);
  return exprs;
}

TEST(ConformanceTest, PromtoolRuleAndTestFilesParse) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kConformanceDir + "/promtool")) {
    const std::string file = entry.path().filename();
    if (file == "bad-rules-syntax.yml") continue;
    for (const std::string& e : PromtoolExprs(file)) {
      ExpectRoundTrip(e);
      ++count;
    }
  }
  EXPECT_GE(count, 30);
}

TEST(ConformanceTest, BadRulesSyntaxFailsAsInPromtool) {
  // promtool: ... could not parse expression: 1:7: parse error: unexpected end of input
  const std::vector<std::string> exprs = PromtoolExprs("bad-rules-syntax.yml");
  ASSERT_EQ(exprs.size(), 1u);
  EXPECT_EQ(Outcome(exprs[0]), "error: 1:7: parse error: unexpected end of input");
}

TEST(ConformanceTest, BadPromqlFailsOnlyAtEvaluation) {
  // promtool fails this unit test at evaluation (many-to-many matching); it parses.
  const std::vector<std::string> exprs = PromtoolExprs("bad-promql.yml");
  ASSERT_EQ(exprs.size(), 1u);
  EXPECT_EQ(Outcome(exprs[0]), "print: join_1 + on (a) join_2");
}

}  // namespace
}  // namespace vitals::promql
