#include "bench/datagen.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

namespace vitals::bench {

enum class DataGenerator::Shape : uint8_t {
  kTicks,         // Counter of 1/100 s ticks, value ticks / 100 (CPU seconds).
  kMillis,        // Counter of milliseconds, value ms / 1000 (disk io time).
  kCount,         // Counter of whole units (bytes, packets), rare resets.
  kDecimalGauge,  // Mean-reverting around level, `digits` decimals, >= 0.
  kPagesGauge,    // Random walk in 4096-byte pages.
  kWholeGauge,    // Mean-reverting whole number around level, >= 0.
  kConstant,      // level, always.
  kLatency,       // Lognormal around level, `digits` significant digits.
  kLatencyNanos,  // Lognormal around level, nanosecond resolution.
};

namespace {

// SplitMix64: tiny, fast, and the same everywhere.
uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Hash(uint64_t a, uint64_t b, uint64_t c = 0) {
  uint64_t state = a * 0x9e3779b97f4a7c15ull ^ b;
  NextRandom(&state);
  state ^= c;
  return NextRandom(&state);
}

// In [0, 1).
double Uniform(uint64_t* state) { return static_cast<double>(NextRandom(state) >> 11) * 0x1p-53; }

// Standard normal, Box-Muller.
double Normal(uint64_t* state) {
  const double u = 1.0 - Uniform(state);  // (0, 1]
  const double v = Uniform(state);
  return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
}

// What a parser gives for `x` printed with `decimals` decimals: the double
// nearest mantissa / 10^decimals.
double RoundDecimals(double x, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::nearbyint(x * scale) / scale;
}

double RoundSignificant(double x, int digits) {
  if (x <= 0) return 0;
  const int decimals = digits - 1 - static_cast<int>(std::floor(std::log10(x)));
  if (decimals >= 0) return RoundDecimals(x, decimals);
  const double unit = std::pow(10.0, -decimals);
  return std::nearbyint(x / unit) * unit;
}

constexpr size_t kSeriesPerHost = 107;

// A probability per round of a counter reset (process or host restart).
constexpr double kResetProbability = 1.0 / 20000;

}  // namespace

std::string_view SeriesKindName(SeriesKind kind) {
  switch (kind) {
    case SeriesKind::kCounter:
      return "counter";
    case SeriesKind::kGauge:
      return "gauge";
    case SeriesKind::kIntegerGauge:
      return "integer_gauge";
    case SeriesKind::kConstant:
      return "constant";
    case SeriesKind::kLatency:
      return "latency";
  }
  return "unknown";
}

DataGenerator::DataGenerator(uint64_t seed, size_t num_series, int64_t start_ms,
                             int64_t interval_ms, bool jitter)
    : seed_(seed), start_ms_(start_ms), interval_ms_(interval_ms), jitter_(jitter) {
  if (jitter && interval_ms <= 20) std::abort();  // REQUIRES violated.
  const double interval_s = static_cast<double>(interval_ms) / 1000;
  for (size_t host = 0; labels_.size() < num_series; ++host) {
    uint64_t host_rng = Hash(seed, host, 1);
    const std::string name = "host-" + std::to_string(1000 + host);
    static const char* const kEnvs[] = {"prod", "prod", "prod", "staging", "dev"};
    const Labels base = {
        {"agent", name}, {"env", kEnvs[host % 5]}, {"instance", name + ":9100"}, {"job", "node"}};
    const double busy = 0.05 + 0.6 * Uniform(&host_rng);           // How loaded this host is.
    const double traffic = std::exp(10 + 3 * Uniform(&host_rng));  // Bytes per second.
    const double mem_pages = std::ldexp(1.0, 20 + static_cast<int>(host % 3));  // 4, 8, 16 GiB.

    auto add = [&](const char* metric, Labels extra, Model model) {
      if (labels_.size() >= num_series) return;
      Labels labels = base;
      labels.push_back({std::string(kMetricNameLabel), metric});
      for (Label& l : extra) labels.push_back(std::move(l));
      Canonicalize(&labels);
      labels_.push_back(std::move(labels));
      models_.push_back(model);
    };
    const auto counter = [](Shape shape, double level, double rate, double noise) {
      return Model{SeriesKind::kCounter, shape, level, rate, noise, 0};
    };

    // 53 counters.
    static const char* const kModes[] = {"idle",    "iowait", "irq",    "nice",
                                         "softirq", "steal",  "system", "user"};
    static const double kModeShare[] = {0, 0.02, 0.001, 0.002, 0.01, 0.003, 0.25, 0.7};
    const double uptime_s = 86400 * (1 + 60 * Uniform(&host_rng));
    for (int cpu = 0; cpu < 4; ++cpu) {
      for (int m = 0; m < 8; ++m) {
        const double share = m == 0 ? 1 - busy : busy * kModeShare[m];
        add("node_cpu_seconds_total", {{"cpu", std::to_string(cpu)}, {"mode", kModes[m]}},
            counter(Shape::kTicks, std::floor(uptime_s * share * 100), 100 * share, 0.15));
      }
    }
    for (const char* dev : {"eth0", "lo"}) {
      const double scale = dev[0] == 'l' ? 0.05 : 1;
      for (const char* dir : {"receive", "transmit"}) {
        const double bytes = traffic * scale * (dir[0] == 'r' ? 1 : 0.4);
        add((std::string("node_network_") + dir + "_bytes_total").c_str(), {{"device", dev}},
            counter(Shape::kCount, std::floor(bytes * uptime_s), bytes, 0.3));
        add((std::string("node_network_") + dir + "_packets_total").c_str(), {{"device", dev}},
            counter(Shape::kCount, std::floor(bytes / 900 * uptime_s), bytes / 900, 0.3));
      }
    }
    for (const char* dev : {"nvme0n1", "sda"}) {
      const double io = traffic * 2 * (dev[0] == 'n' ? 1 : 0.1);
      add("node_disk_read_bytes_total", {{"device", dev}},
          counter(Shape::kCount, std::floor(io * uptime_s), io, 0.5));
      add("node_disk_written_bytes_total", {{"device", dev}},
          counter(Shape::kCount, std::floor(io * 0.7 * uptime_s), io * 0.7, 0.5));
      add("node_disk_reads_completed_total", {{"device", dev}},
          counter(Shape::kCount, std::floor(io / 16384 * uptime_s), io / 16384, 0.5));
      add("node_disk_writes_completed_total", {{"device", dev}},
          counter(Shape::kCount, std::floor(io / 8192 * uptime_s), io / 8192, 0.5));
      add("node_disk_io_time_seconds_total", {{"device", dev}},
          counter(Shape::kMillis, std::floor(busy * 100 * uptime_s), busy * 100, 0.4));
    }
    add("node_context_switches_total", {},
        counter(Shape::kCount, std::floor(5000 * busy * uptime_s), 5000 * busy, 0.2));
    add("node_intr_total", {}, counter(Shape::kCount, std::floor(3000 * uptime_s), 3000, 0.1));
    add("node_forks_total", {}, counter(Shape::kCount, std::floor(2 * uptime_s), 2, 0.8));

    // 7 gauges.
    const auto gauge = [](double level, double noise, int digits) {
      return Model{SeriesKind::kGauge, Shape::kDecimalGauge, level, 0, noise, digits};
    };
    add("node_load1", {}, gauge(4 * busy, 0.3, 2));
    add("node_load5", {}, gauge(4 * busy, 0.1, 2));
    add("node_load15", {}, gauge(4 * busy, 0.04, 2));
    for (int sensor = 0; sensor < 4; ++sensor) {
      add("node_hwmon_temp_celsius",
          {{"chip", "platform_coretemp_0"}, {"sensor", "temp" + std::to_string(sensor + 1)}},
          gauge(35 + 30 * busy + sensor, 0.8, 1));
    }

    // 16 integer gauges.
    const auto pages = [](double level, double noise) {
      return Model{SeriesKind::kIntegerGauge, Shape::kPagesGauge, std::floor(level), 0, noise, 0};
    };
    const auto whole = [](double level, double noise) {
      return Model{SeriesKind::kIntegerGauge, Shape::kWholeGauge, level, 0, noise, 0};
    };
    add("node_memory_MemFree_bytes", {}, pages(mem_pages * 0.2, 300));
    add("node_memory_MemAvailable_bytes", {}, pages(mem_pages * 0.55, 300));
    add("node_memory_Cached_bytes", {}, pages(mem_pages * 0.3, 100));
    add("node_memory_Buffers_bytes", {}, pages(mem_pages * 0.02, 5));
    add("node_memory_Active_bytes", {}, pages(mem_pages * 0.35, 200));
    add("node_memory_Inactive_bytes", {}, pages(mem_pages * 0.25, 100));
    add("node_memory_Dirty_bytes", {}, pages(200, 20));
    for (const auto& [dev, mount] : {std::pair{"/dev/nvme0n1p2", "/"}, {"/dev/sda1", "/data"}}) {
      const Labels fs = {{"device", dev}, {"fstype", "ext4"}, {"mountpoint", mount}};
      add("node_filesystem_avail_bytes", fs, pages(2e7 * (1 + Uniform(&host_rng)), 30));
      add("node_filesystem_free_bytes", fs, pages(2.2e7 * (1 + Uniform(&host_rng)), 30));
      add("node_filesystem_files_free", fs, whole(1e7 * (1 + Uniform(&host_rng)), 20));
    }
    add("node_procs_running", {}, whole(1 + 4 * busy, 1.5));
    add("node_procs_blocked", {}, whole(0, 0.3));
    add("node_filefd_allocated", {}, whole(2000 + 3000 * busy, 20));

    // 21 constants.
    const auto constant = [](double value) {
      return Model{SeriesKind::kConstant, Shape::kConstant, value, 0, 0, 0};
    };
    add("node_memory_MemTotal_bytes", {}, constant(mem_pages * 4096));
    add("node_memory_SwapTotal_bytes", {}, constant(2147479552));
    for (const auto& [dev, mount] : {std::pair{"/dev/nvme0n1p2", "/"}, {"/dev/sda1", "/data"}}) {
      const Labels fs = {{"device", dev}, {"fstype", "ext4"}, {"mountpoint", mount}};
      add("node_filesystem_size_bytes", fs,
          constant(4096 * std::floor(6e7 * (1 + Uniform(&host_rng)))));
      add("node_filesystem_files", fs, constant(3.2768e7));
      add("node_filesystem_readonly", fs, constant(0));
      add("node_filesystem_device_error", fs, constant(0));
    }
    add("node_uname_info",
        {{"machine", "x86_64"},
         {"nodename", name},
         {"release", "6.1.0-18-amd64"},
         {"sysname", "Linux"}},
        constant(1));
    add("node_boot_time_seconds", {}, constant(1'700'000'000 - std::floor(uptime_s)));
    add("node_time_zone_offset_seconds", {{"time_zone", "UTC"}}, constant(0));
    for (const char* dev : {"eth0", "lo"}) {
      add("node_network_up", {{"device", dev}}, constant(1));
      add("node_network_mtu_bytes", {{"device", dev}}, constant(dev[0] == 'l' ? 65536 : 1500));
    }
    for (const char* collector : {"cpu", "filesystem", "meminfo", "netdev"}) {
      add("node_scrape_collector_success", {{"collector", collector}}, constant(1));
    }

    // 10 latencies.
    for (const auto& [check, median] : {std::pair{"http_api", 0.045},
                                        {"https_web", 0.12},
                                        {"dns_lookup", 0.004},
                                        {"tcp_postgres", 0.0012},
                                        {"tcp_redis", 0.0006},
                                        {"icmp_gateway", 0.0003}}) {
      add("vitals_check_duration_seconds", {{"check", check}},
          Model{SeriesKind::kLatency, Shape::kLatency, median, 0, 0.4, 4});
    }
    for (const auto& [collector, median] : {std::pair{"cpu", 0.0002},
                                            {"filesystem", 0.0011},
                                            {"meminfo", 0.00009},
                                            {"netdev", 0.0003}}) {
      add("node_scrape_collector_duration_seconds", {{"collector", collector}},
          Model{SeriesKind::kLatency, Shape::kLatencyNanos, median, 0, 0.25, 0});
    }
    if (labels_.size() < num_series && labels_.size() != (host + 1) * kSeriesPerHost) std::abort();
  }
  for (size_t i = 0; i < models_.size(); ++i) {
    const Model& m = models_[i];
    State s{Hash(seed, i, 2), m.level};
    if (m.shape == Shape::kCount || m.shape == Shape::kTicks || m.shape == Shape::kMillis) {
      // Counters: level is the value at round 0; rate is per second, turned per round here.
      models_[i].rate = m.rate * interval_s;
    }
    initial_.push_back(s);
  }
  state_ = initial_;
}

int64_t DataGenerator::TimestampOf(size_t series, size_t round) const {
  // A host's series share its scrape time.
  const uint64_t host = series / kSeriesPerHost;
  const int64_t offset =
      static_cast<int64_t>(Hash(seed_, host, 3) % static_cast<uint64_t>(interval_ms_));
  int64_t t = start_ms_ + offset + static_cast<int64_t>(round) * interval_ms_;
  if (jitter_) t += static_cast<int64_t>(Hash(seed_, host, 4 + round) % 11) - 5;
  return t;
}

double DataGenerator::Step(const Model& m, State* s) const {
  const double value = s->x;  // The value of this round; then move on.
  switch (m.shape) {
    case Shape::kTicks:
    case Shape::kMillis:
    case Shape::kCount: {
      const double increase = m.rate * (1 + m.noise * Normal(&s->rng));
      s->x += std::max(0.0, std::nearbyint(increase));
      if (m.shape == Shape::kCount && Uniform(&s->rng) < kResetProbability) s->x = 0;
      if (m.shape == Shape::kTicks) return value / 100;
      if (m.shape == Shape::kMillis) return value / 1000;
      return value;
    }
    case Shape::kDecimalGauge:
      s->x = std::max(0.0, m.level + 0.8 * (s->x - m.level) + m.noise * Normal(&s->rng));
      return RoundDecimals(value, m.digits);
    case Shape::kPagesGauge:
      s->x = std::max(0.0, s->x + std::nearbyint(m.noise * Normal(&s->rng)));
      return value * 4096;
    case Shape::kWholeGauge:
      s->x = std::max(0.0, m.level + 0.7 * (s->x - m.level) + m.noise * Normal(&s->rng));
      return std::nearbyint(value);
    case Shape::kConstant:
      return value;
    case Shape::kLatency:
    case Shape::kLatencyNanos: {
      const double sample = m.level * std::exp(m.noise * Normal(&s->rng));
      return m.shape == Shape::kLatency ? RoundSignificant(sample, m.digits)
                                        : RoundDecimals(sample, 9);
    }
  }
  return value;
}

void DataGenerator::NextRound(std::vector<Sample>* out) {
  out->resize(labels_.size());
  for (size_t i = 0; i < labels_.size(); ++i) {
    Sample& s = (*out)[i];
    s.labels = labels_[i];
    s.timestamp_ms = TimestampOf(i, rounds_);
    s.value = Step(models_[i], &state_[i]);
  }
  ++rounds_;
}

std::vector<std::pair<int64_t, double>> DataGenerator::SeriesSamples(size_t series,
                                                                     size_t num_rounds) const {
  std::vector<std::pair<int64_t, double>> out;
  out.reserve(num_rounds);
  State state = initial_[series];
  for (size_t round = 0; round < num_rounds; ++round) {
    out.emplace_back(TimestampOf(series, round), Step(models_[series], &state));
  }
  return out;
}

}  // namespace vitals::bench
