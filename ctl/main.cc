// vitalsctl: the operators' command-line tool.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "agent/agent_config.h"
#include "collector/collector_config.h"
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

  CLI11_PARSE(app, argc, argv);

  if (*check_agent) return Report(agent_file, vitals::agent::LoadAgentConfig(agent_file));
  if (*check_collector) {
    return Report(collector_file, vitals::collector::LoadCollectorConfig(collector_file));
  }
  return 1;
}
