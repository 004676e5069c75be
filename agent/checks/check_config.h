#pragma once

#include <memory>
#include <vector>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

// One entry of `checks:`, ready to run.
struct ConfiguredCheck {
  CheckSpec spec;
  std::unique_ptr<Check> check;
};

// Reads `checks:` (a list; absent means none) from the agent configuration
// root. Each entry has
//   name      required, unique, [a-zA-Z0-9_.-]+
//   kind      required: tcp, http, dns, exec, postgres, mysql or redis
//   service   required
//   module    optional
//   interval  default 30s
//   timeout   default 5s, shorter than interval
//   retries   default 0, 0..10
// plus the keys of its kind (see CreateCheck); any other key is an error.
//
// Returns the checks in configuration order, or the first error as
// InvalidArgument "agent.yml:12: checks[2].timeout: ...". Creating a check may
// read secret files and look up exec programs.
Result<std::vector<ConfiguredCheck>> ParseChecks(ConfigMap& root);

}  // namespace vitals::agent
