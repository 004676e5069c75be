// vitalsctl: the operators' command-line tool.
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "agent/agent.h"
#include "collector/collector_config.h"
#include "common/curve_keys.h"
#include "common/version.h"
#include "ctl/control.h"
#include "ctl/query.h"
#include "ctl/rules.h"
#include "ctl/tsdb.h"

namespace {

// Prints "<file>: OK" or the error, and returns the process exit status
// (0 valid, 2 invalid), the same convention as the daemons at start-up.
template <typename Config>
int Report(const std::string& file, const vitals::Result<Config>& result) {
  if (!result.ok()) {
    std::fprintf(stderr, "%s\n", result.status().message().c_str());
    return 2;
  }
  std::printf("%s: OK\n", file.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vitalsctl: operate a Vitals installation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("vitalsctl ") + vitals::kVersion + " (" +
                                        vitals::kRevision + ")");

  CLI::App* check = app.add_subcommand("check", "Validate files without starting anything");
  check->require_subcommand(1);
  std::string agent_file, collector_file;
  CLI::App* check_agent = check->add_subcommand("agent-config", "Validate an agent.yml");
  check_agent->add_option("file", agent_file, "Path to agent.yml")->required();
  CLI::App* check_collector =
      check->add_subcommand("collector-config", "Validate a collector.yml");
  check_collector->add_option("file", collector_file, "Path to collector.yml")->required();

  CLI::App* keys = app.add_subcommand("keys", "Manage CurveZMQ keys");
  keys->require_subcommand(1);
  std::string key_dir = ".";
  std::string key_name;
  CLI::App* generate = keys->add_subcommand(
      "generate", "Write a new key pair: NAME.key (secret, mode 0600) and NAME.pub");
  generate->add_option("--name", key_name, "Base name of the files, e.g. the agent id")->required();
  generate->add_option("--dir", key_dir, "Directory to write them to")->capture_default_str();

  CLI::App* tsdb = app.add_subcommand("tsdb", "Look into a collector's storage");
  tsdb->require_subcommand(1);
  std::string storage_dir, selector, collector_url;
  size_t top_n = 10;
  int64_t min_ms = INT64_MIN, max_ms = INT64_MAX;
  CLI::App* stats = tsdb->add_subcommand(
      "stats", "Series, samples, bytes per sample and top cardinality of a storage directory "
               "(not one a running collector holds: use a snapshot)");
  stats->add_option("dir", storage_dir, "storage.path or a snapshot of it")->required();
  stats->add_option("--top", top_n, "How many metric and label names to list")
      ->capture_default_str();
  CLI::App* dump = tsdb->add_subcommand("dump", "Print samples: labels value timestamp_ms");
  dump->add_option("dir", storage_dir, "storage.path or a snapshot of it")->required();
  dump->add_option("--match", selector, "Series selector, e.g. 'up{job=\"node\"}'")->required();
  dump->add_option("--min-time", min_ms, "Oldest timestamp, ms");
  dump->add_option("--max-time", max_ms, "Newest timestamp, ms");
  CLI::App* snapshot = tsdb->add_subcommand(
      "snapshot", "Ask a running collector for an online snapshot (web.enable_admin_api)");
  snapshot->add_option("--collector", collector_url, "e.g. http://127.0.0.1:9740")->required();
  CLI::App* import = tsdb->add_subcommand("import", "Import samples into a storage directory");
  import->require_subcommand(1);
  CLI::App* import_om = import->add_subcommand(
      "openmetrics", "Import an OpenMetrics (or Prometheus text) file with timestamps, like "
                     "promtool tsdb create-blocks-from openmetrics; not while a collector runs "
                     "on the directory");
  std::string import_file, import_config, import_format = "openmetrics";
  import_om->add_option("file", import_file, "The exposition file")->required();
  import_om->add_option("dir", storage_dir, "storage.path to import into (created if missing)")
      ->required();
  import_om->add_option("--config", import_config,
                        "collector.yml whose storage limits and out-of-order window apply");
  import_om->add_option("--format", import_format,
                        "openmetrics (timestamps in seconds, ends with # EOF) or prometheus "
                        "(text format 0.0.4, timestamps in milliseconds)")
      ->check(CLI::IsMember({"openmetrics", "prometheus"}))
      ->capture_default_str();

  CLI::App* rules = app.add_subcommand("rules", "Prometheus rule files");
  rules->require_subcommand(1);
  std::vector<std::string> rule_files;
  std::string rules_lint = "duplicate-rules";
  bool rules_lint_fatal = false;
  CLI::App* rules_check = rules->add_subcommand(
      "check", "Validate rule files as `promtool check rules` does (same output and exit status)");
  rules_check->add_option("files", rule_files, "Rule files")->required();
  rules_check->add_option("--lint", rules_lint, "all, duplicate-rules or none")
      ->check(CLI::IsMember({"all", "duplicate-rules", "none"}))
      ->capture_default_str();
  rules_check->add_flag("--lint-fatal", rules_lint_fatal, "Exit 3 on lint findings");
  std::vector<std::string> rule_test_files;
  CLI::App* rules_test = rules->add_subcommand(
      "test", "Run rule unit tests as `promtool test rules` does (same format and verdict)");
  rules_test->add_option("files", rule_test_files, "Unit-test files")->required();

  CLI::App* query = app.add_subcommand(
      "query", "Run PromQL against a collector's HTTP API, like promtool query instant|range");
  query->require_subcommand(0, 1);
  vitals::ctl::QueryOptions query_options;
  CLI::App* query_instant = query->add_subcommand("instant", "An instant query (the default)");
  CLI::App* query_range = query->add_subcommand("range", "A range query");
  for (CLI::App* cmd : {query, query_instant, query_range}) {
    cmd->add_option("expr", query_options.expr, "PromQL expression");
    cmd->add_option("--collector", query_options.collector_url, "Base URL of the collector")
        ->capture_default_str();
    cmd->add_option("--format", query_options.format, "table, or json: the API's answer as is")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
  }
  for (CLI::App* cmd : {query, query_instant}) {
    cmd->add_option("--time", query_options.time,
                    "Evaluation time, Unix seconds or RFC 3339 (default: now)");
  }
  query_range->add_option("--start", query_options.start,
                          "Unix seconds or RFC 3339 (default: end - 5m)");
  query_range->add_option("--end", query_options.end, "Unix seconds or RFC 3339 (default: now)");
  query_range->add_option("--step", query_options.step,
                          "Seconds or a duration like 15s (default: (end - start) / 250, at least 1s)");

  vitals::ctl::ControlCommands control(app);

  CLI11_PARSE(app, argc, argv);

  if (std::optional<int> status = control.Run()) return *status;

  if (*query) {
    if (query_options.expr.empty()) {
      std::fprintf(stderr, "query: an expression is required\n");
      return 1;
    }
    query_options.range = query_range->parsed();
    return vitals::ctl::Query(query_options);
  }

  if (*rules_test) return vitals::ctl::RulesTest(rule_test_files);

  if (*rules_check) {
    vitals::ctl::RulesCheckOptions options;
    if (rules_lint == "none") options.lint = vitals::ctl::RulesLint::kNone;
    options.lint_fatal = rules_lint_fatal;
    return vitals::ctl::RulesCheck(rule_files, options);
  }

  if (*stats) return vitals::ctl::TsdbStats(storage_dir, top_n);
  if (*dump) return vitals::ctl::TsdbDump(storage_dir, selector, min_ms, max_ms);
  if (*snapshot) return vitals::ctl::TsdbSnapshot(collector_url);
  if (*import_om) {
    vitals::ctl::ImportOptions options;
    if (import_format == "prometheus") options.format = vitals::exposition::Format::kPrometheusText;
    return vitals::ctl::TsdbImport(import_file, storage_dir, import_config, options);
  }

  if (*generate) {
    auto pair = vitals::GenerateCurveKeyPair();
    vitals::Status written =
        pair.ok() ? vitals::WriteCurveKeyPair(*pair, key_dir, key_name) : pair.status();
    if (!written.ok()) {
      std::fprintf(stderr, "%s\n", written.message().c_str());
      return 1;
    }
    std::printf("wrote %s/%s.key (secret) and %s/%s.pub\npublic key: %s\n", key_dir.c_str(),
                key_name.c_str(), key_dir.c_str(), key_name.c_str(), pair->public_key.c_str());
    return 0;
  }

  if (*check_agent) return Report(agent_file, vitals::agent::LoadAgentConfig(agent_file));
  if (*check_collector) {
    return Report(collector_file, vitals::collector::LoadCollectorConfig(collector_file));
  }
  return 1;
}
