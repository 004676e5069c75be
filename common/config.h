#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/status.h"

namespace vitals {

// Whether a key must be present.
enum class Presence { kOptional, kRequired };

// One YAML mapping of a configuration file, read key by key with errors that
// name the file, the line and the full key path, e.g.
//   agent.yml:7: collector.ack_timeout: not a valid duration: "5 seconds" ...
// Reading a key marks it as known; CheckUnknownKeys() then reports any key that
// no reader asked for, so a typo is an error instead of a silently ignored
// setting. yaml-cpp exceptions stay inside this class. Not thread-safe.
class ConfigMap {
 public:
  // Parses the YAML file at `path`. An empty file is an empty mapping.
  static Result<ConfigMap> LoadFile(const std::string& path);
  // Parses `text`; `file_name` is used in error messages.
  static Result<ConfigMap> LoadString(const std::string& text, const std::string& file_name);

  // Each reader leaves *out unchanged when an optional key is absent or null.
  Status ReadString(std::string_view key, std::string* out, Presence p = Presence::kOptional);
  Status ReadDuration(std::string_view key, std::chrono::milliseconds* out,
                      Presence p = Presence::kOptional);
  Status ReadBytes(std::string_view key, uint64_t* out, Presence p = Presence::kOptional);
  Status ReadInt(std::string_view key, int64_t* out, Presence p = Presence::kOptional);
  Status ReadBool(std::string_view key, bool* out, Presence p = Presence::kOptional);
  Status ReadStringList(std::string_view key, std::vector<std::string>* out,
                        Presence p = Presence::kOptional);
  // A mapping of string to string, such as `labels: {env: prod}`.
  Status ReadStringMap(std::string_view key, std::map<std::string, std::string>* out,
                       Presence p = Presence::kOptional);
  // A nested mapping; an absent optional key gives an empty mapping.
  Result<ConfigMap> ReadMap(std::string_view key, Presence p = Presence::kOptional);

  // A list of mappings, such as `checks:`; element i reports errors under
  // "key[i]". An absent optional key gives an empty list.
  Result<std::vector<ConfigMap>> ReadMapList(std::string_view key, Presence p = Presence::kOptional);

  bool Has(std::string_view key) const;

  // InvalidArgument for the first key present but never read.
  Status CheckUnknownKeys() const;

  // An error about `key` (or this mapping if empty) in the standard format.
  Status Error(std::string_view key, std::string_view message) const;

  const std::string& file() const { return file_; }

 private:
  ConfigMap(YAML::Node node, std::string file, std::string path);

  // The node for `key`, or an undefined node; checks presence.
  Result<YAML::Node> Lookup(std::string_view key, Presence p);
  std::string KeyPath(std::string_view key) const;
  int LineOf(std::string_view key) const;

  YAML::Node node_;
  std::string file_;
  std::string path_;  // Dotted path of this mapping, "" at the top.
  std::set<std::string, std::less<>> read_keys_;
};

}  // namespace vitals
