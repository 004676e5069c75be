#include "bench/victoriametrics_import.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace vitals::bench {
namespace {

constexpr int kAttemptsPerRequest = 5;
constexpr const char* kRowsAdded = "vm_rows_added_to_storage_total";

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<httplib::Client> NewClient(const std::string& url) {
  auto client = std::make_unique<httplib::Client>(url);
  client->set_connection_timeout(std::chrono::seconds(5));
  client->set_read_timeout(std::chrono::seconds(60));
  client->set_write_timeout(std::chrono::seconds(60));
  client->set_keep_alive(true);
  // Headers and body go out in separate writes: without this, Nagle and
  // delayed ACKs add 40 ms to every request.
  client->set_tcp_nodelay(true);
  return client;
}

// The value of the unlabelled counter `name` in VictoriaMetrics's /metrics.
Result<double> ReadCounter(httplib::Client& client, const std::string& name) {
  httplib::Result r = client.Get("/metrics");
  if (!r) return Status::Unavailable("GET /metrics: " + httplib::to_string(r.error()));
  if (r->status != 200) return Status::Unavailable("GET /metrics: " + std::to_string(r->status));
  std::istringstream lines(r->body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        line[name.size()] == ' ') {
      return std::stod(line.substr(name.size() + 1));
    }
  }
  return Status::NotFound(name + " not in /metrics");
}

// The text exposition of one agent's round: `series value timestamp_ms` lines.
std::string RoundBody(const SyntheticFleet& fleet, int agent, int round,
                      const std::vector<double>& values) {
  std::string body;
  body.reserve(values.size() * 160);
  char number[32];
  const int64_t ts = fleet.RoundTimestampMs(round);
  for (size_t i = 0; i < values.size(); ++i) {
    body += fleet.StoredSeriesText(agent, static_cast<int>(i));
    body += ' ';
    // Shortest text that reads back as the same double.
    body.append(number, std::to_chars(number, number + sizeof(number), values[i]).ptr);
    body += ' ';
    body.append(number, std::to_chars(number, number + sizeof(number), ts).ptr);
    body += '\n';
  }
  return body;
}

}  // namespace

Result<LoadSummary> ImportToVictoriaMetrics(const VmImportOptions& options) {
  SyntheticFleet fleet(options.fleet);
  std::vector<std::string> bodies;
  bodies.reserve(static_cast<size_t>(options.rounds) * options.fleet.agents);
  for (int round = 0; round < options.rounds; ++round) {
    for (int agent = 0; agent < options.fleet.agents; ++agent) {
      bodies.push_back(RoundBody(fleet, agent, round, fleet.NextValues(agent)));
    }
  }
  const uint64_t samples_per_body = fleet.SeriesLabels().size();
  const uint64_t total = bodies.size() * samples_per_body;

  auto control = NewClient(options.url);
  ASSIGN_OR_RETURN(const double rows_before, ReadCounter(*control, kRowsAdded));

  LoadSummary summary;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> retries{0};
  std::mutex mu;
  std::vector<float> latencies_ms;  // Guarded by mu.
  const double start_s = SteadySeconds();
  const double deadline_s = start_s + std::chrono::duration<double>(options.deadline).count();
  std::vector<std::thread> workers;
  for (int c = 0; c < std::max(1, options.connections); ++c) {
    workers.emplace_back([&] {
      auto client = NewClient(options.url);
      std::vector<float> mine;
      for (size_t i = next++; i < bodies.size() && SteadySeconds() < deadline_s; i = next++) {
        bool ok = false;
        for (int attempt = 0; attempt < kAttemptsPerRequest && !ok; ++attempt) {
          if (attempt > 0) ++retries;
          const double sent_s = SteadySeconds();
          httplib::Result r =
              client->Post("/api/v1/import/prometheus", bodies[i], "text/plain");
          ok = r && r->status / 100 == 2;
          if (ok) mine.push_back(static_cast<float>((SteadySeconds() - sent_s) * 1000));
        }
        if (!ok) ++failed;
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& t : workers) t.join();
  const uint64_t sent = std::min<uint64_t>(next.load(), bodies.size()) - failed.load();
  summary.batches_sent = sent;
  summary.samples_sent = sent * samples_per_body;
  summary.resends = retries.load();
  summary.errors = failed.load();

  // Accepted requests are buffered for up to a second before they reach
  // storage: wait for the rows to land.
  double rows_added = 0;
  while (true) {
    Result<double> rows = ReadCounter(*control, kRowsAdded);
    if (rows.ok()) rows_added = *rows - rows_before;
    if (rows_added >= static_cast<double>(summary.samples_sent) || SteadySeconds() >= deadline_s) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  summary.elapsed_seconds = SteadySeconds() - start_s;
  summary.samples_acked = std::min<uint64_t>(static_cast<uint64_t>(rows_added), summary.samples_sent);
  summary.batches_acked = summary.samples_acked / samples_per_body;
  summary.complete = summary.samples_acked == total;
  SetLatencyPercentiles(std::move(latencies_ms), &summary);
  return summary;
}

}  // namespace vitals::bench
