#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <vector>

#include "agent/checks/check.h"
#include "agent/checks/check_config.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/samples.h"
#include "proto/vitals.pb.h"

namespace vitals::agent {

struct CheckSchedulerOptions {
  // Worker threads running checks; 0 means min(number of checks, 4). A check
  // that hangs holds one worker until its timeout, so with N workers up to
  // N-1 hung checks delay no other check.
  size_t workers = 0;
  // Seed of the random delay before each check's first run; nullopt: a random
  // seed. The delay, uniform in [0, interval), spreads the checks of many
  // agents (and of one agent) over the interval.
  std::optional<uint64_t> jitter_seed;
  // Called on a worker thread, with no lock held, each time a result becomes
  // available to Drain. Must be cheap and must not call Stop().
  std::function<void()> on_result;
  // Called like on_result when DrainDeadlineMillis() moved earlier: a result
  // came in that should be drained sooner than the ones already waiting.
  std::function<void()> on_drain_due;
};

// Runs dependency checks on their intervals on a small pool of worker threads
// and keeps their results until the agent loop drains them.
//
// Each check runs every `interval` (a run that starts late does not shift
// later runs; slots missed entirely are skipped), never overlapping itself.
// A run is up to 1 + `retries` attempts, each bounded by `timeout` and by the
// start of the next run; a retry follows a CRITICAL or UNKNOWN attempt at
// once. The last attempt's outcome is the run's result.
//
// Thread safety: Drain may be called from any thread at any time; Start and
// Stop from the owning thread.
class CheckScheduler {
 public:
  // Takes ownership of the checks. `clock` (borrowed, must outlive this)
  // timestamps the results; intervals and timeouts use the steady clock.
  CheckScheduler(std::vector<ConfiguredCheck> checks, const Clock& clock,
                 CheckSchedulerOptions options = {});
  // Stops if still running.
  ~CheckScheduler();

  CheckScheduler(const CheckScheduler&) = delete;
  CheckScheduler& operator=(const CheckScheduler&) = delete;

  // Starts the workers; each check first runs after its initial delay.
  // REQUIRES: called at most once.
  void Start();

  // Asks the workers to finish and joins them. Runs in progress finish their
  // current attempt (so this returns within the longest timeout) and are
  // still reported; no new attempt starts. Idempotent.
  void Stop();

  // Moves the finished results out: for each, the samples vitals_check_up,
  // vitals_check_status, vitals_check_duration_seconds,
  // vitals_check_runs_total, vitals_check_failures_total and the check's own
  // samples, all labelled {check, kind, service, module} and timestamped when
  // the run finished, into *out (with their metadata); and one CheckResult
  // into *results. Returns the number of results moved. At most 10000
  // results wait for Drain; beyond that the oldest are dropped.
  size_t Drain(SampleSet* out, std::vector<wire::CheckResult>* results);

  // When the waiting results should be drained, as a time of the injected
  // clock: when the earliest of them finished if it ended with another
  // status than its check's previous run (or is the check's first run), and
  // otherwise when the earliest finished plus its check's interval, so that
  // no result waits longer than its check's own period. INT64_MAX when no
  // result waits. (The agent sends results at this time or with its next
  // round, whichever comes first.)
  int64_t DrainDeadlineMillis() const;

  // Tells the scheduler that the caller wakes at `wake_at_ms` (a time of the
  // injected clock) and drains what is due by then, so on_drain_due need not
  // wake it for results that can wait until then. Returns the earlier of
  // `wake_at_ms` and DrainDeadlineMillis(), which is when the caller must
  // wake. Until the next Drain, on_drain_due is called only for a result due
  // before the time returned (or before an earlier result it was called for).
  // Without this call, on_drain_due fires each time DrainDeadlineMillis()
  // moves earlier, which wakes an agent loop for every first result after a
  // round even when the round would have taken it.
  int64_t ArmDrainWake(int64_t wake_at_ms);

  size_t worker_count() const { return worker_count_; }
  // The delay before each check's first run, in configuration order.
  const std::vector<std::chrono::milliseconds>& initial_delays() const { return initial_delays_; }

 private:
  using Steady = std::chrono::steady_clock;

  struct Entry {
    ConfiguredCheck configured;
    Labels labels;                               // check, kind, service, module.
    uint64_t runs_total = 0;                     // GUARDED_BY(mu_)
    uint64_t failures_total = 0;                 // GUARDED_BY(mu_)
    CheckStatus last_status = CheckStatus::kOk;  // GUARDED_BY(mu_); for logging changes.
  };

  // One finished run waiting for Drain.
  struct Finished {
    size_t index = 0;
    CheckOutcome outcome;
    int64_t timestamp_ms = 0;
    double duration_seconds = 0;
    uint64_t runs_total = 0;
    uint64_t failures_total = 0;
  };

  // A check waiting for its next run: (when, index), earliest first.
  using Due = std::pair<Steady::time_point, size_t>;

  void WorkerLoop();
  // Runs the attempts of one run that must end by `next_run`.
  CheckOutcome RunAttempts(const ConfiguredCheck& configured, Steady::time_point next_run);
  void AppendFinished(const Finished& f, SampleSet* out, std::vector<wire::CheckResult>* results);

  const Clock& clock_;
  const CheckSchedulerOptions options_;
  const size_t worker_count_;
  std::vector<Entry> entries_;  // Fixed size; counters GUARDED_BY(mu_).
  std::vector<std::chrono::milliseconds> initial_delays_;
  std::atomic<bool> stop_requested_{false};  // Read without the lock between attempts.
  LogRateLimiter dropped_sample_log_;

  mutable std::mutex mu_;
  std::condition_variable timekeeper_cv_;  // The timekeeper: the queue's head changed.
  std::condition_variable idle_cv_;        // Idle workers: a timekeeper is needed.
  bool has_timekeeper_ = false;            // GUARDED_BY(mu_)
  bool started_ = false;                                              // GUARDED_BY(mu_)
  std::priority_queue<Due, std::vector<Due>, std::greater<>> queue_;  // GUARDED_BY(mu_)
  std::vector<Finished> finished_;                                    // GUARDED_BY(mu_)
  int64_t drain_deadline_ms_ = INT64_MAX;                             // GUARDED_BY(mu_)
  // A result due before this calls on_drain_due (see ArmDrainWake).
  int64_t drain_wake_ms_ = INT64_MAX;                                 // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;                                  // Touched by Start/Stop only.
};

}  // namespace vitals::agent
