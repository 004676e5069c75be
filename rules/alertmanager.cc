#include "rules/alertmanager.h"

#include <curl/curl.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/summary.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/curl_handle.h"
#include "common/log.h"
#include "common/version.h"

namespace vitals::rules {

namespace {

using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// The file's contents without trailing newlines (\n, \r\n).
Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read " + path);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return Status::IOError("reading " + path);
  std::string text = contents.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// Prometheus's notifier metrics, declared once; per-Alertmanager children
// are added by the senders.
struct NotifierMetrics {
  explicit NotifierMetrics(prometheus::Registry& registry)
      : latency(prometheus::BuildSummary()
                    .Name("vitals_notifications_latency_seconds")
                    .Help("Latency quantiles for sending alert notifications.")
                    .Register(registry)),
        errors(prometheus::BuildCounter()
                   .Name("vitals_notifications_errors_total")
                   .Help("Total number of sent alerts affected by errors.")
                   .Register(registry)),
        sent(prometheus::BuildCounter()
                 .Name("vitals_notifications_sent_total")
                 .Help("Total number of alerts sent.")
                 .Register(registry)),
        dropped(prometheus::BuildCounter()
                    .Name("vitals_notifications_dropped_total")
                    .Help("Total number of alerts dropped due to errors when sending to "
                          "Alertmanager.")
                    .Register(registry)
                    .Add({})),
        queue_length(prometheus::BuildGauge()
                         .Name("vitals_notifications_queue_length")
                         .Help("The number of alert notifications in the queue.")
                         .Register(registry)
                         .Add({})),
        queue_capacity(prometheus::BuildGauge()
                           .Name("vitals_notifications_queue_capacity")
                           .Help("The capacity of the alert notifications queue.")
                           .Register(registry)
                           .Add({})),
        alertmanagers_discovered(prometheus::BuildGauge()
                                     .Name("vitals_notifications_alertmanagers_discovered")
                                     .Help("The number of alertmanagers discovered and active.")
                                     .Register(registry)
                                     .Add({})) {}

  prometheus::Family<prometheus::Summary>& latency;  // {alertmanager}
  prometheus::Family<prometheus::Counter>& errors;   // {alertmanager}
  prometheus::Family<prometheus::Counter>& sent;     // {alertmanager}
  prometheus::Counter& dropped;
  prometheus::Gauge& queue_length;
  prometheus::Gauge& queue_capacity;
  prometheus::Gauge& alertmanagers_discovered;
};

// Prometheus's latency objectives.
prometheus::Summary::Quantiles LatencyQuantiles() {
  return {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}};
}

// Set by Stop(): requests and backoff waits end by this time. Shared by the
// notifier and its senders.
class AbortDeadline {
 public:
  bool Passed() const { return SteadyClock::now().time_since_epoch().count() >= at_.load(); }
  SteadyClock::time_point Get() const {
    return SteadyClock::time_point(SteadyClock::duration(at_.load()));
  }
  void Set(SteadyClock::time_point t) { at_.store(t.time_since_epoch().count()); }

 private:
  std::atomic<SteadyClock::rep> at_{std::numeric_limits<SteadyClock::rep>::max()};
};

// The outcome of one POST.
struct PostOutcome {
  Status status;
  bool retryable = false;  // Transport errors, 5xx and 429.
};

}  // namespace

// One Alertmanager: its URL, credentials, a reusable curl handle and its
// metric children. Used by one thread at a time (the sender thread, or the
// thread it starts for this Alertmanager during one batch).
class AlertmanagerSender {
 public:
  AlertmanagerSender(const AlertmanagerEndpoint& endpoint, std::string post_url,
                     NotifierMetrics& metrics, const AbortDeadline& abort)
      : endpoint_(endpoint),
        post_url_(std::move(post_url)),
        sent_(metrics.sent.Add({{"alertmanager", post_url_}})),
        errors_(metrics.errors.Add({{"alertmanager", post_url_}})),
        latency_(metrics.latency.Add({{"alertmanager", post_url_}}, LatencyQuantiles())),
        abort_(abort),
        user_agent_(std::string("Vitals/") + kVersion) {}

  const std::string& post_url() const { return post_url_; }

