#include "agent/checks/scheduler.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <random>

namespace vitals::agent {
namespace {

const MetricDesc kUp{"vitals_check_up", MetricType::kGauge,
                     "1 if the last run of the check was OK or WARNING, 0 otherwise."};
const MetricDesc kStatus{"vitals_check_status", MetricType::kGauge,
                         "Status of the last run of the check: 0 OK, 1 WARNING, 2 CRITICAL, "
                         "3 UNKNOWN (the Nagios convention)."};
const MetricDesc kDuration{"vitals_check_duration_seconds", MetricType::kGauge,
                           "Time the last run of the check took, retries included, in seconds."};
const MetricDesc kRunsTotal{"vitals_check_runs_total", MetricType::kCounter,
                            "Runs of the check since the agent started."};
const MetricDesc kFailuresTotal{"vitals_check_failures_total", MetricType::kCounter,
                                "Runs of the check that ended CRITICAL or UNKNOWN since the agent "
                                "started."};

constexpr size_t kDefaultMaxWorkers = 4;
constexpr size_t kMaxMessageBytes = 1024;
// Results kept for Drain; beyond this the oldest go (an agent loop that stopped
// draining must not make the scheduler grow without bound).
constexpr size_t kMaxPendingResults = 10'000;

bool IsUp(CheckStatus status) {
  return status == CheckStatus::kOk || status == CheckStatus::kWarning;
}

// The first line of `message`, at most kMaxMessageBytes, with bytes that are
// not UTF-8 replaced by '?': protobuf strings must be UTF-8.
std::string SanitizeMessage(std::string_view message) {
  message = message.substr(0, message.find('\n'));
  while (!message.empty() && message.back() == '\r') message.remove_suffix(1);
  std::string out;
  size_t i = 0;
  while (i < message.size() && out.size() < kMaxMessageBytes) {
    const auto c = static_cast<unsigned char>(message[i]);
    const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    std::string_view sequence = message.substr(i, len);
    if (sequence.size() == len && IsValidUtf8(sequence)) {
      out += sequence;
      i += len;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

wire::CheckStatus WireStatus(CheckStatus status) {
  switch (status) {
    case CheckStatus::kOk:
      return wire::CHECK_STATUS_OK;
    case CheckStatus::kWarning:
      return wire::CHECK_STATUS_WARNING;
    case CheckStatus::kCritical:
      return wire::CHECK_STATUS_CRITICAL;
    case CheckStatus::kUnknown:
      return wire::CHECK_STATUS_UNKNOWN;
  }
  return wire::CHECK_STATUS_UNKNOWN;
}

}  // namespace

CheckScheduler::CheckScheduler(std::vector<ConfiguredCheck> checks, const Clock& clock,
                               CheckSchedulerOptions options)
    : clock_(clock),
      options_(std::move(options)),
      worker_count_(options_.workers > 0 ? options_.workers
                                         : std::min(checks.size(), kDefaultMaxWorkers)),
      dropped_sample_log_(clock, std::chrono::minutes(1)) {
  std::mt19937_64 rng(options_.jitter_seed ? *options_.jitter_seed : std::random_device{}());
  for (ConfiguredCheck& configured : checks) {
    const CheckSpec& spec = configured.spec;
    std::uniform_int_distribution<int64_t> jitter(0, spec.interval.count() - 1);
    initial_delays_.emplace_back(jitter(rng));
    Labels labels = {{"check", spec.name},
                     {"kind", spec.kind},
                     {"service", spec.service},
                     {"module", spec.module}};
    Canonicalize(&labels);
    entries_.push_back(Entry{std::move(configured), std::move(labels)});
  }
}

CheckScheduler::~CheckScheduler() { Stop(); }

void CheckScheduler::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_) std::abort();  // REQUIRES: Start is called once.
    started_ = true;
    const auto now = Steady::now();
    for (size_t i = 0; i < entries_.size(); ++i) queue_.emplace(now + initial_delays_[i], i);
  }
  for (size_t i = 0; i < worker_count_ && !entries_.empty(); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void CheckScheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  timekeeper_cv_.notify_all();
  idle_cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void CheckScheduler::WorkerLoop() {
  pthread_setname_np(pthread_self(), "vitals-check");  // For top -H and the benchmarks.
  std::unique_lock lock(mu_);
  while (!stop_requested_) {
    // One idle worker, the timekeeper, waits for the next due check; the
    // others sleep until it takes that check and hands the job on. So a run
    // wakes two threads, not every idle one.
    if (has_timekeeper_) {
      idle_cv_.wait(lock);
      continue;
    }
    has_timekeeper_ = true;
    while (!stop_requested_ && (queue_.empty() || Steady::now() < queue_.top().first)) {
      if (queue_.empty()) {
        timekeeper_cv_.wait(lock);
      } else {
        timekeeper_cv_.wait_until(lock, queue_.top().first);
      }
    }
    has_timekeeper_ = false;
    if (stop_requested_) break;
    auto [due, index] = queue_.top();
    queue_.pop();
    idle_cv_.notify_one();
    lock.unlock();

    Entry& entry = entries_[index];
    const auto interval =
        std::chrono::duration_cast<Steady::duration>(entry.configured.spec.interval);
    // A run that starts late keeps the grid; slots missed entirely are skipped.
    const auto start = Steady::now();
    if (start - due >= interval) due += ((start - due) / interval) * interval;
    const auto next_run = due + interval;
    CheckOutcome outcome = RunAttempts(entry.configured, next_run);
    Finished finished;
    finished.index = index;
    finished.duration_seconds = std::chrono::duration<double>(Steady::now() - start).count();
    finished.timestamp_ms = clock_.NowMillis();

    lock.lock();
    ++entry.runs_total;
    if (!IsUp(outcome.status)) ++entry.failures_total;
    finished.runs_total = entry.runs_total;
    finished.failures_total = entry.failures_total;
    const bool status_changed = entry.runs_total == 1 || outcome.status != entry.last_status;
    if (outcome.status != entry.last_status) {
      const std::string change =
          "check " + entry.configured.spec.name + " is now " +
          std::string(CheckStatusName(outcome.status)) +
          (outcome.message.empty() ? "" : ": " + SanitizeMessage(outcome.message));
      if (IsUp(outcome.status)) {
        LOG_INFO << change;
      } else {
        LOG_WARN << change;
      }
      entry.last_status = outcome.status;
    }
    finished.outcome = std::move(outcome);
    if (finished_.size() >= kMaxPendingResults) {
      finished_.erase(finished_.begin());  // Nobody drains; the counters keep the history.
    }
    const int64_t drain_by =
        finished.timestamp_ms + (status_changed ? 0 : entry.configured.spec.interval.count());
    const bool drain_sooner = drain_by < drain_wake_ms_;
    if (drain_sooner) drain_wake_ms_ = drain_by;
    drain_deadline_ms_ = std::min(drain_deadline_ms_, drain_by);
    finished_.push_back(std::move(finished));
    queue_.emplace(next_run, index);
    // The timekeeper waits for the old first entry; this one may be earlier.
    if (queue_.top().second == index) timekeeper_cv_.notify_one();
    if (options_.on_result || (drain_sooner && options_.on_drain_due)) {
      lock.unlock();
      if (drain_sooner && options_.on_drain_due) options_.on_drain_due();
      if (options_.on_result) options_.on_result();
      lock.lock();
    }
  }
}

CheckOutcome CheckScheduler::RunAttempts(const ConfiguredCheck& configured,
                                         Steady::time_point next_run) {
  const CheckSpec& spec = configured.spec;
  CheckOutcome outcome;
  for (int attempt = 0; attempt <= spec.retries; ++attempt) {
    const auto now = Steady::now();
    if (attempt > 0 && (now >= next_run || stop_requested_)) break;
    const auto deadline = std::min<Steady::time_point>(now + spec.timeout, next_run);
    // Checks must not throw; if one does anyway, the worker survives it.
    try {
      outcome = configured.check->Run(deadline);
    } catch (const std::exception& e) {
      outcome = CheckOutcome();
      outcome.message = std::string("check threw: ") + e.what();
    }
    if (IsUp(outcome.status)) break;
  }
  return outcome;
}

size_t CheckScheduler::Drain(SampleSet* out, std::vector<wire::CheckResult>* results) {
  std::vector<Finished> finished;
  {
    std::lock_guard lock(mu_);
    finished.swap(finished_);
    drain_deadline_ms_ = INT64_MAX;
    drain_wake_ms_ = INT64_MAX;
  }
  for (const Finished& f : finished) AppendFinished(f, out, results);
  return finished.size();
}

int64_t CheckScheduler::DrainDeadlineMillis() const {
  std::lock_guard lock(mu_);
  return drain_deadline_ms_;
}

int64_t CheckScheduler::ArmDrainWake(int64_t wake_at_ms) {
  std::lock_guard lock(mu_);
  drain_wake_ms_ = std::min(wake_at_ms, drain_deadline_ms_);
  return drain_wake_ms_;
}

void CheckScheduler::AppendFinished(const Finished& f, SampleSet* out,
                                    std::vector<wire::CheckResult>* results) {
  const Entry& entry = entries_[f.index];
  const CheckSpec& spec = entry.configured.spec;
  const CheckStatus status = f.outcome.status;
  const int64_t ts = f.timestamp_ms;
  out->Add(kUp, entry.labels, IsUp(status) ? 1 : 0, ts);
  out->Add(kStatus, entry.labels, static_cast<double>(status), ts);
  out->Add(kDuration, entry.labels, f.duration_seconds, ts);
  out->Add(kRunsTotal, entry.labels, static_cast<double>(f.runs_total), ts);
  out->Add(kFailuresTotal, entry.labels, static_cast<double>(f.failures_total), ts);

  const auto& metadata = f.outcome.samples.metadata();
  for (const Sample& sample : f.outcome.samples.samples()) {
    const std::string name(GetLabel(sample.labels, kMetricNameLabel));
    Labels labels;
    for (const Label& label : sample.labels) {
      if (label.name != kMetricNameLabel) labels.push_back(label);
    }
    for (const Label& label : entry.labels) SetLabel(&labels, label.name, label.value);
    Labels full = labels;
    SetLabel(&full, kMetricNameLabel, name);
    Canonicalize(&full);
    if (Status valid = ValidateSeriesLabels(full); !valid.ok()) {
      uint64_t suppressed = 0;
      if (dropped_sample_log_.Allow(spec.name, &suppressed)) {
        LOG_WARN << "check " << spec.name << ": dropped a sample: " << valid.message() << " ("
                 << suppressed << " more dropped since the last message)";
      }
      continue;
    }
    auto it = metadata.find(name);
    const MetricDesc desc =
        it != metadata.end() ? it->second : MetricDesc{name, MetricType::kUntyped, ""};
    out->Add(desc, std::move(labels), sample.value, ts);
  }

  wire::CheckResult result;
  result.set_name(spec.name);
  result.set_kind(spec.kind);
  result.set_service(spec.service);
  result.set_module(spec.module);
  result.set_status(WireStatus(status));
  result.set_message(SanitizeMessage(f.outcome.message));
  result.set_timestamp_ms(ts);
  result.set_duration_seconds(f.duration_seconds);
  results->push_back(std::move(result));
}

}  // namespace vitals::agent
