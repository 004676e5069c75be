#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/samples.h"
#include "common/status.h"
#include "common/subprocess.h"
#include "proto/vitals.pb.h"

namespace vitals::agent {

// The state of one service (module "") or module, as its mode file says.
struct ModeEntry {
  std::string mode = "normal";  // "normal", "degraded", "read_only", "maintenance", ...
  std::string reason;
  int64_t since_ms = 0;  // Unix milliseconds; 0: unknown (null in the file).
  int64_t eta_ms = 0;    // Unix milliseconds; 0: unknown (null in the file).
  std::string incident_id;
  std::string source;  // "automatic", "maintenance", "manual"; "" when normal.
  friend bool operator==(const ModeEntry&, const ModeEntry&) = default;
};

// A service's complete state: the service level and its modules that are not
// normal (by module name).
struct ServiceModeState {
  ModeEntry service;
  std::map<std::string, ModeEntry> modules;
  friend bool operator==(const ServiceModeState&, const ServiceModeState&) = default;
};

// The mode file of `service` in `state` (docs/modes-agent.md): pretty-printed
// JSON with the keys in the documented order, ending in a newline.
// `generation` is the collector's Modes.generation, `updated_at_ms` the time
// of writing.
std::string FormatModeFile(const std::string& service, const ServiceModeState& state,
                           uint64_t generation, int64_t updated_at_ms);

// The state a mode file describes (generation and updated_at are not part of
// it). Corruption if `text` is not a mode file.
Result<ServiceModeState> ParseModeFile(std::string_view text);

// How a run of a program the agent starts for its services (a hook, a version
// command) failed, in one line for the log: "exit status 3: <first line of
// output>", "killed by signal 9", "timed out after 10s". REQUIRES:
// !result.succeeded(); `timeout` is the budget the run had.
std::string DescribeFailedRun(const SubprocessResult& result, std::chrono::milliseconds timeout);

struct ModeEnforcerOptions {
  // Directory of the mode files, one <service>.json per service (the format
  // is docs/modes-agent.md). Created if missing.
  std::string dir;
  // The services enforced on this host. Modes for any other service are
  // ignored, so a collector can only touch the files this host asked for.
  // Names that cannot name a file (see IsValidServiceName) are skipped with a
  // warning.
  std::vector<std::string> services;
  // argv of the program run after a service's mode file changed, with the
  // VITALS_* environment of docs/modes-agent.md; empty: no hook.
  std::vector<std::string> hook;
  // A hook still running after this long gets SIGTERM (its whole process
  // group), SIGKILL kHookKillGrace later, and counts as failed.
  std::chrono::milliseconds hook_timeout{std::chrono::seconds(10)};
};

// Totals over all services since Open; read with stats().
struct ModeEnforcerStats {
  uint64_t updates = 0;        // Modes messages applied.
  uint64_t files_written = 0;  // Mode files rewritten because a state changed.
  uint64_t write_errors = 0;   // Rewrites that failed (tried again on the next Modes).
  uint64_t hook_successes = 0;
  uint64_t hook_failures = 0;     // Non-zero exit, death by a signal, timeout, or not startable.
  std::string last_hook_failure;  // "<service>: <first line of output or reason>".
};

// Puts the service modes a collector decided into effect on this host: for
// each service of a Modes message it writes the service's complete state to
// <dir>/<service>.json, where applications read it, and then runs the
// on_mode_change hook (to reload a proxy, say). A file is rewritten, and the
// hook run, only when the state differs from what the file on disk says
// (generation and write time aside), so repeated Modes cost nothing and a
// removed or hand-edited file is put right by the next Modes.
//
// Files are replaced atomically (temporary file, fsync, rename, fsync of the
// directory): a reader sees the old state or the new one, never a mix.
//
// Hooks run on a thread per service, one at a time per service; a change that
// arrives while the service's hook runs is put into effect by one more run
// with the newest state once that one ends. After a hook succeeded, a marker
// file (.<service>.hooked) records the state it ran for; Open re-runs the hook
// for any service whose file differs from its marker, so a hook cut short by
// a restart or crash, or one that failed, is not lost. Hooks must therefore be
// idempotent.
//
// Thread-safe: Apply, AddMetrics and stats may be called from any thread.
class ModeEnforcer {
 public:
  // How long a timed-out hook has between SIGTERM and SIGKILL.
  static constexpr std::chrono::milliseconds kHookKillGrace{1000};

