#include "actions/actions_config.h"

#include <cctype>
#include <filesystem>
#include <set>

#include "common/config.h"

namespace vitals::actions {
namespace {

Status ReadNoDataPolicy(ConfigMap& map, NoDataPolicy* out) {
  std::string text;
  RETURN_IF_ERROR(map.ReadString("on_no_data", &text));
  if (text.empty()) return Status::Ok();
  for (NoDataPolicy p : {NoDataPolicy::kHold, NoDataPolicy::kLift, NoDataPolicy::kEscalate}) {
    if (NoDataPolicyName(p) == text) {
      *out = p;
      return Status::Ok();
    }
  }
  return map.Error("on_no_data", "must be hold, lift or escalate, not \"" + text + "\"");
}

Status ReadModeName(ConfigMap& map, std::string_view key, std::optional<Mode>* out,
                    bool allow_normal) {
  std::string text;
  RETURN_IF_ERROR(map.ReadString(key, &text));
  if (text.empty()) return Status::Ok();
  std::optional<Mode> mode = ParseMode(text);
  if (!mode || (!allow_normal && *mode == Mode::kNormal)) {
    return map.Error(key, "unknown mode \"" + text + "\" (want degraded, read_only or maintenance)");
  }
  *out = mode;
  return Status::Ok();
}

Result<Escalation> ReadEscalation(ConfigMap& parent, std::string_view key) {
  Escalation e;
  ASSIGN_OR_RETURN(ConfigMap map, parent.ReadMap(key));
  RETURN_IF_ERROR(map.ReadString("webhook", &e.webhook));
  RETURN_IF_ERROR(ReadModeName(map, "mode", &e.mode, false));
  RETURN_IF_ERROR(map.CheckUnknownKeys());
  return e;
}

Result<Action> ReadAction(ConfigMap& map) {
  Action action;
  int kinds = map.Has("mode") + map.Has("webhook") + map.Has("rollback");
  if (kinds != 1) return map.Error("", "an action has exactly one of mode, webhook or rollback");
  if (map.Has("mode")) {
    action.kind = Action::Kind::kMode;
    ModeAction& m = action.mode;
    std::optional<Mode> mode;
    RETURN_IF_ERROR(ReadModeName(map, "mode", &mode, false));
    m.mode = mode.value_or(Mode::kDegraded);
    if (map.Has("module")) {
      m.module_from_label = false;
      RETURN_IF_ERROR(map.ReadString("module", &m.module));
    }
    RETURN_IF_ERROR(map.ReadDuration("recover_after", &m.recover_after));
    RETURN_IF_ERROR(map.ReadDuration("probation", &m.probation));
    RETURN_IF_ERROR(map.ReadDuration("max_recover_after", &m.max_recover_after));
    if (map.Has("backoff_factor")) {
      int64_t factor = 0;
      RETURN_IF_ERROR(map.ReadInt("backoff_factor", &factor));
      if (factor < 1) return map.Error("backoff_factor", "must be at least 1");
      m.backoff_factor = static_cast<double>(factor);
    }
    if (m.max_recover_after < m.recover_after) {
      return map.Error("max_recover_after", "must not be shorter than recover_after");
    }
  } else if (map.Has("webhook")) {
    action.kind = Action::Kind::kWebhook;
    RETURN_IF_ERROR(map.ReadString("webhook", &action.webhook, Presence::kRequired));
  } else {
    action.kind = Action::Kind::kRollback;
    bool on = false;
    RETURN_IF_ERROR(map.ReadBool("rollback", &on));
    if (!on) return map.Error("rollback", "must be true (remove the action to disable it)");
  }
  RETURN_IF_ERROR(map.CheckUnknownKeys());
  return action;
}

Result<Route> ReadRoute(ConfigMap& map, size_t index) {
  Route route;
  route.name = "route" + std::to_string(index);
  RETURN_IF_ERROR(map.ReadString("name", &route.name));
  std::vector<std::string> matchers;
  RETURN_IF_ERROR(map.ReadStringList("matchers", &matchers));
  for (const std::string& text : matchers) {
    auto matcher = ParseAlertMatcher(text);
    if (!matcher.ok()) return map.Error("matchers", matcher.status().message());
    route.matchers.push_back(std::move(matcher).value());
  }
  RETURN_IF_ERROR(map.ReadBool("continue", &route.continue_matching));
  RETURN_IF_ERROR(ReadNoDataPolicy(map, &route.on_no_data));
  ASSIGN_OR_RETURN(route.escalate, ReadEscalation(map, "escalate"));
  ASSIGN_OR_RETURN(auto actions, map.ReadMapList("actions", Presence::kRequired));
  if (actions.empty()) return map.Error("actions", "a route needs at least one action");
  for (ConfigMap& a : actions) {
    ASSIGN_OR_RETURN(Action action, ReadAction(a));
    route.actions.push_back(std::move(action));
  }
  RETURN_IF_ERROR(map.CheckUnknownKeys());
  return route;
}

Status ReadRollbackSettings(ConfigMap& map, RollbackTarget* t) {
  RETURN_IF_ERROR(map.ReadDuration("timeout", &t->timeout));
  RETURN_IF_ERROR(map.ReadDuration("cooldown", &t->cooldown));
  RETURN_IF_ERROR(map.ReadDuration("healthy_after", &t->healthy_after));
  RETURN_IF_ERROR(map.ReadBool("dry_run", &t->dry_run));
  if (t->timeout <= std::chrono::milliseconds::zero()) return map.Error("timeout", "must be positive");
  return Status::Ok();
}

Status ReadRollback(ConfigMap& root, ActionsConfig* config) {
  ASSIGN_OR_RETURN(ConfigMap map, root.ReadMap("rollback"));
  RETURN_IF_ERROR(map.ReadString("version_metric", &config->version_metric));
  RETURN_IF_ERROR(map.ReadString("version_label", &config->version_label));
  RollbackTarget defaults;
  RETURN_IF_ERROR(ReadRollbackSettings(map, &defaults));
  ASSIGN_OR_RETURN(defaults.on_failure, ReadEscalation(map, "on_failure"));
  ASSIGN_OR_RETURN(auto services, map.ReadMapList("services"));
  std::set<std::string> seen;
  for (ConfigMap& s : services) {
    RollbackTarget t = defaults;
    RETURN_IF_ERROR(s.ReadString("service", &t.service, Presence::kRequired));
    if (!seen.insert(t.service).second) return s.Error("service", "listed twice");
    RETURN_IF_ERROR(s.ReadStringList("command", &t.command));
    RETURN_IF_ERROR(s.ReadString("webhook", &t.webhook));
    if (t.command.empty() == t.webhook.empty()) {
      return s.Error("", "a rollback needs exactly one of command or webhook");
    }
    RETURN_IF_ERROR(ReadRollbackSettings(s, &t));
    if (s.Has("on_failure")) {
      ASSIGN_OR_RETURN(t.on_failure, ReadEscalation(s, "on_failure"));
    }
    RETURN_IF_ERROR(s.CheckUnknownKeys());
    config->rollbacks.push_back(std::move(t));
  }
  return map.CheckUnknownKeys();
}

Status ReadWebhooks(ConfigMap& root, ActionsConfig* config) {
  ASSIGN_OR_RETURN(auto hooks, root.ReadMapList("webhooks"));
  std::set<std::string> seen;
  for (ConfigMap& h : hooks) {
    WebhookConfig w;
    RETURN_IF_ERROR(h.ReadString("name", &w.name, Presence::kRequired));
    if (!seen.insert(w.name).second) return h.Error("name", "webhook \"" + w.name + "\" defined twice");
    RETURN_IF_ERROR(h.ReadString("url", &w.url, Presence::kRequired));
    if (!w.url.starts_with("http://") && !w.url.starts_with("https://")) {
      return h.Error("url", "must be an http:// or https:// URL");
    }
    RETURN_IF_ERROR(h.ReadDuration("timeout", &w.timeout));
    int64_t retries = w.max_retries;
    RETURN_IF_ERROR(h.ReadInt("max_retries", &retries));
    if (retries < 0) return h.Error("max_retries", "must not be negative");
    w.max_retries = static_cast<int>(retries);
    RETURN_IF_ERROR(h.ReadString("hmac_secret_file", &w.hmac_secret_file));
    std::map<std::string, std::string> headers;
    RETURN_IF_ERROR(h.ReadStringMap("headers", &headers));
    w.headers.assign(headers.begin(), headers.end());
    RETURN_IF_ERROR(h.CheckUnknownKeys());
    config->webhooks.push_back(std::move(w));
  }
  return Status::Ok();
}

// Every webhook name an action or escalation uses must be defined.
Status CheckReferences(const ActionsConfig& config) {
  std::set<std::string> hooks;
  for (const WebhookConfig& w : config.webhooks) hooks.insert(w.name);
  auto known = [&](const std::string& name) { return name.empty() || hooks.contains(name); };
  const std::string where = config.file.empty() ? std::string("actions") : config.file;
  for (const Route& r : config.routes) {
    if (!known(r.escalate.webhook)) {
      return Status::InvalidArgument(where + ": route " + r.name + ": escalate.webhook \"" +
                                     r.escalate.webhook + "\" is not under webhooks:");
    }
    for (const Action& a : r.actions) {
      if (a.kind == Action::Kind::kWebhook && !known(a.webhook)) {
        return Status::InvalidArgument(where + ": route " + r.name + ": webhook \"" + a.webhook +
                                       "\" is not under webhooks:");
      }
    }
  }
  for (const RollbackTarget& t : config.rollbacks) {
    if (!known(t.webhook) || !known(t.on_failure.webhook)) {
      return Status::InvalidArgument(where + ": rollback of " + t.service +
                                     " names a webhook that is not under webhooks:");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view NoDataPolicyName(NoDataPolicy policy) {
  switch (policy) {
    case NoDataPolicy::kHold:
      return "hold";
    case NoDataPolicy::kLift:
      return "lift";
    case NoDataPolicy::kEscalate:
      return "escalate";
  }
  return "hold";
}

const RollbackTarget* ActionsConfig::FindRollback(std::string_view service) const {
  for (const RollbackTarget& t : rollbacks) {
    if (t.service == service) return &t;
  }
  return nullptr;
}

Result<Matcher> ParseAlertMatcher(std::string_view text) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip_space();
  size_t name_start = i;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
  std::string name(text.substr(name_start, i - name_start));
  if (!IsValidLabelName(name)) {
    return Status::InvalidArgument("matcher \"" + std::string(text) + "\": bad label name");
  }
  skip_space();
  MatchType type;
  if (text.substr(i, 2) == "=~") {
    type = MatchType::kRegexMatch, i += 2;
  } else if (text.substr(i, 2) == "!~") {
    type = MatchType::kRegexNoMatch, i += 2;
  } else if (text.substr(i, 2) == "!=") {
    type = MatchType::kNotEqual, i += 2;
  } else if (text.substr(i, 1) == "=") {
    type = MatchType::kEqual, i += 1;
  } else {
    return Status::InvalidArgument("matcher \"" + std::string(text) +
                                   "\": want one of =, !=, =~, !~ after the label name");
  }
  skip_space();
  std::string value;
  if (i < text.size() && text[i] == '"') {
    ++i;
    bool closed = false;
    for (; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        char c = text[++i];
        value += c == 'n' ? '\n' : c;
      } else if (text[i] == '"') {
        closed = true;
        ++i;
        break;
      } else {
        value += text[i];
      }
    }
    if (!closed) return Status::InvalidArgument("matcher \"" + std::string(text) + "\": unclosed quote");
    skip_space();
    if (i != text.size()) {
      return Status::InvalidArgument("matcher \"" + std::string(text) + "\": text after the value");
    }
  } else {
    value = std::string(text.substr(i));
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  }
  auto matcher = Matcher::Create(type, std::move(name), std::move(value));
  if (!matcher.ok()) {
    return Status::InvalidArgument("matcher \"" + std::string(text) + "\": " +
                                   matcher.status().message());
  }
  return matcher;
}

namespace {

// `path` against the directory of `file` when relative; "" stays "".
std::string Resolve(const std::string& file, const std::string& path) {
  if (path.empty() || file.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(file).parent_path() / path).string();
}

Result<ActionsConfig> FromRoot(ConfigMap root) {
  ActionsConfig config;
  config.file = root.file();
  ASSIGN_OR_RETURN(ConfigMap labels, root.ReadMap("labels"));
  RETURN_IF_ERROR(labels.ReadString("service", &config.service_label));
  RETURN_IF_ERROR(labels.ReadString("module", &config.module_label));
  RETURN_IF_ERROR(labels.CheckUnknownKeys());
  RETURN_IF_ERROR(root.ReadDuration("announce_maintenance_ahead", &config.announce_ahead));
  RETURN_IF_ERROR(ReadWebhooks(root, &config));
  RETURN_IF_ERROR(ReadRollback(root, &config));
  ASSIGN_OR_RETURN(auto routes, root.ReadMapList("routes"));
  for (size_t i = 0; i < routes.size(); ++i) {
    ASSIGN_OR_RETURN(Route route, ReadRoute(routes[i], i));
    for (const Action& a : route.actions) {
      if (a.kind == Action::Kind::kRollback && config.rollbacks.empty()) {
        return routes[i].Error("actions", "a rollback action needs rollback.services");
      }
    }
    config.routes.push_back(std::move(route));
  }
  RETURN_IF_ERROR(root.CheckUnknownKeys());
  RETURN_IF_ERROR(CheckReferences(config));
  for (WebhookConfig& w : config.webhooks) w.hmac_secret_file = Resolve(config.file, w.hmac_secret_file);
  for (RollbackTarget& t : config.rollbacks) {
    // A bare program name is looked up in PATH; a path is a file.
    if (!t.command.empty() && t.command[0].find('/') != std::string::npos) {
      t.command[0] = Resolve(config.file, t.command[0]);
    }
  }
  return config;
}

}  // namespace

Result<ActionsConfig> ParseActionsConfig(const std::string& text, const std::string& file_name) {
  ASSIGN_OR_RETURN(ConfigMap root, ConfigMap::LoadString(text, file_name));
  return FromRoot(std::move(root));
}

Result<ActionsConfig> LoadActionsConfig(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigMap root, ConfigMap::LoadFile(path));
  return FromRoot(std::move(root));
}

std::vector<const Route*> MatchRoutes(const ActionsConfig& config, const Labels& labels) {
  std::vector<const Route*> out;
  for (const Route& r : config.routes) {
    if (!MatchesAll(r.matchers, labels)) continue;
    out.push_back(&r);
    if (!r.continue_matching) break;
  }
  return out;
}

}  // namespace vitals::actions
