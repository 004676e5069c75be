#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/labels.h"
#include "common/samples.h"

namespace vitals::bench {

struct FleetOptions {
  // Simulated agents; each is one host with the same kinds of series.
  int agents = 100;
  // Series per agent; one sample of each per round.
  int series_per_agent = 1000;
  // Timestamp of round 0 (Unix milliseconds); round r is at
  // start_ms + r * interval_ms.
  int64_t start_ms = 0;
  int64_t interval_ms = 10000;
  // Everything generated follows from the seed: two fleets with equal options
  // produce bit-identical samples.
  uint64_t seed = 1;
};

// A deterministic fleet of hosts that look like node_exporter and an HTTP
// service: counters that grow by realistic increments (integers for bytes and
// requests, hundredths for CPU seconds), gauges that random-walk, histogram
// buckets. Each agent's values depend only on the seed, the agent and how
// many rounds were generated before, so the Vitals and VictoriaMetrics runs of
// a benchmark see the same samples.
//
// Not thread-safe.
class SyntheticFleet {
 public:
  explicit SyntheticFleet(const FleetOptions& options);
  SyntheticFleet(const SyntheticFleet&) = delete;
  SyntheticFleet& operator=(const SyntheticFleet&) = delete;

  const FleetOptions& options() const { return options_; }

  // "load-0007"; sent as Hello.agent_id.
  const std::string& AgentId(int agent) const { return agents_[agent].id; }

  // The label sets an agent sends (with __name__, without the agent and
  // instance labels the collector adds), canonical; the same for every agent.
  const std::vector<Labels>& SeriesLabels() const { return series_labels_; }
  // Type and help of every metric name in SeriesLabels().
  const std::vector<MetricDesc>& Metadata() const { return metadata_; }

  // The series as the collector stores it: SeriesLabels()[i] plus
  // agent="<id>" and instance="<id>", in the text format (FormatSeries).
  const std::string& StoredSeriesText(int agent, int series) const {
    return agents_[agent].stored_series_text[series];
  }

  // Timestamp of `round`.
  int64_t RoundTimestampMs(int round) const {
    return options_.start_ms + round * options_.interval_ms;
  }

  // The next round's values of `agent`, one per series in SeriesLabels()
  // order. REQUIRES: called once per round, in round order, per agent.
  std::vector<double> NextValues(int agent);

 private:
  // How a series' value moves from round to round.
  enum class Motion {
    kCounterBytes,    // += integer up to `scale` per round.
    kCounterSeconds,  // += hundredths, up to `scale` per round.
    kCounterEvents,   // += small integer up to `scale`.
    kGaugeBytes,      // Integer random walk around `scale`.
    kGaugeRatio,      // Float random walk in [0, scale].
  };
  struct SeriesModel {
    Motion motion;
    double scale;
  };
  struct AgentState {
    std::string id;
    std::vector<std::string> stored_series_text;
    std::vector<double> values;  // Last generated.
    std::mt19937_64 rng;
  };

  void BuildSeries();

  const FleetOptions options_;
  std::vector<Labels> series_labels_;
  std::vector<SeriesModel> models_;
  std::vector<MetricDesc> metadata_;
  std::vector<AgentState> agents_;
};

}  // namespace vitals::bench
