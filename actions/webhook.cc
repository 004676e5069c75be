#include "actions/webhook.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <sodium.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "actions/webhook_request.h"
#include "common/curl_handle.h"
#include "common/log.h"

namespace vitals::actions {
namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

using internal::AbortDeadline;
using internal::Attempt;
using internal::Post;
using internal::ValidateDeliveryId;
using internal::ValidateEndpoint;

// The sender's metrics, declared once; endpoints add their children.
struct WebhookMetrics {
  explicit WebhookMetrics(prometheus::Registry& registry)
      : requests(prometheus::BuildCounter()
                     .Name("vitals_webhook_requests_total")
                     .Help("Webhook requests (attempts), by endpoint and result.")
                     .Register(registry)),
        deliveries(prometheus::BuildCounter()
                       .Name("vitals_webhook_deliveries_total")
                       .Help("Webhook deliveries (all attempts of one send), by endpoint and "
                             "result.")
                       .Register(registry)),
        latency(prometheus::BuildHistogram()
                    .Name("vitals_webhook_latency_seconds")
                    .Help("Duration of one webhook request, by endpoint.")
                    .Register(registry)) {}

  prometheus::Family<prometheus::Counter>& requests;    // {webhook, result}
  prometheus::Family<prometheus::Counter>& deliveries;  // {webhook, result}
  prometheus::Family<prometheus::Histogram>& latency;   // {webhook}
};

// One queued Send.
struct Delivery {
  std::string body;
  std::string id;
  std::function<void(const WebhookResult&)> done;
};

// One endpoint: its configuration, metric children, queue and thread.
struct EndpointState {
  EndpointState(WebhookEndpoint config, WebhookMetrics& m)
      : config(std::move(config)),
        request_success(m.requests.Add({{"webhook", this->config.name}, {"result", "success"}})),
        request_failure(m.requests.Add({{"webhook", this->config.name}, {"result", "failure"}})),
        delivered(m.deliveries.Add({{"webhook", this->config.name}, {"result", "delivered"}})),
        failed(m.deliveries.Add({{"webhook", this->config.name}, {"result", "failed"}})),
        dropped(m.deliveries.Add({{"webhook", this->config.name}, {"result", "dropped"}})),
        latency(m.latency.Add({{"webhook", this->config.name}},
                              prometheus::Histogram::BucketBoundaries{0.01, 0.025, 0.05, 0.1, 0.25,
                                                                      0.5, 1, 2.5, 5, 10, 30})) {}

  const WebhookEndpoint config;
  prometheus::Counter& request_success;
  prometheus::Counter& request_failure;
  prometheus::Counter& delivered;
  prometheus::Counter& failed;
  prometheus::Counter& dropped;
  prometheus::Histogram& latency;
  std::deque<Delivery> queue;  // GUARDED_BY(WebhookSenderImpl::mu_)
  std::thread worker;
};

WebhookResult Dropped(std::string why) {
  WebhookResult result;
  result.error = std::move(why);
  return result;
}

class WebhookSenderImpl final : public WebhookSender {
 public:
  WebhookSenderImpl(std::vector<WebhookEndpoint> endpoints, prometheus::Registry& registry,
                    WebhookSenderOptions options)
      : options_(options), metrics_(registry) {
    for (WebhookEndpoint& e : endpoints) {
      std::string name = e.name;
      endpoints_.emplace(std::move(name), std::make_unique<EndpointState>(std::move(e), metrics_));
    }
    for (auto& [name, state] : endpoints_) {
      state->worker = std::thread([this, s = state.get()] { Work(*s); });
    }
  }

  ~WebhookSenderImpl() override { Stop(milliseconds(0)); }

  Status Send(std::string_view endpoint_name, std::string body, std::string delivery_id,
              std::function<void(const WebhookResult&)> done) override {
    auto it = endpoints_.find(endpoint_name);
    if (it == endpoints_.end()) return UnknownEndpoint(endpoint_name);
    RETURN_IF_ERROR(ValidateDeliveryId(delivery_id));
    EndpointState& state = *it->second;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      state.dropped.Increment();
      return Status::FailedPrecondition("the webhook sender is stopped");
    }
    if (state.queue.size() >= options_.queue_capacity) {
      state.dropped.Increment();
      return Status::ResourceExhausted("webhook " + state.config.name + ": queue full (" +
                                       std::to_string(options_.queue_capacity) + " deliveries)");
    }
    state.queue.push_back({std::move(body), std::move(delivery_id), std::move(done)});
    cv_.notify_all();
    return Status::Ok();
  }

