#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actions/mode.h"
#include "common/labels.h"
#include "common/selector.h"
#include "common/status.h"

namespace vitals::actions {

// What a route does when the alerts behind one of its modes resolved because
// the data they read vanished (docs/actions.md, "No data"): "the metric is
// gone" must never read as "healthy" by accident.
enum class NoDataPolicy {
  kHold,      // Keep the mode until the data is back and healthy.
  kLift,      // Treat it as recovery.
  kEscalate,  // Keep the mode, notify, and raise it to `escalate.mode` if set.
};
std::string_view NoDataPolicyName(NoDataPolicy policy);

// Where a failure that needs a human goes: a failed rollback, or a mode whose
// data vanished under on_no_data: escalate.
struct Escalation {
  std::string webhook;        // A name under `webhooks:`; "" sends nothing.
  std::optional<Mode> mode;   // Put the service into this mode; nullopt: none.
};

// A `mode:` action: put the service (or a module of it) into `mode` while
// the alerts behind it fire, and lift it like a circuit breaker.
struct ModeAction {
  Mode mode = Mode::kDegraded;
  // The module the mode applies to. When `module_from_label`, the value of
  // the alert's module label ("" when absent = the whole service).
  std::string module;
  bool module_from_label = true;
  // All alerts behind the mode resolved for this long: the mode lifts into
  // probation.
  std::chrono::milliseconds recover_after{std::chrono::minutes(5)};
  // After lifting, an alert firing again within this time re-trips the
  // mode at once.
  std::chrono::milliseconds probation{std::chrono::minutes(5)};
  // Each re-trip multiplies the next recover_after by this, up to
  // max_recover_after; a probation that passes resets it.
  double backoff_factor = 2.0;
  std::chrono::milliseconds max_recover_after{std::chrono::hours(1)};
};

// One action of a route.
struct Action {
  enum class Kind { kMode, kWebhook, kRollback };
  Kind kind = Kind::kMode;
  ModeAction mode;      // kMode.
  std::string webhook;  // kWebhook: a name under `webhooks:`.
};

// Alertmanager-style routing: the first route whose matchers all accept a
// firing alert's labels takes it; `continue: true` lets later routes see it
// too.
struct Route {
  std::string name;
  std::vector<Matcher> matchers;
  bool continue_matching = false;
  std::vector<Action> actions;
  NoDataPolicy on_no_data = NoDataPolicy::kHold;
  Escalation escalate;  // For on_no_data: escalate.
};

// A webhook endpoint, as `webhooks:` lists them.
struct WebhookConfig {
  std::string name;
  std::string url;
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  int max_retries = 3;
  std::string hmac_secret_file;  // "" = unsigned.
  std::vector<std::pair<std::string, std::string>> headers;
};

// How one service is rolled back.
struct RollbackTarget {
  std::string service;
  // Run with SERVICE, FROM_VERSION, TO_VERSION, REASON and INCIDENT_ID in
  // its environment; exit 0 = rolled back. Exclusive with `webhook`.
  std::vector<std::string> command;
  // Or POST the rollback to this webhook (a name under `webhooks:`); 2xx =
  // rolled back.
  std::string webhook;
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  // At most one rollback per service per cooldown.
  std::chrono::milliseconds cooldown{std::chrono::minutes(30)};
  // A version becomes a restore point once it ran this long with no
  // automatic mode and no open incident.
  std::chrono::milliseconds healthy_after{std::chrono::minutes(10)};
  // Decide and record, but run nothing.
  bool dry_run = false;
  Escalation on_failure;
};

// The actions file (actions.yml, `actions.file` in collector.yml).
struct ActionsConfig {
  std::string file;  // Where it was read from; "" when built in code.
  // Alert labels naming the service and the module.
  std::string service_label = "service";
  std::string module_label = "module";
  // The series a service's running version is read from:
  // <version_metric>{<service_label>=S, version=V}.
  std::string version_metric = "vitals_build_info";
  std::string version_label = "version";
  // Maintenance windows starting within this horizon are announced as
  // `upcoming` by the modes API.
  std::chrono::milliseconds announce_ahead{std::chrono::hours(24)};
  std::vector<Route> routes;
  std::vector<WebhookConfig> webhooks;
  std::vector<RollbackTarget> rollbacks;

  const RollbackTarget* FindRollback(std::string_view service) const;
};

// Reads and validates an actions file. Errors name the file, line and key
// ("actions.yml:12: routes[0].actions[1].mode: unknown mode ..."); a route
// naming an undefined webhook, or a rollback action when `rollback.services`
// is empty, is an error (which service an alert names is only known when it
// fires: a rollback for a service without an entry is refused and audited).
// Relative paths (hmac_secret_file, a rollback command naming a file) are
// resolved against the actions file's directory.
Result<ActionsConfig> LoadActionsConfig(const std::string& path);
Result<ActionsConfig> ParseActionsConfig(const std::string& text, const std::string& file_name);

// An Alertmanager matcher: name="value", name!="v", name=~"re", name!~"re"
// (value double-quoted or bare).
Result<Matcher> ParseAlertMatcher(std::string_view text);

// The routes whose matchers accept `labels`, in order, honouring continue.
std::vector<const Route*> MatchRoutes(const ActionsConfig& config, const Labels& labels);

}  // namespace vitals::actions
