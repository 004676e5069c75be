#pragma once

// Pieces of ActionsEngine shared by its .cc files; not a public interface.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include "actions/actions_config.h"
#include "actions/mode.h"
#include "common/labels.h"
#include "common/status.h"
#include "rules/alert.h"
#include "rules/promql/ast.h"

namespace vitals::actions {
class WebhookSender;
}

namespace vitals::actions::internal {

// 64-bit FNV-1a: stable across processes and builds, so two collectors
// derive the same incident id from the same alert.
uint64_t Fnv1a(std::string_view text);

// The alert's summary annotation, else its description, else its name.
std::string Summary(const rules::Alert& alert);
// "shop" or "shop/payments".
std::string KeyName(const ModeKey& key);
// A duration of milliseconds as Prometheus writes it ("1m30s").
std::string FormatMs(int64_t ms);
// RFC 3339 UTC with milliseconds.
std::string FormatTime(int64_t unix_ms);

nlohmann::json LabelsToJson(const Labels& labels);
nlohmann::json AlertToJson(const rules::Alert& alert);
nlohmann::json ModeStateToJson(const ModeState& state);

// Every vector selector of `expr` (inside matrix selectors and subqueries
// too) as selector text, its matchers only: what the expression reads.
std::vector<std::string> SelectorsOf(const promql::Expr& expr);

// Whether a series could be one an alert with `alert_labels` came from: the
// two agree on every label both have (__name__ and alertname aside).
bool Compatible(const Labels& series, const Labels& alert_labels);

// One series of the version metric at an instant.
struct VersionSample {
  std::string service;
  std::string version;
  int64_t timestamp_ms = 0;
};

// The webhook sender for `config`'s webhooks.
Result<std::shared_ptr<WebhookSender>> MakeWebhookSender(const ActionsConfig& config,
                                                         prometheus::Registry& registry);

}  // namespace vitals::actions::internal
