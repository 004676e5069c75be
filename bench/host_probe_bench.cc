// Cost of one host-vitals round on this machine's real /proc and /sys: the
// CPU the agent spends on host probes every interval (target: at most 2 ms,
// median), and the cost of each parser on the same text to see what dominates.
// CPU time is the whole process's, so the statvfs worker thread counts too.
#include <benchmark/benchmark.h>

#include <string>

#include "agent/host_common.h"
#include "agent/host_kernel_stats.h"
#include "agent/host_probes.h"

namespace vitals::agent {
namespace {

void BM_HostProbeCollect(benchmark::State& state) {
  HostProbe probe(HostPaths{});
  size_t samples = 0;
  for (auto _ : state) {
    SampleSet set;
    probe.Collect(&set);
    samples = set.size();
    benchmark::DoNotOptimize(set);
  }
  state.counters["samples_per_cycle"] = static_cast<double>(samples);
  state.counters["cycles_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HostProbeCollect)->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);

// One parser on the current contents of one live file, read once up front.
void BM_Parse(benchmark::State& state, Status (*parse)(std::string_view, SampleSet*),
              const char* path) {
  Result<std::string> text = internal::ReadFile(path);
  if (!text.ok()) {
    state.SkipWithError(text.status().ToString().c_str());
    return;
  }
  size_t samples = 0;
  for (auto _ : state) {
    SampleSet set;
    Status st = parse(*text, &set);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    samples = set.size();
    benchmark::DoNotOptimize(set);
  }
  state.counters["samples"] = static_cast<double>(samples);
}
BENCHMARK_CAPTURE(BM_Parse, stat, ParseProcStat, "/proc/stat")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Parse, meminfo, ParseMeminfo, "/proc/meminfo")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Parse, netdev, ParseNetDev, "/proc/net/dev")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Parse, diskstats, ParseDiskstats, "/proc/diskstats")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Parse, vmstat, ParseVmstat, "/proc/vmstat")->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vitals::agent
