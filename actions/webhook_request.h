#pragma once

// One request of a webhook delivery, and the checks behind
// WebhookSender::Create. Internal to the webhook sender (actions/webhook.cc).

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <string>

#include "actions/webhook.h"
#include "common/status.h"

namespace vitals::actions::internal {

// Set by Stop(): requests and backoff waits end by this time. Thread-safe.
class AbortDeadline {
 public:
  using Steady = std::chrono::steady_clock;
  bool Passed() const { return Steady::now().time_since_epoch().count() >= at_.load(); }
  Steady::time_point Get() const { return Steady::time_point(Steady::duration(at_.load())); }
  void Set(Steady::time_point t) { at_.store(t.time_since_epoch().count()); }

 private:
  std::atomic<Steady::rep> at_{std::numeric_limits<Steady::rep>::max()};
};

// InvalidArgument saying what is wrong with `endpoint` (its name aside): the
// URL, timeout, retries, backoffs, an unreadable secret file, a header.
Status ValidateEndpoint(const WebhookEndpoint& endpoint);

// InvalidArgument for an empty delivery id or one with control characters
// (it becomes a header).
Status ValidateDeliveryId(const std::string& id);

// The outcome of one request.
struct Attempt {
  bool ok = false;         // A 2xx response.
  bool retryable = false;  // Transport errors, 5xx and 429.
  int http_status = 0;     // 0 if no response arrived.
  std::string error;       // "" when ok.
  std::string body;        // The first 4 KiB of the response's body.
};

// POSTs `body` once on `curl`, which is reset first (its connections are
// reused). The request ends by the endpoint's timeout or `abort`'s
// deadline, whichever is first.
Attempt Post(CURL* curl, const WebhookEndpoint& endpoint, const std::string& body,
             const std::string& delivery_id, const AbortDeadline& abort);

}  // namespace vitals::actions::internal
