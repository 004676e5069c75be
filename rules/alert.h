#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/labels.h"

namespace vitals::rules {

// Where an alert is in its life, as Prometheus's rules.AlertState.
enum class AlertState { kInactive, kPending, kFiring };

// "inactive", "pending", "firing".
std::string_view AlertStateName(AlertState state);

// One alert of an alerting rule: one per label set its expression returned.
// Times are Unix milliseconds; 0 means "not yet" / "never".
struct Alert {
  // The series' labels without __name__, plus the rule's labels (templates
  // expanded) and alertname. Canonical.
  Labels labels;
  // Name -> expanded annotation text. Sorted by name.
  Labels annotations;
  AlertState state = AlertState::kInactive;
  double value = 0;  // The expression's value at the last evaluation.
  int64_t active_at_ms = 0;    // When it became pending.
  int64_t fired_at_ms = 0;     // When it started firing.
  int64_t resolved_at_ms = 0;  // When it stopped firing; 0 while active.
  // When the expression last returned this alert, for keep_firing_for.
  int64_t last_seen_ms = 0;
  // Last time it was handed to notifiers; drives the resend interval.
  int64_t last_sent_ms = 0;
  // Until when Alertmanager should consider it firing without news
  // (endsAt of a firing alert).
  int64_t valid_until_ms = 0;
};

// Who receives alerts to send: Alertmanager, the actions layer. Called by
// the rule manager after each evaluation of a group with the alerts that are
// due (firing ones every resend interval, resolved ones once and then for
// a while). Implementations must not block for long; queue instead.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // `expr` is the rule's expression, for the generator URL.
  virtual void Send(std::string_view rule_expr, const std::vector<Alert>& alerts) = 0;
};

}  // namespace vitals::rules
