// vitals_ingest_load: an end-to-end load generator. Simulates --agents agents
// with --series series each pushing one batch per round over ZeroMQ to a
// running vitals-collector, as fast as acknowledgements allow, and prints one
// line of JSON: samples sent and acknowledged, elapsed seconds, samples/s,
// ack latency p50/p99, errors. With --victoriametrics-url it sends the
// identical samples to VictoriaMetrics instead (bench/ingest_vs_victoriametrics.sh
// compares the two).
//
// Exit status: 0 when every round was acknowledged, 3 when the deadline
// passed first (the summary says what was), 2 for bad flags, 1 for errors.

#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "bench/load_generator.h"
#include "bench/victoriametrics_import.h"

namespace {

using vitals::bench::LoadSummary;
using vitals::Result;

int Report(const Result<LoadSummary>& summary) {
  if (!summary.ok()) {
    std::fprintf(stderr, "vitals_ingest_load: %s\n", summary.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", summary->ToJson().c_str());
  return summary->complete ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Pushes synthetic agent batches to a vitals-collector (or VictoriaMetrics)"};
  vitals::bench::LoadOptions options;
  std::string vm_url;
  int vm_connections = 4;
  int64_t start_ms = -1;
  double deadline_s = 1800;
  int64_t ack_timeout_ms = options.ack_timeout.count();
  int64_t max_backoff_ms = options.max_retry_backoff.count();

  auto* target = app.add_option_group("target", "where the samples go");
  target->add_option("--endpoint", options.endpoint,
                     "collector ingest endpoint, e.g. tcp://127.0.0.1:4740");
  target->add_option("--victoriametrics-url", vm_url,
                     "send the same samples to VictoriaMetrics at this URL instead, "
                     "e.g. http://127.0.0.1:8428");
  target->require_option(1);
  app.add_option("--agents", options.fleet.agents, "simulated agents")->capture_default_str();
  app.add_option("--series", options.fleet.series_per_agent, "series per agent")
      ->capture_default_str();
  app.add_option("--rounds", options.rounds, "batches per agent")->capture_default_str();
  app.add_option("--interval-ms", options.fleet.interval_ms,
                 "virtual time between rounds (timestamps only; sending is as fast as acks allow)")
      ->capture_default_str();
  app.add_option("--window", options.window, "unacknowledged batches in flight per agent")
      ->capture_default_str();
  app.add_option("--start-ms", start_ms,
                 "timestamp of round 0 (Unix ms); default: so that the last round is now");
  app.add_option("--seed", options.fleet.seed, "seed of the generated values")
      ->capture_default_str();
  app.add_option("--ack-timeout-ms", ack_timeout_ms, "resend a batch not acked within this")
      ->capture_default_str();
  app.add_option("--max-backoff-ms", max_backoff_ms, "longest retry back-off")
      ->capture_default_str();
  app.add_option("--deadline-s", deadline_s, "give up and report after this many seconds")
      ->capture_default_str();
  app.add_option("--record", options.record_path,
                 "append every acknowledged sample to this file: "
                 "'agent seq timestamp_ms value_bits_hex series' per line");
  app.add_option("--vm-connections", vm_connections,
                 "concurrent HTTP connections to VictoriaMetrics")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (start_ms < 0) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const int64_t interval = std::max<int64_t>(1, options.fleet.interval_ms);
    start_ms = (now_ms / interval - std::max(0, options.rounds - 1)) * interval;
  }
  options.fleet.start_ms = start_ms;
  options.ack_timeout = std::chrono::milliseconds(ack_timeout_ms);
  options.max_retry_backoff = std::chrono::milliseconds(max_backoff_ms);
  options.deadline = std::chrono::milliseconds(static_cast<int64_t>(deadline_s * 1000));

  if (!vm_url.empty()) {
    vitals::bench::VmImportOptions vm;
    vm.url = vm_url;
    vm.fleet = options.fleet;
    vm.rounds = options.rounds;
    vm.connections = vm_connections;
    vm.deadline = options.deadline;
    return Report(vitals::bench::ImportToVictoriaMetrics(vm));
  }
  auto generator = vitals::bench::LoadGenerator::Create(options);
  if (!generator.ok()) {
    std::fprintf(stderr, "vitals_ingest_load: %s\n", generator.status().ToString().c_str());
    return 2;
  }
  return Report((*generator)->Run());
}
