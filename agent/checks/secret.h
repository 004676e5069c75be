#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

// Reads a secret (a DSN, a password, a token) that the configuration names
// rather than inlines: `<key>_file: /path` (the file's content, one trailing
// newline stripped) or `<key>_env: VARIABLE` (an environment variable). Giving
// both, or the file being unreadable, or the variable being unset, is an
// InvalidArgument naming file, line and key. Returns nullopt when neither is
// given and `p` is kOptional.
Result<std::optional<std::string>> ReadSecret(ConfigMap& fields, std::string_view key,
                                              Presence p = Presence::kOptional);

}  // namespace vitals::agent
