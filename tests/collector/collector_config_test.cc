#include "collector/collector_config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace vitals::collector {
namespace {

// The smallest valid collector.yml.
constexpr char kMinimal[] = "storage:\n  path: /var/lib/vitals\n";

// The error of parsing `yaml` as collector.yml, or "OK".
std::string ErrorOf(const std::string& yaml) {
  auto config = ParseCollectorConfig(yaml, "collector.yml");
  return config.ok() ? "OK" : config.status().message();
}

TEST(CollectorConfigTest, ShippedExampleParses) {
  auto config = LoadCollectorConfig(VITALS_SOURCE_DIR "/deploy/examples/collector.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->ingest.listen, "tcp://127.0.0.1:4740");
  EXPECT_EQ(config->ingest.max_message_size, 16u << 20);
  EXPECT_EQ(config->web.listen, "127.0.0.1:9740");
  EXPECT_EQ(config->storage.path, "./data/vitals");
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
}

TEST(CollectorConfigTest, MissingFileIsNotFound) {
  auto config = LoadCollectorConfig("/nonexistent/collector.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kNotFound);
}

TEST(CollectorConfigTest, AppliesDefaultsToOmittedKeys) {
  auto config = ParseCollectorConfig(kMinimal, "collector.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->ingest.listen, "tcp://127.0.0.1:4740");
  EXPECT_EQ(config->ingest.max_message_size, 16u << 20);
  EXPECT_EQ(config->web.listen, "127.0.0.1:9740");
  EXPECT_EQ(config->storage.path, "/var/lib/vitals");
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
}

TEST(CollectorConfigTest, ReadsEveryKey) {
  auto config = ParseCollectorConfig(
      "ingest:\n"
      "  listen: tcp://0.0.0.0:5000\n"
      "  max_message_size: 64KiB\n"
      "web:\n"
      "  listen: :9000\n"
      "storage:\n"
      "  path: /data\n"
      "log:\n"
      "  level: debug\n",
      "collector.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->ingest.listen, "tcp://0.0.0.0:5000");
  EXPECT_EQ(config->ingest.max_message_size, 65536u);
  EXPECT_EQ(config->web.listen, ":9000");
  EXPECT_EQ(config->storage.path, "/data");
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
}

TEST(CollectorConfigTest, ErrorsAreInvalidArgument) {
  auto config = ParseCollectorConfig("", "collector.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
}

TEST(CollectorConfigTest, StoragePathIsRequiredWhenStorageIsAbsent) {
  EXPECT_EQ(ErrorOf("log:\n  level: info\n"),
            "collector.yml:1: storage.path: missing required key");
}

TEST(CollectorConfigTest, StoragePathIsRequiredWhenStorageIsEmpty) {
  std::string error = ErrorOf("log:\n  level: info\nstorage:\n  # no path\n");
  EXPECT_TRUE(error.starts_with("collector.yml:")) << error;
  EXPECT_TRUE(error.ends_with(": storage.path: missing required key")) << error;
}

TEST(CollectorConfigTest, StoragePathIsRequiredAtLineOfStorageMapping) {
  EXPECT_EQ(ErrorOf("log:\n  level: info\nstorage:\n  pth: /data\n"),
            "collector.yml:4: storage.path: missing required key");
}

TEST(CollectorConfigTest, StoragePathMayNotBeEmptyString) {
  EXPECT_EQ(ErrorOf("storage:\n  path: \"\"\n"),
            "collector.yml:2: storage.path: must not be empty");
}

TEST(CollectorConfigTest, RejectsUnknownNestedKey) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /data\ningest:\n  listne: tcp://0.0.0.0:1\n"),
            "collector.yml:4: ingest.listne: unknown key");
}

TEST(CollectorConfigTest, RejectsUnknownTopLevelKey) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /data\nretention: 15d\n"),
            "collector.yml:3: retention: unknown key");
}

TEST(CollectorConfigTest, WebListenMustBeHostPort) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /data\nweb:\n  listen: localhost\n"),
            "collector.yml:4: web.listen: expected host:port like 127.0.0.1:9740, got "
            "\"localhost\"");
}

TEST(CollectorConfigTest, WebListenPortMustBeInRange) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /data\nweb:\n  listen: 127.0.0.1:70000\n"),
            "collector.yml:4: web.listen: expected host:port like 127.0.0.1:9740, got "
            "\"127.0.0.1:70000\"");
}

TEST(CollectorConfigTest, IngestMaxMessageSizeMustBeSize) {
  std::string error = ErrorOf("storage:\n  path: /data\ningest:\n  max_message_size: lots\n");
  EXPECT_TRUE(error.starts_with("collector.yml:4: ingest.max_message_size: not a valid size"))
      << error;
}

