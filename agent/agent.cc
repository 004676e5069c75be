#include "agent/agent.h"

#include <chrono>

#include "common/version.h"
#include "common/wire.h"

namespace vitals::agent {
namespace {

const MetricDesc kPending{"vitals_agent_pending_batches", MetricType::kGauge,
                          "Batches waiting for the collector's acknowledgement."};
const MetricDesc kAcked{"vitals_agent_batches_acked_total", MetricType::kCounter,
                        "Batches the collector acknowledged as stored."};
const MetricDesc kDropped{"vitals_agent_batches_dropped_total", MetricType::kCounter,
                          "Batches dropped because the queue was full while the collector was "
                          "unreachable."};
const MetricDesc kResent{"vitals_agent_batches_resent_total", MetricType::kCounter,
                         "Batches sent again after no acknowledgement arrived in time."};
const MetricDesc kRejected{"vitals_agent_batches_rejected_total", MetricType::kCounter,
                           "Batches the collector refused as invalid."};
const MetricDesc kCollectSeconds{"vitals_agent_collect_duration_seconds", MetricType::kGauge,
                                 "Time the previous measurement round took."};
const MetricDesc kBuildInfo{"vitals_agent_build_info", MetricType::kGauge,
                            "A metric with a constant '1' value labeled by the agent's version "
                            "and revision."};

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Create(const AgentConfig& config, const Clock& clock) {
  ClientOptions options;
  options.endpoint = config.collector.endpoint;
  options.agent_id = config.agent_id;
  for (const auto& [name, value] : config.labels) options.labels.push_back(Label{name, value});
  options.interval = config.interval;
  options.ack_timeout = config.collector.ack_timeout;
  options.max_retry_backoff = config.collector.max_retry_backoff;
  options.max_pending_batches = static_cast<size_t>(config.collector.max_pending_batches);
  ASSIGN_OR_RETURN(auto client, CollectorClient::Create(options, clock));
  return std::unique_ptr<Agent>(new Agent(config, clock, std::move(client)));
}

Agent::Agent(const AgentConfig& config, const Clock& clock, std::unique_ptr<CollectorClient> client)
    : config_(config),
      clock_(clock),
      client_(std::move(client)),
      host_probe_(HostPaths{config.host.proc_path, config.host.sys_path}) {}

SampleSet Agent::CollectOnce() {
  SampleSet set(clock_.NowMillis());
  auto start = std::chrono::steady_clock::now();
  host_probe_.Collect(&set);
  AddSelfMetrics(last_collect_seconds_, &set);
  last_collect_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return set;
}

void Agent::AddSelfMetrics(double collect_seconds, SampleSet* set) const {
  const ClientStats& stats = client_->stats();
  set->Add(kPending, {}, static_cast<double>(stats.pending));
  set->Add(kAcked, {}, static_cast<double>(stats.batches_acked));
  set->Add(kDropped, {}, static_cast<double>(stats.batches_dropped));
  set->Add(kResent, {}, static_cast<double>(stats.batches_resent));
  set->Add(kRejected, {}, static_cast<double>(stats.batches_rejected));
  set->Add(kCollectSeconds, {}, collect_seconds);
  set->Add(kBuildInfo, {{"version", kVersion}, {"revision", kRevision}}, 1);
}

void Agent::Run() {
  LOG_INFO << "agent " << config_.agent_id << " sending to " << config_.collector.endpoint
           << " every " << config_.interval.count() << "ms";
  int64_t next_round = clock_.NowMillis();
  while (!stop_) {
    int64_t now = clock_.NowMillis();
    if (now >= next_round) {
      SampleSet set = CollectOnce();
      wire::Batch batch;
      wirecodec::EncodeSamples(set, &batch);
      client_->Enqueue(std::move(batch));
      // Keep the schedule; skip rounds that were missed rather than bunching up.
      next_round += config_.interval.count();
      if (next_round <= now) next_round = now + config_.interval.count();
    }
    // Short waits keep Stop() responsive and resends on time.
    int64_t until_next = std::max<int64_t>(0, next_round - clock_.NowMillis());
    client_->Poll(std::chrono::milliseconds(std::min<int64_t>(until_next, 50)));
  }
  LOG_INFO << "agent stopped with " << client_->stats().pending << " batches unacknowledged";
}

}  // namespace vitals::agent
