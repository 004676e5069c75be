// PromQL against the real thing: the same generated data loaded into
// Prometheus 2.42 (promtool tsdb create-blocks-from openmetrics) and into a
// vitals-collector (vitalsctl tsdb import openmetrics), then every query of
// promql_differential_queries.txt asked of both HTTP APIs, as instant queries
// at several times and as range queries with several steps. Results must have
// the same label sets and values equal within kRelativeTolerance (NaN equals
// NaN); failures must have the same errorType. Skipped when prometheus or
// promtool is not installed. VITALS_DIFFERENTIAL_EXACT=1 requires identical
// values instead.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr char kPromtool[] = "/usr/bin/promtool";
const std::string kQueryFile =
    std::string(VITALS_SOURCE_DIR) + "/tests/integration/promql_differential_queries.txt";

// Values may differ by this much relative to the larger one (summation order,
// fused operations); below kAbsoluteTolerance everything counts as equal, so
// 1e-17 against 0 from cancellation does not count as a difference.
constexpr double kRelativeTolerance = 1e-9;
constexpr double kAbsoluteTolerance = 1e-12;

// The generated data: four hours from kStartS (2023-11-14T22:13:20Z).
constexpr int64_t kStartS = 1'700'000'000;
constexpr int64_t kSpanS = 4 * 3600;

// Instant query times, Unix seconds as the API takes them: before the data,
// inside gaps, with millisecond fractions, within and beyond the lookback
// after the end.
const std::vector<std::string> kInstantTimes = {
    "1699999940",     "1700000600",     "1700002833.25", "1700003600",  "1700007380",
    "1700009000.001", "1700012345.678", "1700014550",    "1700015300",
};

struct RangeParams {
  std::string start, end, step;
};
const std::vector<RangeParams> kRanges = {
    {"1699999400", "1700015000", "60"},   // The whole span and beyond, 261 points.
    {"1700003000", "1700004800", "15"},   // Across target_up's gap at the scrape interval.
    {"1700007200.5", "1700010800", "37"},  // An odd step not aligned to anything.
    {"1700012000", "1700012000", "10"},   // One point.
};

// --- Data ---------------------------------------------------------------

struct GeneratedSeries {
  std::string name;
  std::string labels;  // OpenMetrics label list without braces: job="api",code="200"
  std::vector<std::pair<int64_t, double>> samples;  // Unix seconds, value.
};

struct Family {
  std::string name, type;
  std::vector<GeneratedSeries> series;
};

// Sample times of a series: every `interval_s` from kStartS + phase_s, with a
// second of jitter on some scrapes when `jitter`, none in [gap_from, gap_to)
// of any gap, none from `stop_s` on.
std::vector<int64_t> ScrapeTimes(std::mt19937_64& rng, int interval_s, int phase_s, bool jitter,
                                 const std::vector<std::pair<int64_t, int64_t>>& gaps = {},
                                 int64_t stop_s = kSpanS + 1) {
  std::vector<int64_t> times;
  std::uniform_int_distribution<int> coin(0, 3);
  for (int64_t offset = phase_s; offset <= kSpanS && offset < stop_s; offset += interval_s) {
    bool in_gap = false;
    for (auto [from, to] : gaps) in_gap |= offset >= from && offset < to;
    if (in_gap) continue;
    times.push_back(kStartS + offset + (jitter && coin(rng) == 0 ? 1 : 0));
  }
  return times;
}

std::string Quoted(const std::string& name, const std::string& value) {
  return name + "=\"" + value + "\"";
}

double Wave(int64_t t, double period_s, double phase) {
  return std::sin(2 * M_PI * static_cast<double>(t - kStartS) / period_s + phase);
}