TEST(CollectorConfigTest, IngestMaxMessageSizeMustBeAtLeastOneKiB) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /data\ningest:\n  max_message_size: 1000\n"),
            "collector.yml:4: ingest.max_message_size: must be at least 1KiB");
}

TEST(CollectorConfigTest, IngestListenMustBeZeroMqEndpoint) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /data\ningest:\n  listen: 127.0.0.1:4740\n"),
            "collector.yml:4: ingest.listen: expected a ZeroMQ endpoint like tcp://0.0.0.0:4740");
}

TEST(CollectorConfigTest, RejectsSectionThatIsNotMapping) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /data\nweb: 127.0.0.1:9740\n"),
            "collector.yml:3: web: expected a mapping of keys to values");
}

TEST(CollectorConfigTest, LogLevelMustBeKnown) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /data\nlog:\n  level: loud\n"),
            "collector.yml:4: log.level: unknown log level \"loud\" (expected debug, info, warn "
            "or error)");
}

TEST(CollectorConfigTest, RejectsYamlSyntaxErrorWithLine) {
  std::string error = ErrorOf("storage:\n  path: /data\nlog:\n  level: info: debug\n");
  EXPECT_TRUE(error.starts_with("collector.yml:4: YAML syntax error: ")) << error;
}

TEST(CollectorConfigTest, RejectsTopLevelList) {
  EXPECT_EQ(ErrorOf("- storage\n"),
            "collector.yml:1: the top level must be a mapping of keys to values");
}

TEST(CollectorConfigTest, ReadsStorageEngineKeys) {
  auto config = ParseCollectorConfig(
      "web:\n  enable_admin_api: true\n"
      "storage:\n  path: /d\n  retention: 30d\n  partition_duration: 2h\n"
      "  out_of_order_window: 5m\n  limits:\n    max_series_per_agent: 5000\n"
      "    max_series_per_metric: 700\n    max_label_count: 20\n"
      "    max_label_name_length: 100\n    max_label_value_length: 1000\n",
      "collector.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->web.enable_admin_api);
  const CollectorConfig::Storage& st = config->storage;
  EXPECT_EQ(st.retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(st.partition_duration, std::chrono::hours(2));
  EXPECT_EQ(st.out_of_order_window, std::chrono::minutes(5));
  EXPECT_EQ(st.max_series_per_agent, 5000u);
  EXPECT_EQ(st.max_series_per_metric, 700u);
  EXPECT_EQ(st.max_label_count, 20);
  EXPECT_EQ(st.max_label_name_length, 100);
  EXPECT_EQ(st.max_label_value_length, 1000);
}

TEST(CollectorConfigTest, RetentionShorterThanPartitionIsRefused) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /d\n  retention: 1h\n"),
            "collector.yml:3: storage.retention: must be 0 (keep everything) or at least "
            "partition_duration, since whole partitions are dropped");
}

TEST(CollectorConfigTest, PartitionDurationBelowOneMinuteIsRefused) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /d\n  partition_duration: 30s\n  retention: 0s\n"),
            "collector.yml:3: storage.partition_duration: must be at least 1m");
}

TEST(CollectorConfigTest, NegativeLimitIsRefusedAtItsLine) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /d\n  limits:\n    max_series_per_agent: -1\n"),
            "collector.yml:4: storage.limits.max_series_per_agent: must be a number from 0 (no "
            "limit) to 4294967295");
}

TEST(CollectorConfigTest, UnknownLimitIsRefused) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /d\n  limits:\n    max_series: 5\n"),
            "collector.yml:4: storage.limits.max_series: unknown key");
}

