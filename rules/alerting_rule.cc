#include "rules/alerting_rule.h"

#include <algorithm>
#include <set>

namespace vitals::rules {

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive: return "inactive";
    case AlertState::kPending: return "pending";
    case AlertState::kFiring: return "firing";
  }
  return "unknown";
}

AlertingRule::AlertingRule(const RuleDesc& desc, std::chrono::milliseconds resolved_retention)
    : desc_(desc), resolved_retention_(resolved_retention) {}

namespace {

Sample AlertSample(const Alert& a, std::string_view name, int64_t ts, double value,
                   bool with_state) {
  Labels labels = a.labels;
  SetLabel(&labels, kMetricNameLabel, name);
  if (with_state) SetLabel(&labels, "alertstate", AlertStateName(a.state));
  return Sample{std::move(labels), ts, value};
}

}  // namespace

Result<std::vector<Sample>> AlertingRule::Update(const promql::Vector& result, int64_t ts,
                                                 const TemplateExpander& expand, uint64_t limit) {
  // The alerts the expression returns now, by their final label set.
  std::map<Labels, Alert> current;
  for (const Sample& s : result) {
    Labels labels;
    for (const Label& l : s.labels) {
      if (l.name != kMetricNameLabel) labels.push_back(l);
    }
    Labels series = labels;
    for (const auto& [name, text] : desc_.labels) {
      std::string value = expand(desc_.alert, text, series, s.value, ts);
      if (value.empty()) {
        std::erase_if(labels, [&](const Label& l) { return l.name == name; });
      } else {
        SetLabel(&labels, name, value);
      }
    }
    SetLabel(&labels, "alertname", desc_.alert);
    Alert alert;
    for (const auto& [name, text] : desc_.annotations) {
      alert.annotations.push_back(Label{name, expand(desc_.alert, text, series, s.value, ts)});
    }
    std::sort(alert.annotations.begin(), alert.annotations.end());
    alert.labels = labels;
    alert.state = AlertState::kPending;
    alert.value = s.value;
    alert.active_at_ms = ts;
    alert.last_seen_ms = ts;
    if (!current.emplace(std::move(labels), std::move(alert)).second) {
      return Status::FailedPrecondition(
          "vector contains metrics with the same labelset after applying alert labels");
    }
  }

  for (auto& [labels, fresh] : current) {
    auto it = alerts_.find(labels);
    if (it != alerts_.end() && it->second.state != AlertState::kInactive) {
      it->second.value = fresh.value;
      it->second.annotations = std::move(fresh.annotations);
      it->second.last_seen_ms = ts;
      continue;
    }
    alerts_[labels] = std::move(fresh);
  }

  std::vector<Sample> out;
  uint64_t active = 0;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    Alert& a = it->second;
    if (!current.contains(it->first)) {
      bool keep_firing = false;
      if (a.state == AlertState::kFiring && desc_.keep_firing_for.count() > 0) {
        auto [since, _] = keep_firing_since_.try_emplace(it->first, ts);
        keep_firing = ts - since->second < desc_.keep_firing_for.count();
      }
      bool expired = a.state == AlertState::kPending ||
                     (a.resolved_at_ms != 0 && ts - a.resolved_at_ms > resolved_retention_.count());
      if (a.state != AlertState::kInactive && !keep_firing) {
        a.state = AlertState::kInactive;
        a.resolved_at_ms = ts;
        keep_firing_since_.erase(it->first);
      }
      if (expired) {
        keep_firing_since_.erase(it->first);
        it = alerts_.erase(it);
        continue;
      }
      if (!keep_firing) {
        ++it;
        continue;
      }
    } else {
      keep_firing_since_.erase(it->first);
    }
    ++active;
    if (a.state == AlertState::kPending && ts - a.active_at_ms >= desc_.for_duration.count()) {
      a.state = AlertState::kFiring;
      a.fired_at_ms = ts;
    }
    out.push_back(AlertSample(a, "ALERTS", ts, 1, true));
    out.push_back(AlertSample(a, "ALERTS_FOR_STATE", ts,
                              static_cast<double>(a.active_at_ms / 1000), false));
    ++it;
  }
  if (limit > 0 && active > limit) {
    alerts_.clear();
    keep_firing_since_.clear();
    return Status::FailedPrecondition("exceeded limit of " + std::to_string(limit) + " with " +
                                      std::to_string(active) + " alerts");
  }
  return out;
}

std::vector<Alert> AlertingRule::TakeDue(int64_t ts, std::chrono::milliseconds resend_delay,
                                         std::chrono::milliseconds interval) {
  std::vector<Alert> due;
  const int64_t delta = std::max(resend_delay, interval).count();
  for (auto& [labels, a] : alerts_) {
    if (a.state == AlertState::kPending) continue;
    bool resolved_unsent = a.resolved_at_ms > a.last_sent_ms;
    bool resend = a.last_sent_ms == 0 || a.last_sent_ms + resend_delay.count() < ts;
    if (!resolved_unsent && !resend) continue;
    a.last_sent_ms = ts;
    a.valid_until_ms = ts + 4 * delta;
    due.push_back(a);
  }
  return due;
}

AlertState AlertingRule::State() const {
  AlertState max = AlertState::kInactive;
  for (const auto& [labels, a] : alerts_) {
    if (a.state == AlertState::kFiring) return AlertState::kFiring;
    if (a.state == AlertState::kPending) max = AlertState::kPending;
  }
  return max;
}

Labels RecordingLabels(const RuleDesc& desc, const Labels& series) {
  Labels labels = series;
  SetLabel(&labels, kMetricNameLabel, desc.record);
  for (const auto& [name, value] : desc.labels) {
    if (value.empty()) {
      std::erase_if(labels, [&](const Label& l) { return l.name == name; });
    } else {
      SetLabel(&labels, name, value);
    }
  }
  return labels;
}

}  // namespace vitals::rules
