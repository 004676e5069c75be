#include "common/config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vitals {
namespace {

using namespace std::chrono_literals;

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.starts_with(prefix);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

ConfigMap MustLoad(const std::string& yaml) {
  auto config = ConfigMap::LoadString(yaml, "test.yml");
  if (!config.ok()) ADD_FAILURE() << config.status().ToString();
  return std::move(config).value();
}

TEST(ConfigMapTest, ReadsScalarsOfEveryKind) {
  ConfigMap config = MustLoad(
      "name: web-01\n"
      "interval: 1m30s\n"
      "size: 256MiB\n"
      "count: -42\n"
      "enabled: true\n");
  std::string name;
  std::chrono::milliseconds interval{};
  uint64_t size = 0;
  int64_t count = 0;
  bool enabled = false;
  ASSERT_TRUE(config.ReadString("name", &name).ok());
  ASSERT_TRUE(config.ReadDuration("interval", &interval).ok());
  ASSERT_TRUE(config.ReadBytes("size", &size).ok());
  ASSERT_TRUE(config.ReadInt("count", &count).ok());
  ASSERT_TRUE(config.ReadBool("enabled", &enabled).ok());
  EXPECT_EQ(name, "web-01");
  EXPECT_EQ(interval, 90s);
  EXPECT_EQ(size, 268435456u);
  EXPECT_EQ(count, -42);
  EXPECT_TRUE(enabled);
}

TEST(ConfigMapTest, ReadsStringList) {
  ConfigMap config = MustLoad("hosts:\n  - a\n  - b\n");
  std::vector<std::string> hosts;
  ASSERT_TRUE(config.ReadStringList("hosts", &hosts).ok());
  EXPECT_EQ(hosts, (std::vector<std::string>{"a", "b"}));
}

TEST(ConfigMapTest, ReadsStringMap) {
  ConfigMap config = MustLoad("labels: {env: prod, team: infra}\n");
  std::map<std::string, std::string> labels;
  ASSERT_TRUE(config.ReadStringMap("labels", &labels).ok());
  EXPECT_EQ(labels, (std::map<std::string, std::string>{{"env", "prod"}, {"team", "infra"}}));
}

TEST(ConfigMapTest, ReadsNestedMap) {
  ConfigMap config = MustLoad("collector:\n  ack_timeout: 5s\n");
  auto collector = config.ReadMap("collector");
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  std::chrono::milliseconds ack_timeout{};
  ASSERT_TRUE(collector->ReadDuration("ack_timeout", &ack_timeout).ok());
  EXPECT_EQ(ack_timeout, 5s);
}

TEST(ConfigMapTest, AbsentOptionalKeyLeavesValueUnchanged) {
  ConfigMap config = MustLoad("other: 1\n");
  std::string name = "default";
  std::chrono::milliseconds interval = 15s;
  ASSERT_TRUE(config.ReadString("name", &name).ok());
  ASSERT_TRUE(config.ReadDuration("interval", &interval).ok());
  EXPECT_EQ(name, "default");
  EXPECT_EQ(interval, 15s);
}

TEST(ConfigMapTest, NullOptionalKeyLeavesValueUnchanged) {
  ConfigMap config = MustLoad("name:\n");
  std::string name = "default";
  ASSERT_TRUE(config.ReadString("name", &name).ok());
  EXPECT_EQ(name, "default");
}

TEST(ConfigMapTest, AbsentOptionalMapIsEmpty) {
  ConfigMap config = MustLoad("other: 1\n");
  auto log = config.ReadMap("log");
  ASSERT_TRUE(log.ok());
  EXPECT_FALSE(log->Has("level"));
  EXPECT_TRUE(log->CheckUnknownKeys().ok());
}

TEST(ConfigMapTest, HasIsTrueOnlyForKeysWithValues) {
  ConfigMap config = MustLoad("a: 1\nb:\n");
  EXPECT_TRUE(config.Has("a"));
  EXPECT_FALSE(config.Has("b"));
  EXPECT_FALSE(config.Has("c"));
}

TEST(ConfigMapTest, EmptyDocumentIsEmptyMapping) {
  ConfigMap config = MustLoad("");
  EXPECT_FALSE(config.Has("anything"));
  EXPECT_TRUE(config.CheckUnknownKeys().ok());
}

TEST(ConfigMapTest, CommentOnlyDocumentIsEmptyMapping) {
  ConfigMap config = MustLoad("# nothing configured yet\n");
  EXPECT_TRUE(config.CheckUnknownKeys().ok());
}

TEST(ConfigMapTest, TopLevelListIsRejected) {
  auto config = ConfigMap::LoadString("- a\n- b\n", "test.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "test.yml:1: the top level must be a mapping of keys to values");
}

TEST(ConfigMapTest, TopLevelScalarIsRejected) {
  auto config = ConfigMap::LoadString("just a string\n", "test.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "test.yml:1: the top level must be a mapping of keys to values");
}

TEST(ConfigMapTest, SyntaxErrorNamesLine) {
  auto config = ConfigMap::LoadString("log:\n  level: info\n  format: @reserved\n", "test.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
  EXPECT_PRED2(StartsWith, config.status().message(), "test.yml:3: YAML syntax error: ");
}

TEST(ConfigMapTest, SecondMappingValueOnOneLineIsSyntaxErrorOnThatLine) {
  auto config = ConfigMap::LoadString("log:\n  level: info: debug\n", "test.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_PRED2(StartsWith, config.status().message(), "test.yml:2: YAML syntax error: ");
}

TEST(ConfigMapTest, UnknownTopLevelKeyNamesItsLine) {
  ConfigMap config = MustLoad("interval: 5s\n\ncolector: {}\n");
  std::chrono::milliseconds interval{};
  ASSERT_TRUE(config.ReadDuration("interval", &interval).ok());
  EXPECT_EQ(config.CheckUnknownKeys().message(), "test.yml:3: colector: unknown key");
}

TEST(ConfigMapTest, UnknownNestedKeyNamesFullPath) {
  ConfigMap config = MustLoad("collector:\n  endpoint: tcp://x:1\n  ack_timout: 5s\n");
  auto collector = config.ReadMap("collector");
  ASSERT_TRUE(collector.ok());
  std::string endpoint;
  ASSERT_TRUE(collector->ReadString("endpoint", &endpoint).ok());
  EXPECT_EQ(collector->CheckUnknownKeys().message(),
            "test.yml:3: collector.ack_timout: unknown key");
}

TEST(ConfigMapTest, KeyReadButAbsentIsNotUnknown) {
  ConfigMap config = MustLoad("a: 1\n");
  int64_t a = 0, b = 0;
  ASSERT_TRUE(config.ReadInt("a", &a).ok());
  ASSERT_TRUE(config.ReadInt("b", &b).ok());
  EXPECT_TRUE(config.CheckUnknownKeys().ok());
}

TEST(ConfigMapTest, NestedDurationOfWrongFormatNamesFullKeyPath) {
  ConfigMap config = MustLoad("collector:\n  endpoint: x\n  ack_timeout: 5 seconds\n");
  auto collector = config.ReadMap("collector");
  ASSERT_TRUE(collector.ok());
  std::chrono::milliseconds ack_timeout{};
  Status status = collector->ReadDuration("ack_timeout", &ack_timeout);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_PRED2(StartsWith, status.message(),
               "test.yml:3: collector.ack_timeout: not a valid duration: \"5 seconds\"");
  EXPECT_PRED2(Contains, status.message(), "\"5 seconds\"");
}

TEST(ConfigMapTest, DurationGivenAsListIsWrongType) {
  ConfigMap config = MustLoad("interval:\n  - 5s\n");
  std::chrono::milliseconds interval{};
  EXPECT_PRED2(StartsWith, config.ReadDuration("interval", &interval).message(),
               "test.yml:2: interval: expected a duration");
}

TEST(ConfigMapTest, BytesOfWrongFormatIsWrongType) {
  ConfigMap config = MustLoad("size: lots\n");
  uint64_t size = 0;
  EXPECT_PRED2(StartsWith, config.ReadBytes("size", &size).message(),
               "test.yml:1: size: not a valid size: \"lots\"");
}

TEST(ConfigMapTest, IntWithTrailingTextIsWrongType) {
  ConfigMap config = MustLoad("\ncount: 12x\n");
  int64_t count = 7;
  EXPECT_EQ(config.ReadInt("count", &count).message(), "test.yml:2: count: expected an integer");
  EXPECT_EQ(count, 7);
}

TEST(ConfigMapTest, IntGivenAsMappingIsWrongType) {
  ConfigMap config = MustLoad("count: {a: 1}\n");
  int64_t count = 0;
  EXPECT_EQ(config.ReadInt("count", &count).message(), "test.yml:1: count: expected an integer");
}

TEST(ConfigMapTest, BoolOtherThanTrueOrFalseIsWrongType) {
  ConfigMap config = MustLoad("enabled: yes\n");
  bool enabled = false;
  EXPECT_EQ(config.ReadBool("enabled", &enabled).message(),
            "test.yml:1: enabled: expected true or false");
}

TEST(ConfigMapTest, ListGivenAsScalarIsWrongType) {
  ConfigMap config = MustLoad("hosts: a\n");
  std::vector<std::string> hosts;
  EXPECT_EQ(config.ReadStringList("hosts", &hosts).message(),
            "test.yml:1: hosts: expected a list of strings");
}

TEST(ConfigMapTest, ListWithNestedItemIsWrongTypeAtItemLine) {
  ConfigMap config = MustLoad("hosts:\n  - a\n  - [b, c]\n");
  std::vector<std::string> hosts = {"unchanged"};
  EXPECT_EQ(config.ReadStringList("hosts", &hosts).message(),
            "test.yml:3: hosts: expected a list of strings");
  EXPECT_EQ(hosts, std::vector<std::string>{"unchanged"});
}

TEST(ConfigMapTest, StringMapGivenAsListIsWrongType) {
  ConfigMap config = MustLoad("labels:\n  - env\n");
  std::map<std::string, std::string> labels;
  EXPECT_EQ(config.ReadStringMap("labels", &labels).message(),
            "test.yml:2: labels: expected a mapping of names to strings");
}

TEST(ConfigMapTest, StringMapWithNonStringValueNamesEntry) {
  ConfigMap config = MustLoad("labels:\n  env: prod\n  team: [a, b]\n");
  std::map<std::string, std::string> labels;
  EXPECT_EQ(config.ReadStringMap("labels", &labels).message(),
            "test.yml:3: labels.team: expected a string");
}

TEST(ConfigMapTest, StringGivenAsMappingIsWrongType) {
  ConfigMap config = MustLoad("name:\n  first: a\n");
  std::string name;
  EXPECT_EQ(config.ReadString("name", &name).message(), "test.yml:2: name: expected a string");
}

TEST(ConfigMapTest, MapGivenAsScalarIsWrongType) {
  ConfigMap config = MustLoad("log: loud\n");
  auto log = config.ReadMap("log");
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().message(), "test.yml:1: log: expected a mapping of keys to values");
}

TEST(ConfigMapTest, MissingRequiredTopLevelKeyNamesKey) {
  ConfigMap config = MustLoad("other: 1\n");
  std::string path;
  Status status = config.ReadString("path", &path, Presence::kRequired);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(status.message(), "test.yml:1: path: missing required key");
}

TEST(ConfigMapTest, MissingRequiredNestedKeyNamesFullPathAtLineOfParentMapping) {
  ConfigMap config = MustLoad("log:\n  level: info\nstorage:\n  retention: 15d\n");
  auto storage = config.ReadMap("storage");
  ASSERT_TRUE(storage.ok());
  std::string path;
  EXPECT_EQ(storage->ReadString("path", &path, Presence::kRequired).message(),
            "test.yml:4: storage.path: missing required key");
}

TEST(ConfigMapTest, NullRequiredKeyIsMissingAtItsOwnLine) {
  ConfigMap config = MustLoad("storage:\n  retention: 15d\n  path:\n");
  auto storage = config.ReadMap("storage");
  ASSERT_TRUE(storage.ok());
  std::string path;
  EXPECT_EQ(storage->ReadString("path", &path, Presence::kRequired).message(),
            "test.yml:3: storage.path: missing required key");
}

TEST(ConfigMapTest, MissingRequiredMapIsError) {
  ConfigMap config = MustLoad("other: 1\n");
  auto storage = config.ReadMap("storage", Presence::kRequired);
  ASSERT_FALSE(storage.ok());
  EXPECT_EQ(storage.status().message(), "test.yml:1: storage: missing required key");
}

TEST(ConfigMapTest, ErrorAboutKeyUsesKeyLineAndPath) {
  ConfigMap config = MustLoad("web:\n  host: a\n  listen: nowhere\n");
  auto web = config.ReadMap("web");
  ASSERT_TRUE(web.ok());
  Status status = web->Error("listen", "expected host:port");
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(status.message(), "test.yml:3: web.listen: expected host:port");
}

TEST(ConfigMapTest, ErrorAboutTopLevelMappingOmitsKey) {
  ConfigMap config = MustLoad("a: 1\n");
  EXPECT_EQ(config.Error("", "something is off").message(), "test.yml:1: something is off");
}

TEST(ConfigMapTest, LoadFileOfMissingFileIsNotFound) {
  auto config = ConfigMap::LoadFile("/nonexistent/vitals/config.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kNotFound);
  EXPECT_PRED2(Contains, config.status().message(), "/nonexistent/vitals/config.yml");
}

}  // namespace
}  // namespace vitals
