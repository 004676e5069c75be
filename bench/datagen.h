#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "common/labels.h"
#include "common/samples.h"

// Synthetic monitoring data shaped like a fleet of hosts running the agent:
// node_exporter-style host series plus check latencies, with the value
// patterns that matter for compression (counters of ticks and bytes, gauges
// with a few significant digits, integer gauges, constants, lognormal
// latencies rounded the way they are printed).

namespace vitals::bench {

// What a series' values look like; benchmarks report per kind.
enum class SeriesKind : uint8_t {
  kCounter,       // Monotonic, noisy increments, rare resets: bytes, packets, CPU seconds.
  kGauge,         // A few significant digits around a level: 23.4 °C, load 0.52.
  kIntegerGauge,  // Whole numbers: memory bytes in pages, procs running, open fds.
  kConstant,      // Never changes: MemTotal, node_uname_info 1, boot time.
  kLatency,       // Lognormal seconds, 4 significant digits (or ns resolution).
};
inline constexpr SeriesKind kAllSeriesKinds[] = {SeriesKind::kCounter, SeriesKind::kGauge,
                                                 SeriesKind::kIntegerGauge, SeriesKind::kConstant,
                                                 SeriesKind::kLatency};

// "counter", "gauge", "integer_gauge", "constant" or "latency".
std::string_view SeriesKindName(SeriesKind kind);

// A deterministic fleet: the same seed and arguments give the same labels,
// timestamps and values on every platform (no std:: distributions). Series
// come in groups of 107 per host (53 counters, 7 gauges, 16 integer gauges,
// 21 constants, 10 latencies); the first `num_series` of hosts 0, 1, ... are
// used. Each host scrapes every interval at its own fixed offset, and with
// jitter a few milliseconds early or late, like a real agent.
// Not thread-safe.
class DataGenerator {
 public:
  // REQUIRES: interval_ms > 20 when jitter (jitter is at most ±5 ms).
  DataGenerator(uint64_t seed, size_t num_series, int64_t start_ms, int64_t interval_ms,
                bool jitter);

  // Label sets, canonical: __name__, agent, env, instance, job and the
  // family's own (cpu/mode, device, mountpoint, check, ...), 5 to 8 labels.
  const std::vector<Labels>& series() const { return labels_; }
  size_t num_series() const { return labels_.size(); }
  SeriesKind kind(size_t series) const { return models_[series].kind; }

  // Replaces *out with the next round: one sample per series, in series()
  // order, each at its host's timestamp for that round.
  void NextRound(std::vector<Sample>* out);
  // Rounds produced by NextRound so far.
  size_t rounds() const { return rounds_; }

  // The (timestamp ms, value) of one series for rounds [0, num_rounds): the
  // same as NextRound gives it, without generating the other series.
  std::vector<std::pair<int64_t, double>> SeriesSamples(size_t series, size_t num_rounds) const;

 private:
  enum class Shape : uint8_t;
  // How one series evolves; fixed at construction.
  struct Model {
    SeriesKind kind;
    Shape shape;
    double level;  // Starting value or mean.
    double rate;   // Counters: increase per second (ticks for CPU seconds).
    double noise;  // Relative or absolute spread, depending on shape.
    int digits;    // Decimal digits kept (gauges), or significant digits (latency).
  };
  // Where one series is; advanced once per round.
  struct State {
    uint64_t rng;
    double x;  // Current underlying value.
  };

  int64_t TimestampOf(size_t series, size_t round) const;
  double Step(const Model& model, State* state) const;

  const uint64_t seed_;
  const int64_t start_ms_;
  const int64_t interval_ms_;
  const bool jitter_;
  std::vector<Labels> labels_;
  std::vector<Model> models_;
  std::vector<State> initial_;  // Before round 0, for SeriesSamples.
  std::vector<State> state_;
  size_t rounds_ = 0;
};

}  // namespace vitals::bench
