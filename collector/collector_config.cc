#include "collector/collector_config.h"

#include <charconv>
#include <filesystem>

#include <glob.h>

#include "common/config.h"
#include "common/curve_keys.h"
#include "common/labels.h"

namespace vitals::collector {
namespace {

// Reads the required key file named by `key` (a path) into *out.
Status ReadKey(ConfigMap& map, std::string_view key, std::string* out) {
  std::string path;
  RETURN_IF_ERROR(map.ReadString(key, &path, Presence::kRequired));
  auto value = ReadCurveKeyFile(path);
  if (!value.ok()) return map.Error(key, value.status().message());
  *out = *value;
  return Status::Ok();
}

Result<CollectorConfig> FromConfigMap(ConfigMap root) {
  CollectorConfig config;

  ASSIGN_OR_RETURN(ConfigMap ingest, root.ReadMap("ingest"));
  RETURN_IF_ERROR(ingest.ReadString("listen", &config.ingest.listen));
  RETURN_IF_ERROR(ingest.ReadBytes("max_message_size", &config.ingest.max_message_size));
  if (config.ingest.listen.find("://") == std::string::npos) {
    return ingest.Error("listen", "expected a ZeroMQ endpoint like tcp://0.0.0.0:4740");
  }
  if (config.ingest.max_message_size < 1024) {
    return ingest.Error("max_message_size", "must be at least 1KiB");
  }
  if (ingest.Has("curve")) {
    ASSIGN_OR_RETURN(ConfigMap curve, ingest.ReadMap("curve"));
    RETURN_IF_ERROR(ReadKey(curve, "public_key_file", &config.ingest.curve.public_key));
    RETURN_IF_ERROR(ReadKey(curve, "secret_key_file", &config.ingest.curve.secret_key));
    RETURN_IF_ERROR(curve.ReadString("allowed_agents_dir", &config.ingest.curve.allowed_agents_dir,
                                     Presence::kRequired));
    if (!std::filesystem::is_directory(config.ingest.curve.allowed_agents_dir)) {
      return curve.Error("allowed_agents_dir", "not a directory: " +
                                                   config.ingest.curve.allowed_agents_dir);
    }
    RETURN_IF_ERROR(curve.CheckUnknownKeys());
  }
  RETURN_IF_ERROR(ingest.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap web, root.ReadMap("web"));
  RETURN_IF_ERROR(web.ReadString("listen", &config.web.listen));
  std::string host;
  int port = 0;
  if (!ParseHostPort(config.web.listen, &host, &port).ok()) {
    return web.Error("listen", "expected host:port like 127.0.0.1:9740, got \"" +
                                   config.web.listen + "\"");
  }
  RETURN_IF_ERROR(web.ReadBool("enable_admin_api", &config.web.enable_admin_api));
  RETURN_IF_ERROR(web.CheckUnknownKeys());

  // Optional so that an absent or empty section reports the key it lacks, storage.path.
  ASSIGN_OR_RETURN(ConfigMap storage, root.ReadMap("storage"));
  RETURN_IF_ERROR(storage.ReadString("path", &config.storage.path, Presence::kRequired));
  if (config.storage.path.empty()) return storage.Error("path", "must not be empty");
  CollectorConfig::Storage& st = config.storage;
  RETURN_IF_ERROR(storage.ReadDuration("retention", &st.retention));
  RETURN_IF_ERROR(storage.ReadDuration("out_of_order_window", &st.out_of_order_window));
  RETURN_IF_ERROR(storage.ReadDuration("partition_duration", &st.partition_duration));
  if (st.partition_duration < std::chrono::minutes(1)) {
    return storage.Error("partition_duration", "must be at least 1m");
  }
  if (st.retention.count() > 0 && st.retention < st.partition_duration) {
    return storage.Error("retention", "must be 0 (keep everything) or at least "
                                      "partition_duration, since whole partitions are dropped");
  }
  ASSIGN_OR_RETURN(ConfigMap limits, storage.ReadMap("limits"));
  int64_t per_agent = 0, per_metric = 0;
  RETURN_IF_ERROR(limits.ReadInt("max_series_per_agent", &per_agent));
  RETURN_IF_ERROR(limits.ReadInt("max_series_per_metric", &per_metric));
  RETURN_IF_ERROR(limits.ReadInt("max_label_count", &st.max_label_count));
  RETURN_IF_ERROR(limits.ReadInt("max_label_name_length", &st.max_label_name_length));
  RETURN_IF_ERROR(limits.ReadInt("max_label_value_length", &st.max_label_value_length));
  for (auto [key, value] : {std::pair<const char*, int64_t>{"max_series_per_agent", per_agent},
                            {"max_series_per_metric", per_metric},
                            {"max_label_count", st.max_label_count},
                            {"max_label_name_length", st.max_label_name_length},
                            {"max_label_value_length", st.max_label_value_length}}) {
    if (value < 0 || value > UINT32_MAX) {
      return limits.Error(key, "must be a number from 0 (no limit) to 4294967295");
    }
  }
  st.max_series_per_agent = static_cast<uint64_t>(per_agent);
  st.max_series_per_metric = static_cast<uint64_t>(per_metric);
  RETURN_IF_ERROR(limits.CheckUnknownKeys());
  RETURN_IF_ERROR(storage.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap query, root.ReadMap("query"));
  CollectorConfig::Query& q = config.query;
  RETURN_IF_ERROR(query.ReadDuration("lookback_delta", &q.lookback_delta));
  RETURN_IF_ERROR(query.ReadInt("max_samples", &q.max_samples));
  RETURN_IF_ERROR(query.ReadDuration("timeout", &q.timeout));
  if (q.lookback_delta.count() <= 0) return query.Error("lookback_delta", "must be positive");
  if (q.max_samples <= 0) return query.Error("max_samples", "must be a positive number");
  if (q.timeout.count() <= 0) return query.Error("timeout", "must be positive");
  RETURN_IF_ERROR(query.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap rules, root.ReadMap("rules"));
  CollectorConfig::Rules& r = config.rules;
  RETURN_IF_ERROR(rules.ReadStringList("files", &r.files));
  RETURN_IF_ERROR(rules.ReadDuration("evaluation_interval", &r.evaluation_interval));
  RETURN_IF_ERROR(rules.ReadDuration("resend_delay", &r.resend_delay));
  RETURN_IF_ERROR(rules.ReadStringMap("external_labels", &r.external_labels));
  RETURN_IF_ERROR(rules.ReadString("external_url", &r.external_url));
  RETURN_IF_ERROR(rules.ReadString("state_file", &r.state_file));
  if (r.evaluation_interval < std::chrono::seconds(1)) {
    return rules.Error("evaluation_interval", "must be at least 1s");
  }
  if (r.resend_delay.count() <= 0) return rules.Error("resend_delay", "must be positive");
  for (const auto& [name, value] : r.external_labels) {
    if (!IsValidLabelName(name)) {
      return rules.Error("external_labels", "invalid label name \"" + name + "\"");
    }
  }
  if (r.external_url.empty()) r.external_url = "http://" + config.web.listen;
  if (r.state_file.empty()) r.state_file = config.storage.path + "/alert_state.json";
  RETURN_IF_ERROR(rules.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap alerting, root.ReadMap("alerting"));
  CollectorConfig::Alerting& al = config.alerting;
  ASSIGN_OR_RETURN(auto alertmanagers, alerting.ReadMapList("alertmanagers"));
  for (ConfigMap& am : alertmanagers) {
    CollectorConfig::Alerting::Alertmanager a;
    RETURN_IF_ERROR(am.ReadString("url", &a.url, Presence::kRequired));
    if (a.url.rfind("http://", 0) != 0 && a.url.rfind("https://", 0) != 0) {
      return am.Error("url", "expected http:// or https://, got \"" + a.url + "\"");
    }
    RETURN_IF_ERROR(am.ReadDuration("timeout", &a.timeout));
    if (a.timeout.count() <= 0) return am.Error("timeout", "must be positive");
    RETURN_IF_ERROR(am.ReadString("bearer_token_file", &a.bearer_token_file));
    ASSIGN_OR_RETURN(ConfigMap basic, am.ReadMap("basic_auth"));
    RETURN_IF_ERROR(basic.ReadString("username", &a.basic_auth_username));
    RETURN_IF_ERROR(basic.ReadString("password_file", &a.basic_auth_password_file));
    RETURN_IF_ERROR(basic.CheckUnknownKeys());
    RETURN_IF_ERROR(am.CheckUnknownKeys());
    al.alertmanagers.push_back(std::move(a));
  }
  RETURN_IF_ERROR(alerting.ReadInt("queue_capacity", &al.queue_capacity));
  RETURN_IF_ERROR(alerting.ReadInt("max_batch_size", &al.max_batch_size));
  RETURN_IF_ERROR(alerting.ReadInt("max_retries", &al.max_retries));
  if (al.queue_capacity < 1) return alerting.Error("queue_capacity", "must be at least 1");
  if (al.max_batch_size < 1) return alerting.Error("max_batch_size", "must be at least 1");
  if (al.max_retries < 0) return alerting.Error("max_retries", "must not be negative");
  RETURN_IF_ERROR(alerting.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap actions, root.ReadMap("actions"));
  RETURN_IF_ERROR(actions.ReadString("file", &config.actions.file));
  RETURN_IF_ERROR(actions.ReadString("db_dir", &config.actions.db_dir));
  if (config.actions.db_dir.empty()) config.actions.db_dir = config.storage.path + "/actions";
  RETURN_IF_ERROR(actions.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap control, root.ReadMap("control"));
  RETURN_IF_ERROR(control.ReadString("token_file", &config.control.token_file));
  RETURN_IF_ERROR(control.ReadBool("open_reads", &config.control.open_reads));
  RETURN_IF_ERROR(control.CheckUnknownKeys());

  ASSIGN_OR_RETURN(ConfigMap log, root.ReadMap("log"));
  std::string level = "info";
  RETURN_IF_ERROR(log.ReadString("level", &level));
  auto parsed = ParseLogLevel(level);
  if (!parsed.ok()) return log.Error("level", parsed.status().message());
  config.log_level = *parsed;
  RETURN_IF_ERROR(log.CheckUnknownKeys());

  RETURN_IF_ERROR(root.CheckUnknownKeys());
  return config;
}

}  // namespace

Status ParseHostPort(const std::string& text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return Status::InvalidArgument("expected host:port");
  }
  std::string_view port_text(text.data() + colon + 1, text.size() - colon - 1);
  int p = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || p < 0 || p > 65535) {
    return Status::InvalidArgument("port must be a number from 0 to 65535");
  }
  *host = text.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  *port = p;
  return Status::Ok();
}