// Realistic series of every kind the query corpus needs; see the header of
// promql_differential_queries.txt. Deterministic for a given standard library.
std::vector<Family> GenerateFamilies() {
  std::mt19937_64 rng(20231114);
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> noise(0, 1);
  std::vector<Family> families;

  Family http{"http_requests", "counter", {}};
  for (int i = 1; i <= 3; ++i) {
    for (std::string method : {"GET", "POST"}) {
      for (std::string code : {"200", "404", "500"}) {
        GeneratedSeries s{"http_requests_total",
                          Quoted("job", "api") + "," +
                              Quoted("instance", "api-" + std::to_string(i) + ":8080") + "," +
                              Quoted("method", method) + "," + Quoted("code", code),
                          {}};
        double rate = (code == "200" ? 20 : code == "404" ? 2 : 0.3) * (0.5 + unit(rng));
        double phase = unit(rng) * 6;
        double value = std::floor(unit(rng) * 1000);
        std::vector<std::pair<int64_t, int64_t>> gaps;
        if (i == 2 && code == "500") gaps = {{5000, 5600}};
        for (int64_t t : ScrapeTimes(rng, 15, i * 4, true, gaps)) {
          double inc = std::floor(rate * 15 * (1 + 0.5 * Wave(t, 5400, phase)) + unit(rng) * 3);
          value = unit(rng) < 0.004 ? inc : value + inc;  // Now and then a restart.
          s.samples.push_back({t, value});
        }
        http.series.push_back(std::move(s));
      }
    }
  }
  families.push_back(std::move(http));

  Family cpu{"node_cpu_seconds", "counter", {}};
  for (int i = 1; i <= 2; ++i) {
    for (int c = 0; c < 2; ++c) {
      for (auto [mode, share] : {std::pair{"user", 0.2}, {"system", 0.05}, {"idle", 0.7}}) {
        GeneratedSeries s{"node_cpu_seconds_total",
                          Quoted("job", "node") + "," +
                              Quoted("instance", "node-" + std::to_string(i) + ":9100") + "," +
                              Quoted("cpu", std::to_string(c)) + "," + Quoted("mode", mode),
                          {}};
        double value = unit(rng) * 1e5;
        for (int64_t t : ScrapeTimes(rng, 30, 7 + i, false)) {
          if (i == 2 && t >= kStartS + 8220 && t < kStartS + 8250) value = 0;  // A reboot.
          value += 30 * share * (1 + 0.3 * noise(rng) * share);
          s.samples.push_back({t, value});
        }
        cpu.series.push_back(std::move(s));
      }
    }
  }
  families.push_back(std::move(cpu));

  Family temperature{"node_temperature_celsius", "gauge", {}};
  Family memory{"node_memory_bytes", "gauge", {}};
  for (int i = 1; i <= 2; ++i) {
    const std::string base = Quoted("job", "node") + "," +
                             Quoted("instance", "node-" + std::to_string(i) + ":9100") + ",";
    for (std::string sensor : {"cpu", "board"}) {
      GeneratedSeries s{"node_temperature_celsius", base + Quoted("sensor", sensor), {}};
      double phase = unit(rng) * 6, level = sensor == "cpu" ? 46 : 41;
      for (int64_t t : ScrapeTimes(rng, 15, 3 * i, true)) {
        s.samples.push_back({t, level + 5 * Wave(t, 3600, phase) + 0.3 * noise(rng)});
      }
      temperature.series.push_back(std::move(s));
    }
    GeneratedSeries used{"node_memory_bytes", base + Quoted("type", "used"), {}};
    GeneratedSeries free{"node_memory_bytes", base + Quoted("type", "free"), {}};
    GeneratedSeries cached{"node_memory_bytes", base + Quoted("type", "cached"), {}};
    double cache = 2e9;
    for (int64_t t : ScrapeTimes(rng, 30, 11 * i, false)) {
      double u = 4096 * std::round((4e9 + 1e9 * Wave(t, 7200, i) + 2e7 * noise(rng)) / 4096);
      cache = std::max(1e8, cache + 4096 * std::round(1e6 * noise(rng) / 4096));
      used.samples.push_back({t, u});
      free.samples.push_back({t, 16e9 - u - cache});
      cached.samples.push_back({t, cache});
    }
    for (auto* s : {&used, &free, &cached}) memory.series.push_back(std::move(*s));
  }
  families.push_back(std::move(temperature));
  families.push_back(std::move(memory));

  Family queue{"queue_length", "gauge", {}};
  Family up{"target_up", "gauge", {}};
  for (int i = 1; i <= 4; ++i) {
    const std::string instance = "w-" + std::to_string(i);
    GeneratedSeries q{"queue_length", Quoted("job", "worker") + "," + Quoted("instance", instance),
                      {}};
    double length = i * 3;
    for (int64_t t : ScrapeTimes(rng, 60, 13 * i, false)) {
      length = std::clamp(length + std::round(noise(rng) * 2), 0.0, 20.0);
      q.samples.push_back({t, length});
    }
    queue.series.push_back(std::move(q));

    GeneratedSeries u{"target_up", Quoted("job", "worker") + "," + Quoted("instance", instance),
                      {}};
    std::vector<std::pair<int64_t, int64_t>> gaps;
    if (i == 2) gaps = {{3000, 3720}, {9000, 9180}};
    for (int64_t t : ScrapeTimes(rng, 30, 5 * i, true, gaps, i == 4 ? 3 * 3600 : kSpanS + 1)) {
      bool down = i == 3 && ((t - kStartS) % 2400 < 300);
      u.samples.push_back({t, down ? 0.0 : 1.0});
    }
    up.series.push_back(std::move(u));
  }
  families.push_back(std::move(queue));
  families.push_back(std::move(up));

  Family histogram{"request_duration_seconds", "histogram", {}};
  const std::vector<std::pair<std::string, double>> bounds = {
      {"0.05", 0.05}, {"0.1", 0.1}, {"0.25", 0.25}, {"0.5", 0.5},
      {"1", 1},       {"2.5", 2.5}, {"+Inf", INFINITY}};
  std::lognormal_distribution<double> latency(-1.8, 0.9);
  for (int i = 1; i <= 3; ++i) {
    const std::string base = Quoted("job", "api") + "," +
                             Quoted("instance", "api-" + std::to_string(i) + ":8080");
    std::vector<GeneratedSeries> buckets;
    for (const auto& [le, _] : bounds) {
      buckets.push_back({"request_duration_seconds_bucket", base + "," + Quoted("le", le), {}});
    }
    GeneratedSeries sum{"request_duration_seconds_sum", base, {}};
    GeneratedSeries count{"request_duration_seconds_count", base, {}};
    std::vector<double> counts(bounds.size(), 0);
    double total = 0;
    std::vector<std::pair<int64_t, int64_t>> gaps;
    if (i == 3) gaps = {{6000, 6600}};
    for (int64_t t : ScrapeTimes(rng, 15, 2 * i, false, gaps)) {
      if (i == 2 && t >= kStartS + 11400 && t < kStartS + 11415) {  // A restart.
        std::fill(counts.begin(), counts.end(), 0);
        total = 0;
      }
      int requests = 10 + static_cast<int>(unit(rng) * 40 * (1.5 + Wave(t, 3000, i)));
      for (int r = 0; r < requests; ++r) {
        double seconds = latency(rng) * (1 + 0.5 * Wave(t, 4000, i));
        total += seconds;
        for (size_t b = 0; b < bounds.size(); ++b) counts[b] += seconds <= bounds[b].second;
      }
      for (size_t b = 0; b < bounds.size(); ++b) buckets[b].samples.push_back({t, counts[b]});
      sum.samples.push_back({t, total});
      count.samples.push_back({t, counts.back()});
    }
    for (auto& b : buckets) histogram.series.push_back(std::move(b));
    histogram.series.push_back(std::move(sum));
    histogram.series.push_back(std::move(count));
  }
  families.push_back(std::move(histogram));

  Family batch{"batch_last_success_timestamp_seconds", "gauge", {}};
  GeneratedSeries b{"batch_last_success_timestamp_seconds", Quoted("job", "batch"), {}};
  for (int64_t t : ScrapeTimes(rng, 60, 20, false, {}, 2 * 3600)) {
    b.samples.push_back({t, static_cast<double>(t - (t - kStartS) % 900)});
  }
  batch.series.push_back(std::move(b));
  families.push_back(std::move(batch));
  return families;
}

