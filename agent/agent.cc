#include "agent/agent.h"

#include <malloc.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <set>

#include "common/version.h"
#include "common/wire.h"

namespace vitals::agent {
namespace {

const MetricDesc kSpoolBatches{"vitals_agent_spool_batches", MetricType::kGauge,
                               "Batches in the on-disk spool, waiting for acknowledgement."};
const MetricDesc kSpoolBytes{"vitals_agent_spool_bytes", MetricType::kGauge,
                             "Bytes of the on-disk spool's files (what spool.max_size bounds)."};
const MetricDesc kSpoolMaxBytes{"vitals_agent_spool_max_bytes", MetricType::kGauge,
                                "The spool's size bound (spool.max_size)."};
const MetricDesc kSpoolDropped{"vitals_agent_spool_dropped_batches_total", MetricType::kCounter,
                               "Batches dropped from a full spool (data lost), since start."};
const MetricDesc kSpoolErrors{"vitals_agent_spool_errors_total", MetricType::kCounter,
                              "Batches that could not be written to or read from the spool."};
const MetricDesc kAcked{"vitals_agent_batches_acked_total", MetricType::kCounter,
                        "Batches a collector acknowledged as stored."};
const MetricDesc kResent{"vitals_agent_batches_resent_total", MetricType::kCounter,
                         "Batches sent again after no acknowledgement arrived in time."};
const MetricDesc kRejected{"vitals_agent_batches_rejected_total", MetricType::kCounter,
                           "Batches a collector refused as invalid."};
const MetricDesc kPending{"vitals_agent_pending_batches", MetricType::kGauge,
                          "Batches not yet acknowledged by this collector."};
const MetricDesc kConnected{"vitals_agent_collector_connected", MetricType::kGauge,
                            "1 if the collector acknowledged this agent's Hello on the current "
                            "connection."};
const MetricDesc kCollectSeconds{"vitals_agent_collect_duration_seconds", MetricType::kGauge,
                                 "Time the previous measurement round took."};
const MetricDesc kBuildInfo{"vitals_agent_build_info", MetricType::kGauge,
                            "A metric with a constant '1' value labeled by the agent's version "
                            "and revision."};

}  // namespace

Result<AgentSetup> LoadAgentSetup(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigMap root, ConfigMap::LoadFile(path));
  AgentSetup setup;
  ASSIGN_OR_RETURN(setup.config, ReadAgentConfig(root));
  ASSIGN_OR_RETURN(setup.checks, ParseChecks(root));
  RETURN_IF_ERROR(root.CheckUnknownKeys());
  return setup;
}

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  ASSIGN_OR_RETURN(AgentSetup setup, LoadAgentSetup(path));
  return std::move(setup.config);
}

std::vector<std::string> EnforcedServices(const AgentSetup& setup) {
  std::set<std::string> services;
  for (const ServiceConfig& service : setup.config.services) services.insert(service.name);
  for (const ConfiguredCheck& check : setup.checks) services.insert(check.spec.service);
  if (auto it = setup.config.labels.find("service"); it != setup.config.labels.end()) {
    services.insert(it->second);
  }
  return {services.begin(), services.end()};
}

Result<std::unique_ptr<Agent>> Agent::Create(AgentSetup setup, const Clock& clock) {
  SpoolOptions spool_options;
  spool_options.dir = setup.config.spool.dir;
  spool_options.max_bytes = setup.config.spool.max_size;
  spool_options.sync = setup.config.spool.fsync;
  auto spool = Spool::Open(spool_options);
  if (!spool.ok()) return spool.status().WithContext("spool");
  std::unique_ptr<Agent> agent(new Agent(setup.config, clock, std::move(spool).value()));
  const std::vector<std::string> services = EnforcedServices(setup);
  if (!services.empty()) {
    ModeEnforcerOptions options;
    options.dir = setup.config.modes.dir;
    options.services = services;
    options.hook = setup.config.modes.on_mode_change;
    options.hook_timeout = setup.config.modes.hook_timeout;
    auto enforcer = ModeEnforcer::Open(std::move(options), clock);
    if (!enforcer.ok()) return enforcer.status().WithContext("modes");
    agent->mode_enforcer_ = std::move(enforcer).value();
  }
  ServiceVersionsOptions versions;
  versions.services = setup.config.services;
  auto service_versions = ServiceVersions::Create(std::move(versions), clock);
  if (!service_versions.ok()) return service_versions.status();
  agent->service_versions_ = std::move(service_versions).value();
  RETURN_IF_ERROR(agent->AddClients(services));
  if (!setup.checks.empty()) {
    CheckSchedulerOptions options;
    options.on_drain_due = [raw = agent.get()] { raw->Wake(); };
    agent->checks_ = std::make_unique<CheckScheduler>(std::move(setup.checks), clock, options);
  }
  return agent;
}

