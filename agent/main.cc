// vitals-agent: measures this host and its dependencies and pushes the
// results to one or two collectors.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "agent/agent.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/version.h"

namespace {

// Applies the log level from the config unless --log.level overrides it.
void ApplyLogLevel(const vitals::agent::AgentConfig& config, const std::string& flag) {
  vitals::SetMinLogLevel(config.log_level);
  if (!flag.empty()) vitals::SetMinLogLevel(vitals::ParseLogLevel(flag).value());
}

}  // namespace

int main(int argc, char** argv) {
  vitals::BlockTerminationSignals();
  CLI::App app{"vitals-agent: measures host health and pushes it to a Vitals collector"};
  std::string config_path;
  std::string log_level;
  app.add_option("--config", config_path, "Path to agent.yml")->required();
  app.add_option("--log.level", log_level, "Override log.level: debug, info, warn, error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.set_version_flag("--version", std::string("vitals-agent ") + vitals::kVersion + " (" +
                                        vitals::kRevision + ")");
  CLI11_PARSE(app, argc, argv);

  auto setup = vitals::agent::LoadAgentSetup(config_path);
  if (!setup.ok()) {
    std::fprintf(stderr, "%s\n", setup.status().message().c_str());
    return 2;
  }
  ApplyLogLevel(setup->config, log_level);

  // The signal thread decides: SIGTERM/SIGINT stop for good; SIGHUP stops the
  // current agent only if the new configuration is valid, and the loop below
  // starts the next one with it. The spool carries everything across.
  std::mutex mu;
  vitals::agent::Agent* running = nullptr;  // GUARDED_BY(mu)
  bool terminate = false;                   // GUARDED_BY(mu)
  std::optional<vitals::agent::AgentSetup> next_setup;  // GUARDED_BY(mu)
  std::thread signal_thread([&] {
    while (true) {
      int sig = vitals::WaitForSignal();
      std::lock_guard lock(mu);
      if (sig == SIGHUP) {
        auto reloaded = vitals::agent::LoadAgentSetup(config_path);
        if (!reloaded.ok()) {
          LOG_ERROR << "reload refused, keeping the running configuration: "
                    << reloaded.status().message();
          continue;
        }
        LOG_INFO << "reloading " << config_path;
        next_setup = std::move(reloaded).value();
      } else {
        LOG_INFO << "received signal " << sig << ", shutting down";
        terminate = true;
      }
      if (running != nullptr) running->Stop();
      if (terminate) return;
    }
  });

  vitals::agent::AgentSetup current = std::move(setup).value();
  int exit_code = 0;
  while (true) {
    auto agent = vitals::agent::Agent::Create(std::move(current));
    if (!agent.ok()) {
      LOG_ERROR << "cannot start: " << agent.status().ToString();
      exit_code = 1;
      break;
    }
    {
      std::lock_guard lock(mu);
      if (terminate) break;
      running = agent->get();
      // A reload that arrived while this agent was being created found no
      // agent to stop; stop this one so the loop applies it.
      if (next_setup) running->Stop();
    }
    (*agent)->Run();
    std::lock_guard lock(mu);
    running = nullptr;
    if (terminate || !next_setup) break;
    current = std::move(*next_setup);
    next_setup.reset();
    ApplyLogLevel(current.config, log_level);
  }
  if (exit_code != 0) {
    // The signal thread waits for a signal; send ourselves one to end it.
    std::lock_guard lock(mu);
    terminate = true;
    kill(getpid(), SIGTERM);
  }
  signal_thread.join();
  return exit_code;
}