TEST(CollectorConfigTest, QueryKeysDefaultToPrometheusFlags) {
  auto config = ParseCollectorConfig(kMinimal, "collector.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->query.lookback_delta, std::chrono::minutes(5));
  EXPECT_EQ(config->query.max_samples, 50'000'000);
  EXPECT_EQ(config->query.timeout, std::chrono::minutes(2));
}

TEST(CollectorConfigTest, RulesKeysDefaultToPrometheusAndStorage) {
  auto config = ParseCollectorConfig(kMinimal, "collector.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->rules.files.empty());
  EXPECT_EQ(config->rules.evaluation_interval, std::chrono::minutes(1));
  EXPECT_EQ(config->rules.resend_delay, std::chrono::minutes(1));
  EXPECT_EQ(config->rules.external_url, "http://127.0.0.1:9740");
  EXPECT_EQ(config->rules.state_file, "/var/lib/vitals/alert_state.json");
}

TEST(CollectorConfigTest, ReadsRulesKeys) {
  auto config = ParseCollectorConfig(
      "storage:\n  path: /d\n"
      "rules:\n  files: [a.yml, 'rules/*.yml']\n  evaluation_interval: 15s\n"
      "  external_labels: {cluster: eu1}\n  external_url: https://vitals.example\n",
      "collector.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->rules.files, (std::vector<std::string>{"a.yml", "rules/*.yml"}));
  EXPECT_EQ(config->rules.evaluation_interval, std::chrono::seconds(15));
  EXPECT_EQ(config->rules.external_labels.at("cluster"), "eu1");
  EXPECT_EQ(config->rules.external_url, "https://vitals.example");
}

TEST(CollectorConfigTest, RejectsBadRulesKeys) {
  EXPECT_EQ(ErrorOf("storage: {path: /d}\nrules:\n  evaluation_interval: 500ms\n"),
            "collector.yml:3: rules.evaluation_interval: must be at least 1s");
  EXPECT_EQ(ErrorOf("storage: {path: /d}\nrules:\n  external_labels: {0bad: x}\n"),
            "collector.yml:3: rules.external_labels: invalid label name \"0bad\"");
}

TEST(CollectorConfigTest, RuleFileGlobsResolveAgainstTheConfigDirectory) {
  CollectorConfig config;
  config.base_dir = VITALS_SOURCE_DIR "/tests/conformance/promtool";
  config.rules.files = {"rules*.yml", "nothing-*.yml"};
  auto files = ExpandRuleFiles(config);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0], config.base_dir + "/rules.yml");
  EXPECT_EQ((*files)[1], config.base_dir + "/rules_duplicates.yml");
}

TEST(CollectorConfigTest, ReadsQueryKeys) {
  auto config = ParseCollectorConfig(
      "storage:\n  path: /d\n"
      "query:\n  lookback_delta: 1m30s\n  max_samples: 1000\n  timeout: 10s\n",
      "collector.yml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->query.lookback_delta, std::chrono::seconds(90));
  EXPECT_EQ(config->query.max_samples, 1000);
  EXPECT_EQ(config->query.timeout, std::chrono::seconds(10));
}

TEST(CollectorConfigTest, QueryLookbackDeltaMustBePositive) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /d\nquery:\n  lookback_delta: 0s\n"),
            "collector.yml:4: query.lookback_delta: must be positive");
}

TEST(CollectorConfigTest, QueryMaxSamplesMustBePositive) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /d\nquery:\n  timeout: 1m\n  max_samples: 0\n"),
            "collector.yml:5: query.max_samples: must be a positive number");
}

TEST(CollectorConfigTest, QueryTimeoutMustBeADuration) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /d\nquery:\n  timeout: soon\n").rfind(
                "collector.yml:4: query.timeout: ", 0),
            0u);
}

TEST(CollectorConfigTest, UnknownQueryKeyIsRefused) {
  EXPECT_EQ(ErrorOf("storage:\n  path: /d\nquery:\n  lookback: 5m\n"),
            "collector.yml:4: query.lookback: unknown key");
}

TEST(ParseHostPortTest, SplitsHostAndPort) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(ParseHostPort("127.0.0.1:9740", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9740);
}

TEST(ParseHostPortTest, AcceptsHostName) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(ParseHostPort("localhost:80", &host, &port).ok());
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, 80);
}

TEST(ParseHostPortTest, EmptyHostMeansAllInterfaces) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(ParseHostPort(":9740", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9740);
}

TEST(ParseHostPortTest, StripsBracketsFromIpv6Host) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(ParseHostPort("[::1]:9740", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9740);
}

TEST(ParseHostPortTest, AcceptsPortZeroAndMaximum) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseHostPort("127.0.0.1:0", &host, &port).ok());
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(ParseHostPort("127.0.0.1:65535", &host, &port).ok());
  EXPECT_EQ(port, 65535);
}

TEST(ParseHostPortTest, RejectsMissingPort) {
  std::string host = "unchanged";
  int port = 7;
  EXPECT_FALSE(ParseHostPort("localhost", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("localhost:", &host, &port).ok());
  EXPECT_EQ(host, "unchanged");
  EXPECT_EQ(port, 7);
}

TEST(ParseHostPortTest, RejectsPortOutOfRange) {
  std::string host;
  int port = 0;
  EXPECT_FALSE(ParseHostPort("127.0.0.1:65536", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:-1", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:99999999999", &host, &port).ok());
}

TEST(ParseHostPortTest, RejectsNonNumericPort) {
  std::string host;
  int port = 0;
  EXPECT_FALSE(ParseHostPort("127.0.0.1:http", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:80x", &host, &port).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1: 80", &host, &port).ok());
}

}  // namespace
}  // namespace vitals::collector