  // Creates `dir`, removes temporary files a crash left, reads the existing
  // mode files (so a restart does not rewrite or re-hook unchanged states)
  // and starts the hooks the markers say are owed. IOError if `dir` cannot
  // be created or read. `clock` must outlive the enforcer.
  static Result<std::unique_ptr<ModeEnforcer>> Open(ModeEnforcerOptions options,
                                                    const Clock& clock);
  // Waits for running hooks (each ends by hook_timeout + kHookKillGrace);
  // queued ones are left for the next Open.
  ~ModeEnforcer();
  ModeEnforcer(const ModeEnforcer&) = delete;
  ModeEnforcer& operator=(const ModeEnforcer&) = delete;

  // Applies the complete modes of `modes.services()`: every (service, module)
  // listed and not "normal" is in that mode, everything else of those
  // services is normal. Writes the files whose state changed and queues their
  // hooks; does not wait for the hooks. A file that cannot be written is
  // logged and counted, and tried again with the next Modes.
  void Apply(const wire::Modes& modes);

  // Blocks until no hook is running or queued.
  void WaitForHooks();

  // Adds the enforcer's own metrics: vitals_agent_service_mode{service,
  // module, mode}, vitals_agent_mode_updates_total,
  // vitals_agent_mode_file_writes_total{service, result} and
  // vitals_agent_mode_hook_runs_total{service, result}.
  void AddMetrics(SampleSet* set) const;

  ModeEnforcerStats stats() const;

  // The path of `service`'s mode file.
  std::string PathOf(const std::string& service) const;

 private:
  // Everything known about one enforced service.
  struct Service {
    std::optional<ServiceModeState> state;         // As in its file; nullopt: no readable file.
    std::set<std::string> modules_seen;            // Every module ever not normal, for metrics.
    std::optional<ServiceModeState> hook_pending;  // The newest state whose hook is owed.
    bool hook_running = false;
    std::thread hook_thread;  // Joinable once started; joined before the next start.
    uint64_t writes_ok = 0;
    uint64_t writes_failed = 0;
    uint64_t hooks_ok = 0;
    uint64_t hooks_failed = 0;
  };

  ModeEnforcer(ModeEnforcerOptions options, const Clock& clock);
  // Reads the directory at Open. REQUIRES: called once, before any other use.
  Status Load();
  // The state `entries` (the Modes entries of one service) describe.
  // `previous` gives the time a normal service became normal.
  ServiceModeState StateFrom(const std::vector<const wire::ServiceMode*>& entries,
                             const std::optional<ServiceModeState>& previous) const;
  // Makes `state` the next one to run the hook for, starting the service's
  // hook thread unless it is running. REQUIRES: mu_ held.
  void QueueHook(const std::string& name, Service& service, ServiceModeState state);
  // The body of a service's hook thread: runs the hook until none is owed.
  void HookLoop(const std::string& name);
  // Runs the hook once; empty on success, else why it failed.
  std::string RunHook(const std::string& name, const ServiceModeState& state);

  const ModeEnforcerOptions options_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable hooks_idle_;
  // By service name; the set of keys is fixed at Open.
  std::map<std::string, Service> services_;  // GUARDED_BY(mu_)
  uint64_t updates_ = 0;                     // GUARDED_BY(mu_)
  std::string last_hook_failure_;            // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
};

}  // namespace vitals::agent
