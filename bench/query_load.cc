// vitals_query_load: query latency of the collector's HTTP API against
// Prometheus's, on the same data, measured in the same run.
//
//   vitals_query_load generate --out FILE [--instances 100] [--hours 6] ...
//     writes the benchmark's data as OpenMetrics (for `promtool tsdb
//     create-blocks-from openmetrics` and `vitalsctl tsdb import openmetrics`):
//     per instance 100 http_requests_total counters (20 paths x 5 codes),
//     a 10-bucket request_duration_seconds histogram and 10
//     node_filesystem_avail_bytes gauges, one sample per --interval-s.
//
//   vitals_query_load run --vitals URL --prometheus URL --queries FILE
//     sends each query of FILE to both, alternating, --requests times each
//     (after --warmup unmeasured ones; fewer once --budget-s has passed for
//     the query), and prints a table: median, p90 and p99 latency of each and
//     the ratio of the medians (vitals / prometheus; below 1 is faster).
//     FILE has one query per line: `name|shape|params|promql`, where params
//     is `time=T` (instant) or `start=S&end=E&step=D` (range); `#` comments.
//
// Latency is from sending the request until the whole answer is read, over a
// kept-alive connection, one request at a time.

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

using Clock = std::chrono::steady_clock;

// --- generate ----------------------------------------------------------

struct GenerateOptions {
  std::string out;
  int instances = 100;
  double hours = 6;
  int interval_s = 15;
  int64_t start_s = 1'700'006'400;  // 2023-11-15T00:00:00Z, on a 2h block boundary.
  uint64_t seed = 1;
};

