#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace vitals::actions {

// A named place the actions layer POSTs JSON to.
struct WebhookEndpoint {
  // --- Where.

  // Unique among the sender's endpoints; the `webhook` label of its metrics.
  std::string name;
  // An http:// or https:// URL. It may hold a token, so it is never logged.
  std::string url;
  // Extra request headers, sent as given after the sender's own. Names are
  // HTTP tokens; Content-Type, User-Agent and X-Vitals-* are reserved.
  std::vector<std::pair<std::string, std::string>> headers;
  // A file holding the HMAC key; "" sends unsigned requests. Re-read for
  // every request (so it can be rotated), one trailing newline dropped.
  std::string hmac_secret_file;

  // --- Timing.

  // Budget of one request: connect, send, and the whole response.
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  // Retries after the first attempt, for transport errors, 5xx and 429.
  int max_retries = 3;
  // The wait before the first retry, doubling per retry up to max_backoff.
  std::chrono::milliseconds min_backoff{std::chrono::milliseconds(500)};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(10)};
};

// How one delivery (all its attempts) ended.
struct WebhookResult {
  bool ok = false;            // A 2xx response arrived.
  int http_status = 0;        // The last response's status; 0 if none arrived.
  int attempts = 0;           // Requests made; 0 if the delivery was dropped.
  std::string error;          // Why it failed, e.g. "HTTP 400: bad payload"; "" when ok.
  std::string response_body;  // The first 4 KiB of the last response's body.
  std::chrono::milliseconds duration{0};  // From the first attempt to the outcome.
};

struct WebhookSenderOptions {
  // Deliveries waiting per endpoint for Send. A Send beyond this is refused
  // and counted as dropped.
  size_t queue_capacity = 256;
};

// Sends JSON bodies to named webhook endpoints: POST with
//   Content-Type: application/json
//   User-Agent: vitals-collector/<version>
//   X-Vitals-Delivery: <delivery id>    (the same on every retry)
//   X-Vitals-Signature: sha256=<hex>    (HMAC-SHA256 of the body, if keyed)
// A 2xx answer delivers; transport errors, 5xx and 429 are retried with
// exponential backoff; any other status fails at once. Redirects are not
// followed. Each endpoint has its own queue and sending thread, so a slow
// endpoint delays only its own deliveries.
//
// Metrics: vitals_webhook_requests_total{webhook,result="success|failure"}
// per attempt, vitals_webhook_deliveries_total{webhook,
// result="delivered|failed|dropped"} per delivery, and
// vitals_webhook_latency_seconds{webhook} (a histogram, per attempt).
//
// Thread-safe. Abstract so the actions layer can be tested with a fake.
class WebhookSender {
 public:
  // Validates every endpoint: unique non-empty names, an http(s) URL with a
  // host, timeout > 0, max_retries >= 0, 0 <= min_backoff <= max_backoff, a
  // readable secret file, well-formed headers; and queue_capacity > 0.
  // InvalidArgument naming the endpoint otherwise; Internal if the metrics
  // cannot be registered. `registry` must outlive the sender. Starts one
  // thread per endpoint.
  static Result<std::unique_ptr<WebhookSender>> Create(std::vector<WebhookEndpoint> endpoints,
                                                       prometheus::Registry& registry,
                                                       WebhookSenderOptions options = {});

  WebhookSender() = default;
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;
  // Stops as Stop(0) does.
  virtual ~WebhookSender() = default;

  // Queues `body` for the endpoint and returns at once. `done`, if set, is
  // called exactly once with the outcome, on the endpoint's thread (also
  // when Stop drops the delivery: attempts 0); it must not call Stop.
  // Errors, after which `done` is not called: NotFound for an unknown
  // endpoint; InvalidArgument for an empty delivery id or one with control
  // characters; ResourceExhausted when the endpoint's queue is full and
  // FailedPrecondition after Stop (both counted as dropped).
  virtual Status Send(std::string_view endpoint_name, std::string body, std::string delivery_id,
                      std::function<void(const WebhookResult&)> done = {}) = 0;

  // Delivers `body` on the calling thread, with the same retries, and
  // returns the outcome: for callers that need the answer, like a rollback
  // webhook. Blocks for at most about (max_retries + 1) * timeout plus the
  // backoffs, less if Stop is called. An unknown endpoint, a bad delivery
  // id, or a stopped sender is a failed result with attempts 0.
  virtual WebhookResult SendNow(std::string_view endpoint_name, std::string body,
                                std::string delivery_id) = 0;

  // Stops accepting deliveries and keeps sending queued ones for at most
  // `drain_for`; then requests in flight are aborted (within about a
  // second), backoff waits end, and what is still queued is dropped. Returns
  // when every endpoint thread has finished. Idempotent.
  virtual void Stop(std::chrono::milliseconds drain_for) = 0;

  // True if an endpoint has this name.
  virtual bool Has(std::string_view endpoint_name) const = 0;
};

// The HMAC-SHA256 of `message` under `key` (any length), as 64 lowercase hex
// digits.
std::string HmacSha256Hex(std::string_view key, std::string_view message);

}  // namespace vitals::actions
