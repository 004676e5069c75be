#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/synthetic_fleet.h"
#include "common/status.h"

namespace vitals::bench {

struct LoadOptions {
  // The collector's ingest endpoint, e.g. "tcp://127.0.0.1:4740".
  std::string endpoint;
  // Agents, series, rounds, start time, interval and seed of the samples.
  FleetOptions fleet;
  // Rounds each agent sends (one batch per round).
  int rounds = 60;

  // --- Behaviour, as the real agent's CollectorClient ---
  // Batches an agent keeps sent and unacknowledged at once.
  int window = 4;
  // A batch or Hello not acknowledged within this time is sent again.
  std::chrono::milliseconds ack_timeout{std::chrono::seconds(5)};
  // Back-off after a failed send or a resend: starts at 100 ms, doubles up to
  // this.
  std::chrono::milliseconds max_retry_backoff{std::chrono::seconds(1)};
  // Give up (and report what was acknowledged) after this much wall time.
  std::chrono::milliseconds deadline{std::chrono::minutes(30)};

  // --- Output ---
  // When set, every acknowledged batch is appended to this file, one line per
  // sample: "<agent_id> <seq> <timestamp_ms> <value as 16 hex digits of its
  // IEEE-754 bits> <series in the text format>". See ParseRecordLine.
  std::string record_path;
};

// What a run did. Counts are unique batches and samples: a batch resent
// three times counts once in samples_sent.
struct LoadSummary {
  uint64_t batches_sent = 0;
  uint64_t batches_acked = 0;
  uint64_t samples_sent = 0;
  uint64_t samples_acked = 0;
  uint64_t resends = 0;         // Batches sent again after a timeout or HELLO_REQUIRED.
  uint64_t errors = 0;          // Error replies from the collector.
  uint64_t batches_rejected = 0;  // INVALID_BATCH / TOO_LARGE: given up.
  double elapsed_seconds = 0;   // From the first send to the last ack (or the deadline).
  double ack_latency_p50_ms = 0;  // From a batch's latest send to its ack.
  double ack_latency_p99_ms = 0;
  bool complete = false;        // Every round of every agent was acknowledged.

  // One line of JSON.
  std::string ToJson() const;
};

// Sets summary's ack latency percentiles from `latencies_ms` (any order).
void SetLatencyPercentiles(std::vector<float> latencies_ms, LoadSummary* summary);

// One parsed line of a record file.
struct RecordedSample {
  std::string agent_id;
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;
  uint64_t value_bits = 0;
  std::string series;  // FormatSeries of the stored labels.
};
// InvalidArgument if `line` is not a record line.
Result<RecordedSample> ParseRecordLine(std::string_view line);

// Simulates a fleet of agents over ZeroMQ: one DEALER per agent, each saying
// Hello and then sending one Batch per round with seq = round + 1, keeping up
// to `window` unacknowledged, resending on timeout and on HELLO_REQUIRED with
// back-off, as agent/collector_client does. One thread polls every socket.
// Virtual time: round timestamps advance by the interval, but batches go out
// as fast as acknowledgements allow.
//
// Run() is called once, on any thread; batches_acked() and RequestStop() may
// be called from other threads meanwhile.
class LoadGenerator {
 public:
  // InvalidArgument for bad options; IOError if the record file cannot be
  // opened. Connecting happens in Run.
  static Result<std::unique_ptr<LoadGenerator>> Create(const LoadOptions& options);
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Sends every round of every agent until all are acknowledged, the deadline
  // passes or RequestStop() is called. IOError if writing the record fails.
  Result<LoadSummary> Run();

  // Batches acknowledged so far (and recorded, when recording).
  uint64_t batches_acked() const { return batches_acked_.load(); }
  // Makes Run() return soon with what was acknowledged.
  void RequestStop() { stop_.store(true); }

 private:
  struct Impl;
  explicit LoadGenerator(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> batches_acked_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace vitals::bench
