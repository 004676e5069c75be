#include "tests/agent/checks/support/check_test_support.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <sstream>
#include <vector>

#include "agent/checks/check_config.h"

namespace vitals::agent::testing {

Steady::time_point DeadlineAfter(std::chrono::milliseconds d) { return Steady::now() + d; }

ConfigMap LoadYaml(const std::string& yaml) {
  auto config = ConfigMap::LoadString(yaml, "agent.yml");
  if (!config.ok()) {
    ADD_FAILURE() << config.status().ToString();
    return std::move(ConfigMap::LoadString("", "agent.yml")).value();
  }
  return std::move(config).value();
}

namespace {

std::string Indent(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) out += prefix + line + "\n";
  return out;
}

}  // namespace

Result<std::unique_ptr<Check>> MakeCheck(const std::string& kind, const std::string& fields_yaml,
                                         const std::string& timing_yaml) {
  const std::string yaml =
      "checks:\n"
      "  - name: test\n"
      "    kind: " +
      kind +
      "\n"
      "    service: test\n" +
      Indent(timing_yaml, "    ") + Indent(fields_yaml, "    ");
  auto root = ConfigMap::LoadString(yaml, "agent.yml");
  if (!root.ok()) return root.status();
  ASSIGN_OR_RETURN(std::vector<ConfiguredCheck> checks, ParseChecks(*root));
  if (checks.size() != 1) return Status::Internal("expected one check");
  return std::move(checks[0].check);
}

std::unique_ptr<Check> MustMakeCheck(const std::string& kind, const std::string& fields_yaml) {
  auto check = MakeCheck(kind, fields_yaml);
  if (!check.ok()) {
    ADD_FAILURE() << check.status().ToString();
    return nullptr;
  }
  return std::move(check).value();
}

std::optional<double> SampleValue(const SampleSet& samples, std::string_view name,
                                  const Labels& labels) {
  std::optional<double> found;
  for (const Sample& sample : samples.samples()) {
    if (GetLabel(sample.labels, kMetricNameLabel) != name) continue;
    bool match = true;
    for (const Label& want : labels)
      match = match && GetLabel(sample.labels, want.name) == want.value;
    if (!match) continue;
    if (found) ADD_FAILURE() << "several samples of " << name;
    found = sample.value;
  }
  return found;
}

std::optional<std::string> RunShell(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "command failed: " << command;
    return std::nullopt;
  }
  return out;
}

ScopedEnv::ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
  if (const char* old = getenv(name_.c_str())) old_ = old;
  setenv(name_.c_str(), value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (old_) {
    setenv(name_.c_str(), old_->c_str(), 1);
  } else {
    unsetenv(name_.c_str());
  }
}

void Notification::Notify() {
  std::lock_guard lock(mu_);
  notified_ = true;
  cv_.notify_all();
}

bool Notification::HasBeenNotified() const {
  std::lock_guard lock(mu_);
  return notified_;
}

bool Notification::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return notified_; });
}

}  // namespace vitals::agent::testing
