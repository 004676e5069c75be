// vitals-collector: receives agents' batches, stores them, serves /metrics and /federate.
#include <csignal>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "collector/collector.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/version.h"

int main(int argc, char** argv) {
  vitals::BlockTerminationSignals();
  CLI::App app{"vitals-collector: stores agents' health data and serves it to Prometheus"};
  std::string config_path;
  std::string log_level;
  app.add_option("--config", config_path, "Path to collector.yml")->required();
  app.add_option("--log.level", log_level, "Override log.level: debug, info, warn, error");
  app.set_version_flag("--version", std::string("vitals-collector ") + vitals::kVersion + " (" +
                                        vitals::kRevision + ")");
  CLI11_PARSE(app, argc, argv);

  auto config = vitals::collector::LoadCollectorConfig(config_path);
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

  auto collector = vitals::collector::Collector::Start(*config);
  if (!collector.ok()) {
    LOG_ERROR << "cannot start: " << collector.status().ToString();
    return 1;
  }
  int sig;
  while ((sig = vitals::WaitForSignal()) == SIGHUP) {
    LOG_INFO << "received SIGHUP, reloading rules";
    (void)(*collector)->ReloadRules();
  }
  LOG_INFO << "received signal " << sig << ", shutting down";
  (*collector)->Stop();
  return 0;
}
