// Sample chunks on DataGenerator's fleet (10 hosts, 10 s scrapes with jitter):
// encode and decode cost per sample, and encoded size per sample, by kind of
// series and for the whole mix, for Gorilla (Encode) and the most compact
// encoding (EncodeCompact: kDecimalEntropy for this data), at 120 samples per
// chunk (20 min, Prometheus's default), 240 (the store's chunks on disk) and
// 720 (2 h).
//
// Args: kind (0..4 = SeriesKind, 5 = mix), samples per chunk, and for decode
// 0 = Gorilla, 1 = compact. Counters: bytes_per_sample, s_per_sample.
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench/datagen.h"
#include "storage/chunk.h"

namespace vitals::storage {
namespace {

using Points = std::vector<std::pair<int64_t, double>>;
constexpr int kMix = 5;

// One chunk's worth of samples of every series of `kind` (or all, kMix).
const std::vector<Points>& Chunks(int kind, int samples_per_chunk) {
  static std::map<std::pair<int, int>, std::vector<Points>> cache;
  auto [it, inserted] = cache.try_emplace({kind, samples_per_chunk});
  if (inserted) {
    const bench::DataGenerator gen(42, 1070, 1'700'000'000'000, 10'000, /*jitter=*/true);
    for (size_t i = 0; i < gen.num_series(); ++i) {
      if (kind != kMix && gen.kind(i) != static_cast<bench::SeriesKind>(kind)) continue;
      it->second.push_back(gen.SeriesSamples(i, static_cast<size_t>(samples_per_chunk)));
    }
  }
  return it->second;
}

std::string KindName(int kind) {
  return kind == kMix ? "mix"
                      : std::string(bench::SeriesKindName(static_cast<bench::SeriesKind>(kind)));
}

void SetCounters(benchmark::State& state, size_t samples, size_t bytes) {
  state.SetItemsProcessed(static_cast<int64_t>(samples) * state.iterations());
  // Seconds per sample; printed with an SI prefix, e.g. "7.3n" is 7.3 ns.
  state.counters["s_per_sample"] = benchmark::Counter(
      static_cast<double>(samples),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_sample"] = static_cast<double>(bytes) / static_cast<double>(samples);
}

ChunkEncoder Build(const Points& points) {
  ChunkEncoder enc;
  for (const auto& [t, v] : points) enc.Append(t, v);
  return enc;
}

// Append every sample and Encode() (Gorilla).
void BM_ChunkEncode(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const std::vector<Points>& chunks = Chunks(kind, static_cast<int>(state.range(1)));
  size_t samples = 0, bytes = 0;
  for (auto _ : state) {
    samples = bytes = 0;
    for (const Points& points : chunks) {
      const std::string chunk = Build(points).Encode();
      samples += points.size();
      bytes += chunk.size();
      benchmark::DoNotOptimize(chunk.data());
    }
  }
  state.SetLabel(KindName(kind));
  SetCounters(state, samples, bytes);
}
BENCHMARK(BM_ChunkEncode)->ArgsProduct({{0, 1, 2, 3, 4, 5}, {120, 240, 720}});

// EncodeCompact() of an already built encoder: the extra cost of closing a
// chunk in the compact encoding.
void BM_ChunkEncodeCompact(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  std::vector<ChunkEncoder> encoders;
  size_t samples = 0;
  for (const Points& points : Chunks(kind, static_cast<int>(state.range(1)))) {
    encoders.push_back(Build(points));
    samples += points.size();
  }
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    for (const ChunkEncoder& enc : encoders) {
      const std::string chunk = enc.EncodeCompact();
      bytes += chunk.size();
      benchmark::DoNotOptimize(chunk.data());
    }
  }
  state.SetLabel(KindName(kind));
  SetCounters(state, samples, bytes);
}
BENCHMARK(BM_ChunkEncodeCompact)->ArgsProduct({{0, 1, 2, 3, 4, 5}, {120, 240, 720}});

// Iterate every sample of every chunk.
void BM_ChunkDecode(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const bool compact = state.range(2) != 0;
  std::vector<std::string> encoded;
  size_t samples = 0, bytes = 0;
  for (const Points& points : Chunks(kind, static_cast<int>(state.range(1)))) {
    const ChunkEncoder enc = Build(points);
    encoded.push_back(compact ? enc.EncodeCompact() : enc.Encode());
    samples += points.size();
    bytes += encoded.back().size();
  }
  for (auto _ : state) {
    double sum = 0;
    for (const std::string& chunk : encoded) {
      ChunkIterator it(chunk);
      while (it.Next()) sum += it.v();
      if (!it.status().ok()) state.SkipWithError(it.status().ToString().c_str());
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetLabel(KindName(kind) + (compact ? "/compact" : "/gorilla"));
  SetCounters(state, samples, bytes);
}
BENCHMARK(BM_ChunkDecode)->ArgsProduct({{0, 1, 2, 3, 4, 5}, {120, 240, 720}, {0, 1}});

}  // namespace
}  // namespace vitals::storage
