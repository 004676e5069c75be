#pragma once

#include <atomic>
#include <memory>

#include "agent/agent_config.h"
#include "agent/collector_client.h"
#include "agent/host_probes.h"
#include "common/clock.h"
#include "common/samples.h"
#include "common/status.h"

namespace vitals::agent {

// The agent's main loop: every `interval`, measure the host, put the samples
// (plus the agent's own vitals_agent_* metrics) into one batch and hand it to
// the CollectorClient, which delivers it. Run() blocks; Stop() may be called
// from any thread.
class Agent {
 public:
  static Result<std::unique_ptr<Agent>> Create(const AgentConfig& config,
                                               const Clock& clock = Clock::Real());
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Measures and sends until Stop() is called.
  void Run();
  void Stop() { stop_ = true; }

  // One measurement round: host vitals and the agent's own metrics.
  SampleSet CollectOnce();

 private:
  Agent(const AgentConfig& config, const Clock& clock, std::unique_ptr<CollectorClient> client);
  void AddSelfMetrics(double collect_seconds, SampleSet* set) const;

  const AgentConfig config_;
  const Clock& clock_;
  std::unique_ptr<CollectorClient> client_;
  HostProbe host_probe_;
  std::atomic<bool> stop_{false};
  double last_collect_seconds_ = 0;
};

}  // namespace vitals::agent
