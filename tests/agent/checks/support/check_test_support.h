#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/samples.h"

// Helpers shared by the check tests.
namespace vitals::agent::testing {

using Steady = std::chrono::steady_clock;

// A deadline `d` from now.
Steady::time_point DeadlineAfter(std::chrono::milliseconds d);

// Parses `yaml`; fails the test (and returns an empty mapping) on error.
ConfigMap LoadYaml(const std::string& yaml);

// Builds a check of `kind` the way the agent does: `fields_yaml` (the kind's
// keys, one per line, unindented) goes into one entry of `checks:` with name
// "test", service "test" and the given timing, which ParseChecks reads.
Result<std::unique_ptr<Check>> MakeCheck(const std::string& kind, const std::string& fields_yaml,
                                         const std::string& timing_yaml = "");
// As MakeCheck, failing the test on error (then returning null).
std::unique_ptr<Check> MustMakeCheck(const std::string& kind, const std::string& fields_yaml);

// The value of the only sample named `name` whose labels include `labels`;
// nullopt if there is none (fails the test if there are several).
std::optional<double> SampleValue(const SampleSet& samples, std::string_view name,
                                  const Labels& labels = {});

// Runs `command` with /bin/sh; returns its stdout, or nullopt (failing the
// test) if it exits non-zero.
std::optional<std::string> RunShell(const std::string& command);

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A flag other threads raise; tests wait for it with a deadline.
class Notification {
 public:
  void Notify();
  bool HasBeenNotified() const;
  // True if notified within `timeout`.
  bool WaitFor(std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool notified_ = false;  // GUARDED_BY(mu_)
};

}  // namespace vitals::agent::testing
