#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_config.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/samples.h"
#include "common/status.h"
#include "common/subprocess.h"

namespace vitals::agent {

// vitals_build_info{service, version}: "The version of a service running on
// this host, from the agent's services config."
extern const MetricDesc kServiceBuildInfoDesc;

struct ServiceVersionsOptions {
  // The services of `services:`; those without version_file or
  // version_command are skipped.
  std::vector<ServiceConfig> services;
  // A version_command still running after this long is killed (its whole
  // process group) and the service's version counts as unknown.
  std::chrono::milliseconds command_timeout{std::chrono::seconds(5)};
  // How often at most a failure to read one service's version is logged.
  std::chrono::milliseconds log_interval{std::chrono::minutes(10)};
};

// Finds out which version of each configured service runs on this host: the
// first line of its version_file, or of the standard output of its
// version_command (a Subprocess: no shell, stdin from /dev/null, its own
// process group, killed at the timeout; it must exit with status 0). A version that cannot be read
// is not reported at all, never guessed; the failure is logged, rate-limited per service.
//
// Commands run on a background thread so a slow one never holds up the
// agent's loop; each Collect publishes what the previous run found and starts
// the next. Files are read in Collect itself.
//
// Thread-safe.
class ServiceVersions {
 public:
  // Nothing runs yet. InvalidArgument if a version_command's program cannot
  // be found (it is looked up once, here). `clock` must outlive the object.
  static Result<std::unique_ptr<ServiceVersions>> Create(ServiceVersionsOptions options,
                                                         const Clock& clock);
  // Waits for a running command (at most command_timeout).
  ~ServiceVersions();
  ServiceVersions(const ServiceVersions&) = delete;
  ServiceVersions& operator=(const ServiceVersions&) = delete;

  // Adds vitals_build_info{service, version} 1 to *set for every service
  // whose version is known: version_file services as read now,
  // version_command services as their latest finished run found (none before
  // the first run finished). Then starts the next run of the commands in the
  // background, unless one is still going.
  void Collect(SampleSet* set);

  // Blocks until no command run is in progress. For tests.
  void WaitForCommands();

  bool empty() const { return sources_.empty(); }

 private:
  // One service whose version is reported.
  struct Source {
    std::string service;
    std::string file;                   // Set for version_file.
    std::optional<Subprocess> command;  // Set for version_command.
  };

  ServiceVersions(ServiceVersionsOptions options, const Clock& clock, std::vector<Source> sources);
  void RunCommands();
  Result<std::string> RunCommand(const Source& source);
  void LogFailure(const std::string& service, const Status& status);

  const ServiceVersionsOptions options_;
  const Clock& clock_;
  const std::vector<Source> sources_;
  LogRateLimiter log_limiter_;

  std::mutex mu_;
  std::condition_variable cv_;
  // The versions the latest command run found, by service; failed ones absent.
  std::map<std::string, std::string> command_versions_;  // GUARDED_BY(mu_)
  bool run_requested_ = false;                           // GUARDED_BY(mu_)
  bool running_ = false;                                 // GUARDED_BY(mu_)
  bool stopping_ = false;                                // GUARDED_BY(mu_)
  std::thread worker_;  // Started with the first command run; null without commands.
};

// Reads the version in `text`: its first line without surrounding blanks.
// InvalidArgument when that is empty, longer than 128 bytes, or not printable
// ASCII (a label value must be valid UTF-8, and a version never needs more).
Result<std::string> ParseVersionLine(std::string_view text);

}  // namespace vitals::agent
