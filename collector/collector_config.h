#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/status.h"

namespace vitals::collector {

// Everything in collector.yml. See docs/configuration.md.
struct CollectorConfig {
  struct Ingest {
    // ZeroMQ endpoint of the ROUTER socket agents connect to.
    std::string listen = "tcp://127.0.0.1:4740";
    // Largest accepted message, all frames together; larger ones are
    // rejected with reason "too_large".
    uint64_t max_message_size = 16ull << 20;
    // CurveZMQ: the collector's key pair (Z85) and the directory of allowed
    // agents' public keys (*.pub). Empty public_key: plain TCP.
    struct Curve {
      std::string public_key;
      std::string secret_key;
      std::string allowed_agents_dir;
    } curve;
  } ingest;

  struct Web {
    // host:port of the HTTP server (/metrics, /federate, /-/healthy, /-/ready).
    std::string listen = "127.0.0.1:9740";
    // Serve the admin API (POST /api/v1/admin/tsdb/snapshot).
    bool enable_admin_api = false;
  } web;

  struct Storage {
    // RocksDB directory. Required.
    std::string path;
    // Drop data older than this, a whole partition at a time; 0 keeps all.
    std::chrono::milliseconds retention{std::chrono::hours(24 * 15)};
    // Accept samples up to this much older than the newest one stored.
    std::chrono::milliseconds out_of_order_window{0};
    // Time covered by one partition; fixed when the storage is created.
    std::chrono::milliseconds partition_duration{std::chrono::hours(24)};
    // Cardinality and label limits (0 = unlimited).
    uint64_t max_series_per_agent = 0;
    uint64_t max_series_per_metric = 0;
    int64_t max_label_count = 64;
    int64_t max_label_name_length = 256;
    int64_t max_label_value_length = 4096;
  } storage;

  // The PromQL engine behind /api/v1/query and /api/v1/query_range, with
  // Prometheus's --query.* flags' defaults.
  struct Query {
    // How far back an instant selector looks for a sample.
    std::chrono::milliseconds lookback_delta{std::chrono::minutes(5)};
    // Most samples one query may hold in memory at once.
    int64_t max_samples = 50'000'000;
    // Longest a query may run; a request's timeout parameter can only shorten it.
    std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  } query;

  // Prometheus rule files and how they are evaluated (docs/rules.md).
  struct Rules {
    // Rule files or globs ("rules/*.yml"), relative to this file's directory.
    std::vector<std::string> files;
    // Interval of groups that do not set one (global.evaluation_interval).
    std::chrono::milliseconds evaluation_interval{std::chrono::minutes(1)};
    // How often a still-firing alert is re-sent (--rules.alert.resend-delay).
    std::chrono::milliseconds resend_delay{std::chrono::minutes(1)};
    // Added to alerts sent and visible to templates as $externalLabels.
    std::map<std::string, std::string> external_labels;
    // Base URL of this collector as users reach it, for generatorURL and
    // $externalURL; default http://<web.listen>.
    std::string external_url;
    // Where alert state survives restarts; default <storage.path>/alert_state.json.
    std::string state_file;
  } rules;

  // Where firing and resolved alerts are sent (docs/alerting.md).
  struct Alerting {
    struct Alertmanager {
      std::string url;  // http(s)://host:port[/prefix]
      std::chrono::milliseconds timeout{std::chrono::seconds(10)};
      std::string bearer_token_file;
      std::string basic_auth_username;
      std::string basic_auth_password_file;
    };
    std::vector<Alertmanager> alertmanagers;
    // Alerts waiting to be sent; beyond it the oldest are dropped (counted).
    int64_t queue_capacity = 10000;
    int64_t max_batch_size = 64;
    // Retries of a failed batch per Alertmanager, with growing backoff.
    int64_t max_retries = 3;
  } alerting;

  struct Actions {
    // The actions file (routes, webhooks, rollback; docs/actions.md),
    // relative to this file; "" = no automatic actions (modes, overrides
    // and maintenance windows still work).
    std::string file;
    // Where the audit log and actions state live; default
    // <storage.path>/actions.
    std::string db_dir;
  } actions;

  struct Control {
    // File of bearer tokens ("name:token" per line) for the control API's
    // mutating endpoints (docs/control-api.md); "" disables them.
    std::string token_file;
    // Reads (modes, incidents, audit) need no token.
    bool open_reads = true;
  } control;

  // The configuration file and its directory (relative paths start there);
  // set by LoadCollectorConfig.
  std::string config_file;
  std::string base_dir = ".";

  LogLevel log_level = LogLevel::kInfo;
};

// The rule files `config.rules.files` names now: globs expanded, relative
// paths resolved against config.base_dir, sorted within each glob.
// InvalidArgument for a malformed pattern; a glob matching nothing is not
// an error (as in Prometheus).
Result<std::vector<std::string>> ExpandRuleFiles(const CollectorConfig& config);

// `path` resolved against config.base_dir when relative; "" stays "".
std::string ResolvePath(const CollectorConfig& config, const std::string& path);

// Reads and validates a collector.yml. InvalidArgument names file, line and
// key ("collector.yml:4: storage.path: missing required key ...").
Result<CollectorConfig> LoadCollectorConfig(const std::string& path);
Result<CollectorConfig> ParseCollectorConfig(const std::string& yaml, const std::string& file_name);

// Splits "host:port"; InvalidArgument unless port is 0-65535.
Status ParseHostPort(const std::string& text, std::string* host, int* port);

}  // namespace vitals::collector