  // POSTs `payload` (holding `count` alerts), retrying with backoff up to
  // `max_retries` times while failures are retryable and Stop's deadline
  // has not passed. True once one POST succeeded.
  bool SendWithRetries(const std::string& payload, size_t count,
                       const AlertmanagerNotifierOptions& options,
                       const std::function<bool(SteadyClock::time_point)>& wait_until) {
    Millis backoff = options.min_backoff;
    for (int attempt = 0;; ++attempt) {
      auto begin = SteadyClock::now();
      PostOutcome outcome = Post(payload);
      latency_.Observe(std::chrono::duration<double>(SteadyClock::now() - begin).count());
      if (outcome.status.ok()) {
        sent_.Increment(static_cast<double>(count));
        return true;
      }
      errors_.Increment(static_cast<double>(count));
      bool retry = outcome.retryable && attempt < options.max_retries && !abort_.Passed();
      if (!retry) {
        LOG_ERROR << "notifier: error sending alerts alertmanager=" << post_url_
                  << " count=" << count << " err=" << outcome.status.message();
        return false;
      }
      LOG_WARN << "notifier: error sending alerts alertmanager=" << post_url_ << " count=" << count
               << " err=" << outcome.status.message() << " (retrying in " << backoff.count()
               << "ms)";
      if (!wait_until(SteadyClock::now() + backoff)) return false;
      backoff = std::min(backoff * 2, options.max_backoff);
    }
  }

 private:
  PostOutcome Post(const std::string& payload) {
    if (!curl_) {
      curl_.reset(curl_easy_init());
      if (!curl_) return {Status::Internal("curl_easy_init failed"), true};
    }
    CURL* curl = curl_.get();
    CurlSlistPtr headers(curl_slist_append(nullptr, "Content-Type: application/json"));
    // No "Expect: 100-continue" round trip for bodies over 1 KiB.
    headers.reset(curl_slist_append(headers.release(), "Expect:"));
    std::string password;
    if (!endpoint_.bearer_token_file.empty()) {
      Result<std::string> token = ReadSecretFile(endpoint_.bearer_token_file);
      if (!token.ok()) return {token.status(), false};
      std::string header = "Authorization: Bearer " + *token;
      headers.reset(curl_slist_append(headers.release(), header.c_str()));
    }
    if (!endpoint_.basic_auth_username.empty() && !endpoint_.basic_auth_password_file.empty()) {
      Result<std::string> read = ReadSecretFile(endpoint_.basic_auth_password_file);
      if (!read.ok()) return {read.status(), false};
      password = std::move(read).value();
    }

    auto remaining = std::chrono::duration_cast<Millis>(abort_.Get() - SteadyClock::now());
    Millis budget = std::max(Millis(1), std::min(endpoint_.timeout, remaining));

    status_line_.clear();
    body_.clear();
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, post_url_.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, user_agent_.c_str());
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(budget.count()));
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    if (!endpoint_.basic_auth_username.empty()) {
      curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(curl, CURLOPT_USERNAME, endpoint_.basic_auth_username.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, password.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &AlertmanagerSender::OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AlertmanagerSender::OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
    // Lets Stop() abort a request in flight (checked about once a second
    // while the server is silent, more often while data moves).
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &AlertmanagerSender::OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);

    CURLcode rc = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    if (rc != CURLE_OK) {
      std::string message = error[0] != '\0' ? error : curl_easy_strerror(rc);
      return {Status::Unavailable("Post \"" + post_url_ + "\": " + message), true};
    }
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (code / 100 == 2) return {};
    // Go's resp.Status: "500 Internal Server Error".
    std::string status = status_line_.empty() ? std::to_string(code) : status_line_;
    std::string message = "bad response status " + status;
    if (!body_.empty()) message += ": " + body_;
    return {Status::Unavailable(message), code / 100 == 5 || code == 429};
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* self_ptr) {
    auto* self = static_cast<AlertmanagerSender*>(self_ptr);
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {
      // "HTTP/1.1 500 Internal Server Error\r\n" -> "500 Internal Server Error".
      size_t space = line.find(' ');
      std::string_view rest = space == std::string_view::npos ? "" : line.substr(space + 1);
      while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.remove_suffix(1);
      self->status_line_.assign(rest);
    }
    return size * n;
  }

  // Keeps the start of an error body for the log.
  static size_t OnBody(char* data, size_t size, size_t n, void* self_ptr) {
    auto* self = static_cast<AlertmanagerSender*>(self_ptr);
    constexpr size_t kMaxBody = 256;
    size_t room = kMaxBody - std::min(kMaxBody, self->body_.size());
    self->body_.append(data, std::min(room, size * n));
    return size * n;
  }

  static int OnProgress(void* self_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<AlertmanagerSender*>(self_ptr)->abort_.Passed() ? 1 : 0;
  }

  const AlertmanagerEndpoint endpoint_;
  const std::string post_url_;
  prometheus::Counter& sent_;
  prometheus::Counter& errors_;
  prometheus::Summary& latency_;
  const AbortDeadline& abort_;
  const std::string user_agent_;
  CurlPtr curl_;             // Created on first use.
  std::string status_line_;  // Of the last response.
  std::string body_;         // Start of the last response's body.
};