// Writes `families` as OpenMetrics, series after series; returns the number of samples.
size_t WriteOpenMetrics(const std::string& path, const std::vector<Family>& families) {
  std::ofstream out(path);
  size_t samples = 0;
  char value[32];
  for (const Family& family : families) {
    out << "# TYPE " << family.name << " " << family.type << "\n";
    for (const GeneratedSeries& s : family.series) {
      const std::string series =
          s.name + (s.labels.empty() ? std::string() : "{" + s.labels + "}");
      for (auto [t, v] : s.samples) {
        std::snprintf(value, sizeof value, "%.17g", v);
        out << series << " " << value << " " << t << "\n";
        ++samples;
      }
    }
  }
  out << "# EOF\n";
  return out.good() ? samples : 0;
}

// --- Queries and answers ------------------------------------------------

struct CorpusQuery {
  std::string promql;
  bool ordered = false;  // Compare the order of an instant vector too.
  bool known = false;    // A known difference: reported, not a failure.
};

std::vector<CorpusQuery> ReadCorpus() {
  std::vector<CorpusQuery> queries;
  std::istringstream in(ReadFile(kQueryFile));
  std::string line;
  constexpr std::string_view kOrdered = "[ordered] ", kKnown = "[known] ";
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    CorpusQuery q;
    for (auto [tag, flag] : {std::pair{kOrdered, &q.ordered}, {kKnown, &q.known}}) {
      if (line.starts_with(tag)) {
        *flag = true;
        line.erase(0, tag.size());
      }
    }
    q.promql = line;
    queries.push_back(std::move(q));
  }
  return queries;
}

