#pragma once

// Helpers shared by the host probe tests: fixture files and looking at samples.

#include <gtest/gtest.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "agent/host_probes.h"
#include "common/labels.h"
#include "common/samples.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {

inline std::string FixturePath(std::string_view relative) {
  return std::string(VITALS_FIXTURES_DIR) + "/" + std::string(relative);
}

inline std::string ReadFixture(std::string_view relative) {
  std::ifstream in(FixturePath(relative));
  EXPECT_TRUE(in.good()) << "missing fixture " << relative;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string FormatValue(double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, end);
}

// The samples whose metric name starts with `prefix`, one "series value" line
// each, in the order they were added.
inline std::string Render(const SampleSet& set, std::string_view prefix) {
  std::string out;
  for (const Sample& s : set.samples()) {
    if (!GetLabel(s.labels, kMetricNameLabel).starts_with(prefix)) continue;
    out += FormatSeries(s.labels) + " " + FormatValue(s.value) + "\n";
  }
  return out;
}

// The value of the series `name{labels}`, if present.
inline std::optional<double> Find(const SampleSet& set, std::string_view name, Labels labels = {}) {
  labels.push_back(Label{std::string(kMetricNameLabel), std::string(name)});
  Canonicalize(&labels);
  for (const Sample& s : set.samples()) {
    if (s.labels == labels) return s.value;
  }
  return std::nullopt;
}

// The fake host under tests/fixtures/hostroot.
inline HostPaths FixtureHost() {
  return HostPaths{FixturePath("hostroot/proc"), FixturePath("hostroot/sys")};
}

// A scratch copy of the fixture host that a test may change; removed on destruction.
class ScratchHost {
 public:
  ScratchHost() {
    std::filesystem::copy(FixturePath("hostroot"), root_, std::filesystem::copy_options::recursive);
  }

  HostPaths paths() const { return HostPaths{(root_ / "proc").string(), (root_ / "sys").string()}; }
  void Write(std::string_view relative, std::string_view text) const {
    std::filesystem::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  void Remove(std::string_view relative) const { std::filesystem::remove_all(root_ / relative); }

 private:
  const testing::TempDir dir_;
  const std::filesystem::path root_{dir_.path()};
};

}  // namespace vitals::agent
