// Runs Prometheus 2.42's own PromQL engine test scripts
// (tests/conformance/promql/*.test) and ours (tests/rules/testdata/engine/)
// over the engine and a real store: one test per script file. Cases the
// engine cannot pass by design are listed, with the reason, in
// tests/rules/testdata/conformance_skips.txt.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <cctype>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/rules/promql_script.h"
#include "tests/support/temp_dir.h"

namespace vitals::promql {
namespace {

const std::string kConformanceDir = VITALS_SOURCE_DIR "/tests/conformance/promql";
const std::string kEngineDir = VITALS_SOURCE_DIR "/tests/rules/testdata/engine";
const std::string kSkipsFile = VITALS_SOURCE_DIR "/tests/rules/testdata/conformance_skips.txt";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The *.test files in `dir`, sorted.
std::vector<std::string> ScriptsIn(const std::string& dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".test") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<std::string> AllScripts() {
  std::vector<std::string> paths = ScriptsIn(kConformanceDir);
  for (std::string& path : ScriptsIn(kEngineDir)) paths.push_back(std::move(path));
  return paths;
}

// The path relative to the source tree, as failure messages show it.
std::string DisplayName(const std::string& path) {
  return std::filesystem::relative(path, VITALS_SOURCE_DIR).string();
}

// "tests/conformance/promql/functions.test" -> "functions".
std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

struct Skip {
  int line = 0;       // Of the skips file.
  std::string file;   // As DisplayName gives it.
  int eval_line = 0;  // In that file.
  std::string reason;
};

// The skips file: "<file>:<line> <reason>" per line, `#` comments.
std::vector<Skip> ReadSkips() {
  std::vector<Skip> skips;
  std::istringstream in(ReadFile(kSkipsFile));
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (text.empty() || text.starts_with("#")) continue;
    Skip skip;
    skip.line = number;
    const size_t colon = text.find(':');
    const size_t space = text.find_first_of(" \t", colon);
    if (colon == std::string::npos || space == std::string::npos) {
      ADD_FAILURE() << kSkipsFile << ":" << number << ": want <file>:<line> <reason>";
      continue;
    }
    skip.file = text.substr(0, colon);
    skip.eval_line = std::atoi(text.substr(colon + 1, space - colon - 1).c_str());
    skip.reason = text.substr(text.find_first_not_of(" \t", space));
    skips.push_back(skip);
  }
  return skips;
}

class PromqlConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PromqlConformanceTest, EveryEvalPasses) {
  const std::string name = DisplayName(GetParam());
  auto script = PromqlScript::Parse(ReadFile(GetParam()), name);
  ASSERT_TRUE(script.ok()) << script.status().ToString();

  testing::TempDir scratch;
  ScriptRunOptions options;
  options.scratch_dir = scratch.path();
  for (const Skip& skip : ReadSkips()) {
    if (skip.file == name) options.skip.emplace_back(skip.eval_line, skip.reason);
  }
  const ScriptReport report = script->Run(options);

  std::cout << "[ promql   ] " << name << ": " << report.Summary() << std::endl;
  EXPECT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.Count(EvalOutcome::Result::kFailed), 0) << report.Failures(name);
}

INSTANTIATE_TEST_SUITE_P(Prometheus, PromqlConformanceTest,
                         ::testing::ValuesIn(ScriptsIn(kConformanceDir)), TestName);
INSTANTIATE_TEST_SUITE_P(Vitals, PromqlConformanceTest, ::testing::ValuesIn(ScriptsIn(kEngineDir)),
                         TestName);

// Parsing alone, so that the harness is known to read every script whether or
// not the engine passes it.
class PromqlScriptParseTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PromqlScriptParseTest, EveryCommandAndExpectationParses) {
  auto script = PromqlScript::Parse(ReadFile(GetParam()), DisplayName(GetParam()));
  ASSERT_TRUE(script.ok()) << script.status().ToString();
  EXPECT_FALSE(script->EvalLines().empty());
}

INSTANTIATE_TEST_SUITE_P(Prometheus, PromqlScriptParseTest,
                         ::testing::ValuesIn(ScriptsIn(kConformanceDir)), TestName);
INSTANTIATE_TEST_SUITE_P(Vitals, PromqlScriptParseTest, ::testing::ValuesIn(ScriptsIn(kEngineDir)),
                         TestName);

TEST(PromqlConformanceSkipsTest, NameOnlyEvalLinesOfExistingScripts) {
  std::map<std::string, std::set<int>> eval_lines;
  for (const std::string& path : AllScripts()) {
    auto script = PromqlScript::Parse(ReadFile(path), DisplayName(path));
    ASSERT_TRUE(script.ok()) << script.status().ToString();
    eval_lines[DisplayName(path)] = script->EvalLines();
  }
  for (const Skip& skip : ReadSkips()) {
    auto it = eval_lines.find(skip.file);
    if (it == eval_lines.end()) {
      ADD_FAILURE() << kSkipsFile << ":" << skip.line << ": no script " << skip.file;
    } else if (!it->second.contains(skip.eval_line)) {
      ADD_FAILURE() << kSkipsFile << ":" << skip.line << ": " << skip.file << ":" << skip.eval_line
                    << " is not an eval command";
    }
  }
}

TEST(PromqlConformanceSkipsTest, FindsTheScripts) {
  EXPECT_EQ(ScriptsIn(kConformanceDir).size(), 11u);
  EXPECT_FALSE(ScriptsIn(kEngineDir).empty());
}

}  // namespace
}  // namespace vitals::promql
