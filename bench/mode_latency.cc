// How long from the batch that carries a failing dependency check to the
// mode file written on an agent of that service (issue #7's target: p99
// under 1 s over 100 repetitions).
//
// This program plays the agent whose check fails: it speaks the wire
// protocol to the collector and, per repetition, sends a batch with
// vitals_check_up{check="payment-gateway",service="shop",module="payments"}
// = 0 and measures until the real agent (started by bench/mode_latency.sh
// with `services: [shop]`) has renamed its mode file into place showing
// payments degraded; then it sends the healthy value and waits for the mode
// to lift before the next repetition. The collector evaluates the rule on
// ingest; the actions route degrades payments with recover_after 0s.
//
// Usage: vitals_mode_latency --endpoint tcp://127.0.0.1:P --mode-file DIR/shop.json [--reps 100]
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "common/samples.h"
#include "common/wire.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "degraded", "normal", or "" while there is no readable file.
std::string PaymentsMode(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.contains("modules")) return "";
  return j["modules"].contains("payments") ? j["modules"]["payments"].value("mode", "") : "normal";
}

class FakeAgent {
 public:
  explicit FakeAgent(const std::string& endpoint) : socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
    vitals::wire::Envelope hello = vitals::wirecodec::NewEnvelope();
    hello.mutable_hello()->set_agent_id("latency-bench");
    hello.mutable_hello()->set_spool_id(std::random_device{}());
    hello.mutable_hello()->set_interval_ms(1000);
    Send(hello);
  }

  void SendCheck(double up) {
    vitals::SampleSet set;
    vitals::Labels labels = {{"check", "payment-gateway"}, {"kind", "http"},
                             {"module", "payments"},       {"service", "shop"}};
    int64_t ts = std::max(NowMs(), last_ts_ + 1);
    last_ts_ = ts;
    set.Add(vitals::MetricDesc{"vitals_check_up", vitals::MetricType::kGauge, "check up"}, labels,
            up, ts);
    vitals::wire::Envelope env = vitals::wirecodec::NewEnvelope();
    env.mutable_batch()->set_seq(++seq_);
    vitals::wirecodec::EncodeSamples(set, env.mutable_batch());
    Send(env);
  }

  // Reads and drops replies (acks, hello ack).
  void Drain() {
    zmq::message_t msg;
    while (socket_.recv(msg, zmq::recv_flags::dontwait)) {
    }
  }

 private:
  void Send(const vitals::wire::Envelope& env) {
    std::string bytes = env.SerializeAsString();
    socket_.send(zmq::buffer(bytes), zmq::send_flags::none);
  }

  zmq::context_t context_{1};
  zmq::socket_t socket_;
  uint64_t seq_ = 0;
  int64_t last_ts_ = 0;
};

// Waits until the mode file says `mode`; returns false after `timeout`.
bool WaitForMode(int inotify_fd, const std::string& path, const std::string& mode,
                 std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (true) {
    if (PaymentsMode(path) == mode) return true;
    if (Clock::now() >= deadline) return false;
    // Woken by the rename into place; the 5 ms timeout bounds a missed event.
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(inotify_fd, &fds);
    timeval tv{0, 5000};
    if (select(inotify_fd + 1, &fds, nullptr, nullptr, &tv) > 0) {
      [[maybe_unused]] ssize_t n = read(inotify_fd, buf, sizeof buf);
    }
  }
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Latency from a failing check's batch to the mode file on the agent"};
  std::string endpoint, mode_file;
  int reps = 100;
  app.add_option("--endpoint", endpoint, "The collector's ingest endpoint")->required();
  app.add_option("--mode-file", mode_file, "The real agent's <mode_dir>/shop.json")->required();
  app.add_option("--reps", reps, "Repetitions");
  CLI11_PARSE(app, argc, argv);

  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  std::string dir = std::filesystem::path(mode_file).parent_path().string();
  std::filesystem::create_directories(dir);
  inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE);

  FakeAgent agent(endpoint);
  std::vector<double> latencies;
  for (int i = 0; i < reps; ++i) {
    agent.SendCheck(1);
    if (!WaitForMode(fd, mode_file, "normal", std::chrono::seconds(30))) {
      std::fprintf(stderr, "rep %d: the mode never returned to normal\n", i);
      return 1;
    }
    agent.Drain();
    const auto t0 = Clock::now();
    agent.SendCheck(0);
    if (!WaitForMode(fd, mode_file, "degraded", std::chrono::seconds(30))) {
      std::fprintf(stderr, "rep %d: payments never became degraded\n", i);
      return 1;
    }
    latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    agent.Drain();
  }
  std::printf(
      "{\"reps\":%d,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
      "\"target_p99_ms\":1000}\n",
      reps, Percentile(latencies, 0.5), Percentile(latencies, 0.9), Percentile(latencies, 0.99),
      Percentile(latencies, 1.0));
  return 0;
}