int Generate(const GenerateOptions& o) {
  std::FILE* out = std::fopen(o.out.c_str(), "w");
  if (out == nullptr) {
    std::perror(o.out.c_str());
    return 1;
  }
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  constexpr int kPaths = 20;
  const char* kCodes[] = {"200", "201", "404", "500", "503"};
  const double kCodeShare[] = {0.8, 0.1, 0.06, 0.03, 0.01};
  const char* kLe[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"};
  const double kLeShare[] = {0.02, 0.06, 0.2, 0.45, 0.7, 0.88, 0.95, 0.98, 0.995, 1};
  constexpr int kMounts = 10;

  // Per-series state, indexed in the order series are written.
  const size_t counters = static_cast<size_t>(o.instances) * kPaths * std::size(kCodes);
  std::vector<double> counter(counters), counter_rate(counters);
  for (size_t i = 0; i < counters; ++i) {
    counter[i] = std::floor(unit(rng) * 1e5);
    counter_rate[i] = kCodeShare[i % std::size(kCodes)] * (1 + 20 * unit(rng));
  }
  std::vector<double> requests(o.instances, 0), latency_sum(o.instances, 0);
  const size_t mounts = static_cast<size_t>(o.instances) * kMounts;
  std::vector<double> avail(mounts), avail_slope(mounts);
  for (size_t i = 0; i < mounts; ++i) {
    avail[i] = 1e9 * (5 + 95 * unit(rng));
    // About one filesystem in twenty fills up within hours.
    avail_slope[i] = unit(rng) < 0.05 ? -avail[i] / (3600 * (2 + 10 * unit(rng)))
                                      : 1e4 * (unit(rng) - 0.5);
  }

  const int64_t end_s = o.start_s + static_cast<int64_t>(o.hours * 3600);
  uint64_t samples = 0;
  for (int64_t t = o.start_s; t < end_s; t += o.interval_s) {
    size_t c = 0;
    for (int inst = 0; inst < o.instances; ++inst) {
      for (int path = 0; path < kPaths; ++path) {
        for (const char* code : kCodes) {
          counter[c] += std::floor(counter_rate[c] * o.interval_s * (0.5 + unit(rng)));
          std::fprintf(out,
                       "http_requests_total{job=\"api\",instance=\"host-%03d:8080\","
                       "path=\"/api/v1/p%02d\",code=\"%s\"} %.17g %" PRId64 "\n",
                       inst, path, code, counter[c], t);
          ++c;
        }
      }
      double n = std::floor(200 * o.interval_s * (0.5 + unit(rng)));
      requests[inst] += n;
      latency_sum[inst] += n * 0.07 * (0.5 + unit(rng));
      for (size_t b = 0; b < std::size(kLe); ++b) {
        std::fprintf(out,
                     "request_duration_seconds_bucket{job=\"api\",instance=\"host-%03d:8080\","
                     "le=\"%s\"} %.17g %" PRId64 "\n",
                     inst, kLe[b], std::floor(requests[inst] * kLeShare[b]), t);
      }
      std::fprintf(out,
                   "request_duration_seconds_sum{job=\"api\",instance=\"host-%03d:8080\"} %.17g "
                   "%" PRId64 "\nrequest_duration_seconds_count{job=\"api\",instance=\"host-%03d:"
                   "8080\"} %.17g %" PRId64 "\n",
                   inst, latency_sum[inst], t, inst, requests[inst], t);
      for (int m = 0; m < kMounts; ++m) {
        size_t i = static_cast<size_t>(inst) * kMounts + m;
        avail[i] = std::max(0.0, avail[i] + avail_slope[i] * o.interval_s +
                                     4096 * std::floor(1e3 * (unit(rng) - 0.5)));
        std::fprintf(out,
                     "node_filesystem_avail_bytes{job=\"node\",instance=\"host-%03d:9100\","
                     "mountpoint=\"/mnt/d%d\"} %.17g %" PRId64 "\n",
                     inst, m, avail[i], t);
      }
      samples += kPaths * std::size(kCodes) + std::size(kLe) + 2 + kMounts;
    }
  }
  std::fprintf(out, "# EOF\n");
  if (std::fclose(out) != 0) {
    std::perror(o.out.c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %" PRIu64 " samples of %zu series, %" PRId64 "..%" PRId64 " s\n",
               samples, counters + o.instances * (std::size(kLe) + 2) + mounts, o.start_s,
               end_s - o.interval_s);
  return 0;
}

// --- run ---------------------------------------------------------------

struct Query {
  std::string name, shape, params, promql;
};

struct Target {
  std::string label;
  std::unique_ptr<httplib::Client> client;
};

// Milliseconds of each request.
struct Latencies {
  std::vector<double> ms;
  double Percentile(double p) const {
    if (ms.empty()) return NAN;
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    size_t rank = static_cast<size_t>(std::ceil(p / 100 * sorted.size()));
    return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
  }
};

std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Sends `query`; returns its latency in ms, or a negative number after
// printing why it failed. *series gets the number of series in the answer.
double Send(Target& target, const Query& query, size_t* series) {
  const std::string path = std::string(query.params.starts_with("time=") ? "/api/v1/query"
                                                                         : "/api/v1/query_range") +
                           "?query=" + UrlEncode(query.promql) + "&" + query.params;
  auto begin = Clock::now();
  httplib::Result result = target.client->Get(path);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
  if (!result || result->status != 200 ||
      result->body.find("\"status\":\"success\"") == std::string::npos) {
    std::fprintf(stderr, "%s: %s: %s\n", target.label.c_str(), query.name.c_str(),
                 result ? result->body.substr(0, 300).c_str()
                        : httplib::to_string(result.error()).c_str());
    return -1;
  }
  *series = 0;
  for (size_t pos = 0; (pos = result->body.find("\"metric\":", pos)) != std::string::npos; ++pos) {
    ++*series;
  }
  return ms;
}

std::vector<Query> ReadQueries(const std::string& path) {
  std::vector<Query> queries;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    size_t from = 0;
    for (int i = 0; i < 3; ++i) {
      size_t bar = line.find('|', from);
      if (bar == std::string::npos) break;
      fields.push_back(line.substr(from, bar - from));
      from = bar + 1;
    }
    if (fields.size() != 3) {
      std::fprintf(stderr, "%s: not name|shape|params|promql: %s\n", path.c_str(), line.c_str());
      return {};
    }
    queries.push_back({fields[0], fields[1], fields[2], line.substr(from)});
  }
  return queries;
}

struct RunOptions {
  std::string vitals_url, prometheus_url, queries_file;
  int requests = 20;
  int min_requests = 5;
  int warmup = 3;
  double budget_s = 30;  // Per query, both targets together.
};

int Run(const RunOptions& o) {
  std::vector<Query> queries = ReadQueries(o.queries_file);
  if (queries.empty()) return 1;
  Target targets[2] = {{"vitals", std::make_unique<httplib::Client>(o.vitals_url)},
                       {"prometheus", std::make_unique<httplib::Client>(o.prometheus_url)}};
  for (Target& t : targets) {
    t.client->set_keep_alive(true);
    t.client->set_read_timeout(std::chrono::minutes(5));
  }

  std::printf("%-22s %-18s %7s | %9s %9s %9s | %9s %9s %9s | %8s %8s\n", "query", "shape",
              "series", "vitals", "p90", "p99", "prom", "p90", "p99", "ratio", "p99 ratio");
  std::printf("%-22s %-18s %7s | %9s %9s %9s | %9s %9s %9s | %8s %8s\n", "", "", "", "p50 ms",
              "ms", "ms", "p50 ms", "ms", "ms", "p50 v/p", "v/p");
  int failures = 0;
  for (const Query& q : queries) {
    size_t series[2] = {0, 0};
    bool failed = false;
    for (int i = 0; i < o.warmup && !failed; ++i) {
      for (int k = 0; k < 2; ++k) failed |= Send(targets[k], q, &series[k]) < 0;
    }
    Latencies latencies[2];
    auto begin = Clock::now();
    for (int i = 0; i < o.requests && !failed; ++i) {
      if (i >= o.min_requests &&
          std::chrono::duration<double>(Clock::now() - begin).count() > o.budget_s) {
        break;
      }
      for (int j = 0; j < 2; ++j) {
        int k = (i + j) % 2;  // Alternate who goes first.
        double ms = Send(targets[k], q, &series[k]);
        if (ms < 0) failed = true;
        latencies[k].ms.push_back(ms);
      }
    }
    if (failed) {
      ++failures;
      continue;
    }
    const Latencies& v = latencies[0];
    const Latencies& p = latencies[1];
    std::printf("%-22s %-18s %7zu | %9.2f %9.2f %9.2f | %9.2f %9.2f %9.2f | %8.2f %8.2f%s\n",
                q.name.c_str(), q.shape.c_str(), series[1], v.Percentile(50), v.Percentile(90),
                v.Percentile(99), p.Percentile(50), p.Percentile(90), p.Percentile(99),
                v.Percentile(50) / p.Percentile(50), v.Percentile(99) / p.Percentile(99),
                series[0] == series[1]
                    ? ""
                    : ("  (vitals answered " + std::to_string(series[0]) + " series)").c_str());
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Query latency of vitals-collector against Prometheus on the same data"};
  app.require_subcommand(1);

  GenerateOptions gen;
  CLI::App* generate = app.add_subcommand("generate", "Write the benchmark data as OpenMetrics");
  generate->add_option("--out", gen.out, "output file")->required();
  generate->add_option("--instances", gen.instances,
                       "instances; each has 100 counters, 12 histogram series and 10 gauges")
      ->capture_default_str();
  generate->add_option("--hours", gen.hours, "time span")->capture_default_str();
  generate->add_option("--interval-s", gen.interval_s, "seconds between samples")
      ->capture_default_str();
  generate->add_option("--start", gen.start_s, "first timestamp, Unix seconds")
      ->capture_default_str();
  generate->add_option("--seed", gen.seed, "random seed")->capture_default_str();

  RunOptions run;
  CLI::App* run_cmd = app.add_subcommand("run", "Measure query latency of both");
  run_cmd->add_option("--vitals", run.vitals_url, "collector URL, http://127.0.0.1:9740")
      ->required();
  run_cmd->add_option("--prometheus", run.prometheus_url, "Prometheus URL")->required();
  run_cmd->add_option("--queries", run.queries_file, "name|shape|params|promql lines")
      ->required();
  run_cmd->add_option("--requests", run.requests, "measured requests per query and target")
      ->capture_default_str();
  run_cmd->add_option("--min-requests", run.min_requests, "measured at least, despite --budget-s")
      ->capture_default_str();
  run_cmd->add_option("--warmup", run.warmup, "unmeasured requests first")->capture_default_str();
  run_cmd->add_option("--budget-s", run.budget_s, "stop measuring a query after this long")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (*generate) return Generate(gen);
  return Run(run);
}