// One series of an answer: its labels as text and its points.
struct AnswerSeries {
  std::string labels;
  std::vector<std::pair<int64_t, std::string>> points;  // Milliseconds, value text.
};

// An API answer reduced to what must agree.
struct Answer {
  std::string error_type;  // "" on success.
  std::string result_type;
  std::vector<AnswerSeries> series;  // A scalar or string is one series without labels.
  std::string body;
};

int64_t JsonMillis(const nlohmann::json& t) {
  return std::llround(t.get<double>() * 1000);
}

std::pair<int64_t, std::string> JsonPoint(const nlohmann::json& p) {
  return {JsonMillis(p.at(0)), p.at(1).get<std::string>()};
}

Answer ParseAnswer(const HttpResponse& response) {
  Answer answer;
  answer.body = response.body;
  if (!response.error.empty()) {
    answer.error_type = "transport: " + response.error;
    return answer;
  }
  nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
  if (!json.is_object()) {
    answer.error_type = "unparseable (HTTP " + std::to_string(response.status) + ")";
    return answer;
  }
  if (json.value("status", "") != "success") {
    answer.error_type = json.value("errorType", "?");
    return answer;
  }
  try {
    const nlohmann::json& data = json.at("data");
    answer.result_type = data.at("resultType").get<std::string>();
    const nlohmann::json& result = data.at("result");
    if (answer.result_type == "scalar" || answer.result_type == "string") {
      answer.series.push_back({"", {JsonPoint(result)}});
      return answer;
    }
    for (const nlohmann::json& s : result) {
      AnswerSeries series;
      for (const auto& [name, value] : s.at("metric").items()) {  // Sorted by name.
        series.labels += name + "=" + value.dump() + ",";
      }
      if (s.contains("value")) series.points.push_back(JsonPoint(s.at("value")));
      if (s.contains("values")) {
        for (const nlohmann::json& p : s.at("values")) series.points.push_back(JsonPoint(p));
      }
      answer.series.push_back(std::move(series));
    }
  } catch (const nlohmann::json::exception& e) {
    answer.error_type = std::string("malformed: ") + e.what();
  }
  return answer;
}

// VITALS_DIFFERENTIAL_EXACT=1 requires the same float64 (the same shortest
// text), to find last-bit differences the tolerance hides.
const bool kExact = std::getenv("VITALS_DIFFERENTIAL_EXACT") != nullptr;

