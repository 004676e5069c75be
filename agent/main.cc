// vitals-agent: measures this host and pushes the samples to a collector.
#include <cstdio>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "agent/agent.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/version.h"

int main(int argc, char** argv) {
  vitals::BlockTerminationSignals();
  CLI::App app{"vitals-agent: measures host health and pushes it to a Vitals collector"};
  std::string config_path;
  std::string log_level;
  app.add_option("--config", config_path, "Path to agent.yml")->required();
  app.add_option("--log.level", log_level, "Override log.level: debug, info, warn, error");
  app.set_version_flag("--version", std::string("vitals-agent ") + vitals::kVersion + " (" +
                                        vitals::kRevision + ")");
  CLI11_PARSE(app, argc, argv);

  auto config = vitals::agent::LoadAgentConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  vitals::SetMinLogLevel(config->log_level);
  if (!log_level.empty()) {
    auto level = vitals::ParseLogLevel(log_level);
    if (!level.ok()) {
      std::fprintf(stderr, "--log.level: %s\n", level.status().message().c_str());
      return 2;
    }
    vitals::SetMinLogLevel(*level);
  }

  auto agent = vitals::agent::Agent::Create(*config);
  if (!agent.ok()) {
    LOG_ERROR << "cannot start: " << agent.status().ToString();
    return 1;
  }
  std::thread signal_thread([&agent] {
    int sig = vitals::WaitForTerminationSignal();
    LOG_INFO << "received signal " << sig << ", shutting down";
    (*agent)->Stop();
  });
  (*agent)->Run();
  signal_thread.join();
  return 0;
}
