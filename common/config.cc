#include "common/config.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "common/units.h"

namespace vitals {

ConfigMap::ConfigMap(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

Result<ConfigMap> ConfigMap::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open configuration file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return LoadString(buffer.str(), path);
}

Result<ConfigMap> ConfigMap::LoadString(const std::string& text, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(file_name + ":" + std::to_string(e.mark.line + 1) +
                                   ": YAML syntax error: " + e.msg);
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    return Status::InvalidArgument(file_name + ":" + std::to_string(root.Mark().line + 1) +
                                   ": the top level must be a mapping of keys to values");
  }
  return ConfigMap(root, file_name, "");
}

std::string ConfigMap::KeyPath(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  if (key.empty()) return path_;
  return path_ + "." + std::string(key);
}

int ConfigMap::LineOf(std::string_view key) const {
  if (!key.empty()) {
    for (const auto& kv : node_) {
      if (kv.first.Scalar() == key) return kv.first.Mark().line + 1;
    }
  }
  return node_.Mark().line >= 0 ? node_.Mark().line + 1 : 1;
}

Status ConfigMap::Error(std::string_view key, std::string_view message) const {
  std::string msg = file_ + ":" + std::to_string(LineOf(key)) + ": ";
  std::string key_path = KeyPath(key);
  if (!key_path.empty()) msg += key_path + ": ";
  msg += message;
  return Status::InvalidArgument(std::move(msg));
}

bool ConfigMap::Has(std::string_view key) const {
  for (const auto& kv : node_) {
    if (kv.first.Scalar() == key) return !kv.second.IsNull();
  }
  return false;
}

Result<YAML::Node> ConfigMap::Lookup(std::string_view key, Presence p) {
  read_keys_.emplace(key);
  for (const auto& kv : node_) {
    if (kv.first.Scalar() == key && !kv.second.IsNull()) return kv.second;
  }
  // Error() falls back to this mapping's line when the key is absent.
  if (p == Presence::kRequired) return Error(key, "missing required key");
  return YAML::Node(YAML::NodeType::Undefined);  // Absent.
}

namespace {

// Reports a value of the wrong YAML kind at the value's own line.
Status WrongType(const std::string& file, const YAML::Node& value,
                 const std::string& key_path, std::string_view expected) {
  int line = value.Mark().line >= 0 ? value.Mark().line + 1 : 1;
  return Status::InvalidArgument(file + ":" + std::to_string(line) + ": " + key_path +
                                 ": expected " + std::string(expected));
}

}  // namespace

Status ConfigMap::ReadString(std::string_view key, std::string* out, Presence p) {
  ASSIGN_OR_RETURN(YAML::Node value, Lookup(key, p));
  if (!value.IsDefined()) return Status::Ok();
  if (!value.IsScalar()) return WrongType(file_, value, KeyPath(key), "a string");
  *out = value.Scalar();
  return Status::Ok();
}

Status ConfigMap::ReadDuration(std::string_view key, std::chrono::milliseconds* out, Presence p) {
  ASSIGN_OR_RETURN(YAML::Node value, Lookup(key, p));
  if (!value.IsDefined()) return Status::Ok();
  if (!value.IsScalar()) return WrongType(file_, value, KeyPath(key), "a duration like 15s");
  auto d = ParseDuration(value.Scalar());
  if (!d.ok()) return Error(key, d.status().message());
  *out = *d;
  return Status::Ok();
}

Status ConfigMap::ReadBytes(std::string_view key, uint64_t* out, Presence p) {
  ASSIGN_OR_RETURN(YAML::Node value, Lookup(key, p));
  if (!value.IsDefined()) return Status::Ok();
  if (!value.IsScalar()) return WrongType(file_, value, KeyPath(key), "a size like 256MiB");
  auto b = ParseBytes(value.Scalar());
  if (!b.ok()) return Error(key, b.status().message());
  *out = *b;
  return Status::Ok();
}

Status ConfigMap::ReadInt(std::string_view key, int64_t* out, Presence p) {
  ASSIGN_OR_RETURN(YAML::Node value, Lookup(key, p));
  if (!value.IsDefined()) return Status::Ok();
  const std::string& s = value.IsScalar() ? value.Scalar() : std::string();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (!value.IsScalar() || ec != std::errc() || end != s.data() + s.size()) {
    return WrongType(file_, value, KeyPath(key), "an integer");
  }
  *out = n;
  return Status::Ok();
}

Status ConfigMap::ReadBool(std::string_view key, bool* out, Presence p) {
  ASSIGN_OR_RETURN(YAML::Node value, Lookup(key, p));
  if (!value.IsDefined()) return Status::Ok();
  if (value.IsScalar() && (value.Scalar() == "true" || value.Scalar() == "false")) {
    *out = value.Scalar() == "true";
    return Status::Ok();
  }
  return WrongType(file_, value, KeyPath(key), "true or false");
}

Status ConfigMap::ReadStringList(std::string_view key, std::vector<std::string>* out, Presence p) {
  ASSIGN_OR_RETURN(YAML::Node value, Lookup(key, p));
  if (!value.IsDefined()) return Status::Ok();
  if (!value.IsSequence()) return WrongType(file_, value, KeyPath(key), "a list of strings");
  std::vector<std::string> items;
  for (const auto& item : value) {
    if (!item.IsScalar()) return WrongType(file_, item, KeyPath(key), "a list of strings");
    items.push_back(item.Scalar());
  }
  *out = std::move(items);
  return Status::Ok();
}

Status ConfigMap::ReadStringMap(std::string_view key, std::map<std::string, std::string>* out,
                                Presence p) {
  ASSIGN_OR_RETURN(YAML::Node value, Lookup(key, p));
  if (!value.IsDefined()) return Status::Ok();
  if (!value.IsMap()) return WrongType(file_, value, KeyPath(key), "a mapping of names to strings");
  std::map<std::string, std::string> items;
  for (const auto& kv : value) {
    if (!kv.second.IsScalar()) {
      return WrongType(file_, kv.second, KeyPath(key) + "." + kv.first.Scalar(), "a string");
    }
    items[kv.first.Scalar()] = kv.second.Scalar();
  }
  *out = std::move(items);
  return Status::Ok();
}

Result<ConfigMap> ConfigMap::ReadMap(std::string_view key, Presence p) {
  ASSIGN_OR_RETURN(YAML::Node value, Lookup(key, p));
  if (!value.IsDefined()) return ConfigMap(YAML::Node(YAML::NodeType::Map), file_, KeyPath(key));
  if (!value.IsMap()) return WrongType(file_, value, KeyPath(key), "a mapping of keys to values");
  return ConfigMap(value, file_, KeyPath(key));
}

Result<std::vector<ConfigMap>> ConfigMap::ReadMapList(std::string_view key, Presence p) {
  ASSIGN_OR_RETURN(YAML::Node value, Lookup(key, p));
  std::vector<ConfigMap> out;
  if (!value.IsDefined()) return out;
  if (!value.IsSequence()) return WrongType(file_, value, KeyPath(key), "a list of mappings");
  for (size_t i = 0; i < value.size(); ++i) {
    std::string path = KeyPath(key) + "[" + std::to_string(i) + "]";
    if (!value[i].IsMap()) return WrongType(file_, value[i], path, "a mapping of keys to values");
    out.push_back(ConfigMap(value[i], file_, path));
  }
  return out;
}

Status ConfigMap::CheckUnknownKeys() const {
  for (const auto& kv : node_) {
    const std::string& key = kv.first.Scalar();
    if (!read_keys_.contains(key)) return Error(key, "unknown key");
  }
  return Status::Ok();
}

}  // namespace vitals
