#include "agent/checks/secret.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vitals::agent {

Result<std::optional<std::string>> ReadSecret(ConfigMap& fields, std::string_view key,
                                              Presence p) {
  const std::string file_key = std::string(key) + "_file";
  const std::string env_key = std::string(key) + "_env";
  std::string path, variable;
  RETURN_IF_ERROR(fields.ReadString(file_key, &path));
  RETURN_IF_ERROR(fields.ReadString(env_key, &variable));
  if (!path.empty() && !variable.empty()) {
    return fields.Error(file_key, "give either " + file_key + " or " + env_key + ", not both");
  }
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return fields.Error(file_key, "cannot read secret file " + path);
    std::stringstream content;
    content << in.rdbuf();
    std::string secret = content.str();
    if (secret.ends_with("\r\n")) secret.resize(secret.size() - 2);
    else if (secret.ends_with('\n')) secret.pop_back();
    return std::optional<std::string>(std::move(secret));
  }
  if (!variable.empty()) {
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) {
      return fields.Error(env_key, "environment variable " + variable + " is not set");
    }
    return std::optional<std::string>(value);
  }
  if (p == Presence::kRequired) {
    return fields.Error("", "missing required key " + file_key + " or " + env_key);
  }
  return std::optional<std::string>();
}

}  // namespace vitals::agent
