// Cost of turning one agent round into wire bytes and back: the per-batch CPU
// on both ends of the ingest path.
#include <benchmark/benchmark.h>

#include "common/wire.h"

namespace vitals {
namespace {

// A round shaped like a real host's: 8 CPUs x 8 modes, 50 meminfo fields,
// 4 interfaces x 16 counters, 6 filesystems x 7 gauges.
SampleSet HostLikeRound(int64_t t) {
  SampleSet set(t);
  MetricDesc cpu{"node_cpu_seconds_total", MetricType::kCounter, "Seconds the CPUs spent in each mode."};
  const char* modes[] = {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};
  for (int c = 0; c < 8; ++c) {
    for (const char* m : modes) set.Add(cpu, {{"cpu", std::to_string(c)}, {"mode", m}}, 1234.56 + c);
  }
  for (int f = 0; f < 50; ++f) {
    set.Add(MetricDesc{"node_memory_Field" + std::to_string(f) + "_bytes", MetricType::kGauge, "Memory information field."}, {}, 1e9 + f);
  }
  for (int d = 0; d < 4; ++d) {
    for (int k = 0; k < 16; ++k) {
      set.Add(MetricDesc{"node_network_counter" + std::to_string(k) + "_total", MetricType::kCounter, "Network device statistic."},
              {{"device", "eth" + std::to_string(d)}}, 5e8 + k);
    }
  }
  const char* fs[] = {"size_bytes", "free_bytes", "avail_bytes", "files", "files_free", "readonly", "device_error"};
  for (int m = 0; m < 6; ++m) {
    for (const char* g : fs) {
      set.Add(MetricDesc{std::string("node_filesystem_") + g, MetricType::kGauge, "Filesystem."},
              {{"device", "/dev/sda" + std::to_string(m)}, {"fstype", "ext4"}, {"mountpoint", "/mnt/" + std::to_string(m)}}, 4e10);
    }
  }
  return set;
}

void BM_EncodeBatch(benchmark::State& state) {
  SampleSet set = HostLikeRound(1'700'000'000'000);
  size_t bytes = 0;
  for (auto _ : state) {
    wire::Envelope env = wirecodec::NewEnvelope();
    wirecodec::EncodeSamples(set, env.mutable_batch());
    std::string out = env.SerializeAsString();
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(set.size()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["bytes_per_batch"] = static_cast<double>(bytes);
  state.counters["bytes_per_sample"] = static_cast<double>(bytes) / set.size();
}
BENCHMARK(BM_EncodeBatch);

void BM_DecodeBatch(benchmark::State& state) {
  SampleSet set = HostLikeRound(1'700'000'000'000);
  wire::Envelope env = wirecodec::NewEnvelope();
  wirecodec::EncodeSamples(set, env.mutable_batch());
  std::string bytes = env.SerializeAsString();
  Labels agent = {{"agent", "web-01"}, {"instance", "web-01"}};
  for (auto _ : state) {
    wire::Envelope in;
    in.ParseFromString(bytes);
    auto decoded = wirecodec::DecodeBatch(in.batch(), agent);
    benchmark::DoNotOptimize(decoded);
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(set.size()) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeBatch);

}  // namespace
}  // namespace vitals
