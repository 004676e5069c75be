// vitalsctl: the operators' command-line tool.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "agent/agent.h"
#include "collector/collector_config.h"
#include "common/curve_keys.h"
#include "common/version.h"

namespace {

// Prints "<file>: OK" or the error, and returns the process exit status
// (0 valid, 2 invalid), the same convention as the daemons at start-up.
template <typename Config>
int Report(const std::string& file, const vitals::Result<Config>& result) {
  if (!result.ok()) {
    std::fprintf(stderr, "%s\n", result.status().message().c_str());
    return 2;
  }
  std::printf("%s: OK\n", file.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vitalsctl: operate a Vitals installation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("vitalsctl ") + vitals::kVersion + " (" +
                                        vitals::kRevision + ")");

  CLI::App* check = app.add_subcommand("check", "Validate files without starting anything");
  check->require_subcommand(1);
  std::string agent_file, collector_file;
  CLI::App* check_agent = check->add_subcommand("agent-config", "Validate an agent.yml");
  check_agent->add_option("file", agent_file, "Path to agent.yml")->required();
  CLI::App* check_collector =
      check->add_subcommand("collector-config", "Validate a collector.yml");
  check_collector->add_option("file", collector_file, "Path to collector.yml")->required();

  CLI::App* keys = app.add_subcommand("keys", "Manage CurveZMQ keys");
  keys->require_subcommand(1);
  std::string key_dir = ".";
  std::string key_name;
  CLI::App* generate = keys->add_subcommand(
      "generate", "Write a new key pair: NAME.key (secret, mode 0600) and NAME.pub");
  generate->add_option("--name", key_name, "Base name of the files, e.g. the agent id")->required();
  generate->add_option("--dir", key_dir, "Directory to write them to")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (*generate) {
    auto pair = vitals::GenerateCurveKeyPair();
    vitals::Status written =
        pair.ok() ? vitals::WriteCurveKeyPair(*pair, key_dir, key_name) : pair.status();
    if (!written.ok()) {
      std::fprintf(stderr, "%s\n", written.message().c_str());
      return 1;
    }
    std::printf("wrote %s/%s.key (secret) and %s/%s.pub\npublic key: %s\n", key_dir.c_str(),
                key_name.c_str(), key_dir.c_str(), key_name.c_str(), pair->public_key.c_str());
    return 0;
  }

  if (*check_agent) return Report(agent_file, vitals::agent::LoadAgentConfig(agent_file));
  if (*check_collector) {
    return Report(collector_file, vitals::collector::LoadCollectorConfig(collector_file));
  }
  return 1;
}
