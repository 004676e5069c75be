#pragma once

// Test support for the webhook sender: a scripted receiver on a port-0
// socket and metric lookups.

#include <httplib.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vitals::actions::testing {

using namespace std::chrono_literals;

// A webhook receiver on a port-0 socket: records every POST to /hook and
// answers with the scripted statuses (then 200). Hang() holds requests
// until Release().
class FakeReceiver {
 public:
  struct Request {
    std::string body;
    httplib::Headers headers;
    std::string Header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "<absent>" : it->second;
    }
  };

  FakeReceiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock lock(mu_);
      requests_.push_back({req.body, req.headers});
      cv_.notify_all();
      cv_.wait(lock, [this] { return !hang_ || closing_; });
      int status = 200;
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      }
      res.status = status;
      res.set_content(status == 200 ? "thanks" : "bad payload", "text/plain");
    });
    server_.set_tcp_nodelay(true);  // Else replies wait ~40ms for delayed ACKs.
    // One request per connection: a kept-alive connection would hold stop()
    // for the keep-alive timeout (5s).
    server_.set_keep_alive_max_count(1);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }

  ~FakeReceiver() {
    Release();
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

  // The next POSTs are answered with these statuses, in order.
  void Script(std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    statuses_.assign(statuses.begin(), statuses.end());
  }
  void Hang() {
    std::lock_guard lock(mu_);
    hang_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      hang_ = false;
    }
    cv_.notify_all();
  }
  std::vector<Request> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Waits until `n` requests have arrived.
  bool WaitForRequests(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return requests_.size() >= n; });
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;  // GUARDED_BY(mu_)
  std::deque<int> statuses_;       // GUARDED_BY(mu_)
  bool hang_ = false;              // GUARDED_BY(mu_)
  bool closing_ = false;           // GUARDED_BY(mu_)
};

// The value of a counter or a histogram's count with exactly these labels;
// -1 if there is none.
inline double MetricValue(prometheus::Registry& registry, const std::string& name,
                          const std::map<std::string, std::string>& labels) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> have;
      for (const auto& label : metric.label) have[label.name] = label.value;
      if (have != labels) continue;
      if (family.type == prometheus::MetricType::Histogram) {
        return static_cast<double>(metric.histogram.sample_count);
      }
      return metric.counter.value;
    }
  }
  return -1;
}

}  // namespace vitals::actions::testing