class AlertmanagerNotifier::Impl {
 public:
  Impl(const AlertmanagerNotifierOptions& options, prometheus::Registry& registry,
       const std::vector<std::string>& post_urls)
      : options_(options), metrics_(registry), log_limiter_(Clock::Real()) {
    for (size_t i = 0; i < post_urls.size(); ++i) {
      senders_.push_back(std::make_unique<AlertmanagerSender>(options.alertmanagers[i],
                                                              post_urls[i], metrics_, abort_));
    }
    metrics_.queue_capacity.Set(static_cast<double>(options_.queue_capacity));
    metrics_.alertmanagers_discovered.Set(static_cast<double>(senders_.size()));
    metrics_.queue_length.Set(0);
    thread_ = std::thread([this] { Run(); });
  }

  ~Impl() { Stop(Millis(0)); }

  void Send(std::string_view rule_expr, const std::vector<Alert>& alerts) {
    if (alerts.empty()) return;
    std::vector<NotifierAlert> converted;
    converted.reserve(alerts.size());
    for (const Alert& a : alerts) {
      converted.push_back(
          ToNotifierAlert(a, rule_expr, options_.external_labels, options_.external_url));
    }

    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      Drop(converted.size(), "notifier stopped, dropping alerts");
      return;
    }
    auto begin = converted.begin();
    // The queue capacity should be far larger than one Send; if not, keep
    // the newest.
    if (converted.size() > options_.queue_capacity) {
      size_t d = converted.size() - options_.queue_capacity;
      begin += static_cast<std::ptrdiff_t>(d);
      Drop(d, "alert batch larger than queue capacity, dropping alerts");
    }
    size_t incoming = static_cast<size_t>(converted.end() - begin);
    if (queue_.size() + incoming > options_.queue_capacity) {
      size_t d = queue_.size() + incoming - options_.queue_capacity;
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(d));
      Drop(d, "alert notification queue full, dropping alerts");
    }
    queue_.insert(queue_.end(), std::make_move_iterator(begin),
                  std::make_move_iterator(converted.end()));
    metrics_.queue_length.Set(static_cast<double>(queue_.size()));
    cv_.notify_all();
  }

  void Stop(Millis drain_for) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        stopping_ = true;
        abort_.Set(SteadyClock::now() + drain_for);
      }
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> join_lock(join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  size_t QueueLength() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

 private:
  // REQUIRES: mu_ held.
  void Drop(size_t count, const char* why) {
    metrics_.dropped.Increment(static_cast<double>(count));
    uint64_t suppressed = 0;
    if (log_limiter_.Allow(why, &suppressed)) {
      LOG_WARN << "notifier: " << why << " num_dropped=" << count
               << (suppressed > 0 ? " (and " + std::to_string(suppressed) + " more times)" : "");
    }
  }

  // The sender thread: one batch at a time until stopped and drained.
  void Run() {
    for (;;) {
      std::vector<NotifierAlert> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty() || abort_.Passed()) break;
        size_t n = std::min(queue_.size(), options_.max_batch_size);
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        metrics_.queue_length.Set(static_cast<double>(queue_.size()));
      }
      if (!SendAll(batch)) metrics_.dropped.Increment(static_cast<double>(batch.size()));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!queue_.empty()) {
      LOG_WARN << "notifier: stopped with " << queue_.size() << " alerts unsent";
      metrics_.dropped.Increment(static_cast<double>(queue_.size()));
      queue_.clear();
      metrics_.queue_length.Set(0);
    }
  }

  // Sends `batch` to every Alertmanager at once. True if at least one took
  // it (Prometheus 2.42's sendAll).
  bool SendAll(const std::vector<NotifierAlert>& batch) {
    if (senders_.empty()) return false;
    const std::string payload = EncodeAlertsV2(batch);
    auto wait_until = [this](SteadyClock::time_point t) { return WaitUntil(t); };
    std::atomic<size_t> successes{0};
    auto send = [&](AlertmanagerSender& s) {
      if (s.SendWithRetries(payload, batch.size(), options_, wait_until)) ++successes;
    };
    std::vector<std::thread> others;
    for (size_t i = 1; i < senders_.size(); ++i) {
      others.emplace_back([&, i] { send(*senders_[i]); });
    }
    send(*senders_[0]);
    for (std::thread& t : others) t.join();
    return successes.load() > 0;
  }

  // Waits until `t` or Stop's deadline, whichever is first. False if the
  // deadline passed: give up.
  bool WaitUntil(SteadyClock::time_point t) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (abort_.Passed()) return false;
      auto now = SteadyClock::now();
      if (now >= t) return true;
      cv_.wait_until(lock, std::min(t, abort_.Get()));
    }
  }

  const AlertmanagerNotifierOptions options_;
  NotifierMetrics metrics_;
  AbortDeadline abort_;
  std::vector<std::unique_ptr<AlertmanagerSender>> senders_;  // Fixed at construction.

  mutable std::mutex mu_;
  std::condition_variable cv_;       // Queue filled, or Stop() called.
  std::deque<NotifierAlert> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;            // GUARDED_BY(mu_)
  LogRateLimiter log_limiter_;

  std::mutex join_mu_;  // Serialises joining the thread.
  std::thread thread_;
};

