#pragma once

#include <prometheus/registry.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/labels.h"
#include "common/status.h"
#include "rules/alert.h"

namespace vitals::rules {

// One Alertmanager to send every alert to, as an entry of Prometheus's
// alerting.alertmanagers with a static target.
struct AlertmanagerEndpoint {
  // Base URL: scheme, host, port and an optional path prefix, e.g.
  // "http://127.0.0.1:9093" or "https://am.example.com/prefix". Alerts are
  // POSTed to <url>/api/v2/alerts. http and https only.
  std::string url;
  // Budget of one POST, connection included (Prometheus's `timeout`).
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // HTTP basic auth user name; "" sends no basic auth.
  std::string basic_auth_username;
  // File holding the basic auth password, re-read on every request so it
  // can be rotated; "" for an empty password. Trailing newlines are dropped.
  std::string basic_auth_password_file;
  // File holding a bearer token sent as "Authorization: Bearer <token>",
  // re-read on every request; "" for none. Exclusive with basic auth.
  // Trailing newlines are dropped.
  std::string bearer_token_file;
};

struct AlertmanagerNotifierOptions {
  // --- Behaviour ---
  // Where alerts go. Each batch goes to every one of them.
  std::vector<AlertmanagerEndpoint> alertmanagers;
  // Added to each alert's labels when the alert has no label of that name
  // (Prometheus's global.external_labels). The rule manager may have added
  // them already; adding again changes nothing.
  Labels external_labels;
  // Base of each alert's generatorURL ("<external_url>/graph?g0.expr=...",
  // Prometheus's --web.external-url), e.g. "http://vitals.example.com:9740".
  // "" leaves the link relative.
  std::string external_url;

  // --- Performance ---
  // Alerts waiting to be sent at most; beyond it the oldest are dropped and
  // counted (--alertmanager.notification-queue-capacity).
  size_t queue_capacity = 10000;
  // Alerts in one POST at most (Prometheus 2.42's maxBatchSize).
  size_t max_batch_size = 64;
  // Attempts after the first for a batch an Alertmanager failed (transport
  // error, 5xx or 429), per Alertmanager. 0 sends once, as Prometheus does.
  int max_retries = 3;
  // Wait before the first retry; doubles for each further retry.
  std::chrono::milliseconds min_backoff{std::chrono::milliseconds(500)};
  // The wait between retries never exceeds this.
  std::chrono::milliseconds max_backoff{std::chrono::seconds(5)};
};

// Sends alerts to Alertmanagers through API v2 (POST <url>/api/v2/alerts),
// as Prometheus 2.42's notifier.Manager does: Send() converts the rule
// manager's alerts into Alertmanager's shape and queues them; one sender
// thread takes up to max_batch_size alerts at a time and POSTs them to every
// Alertmanager concurrently, retrying each failed one with exponential
// backoff. A batch that no Alertmanager accepted is dropped and counted.
//
// Metrics (on the registry given to Create):
//   vitals_notifications_sent_total{alertmanager}    alerts accepted
//   vitals_notifications_errors_total{alertmanager}  alerts in failed POSTs
//   vitals_notifications_latency_seconds{alertmanager} (summary) per POST
//   vitals_notifications_dropped_total               alerts given up on
//   vitals_notifications_queue_length, vitals_notifications_queue_capacity
//   vitals_notifications_alertmanagers_discovered
// where `alertmanager` is the full POST URL, as in Prometheus.
//
// Thread-safe: Send() may be called from any thread, concurrently with Stop().
class AlertmanagerNotifier final : public AlertSink {
 public:
  // Validates `options` and starts the sender thread. InvalidArgument for an
  // empty or non-http(s) URL, an unreadable credentials file, both basic
  // auth and a bearer token on one endpoint, a zero queue capacity or batch
  // size, a negative retry count or a non-positive timeout; Internal when
  // the metrics cannot be registered (a name already used with another
  // type). `registry` must outlive the notifier.
  static Result<std::unique_ptr<AlertmanagerNotifier>> Create(
      const AlertmanagerNotifierOptions& options, prometheus::Registry& registry);
  // Stop() with no time to drain.
  ~AlertmanagerNotifier() override;
  AlertmanagerNotifier(const AlertmanagerNotifier&) = delete;
  AlertmanagerNotifier& operator=(const AlertmanagerNotifier&) = delete;

  // Queues `alerts` of the rule with expression `rule_expr` and returns at
  // once; never waits for the network. When the queue would exceed its
  // capacity the oldest queued alerts are dropped (and counted). After
  // Stop() the alerts are dropped and counted.
  void Send(std::string_view rule_expr, const std::vector<Alert>& alerts) override;

  // Keeps sending what is queued (with retries) for at most `drain_for`,
  // then aborts requests in flight, stops the sender thread and counts what
  // is left as dropped. Returns once the thread has stopped. Idempotent.
  void Stop(std::chrono::milliseconds drain_for);

  // Alerts waiting to be sent (not counting a batch in flight).
  size_t QueueLength() const;

 private:
  class Impl;
  explicit AlertmanagerNotifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// --- Building blocks, exposed for tests ---------------------------------

// An alert as Prometheus's notifier.Alert holds it.
struct NotifierAlert {
  Labels labels;             // Canonical.
  Labels annotations;        // Sorted by name.
  int64_t starts_at_ms = 0;  // 0 is Go's zero time.
  int64_t ends_at_ms = 0;    // 0 is Go's zero time.
  std::string generator_url;
};

// Prometheus's sendAlerts: startsAt = fired_at, endsAt = resolved_at when
// resolved else valid_until, external labels added where absent, and
// generatorURL = external_url + TableLinkForExpression(rule_expr).
NotifierAlert ToNotifierAlert(const Alert& alert, std::string_view rule_expr,
                              const Labels& external_labels, std::string_view external_url);

// strutil.TableLinkForExpression: "/graph?g0.expr=<QueryEscape(expr)>&g0.tab=1".
std::string TableLinkForExpression(std::string_view expr);

// Go's url.QueryEscape: unreserved bytes (A-Z a-z 0-9 - _ . ~) as they are,
// space as '+', everything else as %XX (upper-case hex).
std::string QueryEscape(std::string_view text);

// A time as strfmt.DateTime marshals it (RFC 3339 with exactly three
// fraction digits), in UTC: "2023-02-01T10:00:00.000Z". 0 is Go's zero time,
// "0001-01-01T00:00:00.000Z".
std::string FormatAlertmanagerTime(int64_t unix_ms);

// The body Prometheus 2.42 POSTs to /api/v2/alerts, byte for byte: a JSON
// array of {"annotations":{...},"endsAt":"...","startsAt":"...",
// "generatorURL":"...","labels":{...}} (go-swagger's field order; empty
// annotations and an empty generatorURL are omitted), strings escaped as
// Go's encoding/json does (<, >, & as \u003c, \u003e, \u0026).
std::string EncodeAlertsV2(const std::vector<NotifierAlert>& alerts);

// The URL alerts are POSTed to: path.Join("/", prefix, "/api/v2/alerts")
// appended to the scheme and host of `base_url`, e.g.
// "http://am:9093/prefix/" -> "http://am:9093/prefix/api/v2/alerts".
// InvalidArgument unless `base_url` is http(s)://host[:port][/path].
Result<std::string> AlertsPostUrl(std::string_view base_url);

}  // namespace vitals::rules
