// Randomized differential test of the storage engine: seeded workloads of
// appends (in order, old, duplicate, conflicting, special values), Maintain,
// close-and-reopen and snapshots, checked step by step against a trivial
// in-memory model of the semantics documented in storage/store.h.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/labels.h"
#include "common/samples.h"
#include "common/selector.h"
#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace vitals::storage {
namespace {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();
// Each seed is one test case. VITALS_STORE_PROPERTY_SEEDS=<n> runs more of
// them locally, to soak the engine after a change to it.
constexpr int kDefaultSeeds = 12;
constexpr int kSteps = 120;

using SampleBits = std::map<int64_t, uint64_t>;  // Timestamp -> value bits.

// "stale", "NaN(0x...)" for other NaNs, else the shortest exact decimal.
std::string FormatBits(uint64_t bits) {
  if (bits == kStaleNaNBits) return "stale";
  double v = std::bit_cast<double>(bits);
  char buf[64];
  if (std::isnan(v)) {
    std::snprintf(buf, sizeof buf, "NaN(0x%016llx)", static_cast<unsigned long long>(bits));
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

std::string FormatSeriesSamples(const Labels& labels, const SampleBits& samples) {
  std::string out = FormatSeries(labels);
  for (const auto& [t, bits] : samples) out += " " + std::to_string(t) + "=" + FormatBits(bits);
  return out + "\n";
}

std::string FormatResult(const AppendResult& r) {
  std::string out = "appended=" + std::to_string(r.appended) +
                    " duplicates=" + std::to_string(r.duplicates);
  for (RejectReason reason : kAllRejectReasons) {
    out += " " + std::string(RejectReasonName(reason)) + "=" +
           std::to_string(r.rejected_for(reason));
  }
  return out + " new_series=" + std::to_string(r.new_series);
}

std::string FormatMatchers(const std::vector<Matcher>& matchers) {
  std::string out = "{";
  for (size_t i = 0; i < matchers.size(); ++i) out += (i ? ", " : "") + matchers[i].ToString();
  return out + "}";
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += item + "\n";
  return out;
}

// Lines only in `want` ("-") or only in `got` ("+"), for a readable failure.
std::string LineDiff(const std::string& want, const std::string& got) {
  auto lines = [](const std::string& text) {
    std::multiset<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.insert(line);
    return out;
  };
  std::multiset<std::string> a = lines(want), b = lines(got);
  std::string out;
  for (const std::string& l : a) {
    if (b.count(l) < a.count(l) && out.find("- " + l + "\n") == std::string::npos) {
      out += "- " + l + "\n";
    }
  }
  for (const std::string& l : b) {
    if (a.count(l) < b.count(l) && out.find("+ " + l + "\n") == std::string::npos) {
      out += "+ " + l + "\n";
    }
  }
  return out.empty() ? "(same lines, different order)\n" : out;
}

// What the store should hold, per the contract in storage/store.h: the
// samples it accepted, series in label order, samples in time order.
class ReferenceStore {
 public:
  explicit ReferenceStore(int64_t out_of_order_window_ms)
      : out_of_order_window_ms_(out_of_order_window_ms) {}

  // Applies `samples` in order and returns what Append should report.
  AppendResult Append(const std::vector<Sample>& samples) {
    AppendResult result;
    // The window is measured from the newest sample before this batch.
    const std::optional<int64_t> store_max = max_time_;
    for (const Sample& s : samples) {
      auto [it, created] = series_.try_emplace(s.labels);
      if (created) ++result.new_series;
      SampleBits& stored = it->second;
      const uint64_t bits = std::bit_cast<uint64_t>(s.value);
      const int64_t t = s.timestamp_ms;
      auto accept = [&] {
        stored[t] = bits;
        ++result.appended;
        max_time_ = std::max(max_time_.value_or(t), t);
      };
      if (stored.empty() || t > stored.rbegin()->first) {
        accept();
      } else if (auto found = stored.find(t); found != stored.end()) {
        if (found->second == bits) {
          ++result.duplicates;
        } else {
          ++result.rejected[static_cast<size_t>(RejectReason::kConflict)];
        }
      } else if (out_of_order_window_ms_ > 0 && store_max.has_value() &&
                 t >= *store_max - out_of_order_window_ms_) {
        accept();
      } else {
        ++result.rejected[static_cast<size_t>(RejectReason::kOutOfOrder)];
      }
    }
    return result;
  }

  // Select printed one series per line (see FormatSeriesSamples).
  std::string Select(const std::vector<Matcher>& matchers, int64_t min_t, int64_t max_t) const {
    std::string out;
    for (const auto& [labels, samples] : series_) {
      if (!MatchesAll(matchers, labels)) continue;
      SampleBits in_range(samples.lower_bound(min_t), samples.upper_bound(max_t));
      if (!in_range.empty()) out += FormatSeriesSamples(labels, in_range);
    }
    return out;
  }

  // Whether `samples` has one in [min_t, max_t].
  static bool AnyIn(const SampleBits& samples, int64_t min_t, int64_t max_t) {
    auto it = samples.lower_bound(min_t);
    return it != samples.end() && it->first <= max_t;
  }

  std::vector<std::string> LabelNames(const std::vector<Matcher>& matchers, int64_t min_t,
                                      int64_t max_t) const {
    std::set<std::string> names;
    for (const auto& [labels, samples] : series_) {
      if (!MatchesAll(matchers, labels) || !AnyIn(samples, min_t, max_t)) continue;
      for (const Label& l : labels) names.insert(l.name);
    }
    return {names.begin(), names.end()};
  }

  std::vector<std::string> LabelValues(const std::string& name,
                                       const std::vector<Matcher>& matchers, int64_t min_t,
                                       int64_t max_t) const {
    std::set<std::string> values;
    for (const auto& [labels, samples] : series_) {
      if (!MatchesAll(matchers, labels) || !AnyIn(samples, min_t, max_t)) continue;
      if (std::string_view v = GetLabel(labels, name); !v.empty()) values.emplace(v);
    }
    return {values.begin(), values.end()};
  }

  const SampleBits* Find(const Labels& labels) const {
    auto it = series_.find(labels);
    return it == series_.end() ? nullptr : &it->second;
  }
  size_t series_count() const { return series_.size(); }
  std::optional<int64_t> max_time() const { return max_time_; }

 private:
  const int64_t out_of_order_window_ms_;
  std::map<Labels, SampleBits> series_;
  std::optional<int64_t> max_time_;
};

// Select printed like ReferenceStore::Select, or the error.
std::string DumpSelect(const Store& store, const std::vector<Matcher>& matchers, int64_t min_t,
                       int64_t max_t) {
  auto set = store.Select(matchers, min_t, max_t);
  if (!set.ok()) return "error: " + set.status().ToString() + "\n";
  std::string out;
  while ((*set)->Next()) {
    Labels labels = (*set)->labels();
    auto it = (*set)->Samples();
    SampleBits samples;
    std::string order_error;
    while (it->Next()) {
      if (!samples.empty() && it->t() <= samples.rbegin()->first) {
        order_error = " (not strictly increasing at " + std::to_string(it->t()) + ")";
      }
      samples[it->t()] = std::bit_cast<uint64_t>(it->v());
    }
    std::string line = FormatSeriesSamples(labels, samples);
    if (!order_error.empty() || !it->status().ok()) {
      line.pop_back();
      line += order_error + (it->status().ok() ? "" : " error: " + it->status().ToString()) + "\n";
    }
    out += line;
  }
  if (!(*set)->status().ok()) out += "error: " + (*set)->status().ToString() + "\n";
  return out;
}

Matcher MustMatcher(MatchType type, std::string name, std::string value) {
  auto m = Matcher::Create(type, std::move(name), std::move(value));
  if (!m.ok()) std::abort();  // The test's own patterns always compile.
  return *m;
}

// Shapes of the generated data, fixed per run.
struct WorkloadOptions {
  int64_t out_of_order_window_ms = 0;
};

// One seeded run: a random workload against a real store and the reference,
// compared after every step. Stops at the first mismatch.
class Workload {
 public:
  Workload(uint64_t seed, const WorkloadOptions& workload, const std::filesystem::path& dir)
      : seed_(seed), rng_(seed), dir_(dir), reference_(workload.out_of_order_window_ms) {
    options_.path = (dir_ / "db").string();
    options_.background_maintenance = false;
    options_.retention = std::chrono::milliseconds(0);
    options_.sync_writes = false;  // Durability across crashes is not under test here.
    options_.partition_duration = std::chrono::minutes(1);
    options_.out_of_order_window = std::chrono::milliseconds(workload.out_of_order_window_ms);
    options_.max_samples_per_chunk = 3 + static_cast<uint32_t>(Uniform(3));
    // Reopening either replays the log or finds the head written as chunks.
    options_.persist_head_on_close = Percent(50);
    const int64_t ages_ms[] = {3600 * 1000, 90 * 1000, 20 * 1000};
    options_.max_chunk_age = std::chrono::milliseconds(ages_ms[Uniform(3)]);
    clock_ = -150000 + static_cast<int64_t>(Uniform(20000));

    // A random subset of metric x host x job, so matchers have something to select.
    for (const char* metric : {"m_a", "m_b", "m_c"}) {
      for (const char* host : {"h1", "h2", "h3", ""}) {
        for (const char* job : {"x", "y", ""}) {
          Labels labels{{std::string(kMetricNameLabel), metric}, {"host", host}, {"job", job}};
          Canonicalize(&labels);
          universe_.push_back(std::move(labels));
        }
      }
    }
    std::shuffle(universe_.begin(), universe_.end(), rng_);
    universe_.resize(6 + Uniform(universe_.size() - 6));
  }

  // Runs the workload; returns a description of the first mismatch, or "".
  std::string Run() {
    if (std::string error = Open(); !error.empty()) return Describe(error);
    for (step_ = 0; step_ < kSteps; ++step_) {
      std::string error = Step();
      if (error.empty()) error = CheckRandomQueries();
      if (error.empty() && step_ % 10 == 9) error = CheckEverything(*store_, "store");
      if (!error.empty()) return Describe(error);
    }
    return "";
  }

  const Options& options() const { return options_; }

 private:
  uint64_t Uniform(uint64_t n) { return rng_() % n; }
  bool Percent(uint64_t p) { return Uniform(100) < p; }

  std::string Open() {
    store_.reset();
    auto store = Store::Open(options_);
    if (!store.ok()) return "Open failed: " + store.status().ToString();
    store_ = std::move(store).value();
    return "";
  }

  // One random operation; returns a mismatch or "".
  std::string Step() {
    uint64_t r = Uniform(100);
    if (r < 65) return AppendBatch();
    if (r < 77) {
      Log("Maintain()");
      Status s = store_->Maintain();
      if (!s.ok()) return "Maintain failed: " + s.ToString();
      return CheckEverything(*store_, "store after Maintain");
    }
    if (r < 80) {
      Log("close and reopen");
      if (std::string error = Open(); !error.empty()) return error;
      return CheckEverything(*store_, "store after reopen");
    }
    if (r < 81) return SnapshotAndCompare();
    return "";  // A step of queries only.
  }

  double RandomValue() {
    uint64_t r = Uniform(100);
    if (r < 50) return static_cast<double>(Uniform(8));
    if (r < 70) return (static_cast<double>(rng_() >> 11) / (1ull << 53)) * 2e6 - 1e6;
    const double special[] = {
        StaleMarker(),
        std::numeric_limits<double>::quiet_NaN(),
        std::bit_cast<double>(0x7ff8dead00000001ull),  // NaN with a payload.
        std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity(),
        -0.0,
        0.0,
        std::numeric_limits<double>::denorm_min(),
        std::numeric_limits<double>::max(),
        std::numeric_limits<double>::lowest(),
    };
    return special[Uniform(std::size(special))];
  }

  std::string AppendBatch() {
    std::vector<Sample> batch;
    const size_t n = 1 + Uniform(12);
    for (size_t i = 0; i < n; ++i) {
      Sample s{universe_[Uniform(universe_.size())], 0, RandomValue()};
      const SampleBits* stored = reference_.Find(s.labels);
      uint64_t kind = Uniform(100);
      if (kind < 12 && !batch.empty()) {
        s = batch[Uniform(batch.size())];  // Repeated within the batch ...
        if (Percent(50)) s.value = RandomValue();  // ... maybe with another value.
      } else if (kind < 32 && stored != nullptr) {
        auto it = std::next(stored->begin(), static_cast<long>(Uniform(stored->size())));
        s.timestamp_ms = it->first;
        if (kind < 22) s.value = std::bit_cast<double>(it->second);  // Else likely a conflict.
      } else if (kind < 50) {
        s.timestamp_ms = clock_ - static_cast<int64_t>(Uniform(100000));  // Old.
      } else {
        s.timestamp_ms = clock_ + static_cast<int64_t>(Uniform(3000));
      }
      batch.push_back(std::move(s));
    }
    clock_ += static_cast<int64_t>(Uniform(6000));

    std::string description = "Append(";
    for (const Sample& s : batch) {
      description += "\n    " + FormatSeries(s.labels) + " " + std::to_string(s.timestamp_ms) +
                     "=" + FormatBits(std::bit_cast<uint64_t>(s.value));
    }
    Log(description + ")");
    AppendResult want = reference_.Append(batch);
    auto got = store_->Append(batch, {});
    if (!got.ok()) return "Append failed: " + got.status().ToString();
    if (FormatResult(*got) != FormatResult(want)) {
      return "AppendResult differs:\n  want " + FormatResult(want) + "\n  got  " +
             FormatResult(*got) + "\n  first_rejection: " + got->first_rejection;
    }
    return "";
  }

  std::string SnapshotAndCompare() {
    const std::filesystem::path snapshot = dir_ / ("snapshot" + std::to_string(step_));
    Log("Snapshot() and open it");
    Status s = store_->Snapshot(snapshot.string());
    if (!s.ok()) return "Snapshot failed: " + s.ToString();
    Options options = options_;
    options.path = snapshot.string();
    auto opened = Store::Open(options);
    if (!opened.ok()) return "opening the snapshot failed: " + opened.status().ToString();
    std::string error = CheckEverything(**opened, "snapshot");
    opened->reset();
    std::error_code ec;
    std::filesystem::remove_all(snapshot, ec);
    return error;
  }

  std::vector<Matcher> RandomMatchers() {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> kValues = {
        {std::string(kMetricNameLabel), {"m_a", "m_b", "m_c"}},
        {"host", {"h1", "h2", "h3"}},
        {"job", {"x", "y"}},
        {"zone", {"z1"}},  // Never present.
    };
    static const std::vector<std::string> kPatterns = {
        ".*", ".+", "", "h1|h2", "m_.", "m_(a|b)", "x", "h.*", "[xy]", "nope.*", "h3|"};
    std::vector<Matcher> matchers;
    const size_t n = 1 + Uniform(3);
    for (size_t i = 0; i < n; ++i) {
      const auto& [name, values] = kValues[Uniform(kValues.size())];
      auto type = static_cast<MatchType>(Uniform(4));
      std::string value;
      if (type == MatchType::kEqual || type == MatchType::kNotEqual) {
        uint64_t r = Uniform(10);
        value = r == 0 ? "" : r == 1 ? "nope" : values[Uniform(values.size())];
      } else {
        value = kPatterns[Uniform(kPatterns.size())];
      }
      matchers.push_back(MustMatcher(type, name, value));
    }
    return matchers;
  }

  // A time near the data, often exactly a stored timestamp or next to one.
  int64_t RandomTime() {
    int64_t t = clock_ - 200000 + static_cast<int64_t>(Uniform(220000));
    if (Percent(40)) {
      const SampleBits* stored = reference_.Find(universe_[Uniform(universe_.size())]);
      if (stored != nullptr && !stored->empty()) {
        t = std::next(stored->begin(), static_cast<long>(Uniform(stored->size())))->first +
            static_cast<int64_t>(Uniform(3)) - 1;
      }
    }
    return t;
  }

  std::string CheckRandomQueries() {
    for (int i = 0; i < 3; ++i) {
      std::vector<Matcher> matchers = RandomMatchers();
      int64_t min_t = kMinTime, max_t = kMaxTime;
      switch (Uniform(6)) {
        case 0: break;
        case 1: max_t = RandomTime(); break;
        case 2: min_t = RandomTime(); break;
        default:
          min_t = RandomTime();
          max_t = Percent(20) ? min_t : min_t + static_cast<int64_t>(Uniform(120000));
      }
      std::string want = reference_.Select(matchers, min_t, max_t);
      std::string got = DumpSelect(*store_, matchers, min_t, max_t);
      if (want != got) {
        return "Select(" + FormatMatchers(matchers) + ", " + std::to_string(min_t) + ", " +
               std::to_string(max_t) + ") differs:\n" + LineDiff(want, got);
      }
    }
    if (Percent(30)) {
      std::vector<Matcher> matchers = Percent(30) ? std::vector<Matcher>{} : RandomMatchers();
      int64_t min_t = kMinTime, max_t = kMaxTime;
      if (Percent(50)) {
        min_t = RandomTime();
        max_t = min_t + static_cast<int64_t>(Uniform(120000));
      }
      if (std::string error = CheckLabels(*store_, matchers, "store", min_t, max_t);
          !error.empty()) {
        return error;
      }
    }
    return "";
  }

  std::string CheckLabels(const Store& store, const std::vector<Matcher>& matchers,
                          const std::string& what, int64_t min_t = kMinTime,
                          int64_t max_t = kMaxTime) {
    const std::string range = ", " + std::to_string(min_t) + ", " + std::to_string(max_t) + ")";
    auto names = store.LabelNames(matchers, min_t, max_t);
    std::string got = names.ok() ? Join(*names) : "error: " + names.status().ToString();
    std::string want = Join(reference_.LabelNames(matchers, min_t, max_t));
    if (got != want) {
      return what + ": LabelNames(" + FormatMatchers(matchers) + range + " differs:\n" +
             LineDiff(want, got);
    }
    for (const char* name : {"__name__", "host", "job", "zone"}) {
      auto values = store.LabelValues(name, matchers, min_t, max_t);
      got = values.ok() ? Join(*values) : "error: " + values.status().ToString();
      want = Join(reference_.LabelValues(name, matchers, min_t, max_t));
      if (got != want) {
        return what + ": LabelValues(" + name + ", " + FormatMatchers(matchers) + range +
               " differs:\n" + LineDiff(want, got);
      }
    }
    return "";
  }

  // All data, label names and values, series count and newest time.
  std::string CheckEverything(const Store& store, const std::string& what) {
    const std::vector<Matcher> all = {MustMatcher(MatchType::kRegexMatch, "__name__", ".+")};
    std::string want = reference_.Select(all, kMinTime, kMaxTime);
    std::string got = DumpSelect(store, all, kMinTime, kMaxTime);
    if (want != got) return what + ": full Select differs:\n" + LineDiff(want, got);
    if (std::string error = CheckLabels(store, {}, what); !error.empty()) return error;
    Stats stats = store.GetStats();
    if (stats.series != reference_.series_count()) {
      return what + ": GetStats().series is " + std::to_string(stats.series) + ", want " +
             std::to_string(reference_.series_count());
    }
    if (stats.max_time_ms != reference_.max_time().value_or(0)) {
      return what + ": GetStats().max_time_ms is " + std::to_string(stats.max_time_ms) +
             ", want " + std::to_string(reference_.max_time().value_or(0));
    }
    return "";
  }

  void Log(std::string op) {
    log_.push_back("step " + std::to_string(step_) + ": " + std::move(op));
  }

  std::string Describe(const std::string& error) const {
    std::string out = "seed " + std::to_string(seed_) + ", step " + std::to_string(step_) +
                      " (max_samples_per_chunk=" + std::to_string(options_.max_samples_per_chunk) +
                      " max_chunk_age=" + std::to_string(options_.max_chunk_age.count()) +
                      "ms out_of_order_window=" +
                      std::to_string(options_.out_of_order_window.count()) + "ms):\n" + error +
                      "\nLast operations (the seed replays them all):\n";
    constexpr size_t kShownOps = 25;
    for (size_t i = log_.size() > kShownOps ? log_.size() - kShownOps : 0; i < log_.size(); ++i) {
      out += "  " + log_[i] + "\n";
    }
    return out;
  }

  const uint64_t seed_;
  std::mt19937_64 rng_;
  const std::filesystem::path dir_;
  Options options_;
  ReferenceStore reference_;
  std::unique_ptr<Store> store_;
  std::vector<Labels> universe_;
  int64_t clock_ = 0;
  int step_ = 0;
  std::vector<std::string> log_;
};

class StorePropertyTest : public ::testing::TestWithParam<int> {
 protected:
  testing::TempDir tmp_;
  const std::filesystem::path dir_{tmp_.path()};
};

TEST_P(StorePropertyTest, MatchesReferenceWithoutOutOfOrderWindow) {
  Workload workload(static_cast<uint64_t>(GetParam()), WorkloadOptions{0}, dir_);
  std::string mismatch = workload.Run();
  EXPECT_TRUE(mismatch.empty()) << mismatch;
}

TEST_P(StorePropertyTest, MatchesReferenceWithOutOfOrderWindow) {
  Workload workload(static_cast<uint64_t>(GetParam()), WorkloadOptions{30000}, dir_);
  std::string mismatch = workload.Run();
  EXPECT_TRUE(mismatch.empty()) << mismatch;
}

int SeedCount() {
  const char* env = std::getenv("VITALS_STORE_PROPERTY_SEEDS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : kDefaultSeeds;
}

INSTANTIATE_TEST_SUITE_P(Seeds, StorePropertyTest, ::testing::Range(1, SeedCount() + 1));

}  // namespace
}  // namespace vitals::storage