// --- AlertmanagerNotifier ------------------------------------------------

Result<std::unique_ptr<AlertmanagerNotifier>> AlertmanagerNotifier::Create(
    const AlertmanagerNotifierOptions& options, prometheus::Registry& registry) {
  if (options.queue_capacity == 0) return Status::InvalidArgument("queue_capacity must be > 0");
  if (options.max_batch_size == 0) return Status::InvalidArgument("max_batch_size must be > 0");
  if (options.max_retries < 0) return Status::InvalidArgument("max_retries must be >= 0");
  if (options.min_backoff.count() < 0 || options.max_backoff < options.min_backoff) {
    return Status::InvalidArgument("need 0 <= min_backoff <= max_backoff");
  }
  std::vector<std::string> post_urls;
  for (const AlertmanagerEndpoint& am : options.alertmanagers) {
    Result<std::string> url = AlertsPostUrl(am.url);
    if (!url.ok()) return url.status();
    std::string where = "alertmanager " + am.url + ": ";
    if (am.timeout.count() <= 0) return Status::InvalidArgument(where + "timeout must be > 0");
    if (!am.bearer_token_file.empty() && !am.basic_auth_username.empty()) {
      return Status::InvalidArgument(where + "at most one of basic auth and bearer token");
    }
    for (const std::string& file : {am.bearer_token_file, am.basic_auth_password_file}) {
      if (file.empty()) continue;
      Result<std::string> secret = ReadSecretFile(file);
      if (!secret.ok()) return secret.status().WithContext(where);
    }
    post_urls.push_back(std::move(url).value());
  }
  EnsureCurlInitialized();
  try {
    auto impl = std::make_unique<Impl>(options, registry, post_urls);
    return std::unique_ptr<AlertmanagerNotifier>(new AlertmanagerNotifier(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("registering notifier metrics: ") + e.what());
  }
}

AlertmanagerNotifier::AlertmanagerNotifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AlertmanagerNotifier::~AlertmanagerNotifier() = default;

void AlertmanagerNotifier::Send(std::string_view rule_expr, const std::vector<Alert>& alerts) {
  impl_->Send(rule_expr, alerts);
}

void AlertmanagerNotifier::Stop(Millis drain_for) { impl_->Stop(drain_for); }

size_t AlertmanagerNotifier::QueueLength() const { return impl_->QueueLength(); }

}  // namespace vitals::rules