Result<CollectorConfig> LoadCollectorConfig(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigMap root, ConfigMap::LoadFile(path));
  ASSIGN_OR_RETURN(CollectorConfig config, FromConfigMap(std::move(root)));
  std::string dir = std::filesystem::path(path).parent_path().string();
  config.base_dir = dir.empty() ? "." : dir;
  config.config_file = path;
  return config;
}

Result<CollectorConfig> ParseCollectorConfig(const std::string& yaml, const std::string& file_name) {
  ASSIGN_OR_RETURN(ConfigMap root, ConfigMap::LoadString(yaml, file_name));
  return FromConfigMap(std::move(root));
}

std::string ResolvePath(const CollectorConfig& config, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(config.base_dir) / path).string();
}

Result<std::vector<std::string>> ExpandRuleFiles(const CollectorConfig& config) {
  std::vector<std::string> out;
  for (const std::string& pattern : config.rules.files) {
    std::filesystem::path p = pattern;
    if (p.is_relative()) p = std::filesystem::path(config.base_dir) / p;
    glob_t g{};
    int rc = ::glob(p.c_str(), GLOB_ERR, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    }
    ::globfree(&g);
    if (rc != 0 && rc != GLOB_NOMATCH) {
      return Status::InvalidArgument("rules.files: cannot expand \"" + pattern + "\"");
    }
  }
  return out;
}

}  // namespace vitals::collector
