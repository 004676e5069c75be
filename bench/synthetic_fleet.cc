#include "bench/synthetic_fleet.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vitals::bench {
namespace {

// One label dimension of a metric family. The first dimension of a family is
// open-ended (`prefix` + a number) so a family can have any number of series;
// the others cycle through `values`.
struct Dimension {
  const char* name;
  const char* prefix;               // First dimension only.
  std::vector<const char*> values;  // Other dimensions.
};

struct Family {
  const char* name;
  MetricType type;
  const char* help;
  std::vector<Dimension> dims;
  int motion;  // SyntheticFleet::Motion, as int to keep this table plain.
  double scale;
};

// Motions, matching SyntheticFleet::Motion's order.
constexpr int kCounterBytes = 0;
constexpr int kCounterSeconds = 1;
constexpr int kCounterEvents = 2;
constexpr int kGaugeBytes = 3;
constexpr int kGaugeRatio = 4;

const std::vector<Family>& Families() {
  static const std::vector<Family> families = {
      {"node_cpu_seconds_total", MetricType::kCounter, "Seconds the CPUs spent in each mode.",
       {{"cpu", "", {}},
        {"mode", nullptr, {"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}}},
       kCounterSeconds, 10},
      {"node_network_receive_bytes_total", MetricType::kCounter, "Network device statistic.",
       {{"device", "eth", {}}}, kCounterBytes, 5e6},
      {"node_network_transmit_bytes_total", MetricType::kCounter, "Network device statistic.",
       {{"device", "eth", {}}}, kCounterBytes, 2e6},
      {"node_disk_written_bytes_total", MetricType::kCounter, "Bytes written successfully.",
       {{"device", "nvme0n", {}}}, kCounterBytes, 4e6},
      {"node_filesystem_avail_bytes", MetricType::kGauge, "Filesystem space available.",
       {{"mountpoint", "/srv/vol", {}}, {"fstype", nullptr, {"ext4", "xfs"}}},
       kGaugeBytes, 5e10},
      {"node_memory_MemAvailable_bytes", MetricType::kGauge, "Memory information field.",
       {{"numa", "node", {}}}, kGaugeBytes, 8e9},
      {"node_load1", MetricType::kGauge, "1m load average.", {{"cgroup", "slice", {}}},
       kGaugeRatio, 4},
      {"http_requests_total", MetricType::kCounter, "HTTP requests served.",
       {{"handler", "/api/v1/endpoint", {}},
        {"code", nullptr, {"200", "404", "500"}},
        {"method", nullptr, {"GET", "POST"}}},
       kCounterEvents, 50},
      {"http_request_duration_seconds_bucket", MetricType::kCounter,
       "HTTP request latency histogram.",
       {{"handler", "/api/v1/endpoint", {}},
        {"le", nullptr, {"0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"}}},
       kCounterEvents, 30},
      {"process_open_fds", MetricType::kGauge, "Open file descriptors.",
       {{"service", "svc", {}}}, kGaugeBytes, 300},
  };
  return families;
}

// The k-th series of `family`: mixed-radix digits over the fixed dimensions,
// the rest numbers the open-ended first dimension.
Labels FamilySeries(const Family& family, int k) {
  Labels labels = {{std::string(kMetricNameLabel), family.name}};
  int rest = k;
  for (size_t d = family.dims.size(); d-- > 1;) {
    const Dimension& dim = family.dims[d];
    labels.push_back({dim.name, dim.values[rest % dim.values.size()]});
    rest /= static_cast<int>(dim.values.size());
  }
  labels.push_back({family.dims[0].name, family.dims[0].prefix + std::to_string(rest)});
  Canonicalize(&labels);
  return labels;
}

}  // namespace

SyntheticFleet::SyntheticFleet(const FleetOptions& options) : options_(options) {
  BuildSeries();
  agents_.resize(options_.agents);
  for (int a = 0; a < options_.agents; ++a) {
    AgentState& agent = agents_[a];
    char id[32];
    std::snprintf(id, sizeof(id), "load-%04d", a);
    agent.id = id;
    agent.rng.seed(options_.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(a));
    agent.stored_series_text.reserve(series_labels_.size());
    agent.values.reserve(series_labels_.size());
    for (size_t i = 0; i < series_labels_.size(); ++i) {
      Labels stored = series_labels_[i];
      SetLabel(&stored, "agent", agent.id);
      SetLabel(&stored, "instance", agent.id);
      agent.stored_series_text.push_back(FormatSeries(stored));
      // Start somewhere plausible: counters have run for a while, gauges sit
      // near their typical level.
      const SeriesModel& m = models_[i];
      std::uniform_real_distribution<double> u(0.2, 1.0);
      double v = m.scale * u(agent.rng);
      switch (m.motion) {
        case Motion::kCounterSeconds: v = std::round(v * 1e4) / 100; break;
        case Motion::kCounterBytes:
        case Motion::kCounterEvents: v = std::round(v * 1e3); break;
        case Motion::kGaugeBytes: v = std::round(v); break;
        case Motion::kGaugeRatio: break;
      }
      agent.values.push_back(v);
    }
  }
}

void SyntheticFleet::BuildSeries() {
  const std::vector<Family>& families = Families();
  std::vector<int> next_k(families.size(), 0);
  std::vector<bool> described(families.size(), false);
  for (int i = 0; i < options_.series_per_agent; ++i) {
    size_t f = static_cast<size_t>(i) % families.size();
    const Family& family = families[f];
    series_labels_.push_back(FamilySeries(family, next_k[f]++));
    models_.push_back({static_cast<Motion>(family.motion), family.scale});
    if (!described[f]) {
      metadata_.push_back({family.name, family.type, family.help});
      described[f] = true;
    }
  }
}

std::vector<double> SyntheticFleet::NextValues(int agent_index) {
  AgentState& agent = agents_[agent_index];
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (size_t i = 0; i < agent.values.size(); ++i) {
    const SeriesModel& m = models_[i];
    double& v = agent.values[i];
    double u = unit(agent.rng);
    switch (m.motion) {
      case Motion::kCounterBytes:
        v += std::floor(u * m.scale);
        break;
      case Motion::kCounterSeconds:
        v = std::round((v + std::floor(u * m.scale * 100) / 100) * 100) / 100;
        break;
      case Motion::kCounterEvents:
        // Mostly quiet series: a third of the rounds see no requests.
        v += u < 0.33 ? 0 : std::floor(u * m.scale);
        break;
      case Motion::kGaugeBytes:
        v = std::max(0.0, v + std::round((u - 0.5) * m.scale * 0.01));
        break;
      case Motion::kGaugeRatio:
        v = std::clamp(v + (u - 0.5) * 0.2, 0.0, m.scale);
        break;
    }
  }
  return agent.values;
}

}  // namespace vitals::bench
