#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "agent/agent_config.h"
#include "agent/checks/check_config.h"
#include "agent/checks/scheduler.h"
#include "agent/collector_client.h"
#include "agent/host_probes.h"
#include "agent/mode_enforcer.h"
#include "agent/service_versions.h"
#include "agent/spool.h"
#include "common/clock.h"
#include "common/samples.h"
#include "common/status.h"

namespace vitals::agent {

// Everything agent.yml configures: the settings and the dependency checks.
struct AgentSetup {
  AgentConfig config;
  std::vector<ConfiguredCheck> checks;
};

// Reads agent.yml completely. On error nothing is started; the Status names
// file, line and key.
Result<AgentSetup> LoadAgentSetup(const std::string& path);
// The same, keeping only the settings (for validation and tests).
Result<AgentConfig> LoadAgentConfig(const std::string& path);

// The services whose modes this agent enforces, sent in its Hello: the names
// under `services:`, every check's `service` and the agent's `service` label
// if it has one. Sorted, without duplicates.
std::vector<std::string> EnforcedServices(const AgentSetup& setup);

// Tunes glibc's allocator for a small process that works a few milliseconds
// per interval (docs/performance.md, "## Agent"): one arena for all threads
// (the check and statvfs workers and ZeroMQ's threads allocate little; an
// arena each kept ~100 KiB resident), and fixed thresholds of
// kAllocatorReturnBytes instead of glibc's adaptive ones, which grow to the
// largest block freed: blocks that large come from mmap and go back to the
// system when freed, as does a free top of the heap that large, so what a
// round allocates is returned between rounds. Call once, before threads start.
void TuneAllocator();
inline constexpr size_t kAllocatorReturnBytes = 64 << 10;

// The agent's main loop: every `interval`, measure the host, put the samples
// (plus the agent's own vitals_agent_* metrics and the dependency checks'
// results that finished since the last round) into one batch, spool it to
// disk, and offer it to each configured collector. Dependency checks run on
// their own schedule on worker threads. A result whose status differs from
// its check's previous run (and each check's first result) is spooled and
// sent as soon as it finishes (within milliseconds), in a batch of its own;
// other results go with the next round, or one check interval after they
// finished if that comes first (CheckScheduler::DrainDeadlineMillis). A batch
// leaves the spool once every collector acknowledged it. Modes the
// collectors push are put into effect by a ModeEnforcer (mode files and the
// on_mode_change hook), and each round reports the versions of the services
// that have version_file or version_command. Run() blocks; Stop() may be
// called from any thread.
class Agent {
 public:
  // Opens the spool (re-offering what a previous run left in it) and the
  // modes directory, and starts connecting. IOError if the spool or the
  // modes directory cannot be opened; InvalidArgument if a version_command's
  // program is gone.
  static Result<std::unique_ptr<Agent>> Create(AgentSetup setup,
                                               const Clock& clock = Clock::Real());
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Measures and sends until Stop() is called, then tries for up to
  // `drain_timeout` to deliver what is still spooled (it stays spooled for the
  // next start either way).
  void Run();
  void Stop();

  // One measurement round: host vitals, service versions and the agent's own
  // metrics.
  SampleSet CollectOnce();

  // Null when the agent enforces no service.
  ModeEnforcer* mode_enforcer() const { return mode_enforcer_.get(); }

  static constexpr std::chrono::milliseconds kDrainTimeout{2000};

 private:
  Agent(const AgentConfig& config, const Clock& clock, std::unique_ptr<Spool> spool);
  void Wake();
  Status AddClients(const std::vector<std::string>& services);
  void OnDelivered(size_t client, uint64_t seq);
  void SpoolRound();
  void SpoolCheckResults();
  void SpoolBatch(const SampleSet& set, std::vector<wire::CheckResult>* results);
  void SpoolBatch(wire::Batch* batch);
  void PollClients(std::chrono::milliseconds wait);
  void AddSelfMetrics(double collect_seconds, SampleSet* set) const;

  const AgentConfig config_;
  const Clock& clock_;
  std::unique_ptr<Spool> spool_;
  std::vector<std::unique_ptr<CollectorClient>> clients_;
  // Spooled seqs some but not all collectors acknowledged: bit i = client i.
  std::map<uint64_t, uint32_t> delivered_to_;
  HostProbe host_probe_;
  std::unique_ptr<CheckScheduler> checks_;             // Null without checks.
  std::unique_ptr<ModeEnforcer> mode_enforcer_;        // Null without services.
  std::unique_ptr<ServiceVersions> service_versions_;  // Never null.
  std::atomic<bool> stop_{false};
  // An eventfd that interrupts the loop's wait: Stop() and finished checks.
  int wake_fd_ = -1;
  double last_collect_seconds_ = 0;
  size_t last_round_samples_ = 0;  // Room the next round's SampleSet reserves.
  uint64_t spool_errors_ = 0;
};

}  // namespace vitals::agent
