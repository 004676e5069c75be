// Rule evaluation cost and on-ingest alert latency.
//
//   build/bench/vitals_rules_bench cycle   [--series 100000] [--rules 1000]
//   build/bench/vitals_rules_bench latency [--runs 1000]
//
// cycle: 100,000 series (1,000 metrics x 100 instances, 15 s samples for the
// last 15 minutes) and 1,000 alerting rules, each reading one metric (100
// series): a third thresholds on the value, a third on rate()[5m], a third
// on an aggregation by instance. Prints the median and p90 time of one
// evaluation cycle of all rules (one group per 100 rules, one core).
//
// latency: one on_ingest group with `vitals_check_up == 0`; a check result is
// stored (as the ingest path does before it acknowledges), OnIngest is called
// (as the ingest path does right after the acknowledgement), and the time
// until the alert reaches the sink as firing is measured. Then the check
// recovers and the alert resolves. Prints p50/p99/max.

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>

#include <CLI/CLI.hpp>
#include <prometheus/registry.h>

#include "rules/manager.h"
#include "rules/promql/parser.h"

namespace vitals {
namespace {

using Steady = std::chrono::steady_clock;

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "vitals-rules-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

std::unique_ptr<storage::Store> OpenStore(const std::string& dir, bool sync) {
  storage::Options o;
  o.path = dir + "/db";
  o.sync_writes = sync;
  o.retention = std::chrono::milliseconds(0);
  auto store = storage::Store::Open(o);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*store);
}

rules::RuleDesc Alert(std::string name, std::string expr) {
  rules::RuleDesc d;
  d.alert = std::move(name);
  d.expr = std::move(expr);
  auto parsed = promql::ParseExpr(d.expr);
  if (!parsed.ok()) std::abort();
  d.parsed = std::move(*parsed);
  return d;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int RunCycle(int series, int num_rules, int cycles) {
  const int per_metric = 100;
  const int metrics = std::max(1, series / per_metric);
  std::string dir = MakeTempDir();
  auto store = OpenStore(dir, /*sync=*/false);
  const int64_t now = 1'700'000'000'000;
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> noise(0, 100);
  // 61 samples at 15 s: the last 15 minutes.
  for (int step = 60; step >= 0; --step) {
    std::vector<Sample> batch;
    batch.reserve(static_cast<size_t>(metrics * per_metric));
    for (int m = 0; m < metrics; ++m) {
      for (int i = 0; i < per_metric; ++i) {
        Labels l = {{"__name__", "metric_" + std::to_string(m)},
                    {"instance", "host-" + std::to_string(i)},
                    {"job", "node"}};
        double v = m % 3 == 1 ? static_cast<double>((60 - step) * (i + 1)) : noise(rng);
        batch.push_back(Sample{std::move(l), now - step * 15'000, v});
      }
    }
    if (!store->Append(batch, {}).ok()) std::abort();
  }

  std::vector<rules::RuleFile> files(1);
  const int per_group = 100;
  for (int r = 0; r < num_rules; ++r) {
    if (r % per_group == 0) {
      files[0].groups.emplace_back();
      files[0].groups.back().name = "group_" + std::to_string(r / per_group);
      files[0].groups.back().file = "bench.yml";
    }
    std::string metric = "metric_" + std::to_string(r % metrics);
    std::string expr;
    switch (r % 3) {
      case 0: expr = metric + " > 99"; break;
      case 1: expr = "rate(" + metric + "[5m]) > 10"; break;
      default: expr = "avg by (instance) (" + metric + ") > 99.5"; break;
    }
    files[0].groups.back().rules.push_back(Alert("Rule" + std::to_string(r), expr));
  }
  promql::Engine engine;
  FakeClock clock(now);
  prometheus::Registry registry;
  auto manager = rules::RuleManager::Create({}, *store, engine, clock, registry, {});
  if (!manager.ok() || !(*manager)->LoadParsed(std::move(files)).ok()) std::abort();

  (*manager)->EvaluateAll(now);  // Warm caches.
  std::vector<double> ms;
  for (int c = 0; c < cycles; ++c) {
    auto t0 = Steady::now();
    (*manager)->EvaluateAll(now + (c + 1) * 1000);
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
  }
  size_t firing = (*manager)->ActiveAlerts().size();
  std::printf("rules=%d series=%d cycles=%d firing_alerts=%zu\n", num_rules, metrics * per_metric,
              cycles, firing);
  std::printf("cycle_ms median=%.1f p90=%.1f min=%.1f (target < 100)\n", Percentile(ms, 0.5),
              Percentile(ms, 0.9), *std::min_element(ms.begin(), ms.end()));
  manager->reset();
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}

// Receives alerts and wakes the measuring thread.
class WaitingSink : public rules::AlertSink {
 public:
  void Send(std::string_view, const std::vector<rules::Alert>& alerts) override {
    std::lock_guard lock(mu_);
    for (const rules::Alert& a : alerts) last_state_ = a.state;
    cv_.notify_all();
  }
  void Wait(rules::AlertState state) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return last_state_ == state; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  rules::AlertState last_state_ = rules::AlertState::kInactive;
};

int RunLatency(int runs) {
  std::string dir = MakeTempDir();
  auto store = OpenStore(dir, /*sync=*/true);
  promql::Engine engine;
  prometheus::Registry registry;
  WaitingSink sink;
  rules::ManagerOptions options;
  // Resolved alerts must be re-sent at once for the next run's firing to be
  // distinguishable: a zero resend delay sends every change.
  options.resend_delay = std::chrono::milliseconds(1);
  auto manager = rules::RuleManager::Create(options, *store, engine, Clock::Real(), registry,
                                            {&sink});
  if (!manager.ok()) std::abort();
  std::vector<rules::RuleFile> files(1);
  files[0].groups.emplace_back();
  files[0].groups[0].name = "dependencies";
  files[0].groups[0].file = "bench.yml";
  files[0].groups[0].interval = std::chrono::minutes(1);
  files[0].groups[0].trigger = rules::EvalTrigger::kOnIngest;
  files[0].groups[0].rules.push_back(Alert("DatabaseDown", "vitals_check_up{kind=\"postgres\"} == 0"));
  if (!(*manager)->LoadParsed(std::move(files)).ok()) std::abort();
  (*manager)->Start();

  std::vector<double> fire_ms;
  Labels labels = {{"__name__", "vitals_check_up"}, {"check", "orders-db"}, {"kind", "postgres"},
                   {"service", "shop"}};
  int64_t last_ts = 0;
  for (int i = 0; i < runs; ++i) {
    for (double value : {0.0, 1.0}) {
      // Strictly increasing: two results in one millisecond would conflict.
      while (Clock::Real().NowMillis() <= last_ts) {
      }
      last_ts = Clock::Real().NowMillis();
      std::vector<Sample> batch = {Sample{labels, last_ts, value}};
      if (!store->Append(batch, {}).ok()) std::abort();
      auto acked = Steady::now();  // The ingest path acknowledges here.
      (*manager)->OnIngest(SampleViews(batch).series());
      sink.Wait(value == 0 ? rules::AlertState::kFiring : rules::AlertState::kInactive);
      if (value == 0) {
        fire_ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - acked).count());
      }
    }
  }
  (*manager)->Stop();
  std::printf("on_ingest ack->firing runs=%d p50=%.2fms p99=%.2fms max=%.2fms (target p99 < 100)\n",
              runs, Percentile(fire_ms, 0.5), Percentile(fire_ms, 0.99),
              *std::max_element(fire_ms.begin(), fire_ms.end()));
  manager->reset();
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace vitals

int main(int argc, char** argv) {
  CLI::App app{"Rule evaluation benchmarks"};
  app.require_subcommand(1);
  int series = 100'000, num_rules = 1000, cycles = 20, runs = 1000;
  CLI::App* cycle = app.add_subcommand("cycle", "Time of one evaluation of all rules");
  cycle->add_option("--series", series);
  cycle->add_option("--rules", num_rules);
  cycle->add_option("--cycles", cycles);
  CLI::App* latency = app.add_subcommand("latency", "On-ingest alert latency");
  latency->add_option("--runs", runs);
  CLI11_PARSE(app, argc, argv);
  if (cycle->parsed()) return vitals::RunCycle(series, num_rules, cycles);
  return vitals::RunLatency(runs);
}