bool ValuesAgree(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (kExact) return false;
  double x = std::strtod(a.c_str(), nullptr), y = std::strtod(b.c_str(), nullptr);
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  if (std::isinf(x) || std::isinf(y)) return x == y;
  double diff = std::fabs(x - y);
  return diff <= kAbsoluteTolerance || diff <= kRelativeTolerance * std::max(std::fabs(x), std::fabs(y));
}

// "" when `vitals` agrees with `prometheus`, else the first difference.
std::string Difference(Answer prometheus, Answer vitals, bool ordered) {
  if (prometheus.error_type != vitals.error_type) {
    return "errorType " + (prometheus.error_type.empty() ? "(none)" : prometheus.error_type) +
           " vs " + (vitals.error_type.empty() ? "(none)" : vitals.error_type);
  }
  if (!prometheus.error_type.empty()) return "";
  if (prometheus.result_type != vitals.result_type) {
    return "resultType " + prometheus.result_type + " vs " + vitals.result_type;
  }
  auto by_labels = [](const AnswerSeries& a, const AnswerSeries& b) { return a.labels < b.labels; };
  if (!ordered) {
    std::sort(prometheus.series.begin(), prometheus.series.end(), by_labels);
    std::sort(vitals.series.begin(), vitals.series.end(), by_labels);
  }
  for (size_t i = 0; i < std::max(prometheus.series.size(), vitals.series.size()); ++i) {
    if (i >= prometheus.series.size()) return "extra series {" + vitals.series[i].labels + "}";
    if (i >= vitals.series.size()) return "missing series {" + prometheus.series[i].labels + "}";
    const AnswerSeries& p = prometheus.series[i];
    const AnswerSeries& v = vitals.series[i];
    if (p.labels != v.labels) return "series #" + std::to_string(i) + " {" + p.labels + "} vs {" + v.labels + "}";
    for (size_t j = 0; j < std::max(p.points.size(), v.points.size()); ++j) {
      if (j >= p.points.size() || j >= v.points.size() || p.points[j].first != v.points[j].first) {
        auto at = [](const AnswerSeries& s, size_t k) {
          return k < s.points.size() ? std::to_string(s.points[k].first) : std::string("none");
        };
        return "{" + p.labels + "} point #" + std::to_string(j) + " at " + at(p, j) + " vs " + at(v, j);
      }
      if (!ValuesAgree(p.points[j].second, v.points[j].second)) {
        return "{" + p.labels + "} at " + std::to_string(p.points[j].first) + ": " +
               p.points[j].second + " vs " + v.points[j].second;
      }
    }
  }
  return "";
}

std::string Truncated(const std::string& text, size_t max = 1500) {
  return text.size() <= max ? text : text.substr(0, max) + "... (" + std::to_string(text.size()) + " bytes)";
}

// --- The test -----------------------------------------------------------

class PromqlDifferentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* program : {kPrometheus, kPromtool}) {
      if (access(program, X_OK) != 0) {
        GTEST_SKIP() << program << " is not installed (scripts/setup installs it)";
      }
    }
    const std::string data = dir_.File("data.om");
    ASSERT_GT(WriteOpenMetrics(data, GenerateFamilies()), 50'000u);
    ASSERT_NO_FATAL_FAILURE(Run({kPromtool, "tsdb", "create-blocks-from", "openmetrics", data,
                                 dir_.File("prometheus-data")},
                                "promtool"));
    WriteCollectorConfig(collector_.config_path(), collector_.config());
    ASSERT_NO_FATAL_FAILURE(Run({CtlBinary(), "tsdb", "import", "openmetrics", data,
                                 collector_.config().storage_path, "--config",
                                 collector_.config_path()},
                                "import"));
    StartPrometheus();
    std::string error;
    ASSERT_TRUE(collector_.Start(&error)) << error;
    ASSERT_TRUE(WaitFor([&] { return HttpGet("127.0.0.1", prometheus_port_, "/-/ready").status == 200; },
                        60s))
        << prometheus_->Output();
    queries_ = ReadCorpus();
    ASSERT_GE(queries_.size(), 150u);
  }

  void TearDown() override {
    if (HasFailure() && prometheus_ != nullptr) std::cerr << Truncated(prometheus_->Output(), 4000);
  }

  void Run(const std::vector<std::string>& argv, const std::string& name) {
    std::string error;
    auto process = Process::Start(argv, dir_.File(name), &error);
    ASSERT_NE(process, nullptr) << error;
    ASSERT_EQ(process->Wait(60s).value_or(-1), 0) << process->Output();
  }

  void StartPrometheus() {
    prometheus_port_ = FreeTcpPort();
    WriteFile(dir_.File("prometheus.yml"), "global:\n  scrape_interval: 15s\nscrape_configs: []\n");
    std::string error;
    prometheus_ = Process::Start(
        {kPrometheus, "--config.file=" + dir_.File("prometheus.yml"),
         "--storage.tsdb.path=" + dir_.File("prometheus-data"),
         "--storage.tsdb.retention.time=100y",
         "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_)},
        dir_.File("prometheus"), &error);
    ASSERT_NE(prometheus_, nullptr) << error;
  }

  // Asks both for `path_and_query` and records a difference.
  void Compare(const CorpusQuery& query, const std::string& where, const std::string& path) {
    Answer prometheus = ParseAnswer(HttpGet("127.0.0.1", prometheus_port_, path));
    Answer vitals = ParseAnswer(collector_.Get(path));
    ++compared_;
    if (!prometheus.series.empty()) ++non_empty_;
    if (!prometheus.error_type.empty()) ++errors_;
    std::string difference = Difference(prometheus, vitals, query.ordered);
    if (query.known) {
      if (!difference.empty()) ++known_differences_[query.promql];
      known_differences_.try_emplace(query.promql, 0);
      return;
    }
    if (difference.empty()) return;
    ++mismatches_;
    ADD_FAILURE() << "query: " << query.promql << "\n  at: " << where << "\n  difference: "
                  << difference << "\n  prometheus: " << Truncated(prometheus.body)
                  << "\n  vitals:     " << Truncated(vitals.body);
  }

  void Summarize(const char* kind) {
    std::cout << kind << ": " << queries_.size() << " queries, " << compared_
              << " evaluations compared (" << non_empty_ << " non-empty, " << errors_
              << " errors in both), " << mismatches_ << " mismatches\n";
    for (const auto& [promql, count] : known_differences_) {
      std::cout << "  known difference " << (count == 0 ? "not seen here: " : "still present: ")
                << promql << "\n";
    }
    // An empty answer from both would prove nothing: most must have data.
    EXPECT_GT(non_empty_, compared_ * 3 / 4);
  }

  TempDir dir_;
  TestCollector collector_{dir_};
  std::unique_ptr<Process> prometheus_;
  int prometheus_port_ = 0;
  std::vector<CorpusQuery> queries_;
  size_t compared_ = 0, non_empty_ = 0, errors_ = 0, mismatches_ = 0;
  std::map<std::string, int> known_differences_;  // Query -> evaluations that differed.
};

TEST_F(PromqlDifferentialTest, InstantQueriesAnswerAsPrometheusDoes) {
  for (const CorpusQuery& query : queries_) {
    for (const std::string& time : kInstantTimes) {
      Compare(query, "time=" + time,
              "/api/v1/query?query=" + UrlEncode(query.promql) + "&time=" + time);
    }
  }
  Summarize("instant");
}

TEST_F(PromqlDifferentialTest, RangeQueriesAnswerAsPrometheusDoes) {
  for (CorpusQuery query : queries_) {
    query.ordered = false;  // A matrix is sorted by labels.
    for (const RangeParams& range : kRanges) {
      Compare(query,
              "start=" + range.start + " end=" + range.end + " step=" + range.step,
              "/api/v1/query_range?query=" + UrlEncode(query.promql) + "&start=" + range.start +
                  "&end=" + range.end + "&step=" + range.step);
    }
  }
  Summarize("range");
}

}  // namespace
}  // namespace vitals::testing