  WebhookResult SendNow(std::string_view endpoint_name, std::string body,
                        std::string delivery_id) override {
    auto it = endpoints_.find(endpoint_name);
    if (it == endpoints_.end()) return Dropped(UnknownEndpoint(endpoint_name).message());
    if (Status id = ValidateDeliveryId(delivery_id); !id.ok()) return Dropped(id.message());
    EndpointState& state = *it->second;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (abort_.Passed()) {
        state.dropped.Increment();
        return Dropped("the webhook sender is stopped");
      }
      ++sending_now_;
    }
    CurlPtr curl(curl_easy_init());
    WebhookResult result =
        curl ? Deliver(state, curl.get(), body, delivery_id) : Dropped("curl_easy_init failed");
    std::lock_guard<std::mutex> lock(mu_);
    --sending_now_;
    cv_.notify_all();
    return result;
  }

  void Stop(milliseconds drain_for) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        stopping_ = true;
        abort_.Set(Steady::now() + std::max(drain_for, milliseconds(0)));
      }
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> join_lock(join_mu_);
    for (auto& [name, state] : endpoints_) {
      if (state->worker.joinable()) state->worker.join();
    }
    // SendNow calls end by the deadline too; none starts after Stop.
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return sending_now_ == 0; });
    abort_.Set(std::min(abort_.Get(), Steady::now()));
  }

  bool Has(std::string_view endpoint_name) const override {
    return endpoints_.find(endpoint_name) != endpoints_.end();
  }

 private:
  static Status UnknownEndpoint(std::string_view name) {
    return Status::NotFound("no webhook named \"" + std::string(name) + "\"");
  }

  // An endpoint's thread: one delivery at a time until stopped and drained
  // (or the drain deadline passed).
  void Work(EndpointState& state) {
    CurlPtr curl(curl_easy_init());
    std::deque<Delivery> left;
    while (true) {
      Delivery delivery;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !state.queue.empty() || stopping_; });
        if (state.queue.empty()) break;
        if (abort_.Passed()) {
          left.swap(state.queue);
          break;
        }
        delivery = std::move(state.queue.front());
        state.queue.pop_front();
      }
      WebhookResult result = curl ? Deliver(state, curl.get(), delivery.body, delivery.id)
                                  : Dropped("curl_easy_init failed");
      if (delivery.done) delivery.done(result);
    }
    if (!left.empty()) {
      LOG_WARN << "webhook " << state.config.name << ": stopped with " << left.size()
               << " deliveries unsent";
    }
    for (Delivery& delivery : left) {
      state.dropped.Increment();
      if (delivery.done) delivery.done(Dropped("the webhook sender stopped before delivery"));
    }
  }

  // Makes the attempts of one delivery, waiting between them.
  WebhookResult Deliver(EndpointState& state, CURL* curl, const std::string& body,
                        const std::string& delivery_id) {
    const WebhookEndpoint& endpoint = state.config;
    WebhookResult result;
    const auto start = Steady::now();
    milliseconds backoff = endpoint.min_backoff;
    while (true) {
      ++result.attempts;
      const auto begin = Steady::now();
      Attempt attempt = Post(curl, endpoint, body, delivery_id, abort_);
      state.latency.Observe(std::chrono::duration<double>(Steady::now() - begin).count());
      (attempt.ok ? state.request_success : state.request_failure).Increment();
      result.ok = attempt.ok;
      result.http_status = attempt.http_status;
      result.error = std::move(attempt.error);
      result.response_body = std::move(attempt.body);
      if (attempt.ok || !attempt.retryable || result.attempts > endpoint.max_retries) break;
      if (!WaitUntil(Steady::now() + backoff)) {
        result.error += " (the sender stopped before the next retry)";
        break;
      }
      backoff = std::min(backoff * 2, endpoint.max_backoff);
    }
    result.duration = std::chrono::duration_cast<milliseconds>(Steady::now() - start);
    (result.ok ? state.delivered : state.failed).Increment();
    if (!result.ok) {
      LOG_WARN << "webhook " << endpoint.name << ": delivery " << delivery_id << " failed after "
               << result.attempts << " attempt(s): " << result.error;
    }
    return result;
  }

  // Waits until `t` or Stop's deadline, whichever is first. False if the
  // deadline passed: give up.
  bool WaitUntil(Steady::time_point t) {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      if (abort_.Passed()) return false;
      if (Steady::now() >= t) return true;
      cv_.wait_until(lock, std::min(t, abort_.Get()));
    }
  }

  const WebhookSenderOptions options_;
  WebhookMetrics metrics_;
  AbortDeadline abort_;
  // Fixed at construction; the states' queues are guarded by mu_.
  std::map<std::string, std::unique_ptr<EndpointState>, std::less<>> endpoints_;

  std::mutex mu_;
  std::condition_variable cv_;  // A queue filled, or Stop() called.
  bool stopping_ = false;       // GUARDED_BY(mu_)
  int sending_now_ = 0;         // GUARDED_BY(mu_): SendNow calls in progress.
  std::mutex join_mu_;          // Serialises joining the threads.
};

}  // namespace

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  static const int kInit = sodium_init();  // Idempotent; picks the fastest implementation.
  (void)kInit;
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                              key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[2 * sizeof(mac) + 1];
  sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
  return hex;
}

Result<std::unique_ptr<WebhookSender>> WebhookSender::Create(std::vector<WebhookEndpoint> endpoints,
                                                             prometheus::Registry& registry,
                                                             WebhookSenderOptions options) {
  if (options.queue_capacity == 0) return Status::InvalidArgument("queue_capacity must be > 0");
  EnsureCurlInitialized();
  std::set<std::string, std::less<>> seen;
  for (const WebhookEndpoint& e : endpoints) {
    if (e.name.empty()) return Status::InvalidArgument("a webhook has an empty name");
    if (!seen.insert(e.name).second) {
      return Status::InvalidArgument("webhook \"" + e.name + "\" is defined twice");
    }
    Status valid = ValidateEndpoint(e);
    if (!valid.ok()) return valid.WithContext("webhook \"" + e.name + "\"");
  }
  try {
    return std::unique_ptr<WebhookSender>(
        std::make_unique<WebhookSenderImpl>(std::move(endpoints), registry, options));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("registering webhook metrics: ") + e.what());
  }
}

}  // namespace vitals::actions
