// A bad configuration file stops either program at start-up with exit status
// 2 and exactly one line on stderr, `<file>:<line>: <key>: <message>`.

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

class ConfigErrorTest : public ::testing::Test {
 protected:
  // Runs `binary` on a config file holding `yaml` and checks that it fails as
  // a config error should: status 2, one line on stderr that starts with
  // `<file>:<line>:` (the given line, if any) and names `key` (if not empty).
  void ExpectConfigError(const std::string& binary, const std::string& yaml,
                         std::optional<int> line, std::string_view key) {
    const std::string config = dir_.File("config.yml");
    WriteFile(config, yaml);
    std::string error;
    std::unique_ptr<Process> process = StartProgram(binary, config, dir_.File("run"), &error);
    ASSERT_NE(process, nullptr) << error;

    std::optional<int> status = process->Wait(30s);
    ASSERT_TRUE(status.has_value()) << "still running 30s after start with a bad config:\n"
                                    << yaml << process->Output();
    EXPECT_EQ(*status, 2) << process->Output();

    std::string stderr_text = process->Stderr();
    ASSERT_FALSE(stderr_text.empty()) << "nothing on stderr";
    ASSERT_EQ(stderr_text.back(), '\n') << stderr_text;
    const std::string message = stderr_text.substr(0, stderr_text.size() - 1);
    EXPECT_EQ(message.find('\n'), std::string::npos) << "more than one line:\n" << stderr_text;

    const std::string prefix = config + ":";
    ASSERT_EQ(message.rfind(prefix, 0), 0u) << "does not start with " << prefix << "\n" << message;
    size_t end = prefix.size();
    while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) ++end;
    ASSERT_GT(end, prefix.size()) << "no line number after the file name: " << message;
    ASSERT_LT(end, message.size());
    EXPECT_EQ(message[end], ':') << message;
    if (line) {
      EXPECT_EQ(std::atoi(message.c_str() + prefix.size()), *line) << message;
    }
    if (!key.empty()) {
      const std::string named = ": " + std::string(key) + ": ";
      EXPECT_EQ(message.compare(end, named.size(), named), 0)
          << "does not name " << key << " after the line number: " << message;
    }
  }

  // A valid collector.yml whose keys each occupy a known line:
  //   1 ingest:  2 listen  3 max_message_size  4 web:  5 listen
  //   6 storage:  7 path  8 log:  9 level
  std::string CollectorYaml() const {
    std::ostringstream yml;
    yml << "ingest:\n"
        << "  listen: tcp://127.0.0.1:" << FreeTcpPort() << "\n"
        << "  max_message_size: 64KiB\n"
        << "web:\n"
        << "  listen: 127.0.0.1:" << FreeTcpPort() << "\n"
        << "storage:\n"
        << "  path: " << dir_.File("data") << "\n"
        << "log:\n"
        << "  level: info\n";
    return yml.str();
  }

  // A valid agent.yml:  1 agent_id  2 interval  3 collector:  4 endpoint
  //   5 ack_timeout  6 log:  7 level
  static std::string AgentYaml() {
    std::ostringstream yml;
    yml << "agent_id: config-test\n"
        << "interval: 200ms\n"
        << "collector:\n"
        << "  endpoint: tcp://127.0.0.1:" << FreeTcpPort() << "\n"
        << "  ack_timeout: 1s\n"
        << "log:\n"
        << "  level: info\n";
    return yml.str();
  }

  // `yaml` with its line `line` (1-based) replaced by `text`.
  static std::string ReplaceLine(const std::string& yaml, int line, const std::string& text) {
    size_t begin = 0;
    for (int i = 1; i < line; ++i) begin = yaml.find('\n', begin) + 1;
    size_t end = yaml.find('\n', begin);
    return yaml.substr(0, begin) + text + yaml.substr(end);
  }

  TempDir dir_;
};

// Line 2 has a second mapping value where YAML allows none.
constexpr char kNotYaml[] = "log:\n  level: info: debug\n";

TEST_F(ConfigErrorTest, CollectorRejectsFileThatIsNotYaml) {
  ExpectConfigError(CollectorBinary(), kNotYaml, 2, "");
}

TEST_F(ConfigErrorTest, CollectorRejectsUnknownKey) {
  ExpectConfigError(CollectorBinary(), ReplaceLine(CollectorYaml(), 5, "  listne: 127.0.0.1:0"), 5,
                    "web.listne");
}

TEST_F(ConfigErrorTest, CollectorRejectsValueOfWrongType) {
  ExpectConfigError(CollectorBinary(), ReplaceLine(CollectorYaml(), 3, "  max_message_size: lots"),
                    3, "ingest.max_message_size");
}

TEST_F(ConfigErrorTest, CollectorRequiresStoragePath) {
  ExpectConfigError(CollectorBinary(), ReplaceLine(CollectorYaml(), 7, "  # no path"), std::nullopt,
                    "storage.path");
}

TEST_F(ConfigErrorTest, AgentRejectsFileThatIsNotYaml) {
  ExpectConfigError(AgentBinary(), kNotYaml, 2, "");
}

TEST_F(ConfigErrorTest, AgentRejectsUnknownKey) {
  ExpectConfigError(AgentBinary(), ReplaceLine(AgentYaml(), 5, "  ack_timout: 1s"), 5,
                    "collector.ack_timout");
}

TEST_F(ConfigErrorTest, AgentRejectsValueOfWrongType) {
  ExpectConfigError(AgentBinary(), ReplaceLine(AgentYaml(), 2, "interval: fast"), 2, "interval");
}

TEST_F(ConfigErrorTest, AgentRequiresCollectorEndpoint) {
  ExpectConfigError(AgentBinary(), ReplaceLine(AgentYaml(), 4, "  # no endpoint"), std::nullopt,
                    "collector.endpoint");
}

}  // namespace
}  // namespace vitals::testing
