// vitals-agent: measures this host and its dependencies and pushes the
// results to one or two collectors.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "agent/agent.h"
#include "agent/spool.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/version.h"

namespace {

constexpr char kUsage[] =
    "vitals-agent: measures host health and pushes it to a Vitals collector\n"
    "\n"
    "Usage: vitals-agent --config PATH [--log.level LEVEL]\n"
    "       vitals-agent --spool-status DIR\n"
    "\n"
    "  --config PATH        Path to agent.yml (required)\n"
    "  --log.level LEVEL    Override log.level: debug, info, warn, error\n"
    "  --spool-status DIR   Print what the spool in DIR holds (batches, bytes,\n"
    "                       next_seq) and exit; also while an agent runs on it\n"
    "  --version           Print the version and exit\n"
    "  -h, --help          Print this help and exit\n";

struct Flags {
  std::string config_path;
  std::string log_level;         // Empty: log.level from the configuration.
  std::string spool_status_dir;  // Set: print the spool's contents instead of running.
};

// Parses the command line by hand: a few flags do not justify CLI11's 100 KB
// of code in a process whose resident size is a target (docs/performance.md).
// Returns the exit code when the program should stop (help, version, a bad
// flag), nullopt when it should run.
std::optional<int> ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::optional<std::string_view> value;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("vitals-agent %s (%s)\n", vitals::kVersion, vitals::kRevision);
      return 0;
    }
    if (arg != "--config" && arg != "--log.level" && arg != "--spool-status") {
      std::fprintf(stderr, "unknown argument: %s\n\n%s", argv[i], kUsage);
      return 2;
    }
    if (!value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        return 2;
      }
      value = argv[++i];
    }
    (arg == "--config"      ? flags->config_path
     : arg == "--log.level" ? flags->log_level
                            : flags->spool_status_dir) = std::string(*value);
  }
  if (!flags->spool_status_dir.empty()) return std::nullopt;
  if (flags->config_path.empty()) {
    std::fprintf(stderr, "--config is required\n\n%s", kUsage);
    return 2;
  }
  if (!flags->log_level.empty() && !vitals::ParseLogLevel(flags->log_level).ok()) {
    std::fprintf(stderr, "--log.level: expected debug, info, warn or error, got \"%s\"\n",
                 flags->log_level.c_str());
    return 2;
  }
  return std::nullopt;
}

// --spool-status: what an operator (or a benchmark) wants to know while the
// collector is away.
int PrintSpoolStatus(const std::string& dir) {
  auto contents = vitals::agent::Spool::Inspect(dir);
  if (!contents.ok()) {
    std::fprintf(stderr, "%s\n", contents.status().ToString().c_str());
    return 1;
  }
  std::printf("batches %zu\nbytes %llu\nnext_seq %llu\n", contents->seqs.size(),
              static_cast<unsigned long long>(contents->bytes),
              static_cast<unsigned long long>(contents->next_seq));
  return 0;
}

// Applies the log level from the config unless --log.level overrides it.
void ApplyLogLevel(const vitals::agent::AgentConfig& config, const std::string& flag) {
  vitals::SetMinLogLevel(config.log_level);
  if (!flag.empty()) vitals::SetMinLogLevel(vitals::ParseLogLevel(flag).value());
}

}  // namespace

int main(int argc, char** argv) {
  vitals::agent::TuneAllocator();
  vitals::BlockTerminationSignals();
  Flags flags;
  if (std::optional<int> exit_code = ParseFlags(argc, argv, &flags)) return *exit_code;
  if (!flags.spool_status_dir.empty()) return PrintSpoolStatus(flags.spool_status_dir);
  const std::string& config_path = flags.config_path;
  const std::string& log_level = flags.log_level;
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