void TuneAllocator() {
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kAllocatorReturnBytes));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(kAllocatorReturnBytes));
}

Agent::Agent(const AgentConfig& config, const Clock& clock, std::unique_ptr<Spool> spool)
    : config_(config),
      clock_(clock),
      spool_(std::move(spool)),
      host_probe_(HostPaths{config.host.proc_path, config.host.sys_path}, clock),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Agent::~Agent() {
  checks_.reset();  // Its workers may still call Wake().
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Agent::Wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void Agent::Stop() {
  stop_ = true;
  Wake();
}

Status Agent::AddClients(const std::vector<std::string>& services) {
  for (size_t i = 0; i < config_.collectors.size(); ++i) {
    const CollectorTarget& target = config_.collectors[i];
    ClientOptions options;
    options.endpoint = target.endpoint;
    options.agent_id = config_.agent_id;
    options.spool_id = spool_->id();
    for (const auto& [name, value] : config_.labels) options.labels.push_back(Label{name, value});
    options.interval = config_.interval;
    options.services = services;
    options.ack_timeout = target.ack_timeout;
    options.max_retry_backoff = target.max_retry_backoff;
    options.max_batches_per_second = target.replay_rate;
    if (!target.server_public_key.empty()) {
      options.curve = CurveKeys{target.server_public_key, config_.curve.public_key,
                                config_.curve.secret_key};
    } else {
      LOG_WARN << "collector " << target.endpoint
               << ": plain TCP, neither authenticated nor encrypted (set "
                  "server_public_key_file and curve keys outside a lab)";
    }
    CollectorClient::ModesCallback on_modes;
    if (mode_enforcer_) {
      // Both collectors of an HA pair push modes; the newest message wins.
      on_modes = [enforcer = mode_enforcer_.get()](const wire::Modes& modes) {
        enforcer->Apply(modes);
      };
    }
    ASSIGN_OR_RETURN(auto client, CollectorClient::Create(
                                      options, *spool_, clock_,
                                      [this, i](uint64_t seq) { OnDelivered(i, seq); },
                                      std::move(on_modes)));
    // What a previous run left in the spool goes out first, in order.
    for (const auto& [seq, location] : spool_->batches()) client->Offer(seq);
    clients_.push_back(std::move(client));
  }
  return Status::Ok();
}

void Agent::OnDelivered(size_t client, uint64_t seq) {
  uint32_t& mask = delivered_to_[seq];
  mask |= 1u << client;
  if (static_cast<size_t>(std::popcount(mask)) < clients_.size()) return;
  delivered_to_.erase(seq);
  Status removed = spool_->Remove(seq);
  if (!removed.ok()) {
    ++spool_errors_;
    LOG_ERROR << "spool: " << removed.ToString();
  }
}

SampleSet Agent::CollectOnce() {
  SampleSet set(clock_.NowMillis());
  set.Reserve(last_round_samples_);
  auto start = std::chrono::steady_clock::now();
  host_probe_.Collect(&set);
  service_versions_->Collect(&set);
  AddSelfMetrics(last_collect_seconds_, &set);
  last_collect_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return set;
}

void Agent::AddSelfMetrics(double collect_seconds, SampleSet* set) const {
  set->Add(kSpoolBatches, {}, static_cast<double>(spool_->batches().size()));
  set->Add(kSpoolBytes, {}, static_cast<double>(spool_->bytes()));
  set->Add(kSpoolMaxBytes, {}, static_cast<double>(config_.spool.max_size));
  set->Add(kSpoolDropped, {}, static_cast<double>(spool_->dropped()));
  set->Add(kSpoolErrors, {}, static_cast<double>(spool_errors_ + spool_->corrupt()));
  for (const auto& client : clients_) {
    const ClientStats& stats = client->stats();
    Labels labels = {{"collector", client->endpoint()}};
    set->Add(kAcked, labels, static_cast<double>(stats.batches_acked));
    set->Add(kResent, labels, static_cast<double>(stats.batches_resent));
    set->Add(kRejected, labels, static_cast<double>(stats.batches_rejected));
    set->Add(kPending, labels, static_cast<double>(stats.pending));
    set->Add(kConnected, labels, stats.connected ? 1 : 0);
  }
  if (mode_enforcer_) mode_enforcer_->AddMetrics(set);
  set->Add(kCollectSeconds, {}, collect_seconds);
  set->Add(kBuildInfo, {{"version", kVersion}, {"revision", kRevision}}, 1);
}

void Agent::SpoolRound() {
  SampleSet set = CollectOnce();
  std::vector<wire::CheckResult> results;
  if (checks_) checks_->Drain(&set, &results);
  last_round_samples_ = set.size();
  SpoolBatch(set, &results);
}

void Agent::SpoolCheckResults() {
  SampleSet set(clock_.NowMillis());
  std::vector<wire::CheckResult> results;
  if (checks_->Drain(&set, &results) == 0) return;
  SpoolBatch(set, &results);
}

void Agent::SpoolBatch(const SampleSet& set, std::vector<wire::CheckResult>* results) {
  // The batch's many small parts (a message per series, its label
  // references, timestamps and values, the string table) come from one
  // arena, freed at once when the batch is on disk: a few allocations
  // instead of thousands, and none left scattered over the heap. Its blocks
  // are large enough to be mapped and unmapped by the allocator
  // (TuneAllocator), so the ~100 KiB of a round go back after it.
  google::protobuf::ArenaOptions options;
  options.start_block_size = kAllocatorReturnBytes;
  options.max_block_size = kAllocatorReturnBytes;
  google::protobuf::Arena arena(options);
  auto* batch = google::protobuf::Arena::CreateMessage<wire::Batch>(&arena);
  wirecodec::EncodeSamples(set, batch);
  for (wire::CheckResult& r : *results) *batch->add_checks() = std::move(r);
  SpoolBatch(batch);
}

void Agent::SpoolBatch(wire::Batch* batch) {
  auto seq = spool_->Append(batch);
  if (!seq.ok()) {
    ++spool_errors_;
    LOG_ERROR << "spool: cannot store a batch: " << seq.status().ToString();
    return;
  }
  for (auto& client : clients_) client->Offer(*seq);
  // Forget partial deliveries of batches a full spool dropped meanwhile.
  const uint64_t oldest = spool_->batches().empty() ? *seq : spool_->batches().begin()->first;
  std::erase_if(delivered_to_, [oldest](const auto& entry) { return entry.first < oldest; });
}

void Agent::PollClients(std::chrono::milliseconds wait) {
  std::vector<CollectorClient*> clients;
  for (const auto& client : clients_) clients.push_back(client.get());
  CollectorClient::PollAll(clients, wait, wake_fd_);
}

void Agent::Run() {
  LOG_INFO << "agent " << config_.agent_id << " measuring every " << config_.interval.count()
           << "ms, spooling to " << config_.spool.dir;
  if (mode_enforcer_) {
    LOG_INFO << "enforcing service modes in " << config_.modes.dir
             << (config_.modes.on_mode_change.empty() ? " (no on_mode_change hook)" : "");
  }
  if (checks_) checks_->Start();
  int64_t next_round = clock_.NowMillis();
  while (!stop_) {
    // Check results go out with the round, or before it when they are due
    // (a status changed, or a result would wait longer than its interval).
    if (checks_ && clock_.NowMillis() >= checks_->DrainDeadlineMillis()) SpoolCheckResults();
    const int64_t interval = config_.interval.count();
    int64_t now = clock_.NowMillis();
    if (now >= next_round) {
      SpoolRound();
      // Keep the schedule; skip rounds that were missed rather than bunching up.
      next_round += interval;
      if (next_round <= now) next_round = now + interval;
    }
    // The wall clock was set back: do not wait out the difference.
    if (next_round - now > interval) next_round = now + interval;
    // Sleep until the next round, the check results' deadline or the next
    // thing a client must do; replies, connection events, Stop() and check
    // results due sooner wake us earlier. Check results that can wait for
    // that wake-up do not wake us. So with checks on the round's interval an
    // idle agent wakes twice per round: for the round and for its
    // acknowledgement.
    int64_t wake_at = next_round;
    for (const auto& client : clients_) wake_at = std::min(wake_at, client->NextWakeMillis());
    if (checks_) wake_at = checks_->ArmDrainWake(wake_at);
    PollClients(std::chrono::milliseconds(std::max<int64_t>(wake_at - clock_.NowMillis(), 0)));
  }
  if (checks_) {
    checks_->Stop();
    SpoolCheckResults();
  }
  // Give connected collectors a moment to take what is spooled; the rest
  // stays on disk for the next start.
  const auto drain_until = std::chrono::steady_clock::now() + kDrainTimeout;
  while (!spool_->batches().empty() && std::chrono::steady_clock::now() < drain_until) {
    bool any_connected = false;
    for (const auto& client : clients_) any_connected |= client->stats().connected;
    if (!any_connected) break;
    PollClients(std::chrono::milliseconds(20));
  }
  LOG_INFO << "agent stopped; " << spool_->batches().size() << " batches stay spooled";
}

}  // namespace vitals::agent
