#include "agent/checks/scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/clock.h"
#include "tests/agent/checks/support/check_test_support.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using testing::Notification;
using testing::SampleValue;
using testing::Steady;

// What a FakeCheck saw, shared with the test.
struct Recorder {
  struct Attempt {
    Steady::time_point start;
    Steady::time_point deadline;
  };
  std::vector<Attempt> Attempts() {
    std::lock_guard lock(mu);
    return attempts;
  }
  std::mutex mu;
  std::vector<Attempt> attempts;  // GUARDED_BY(mu)
  std::atomic<bool> running{false};
  std::atomic<int> overlaps{0};
  Notification started;
};

// A check whose behaviour the test scripts: `body` gets the attempt number
// (1, 2, ... across all runs) and the deadline.
class FakeCheck final : public Check {
 public:
  using Body = std::function<CheckOutcome(int attempt, Steady::time_point deadline)>;
  FakeCheck(std::shared_ptr<Recorder> recorder, Body body)
      : recorder_(std::move(recorder)), body_(std::move(body)) {}

  CheckOutcome Run(Steady::time_point deadline) override {
    if (recorder_->running.exchange(true)) ++recorder_->overlaps;
    int attempt;
    {
      std::lock_guard lock(recorder_->mu);
      recorder_->attempts.push_back({Steady::now(), deadline});
      attempt = static_cast<int>(recorder_->attempts.size());
    }
    recorder_->started.Notify();
    CheckOutcome outcome = body_(attempt, deadline);
    recorder_->running = false;
    return outcome;
  }

 private:
  std::shared_ptr<Recorder> recorder_;
  Body body_;
};

CheckOutcome Outcome(CheckStatus status, std::string message = "") {
  CheckOutcome outcome;
  outcome.status = status;
  outcome.message = std::move(message);
  return outcome;
}

FakeCheck::Body Always(CheckStatus status) {
  return [status](int, Steady::time_point) { return Outcome(status); };
}

// Hangs until the deadline, as a dependency that never answers.
CheckOutcome HangUntil(Steady::time_point deadline) {
  std::this_thread::sleep_until(deadline);
  return Outcome(CheckStatus::kCritical, "timed out");
}

CheckSchedulerOptions Options(size_t workers, std::optional<uint64_t> seed = std::nullopt) {
  CheckSchedulerOptions options;
  options.workers = workers;
  options.jitter_seed = seed;
  return options;
}

CheckSpec Spec(std::string name, milliseconds interval, milliseconds timeout, int retries = 0) {
  CheckSpec spec;
  spec.name = std::move(name);
  spec.kind = "tcp";
  spec.service = "payments";
  spec.interval = interval;
  spec.timeout = timeout;
  spec.retries = retries;
  return spec;
}

// Owns a scheduler and collects what it drains; waits for conditions on the
// results with deadlines, woken by the scheduler's on_result callback.
class Harness {
 public:
  explicit Harness(CheckSchedulerOptions options = {}) : options_(std::move(options)) {
    if (!options_.jitter_seed) options_.jitter_seed = 42;
  }
  ~Harness() {
    if (scheduler_) scheduler_->Stop();
  }

  std::shared_ptr<Recorder> Add(CheckSpec spec, FakeCheck::Body body) {
    auto recorder = std::make_shared<Recorder>();
    checks_.push_back({std::move(spec), std::make_unique<FakeCheck>(recorder, std::move(body))});
    return recorder;
  }

  CheckScheduler& Start() {
    options_.on_result = [this] {
      std::lock_guard lock(mu_);
      ++signals_;
      cv_.notify_all();
    };
    options_.on_drain_due = [this] { ++drain_due_calls_; };
    scheduler_ = std::make_unique<CheckScheduler>(std::move(checks_), clock_, options_);
    started_ = Steady::now();
    scheduler_->Start();
    return *scheduler_;
  }

  // Drains until `done()` holds; false if it still does not after `timeout`.
  bool WaitFor(const std::function<bool()>& done, milliseconds timeout = 5s) {
    const auto give_up = Steady::now() + timeout;
    std::unique_lock lock(mu_);
    while (true) {
      int seen = signals_;
      lock.unlock();
      scheduler_->Drain(&samples_, &results_);
      if (done()) return true;
      lock.lock();
      if (!cv_.wait_until(lock, give_up, [&] { return signals_ != seen; })) return false;
    }
  }

  // Waits until `n` results in all have come in, without draining them.
  bool WaitForResults(int n, milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return signals_ >= n; });
  }

  int results_so_far() {
    std::lock_guard lock(mu_);
    return signals_;
  }

  // Results of the check named `name` so far.
  std::vector<wire::CheckResult> ResultsOf(const std::string& name) const {
    std::vector<wire::CheckResult> out;
    for (const auto& r : results_) {
      if (r.name() == name) out.push_back(r);
    }
    return out;
  }

  FakeClock clock_;
  CheckSchedulerOptions options_;
  std::vector<ConfiguredCheck> checks_;
  SampleSet samples_;
  std::vector<wire::CheckResult> results_;
  Steady::time_point started_;
  std::mutex mu_;
  std::condition_variable cv_;
  int signals_ = 0;                            // GUARDED_BY(mu_)
  std::atomic<int> drain_due_calls_{0};
  std::unique_ptr<CheckScheduler> scheduler_;  // Last: stopped before the rest goes.
};

TEST(CheckSchedulerTest, ReportsStandardSamplesLabelledWithTheCheck) {
  Harness h;
  CheckSpec spec = Spec("payments-db", 100ms, 50ms);
  spec.module = "checkout";
  h.Add(spec, [](int, Steady::time_point) {
    CheckOutcome outcome = Outcome(CheckStatus::kOk);
    outcome.samples.Add({"vitals_check_connect_duration_seconds", MetricType::kGauge, "help"}, {},
                        0.25);
    return outcome;
  });
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return !h.results_.empty(); }));

  const Labels labels = {
      {"check", "payments-db"}, {"kind", "tcp"}, {"service", "payments"}, {"module", "checkout"}};
  EXPECT_EQ(SampleValue(h.samples_, "vitals_check_up", labels), 1);
  EXPECT_EQ(SampleValue(h.samples_, "vitals_check_status", labels), 0);
  EXPECT_GE(*SampleValue(h.samples_, "vitals_check_duration_seconds", labels), 0);
  EXPECT_EQ(SampleValue(h.samples_, "vitals_check_runs_total", labels), 1);
  EXPECT_EQ(SampleValue(h.samples_, "vitals_check_failures_total", labels), 0);
  EXPECT_EQ(SampleValue(h.samples_, "vitals_check_connect_duration_seconds", labels), 0.25);
  for (const Sample& sample : h.samples_.samples()) {
    EXPECT_EQ(sample.timestamp_ms, h.clock_.NowMillis()) << FormatSeries(sample.labels);
  }
}

TEST(CheckSchedulerTest, SetsTypeAndHelpOfEveryMetric) {
  Harness h;
  h.Add(Spec("db", 100ms, 50ms), Always(CheckStatus::kOk));
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return !h.results_.empty(); }));
  const auto& metadata = h.samples_.metadata();
  for (const char* gauge :
       {"vitals_check_up", "vitals_check_status", "vitals_check_duration_seconds"}) {
    ASSERT_TRUE(metadata.contains(gauge)) << gauge;
    EXPECT_EQ(metadata.at(gauge).type, MetricType::kGauge) << gauge;
    EXPECT_FALSE(metadata.at(gauge).help.empty()) << gauge;
  }
  for (const char* counter : {"vitals_check_runs_total", "vitals_check_failures_total"}) {
    ASSERT_TRUE(metadata.contains(counter)) << counter;
    EXPECT_EQ(metadata.at(counter).type, MetricType::kCounter) << counter;
    EXPECT_FALSE(metadata.at(counter).help.empty()) << counter;
  }
}

TEST(CheckSchedulerTest, ProducesOneCheckResultPerRun) {
  Harness h;
  CheckSpec spec = Spec("payments-api", 100ms, 50ms);
  spec.kind = "http";
  spec.module = "checkout";
  h.Add(spec, [](int, Steady::time_point) {
    return Outcome(CheckStatus::kCritical, "GET https://api/health: status 503, expected 2xx");
  });
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return !h.results_.empty(); }));
  const wire::CheckResult& r = h.results_[0];
  EXPECT_EQ(r.name(), "payments-api");
  EXPECT_EQ(r.kind(), "http");
  EXPECT_EQ(r.service(), "payments");
  EXPECT_EQ(r.module(), "checkout");
  EXPECT_EQ(r.status(), wire::CHECK_STATUS_CRITICAL);
  EXPECT_EQ(r.message(), "GET https://api/health: status 503, expected 2xx");
  EXPECT_EQ(r.timestamp_ms(), h.clock_.NowMillis());
  EXPECT_GE(r.duration_seconds(), 0);
}

TEST(CheckSchedulerTest, LeavesOutEmptyModuleLabel) {
  Harness h;
  h.Add(Spec("db", 100ms, 50ms), Always(CheckStatus::kOk));
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return !h.results_.empty(); }));
  EXPECT_EQ(FormatSeries(h.samples_.samples()[0].labels),
            "vitals_check_up{check=\"db\",kind=\"tcp\",service=\"payments\"}");
}

TEST(CheckSchedulerTest, NothingToDrainHasNoDeadline) {
  Harness h;
  h.Add(Spec("db", 1h, 50ms), Always(CheckStatus::kOk));
  EXPECT_EQ(h.Start().DrainDeadlineMillis(), INT64_MAX);
}

TEST(CheckSchedulerTest, FirstResultIsDueWhenItFinished) {
  Harness h;
  h.Add(Spec("db", 100ms, 50ms), Always(CheckStatus::kOk));
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(h.WaitForResults(1));
  // The fake clock stands still: every run finishes at NowMillis().
  EXPECT_EQ(scheduler.DrainDeadlineMillis(), h.clock_.NowMillis());
}

TEST(CheckSchedulerTest, RoutineResultIsDueOneIntervalAfterItFinished) {
  Harness h;
  h.Add(Spec("db", 100ms, 50ms), Always(CheckStatus::kOk));
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(h.WaitForResults(1));
  scheduler.Drain(&h.samples_, &h.results_);
  ASSERT_TRUE(h.WaitForResults(h.results_so_far() + 1));
  EXPECT_EQ(scheduler.DrainDeadlineMillis(), h.clock_.NowMillis() + 100);
}

TEST(CheckSchedulerTest, ResultThatChangesTheStatusIsDueWhenItFinished) {
  Harness h;
  auto third_may_finish = std::make_shared<Notification>();
  h.Add(Spec("db", 100ms, 50ms), [third_may_finish](int attempt, Steady::time_point) {
    if (attempt == 3) third_may_finish->WaitFor(5s);
    return Outcome(attempt <= 2 ? CheckStatus::kOk : CheckStatus::kCritical);
  });
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(h.WaitForResults(2));
  scheduler.Drain(&h.samples_, &h.results_);
  ASSERT_EQ(h.results_.size(), 2u);
  third_may_finish->Notify();
  ASSERT_TRUE(h.WaitForResults(3));
  EXPECT_EQ(scheduler.DrainDeadlineMillis(), h.clock_.NowMillis());
}

TEST(CheckSchedulerTest, DrainingClearsTheDeadline) {
  Harness h;
  auto second_may_finish = std::make_shared<Notification>();
  h.Add(Spec("db", 100ms, 50ms), [second_may_finish](int attempt, Steady::time_point) {
    if (attempt == 2) second_may_finish->WaitFor(5s);
    return Outcome(CheckStatus::kOk);
  });
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(h.WaitForResults(1));
  scheduler.Drain(&h.samples_, &h.results_);
  EXPECT_EQ(scheduler.DrainDeadlineMillis(), INT64_MAX);
  second_may_finish->Notify();
}

TEST(CheckSchedulerTest, TellsOnlyWhenTheDeadlineMovesEarlier) {
  Harness h;
  h.Add(Spec("db", 100ms, 50ms), Always(CheckStatus::kOk));
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(h.WaitForResults(1));
  EXPECT_EQ(h.drain_due_calls_, 1);
  scheduler.Drain(&h.samples_, &h.results_);
  const int drained = h.results_so_far();
  // Three routine results: the first sets the deadline, the others are due
  // no sooner.
  ASSERT_TRUE(h.WaitForResults(drained + 3));
  EXPECT_EQ(h.drain_due_calls_, 2);
}

TEST(CheckSchedulerTest, ResultsDueNoSoonerThanTheArmedWakeDoNotTell) {
  Harness h;
  auto more_may_finish = std::make_shared<Notification>();
  h.Add(Spec("db", 100ms, 50ms), [more_may_finish](int attempt, Steady::time_point) {
    if (attempt >= 2) more_may_finish->WaitFor(5s);
    return Outcome(CheckStatus::kOk);
  });
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(h.WaitForResults(1));
  EXPECT_EQ(h.drain_due_calls_, 1);
  scheduler.Drain(&h.samples_, &h.results_);
  const int drained = h.results_so_far();
  // The caller wakes when routine results are due anyway (the fake clock
  // stands still, so each is due at now + interval).
  const int64_t round = h.clock_.NowMillis() + 100;
  EXPECT_EQ(scheduler.ArmDrainWake(round), round);
  more_may_finish->Notify();
  ASSERT_TRUE(h.WaitForResults(drained + 3));
  EXPECT_EQ(h.drain_due_calls_, 1);
  // Results already waiting bring the wake-up forward.
  EXPECT_EQ(scheduler.ArmDrainWake(round + 500), round);
}

TEST(CheckSchedulerTest, ChangedStatusTellsDespiteTheArmedWake) {
  Harness h;
  auto third_may_finish = std::make_shared<Notification>();
  h.Add(Spec("db", 100ms, 50ms), [third_may_finish](int attempt, Steady::time_point) {
    if (attempt == 3) third_may_finish->WaitFor(5s);
    return Outcome(attempt <= 2 ? CheckStatus::kOk : CheckStatus::kCritical);
  });
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(h.WaitForResults(2));
  scheduler.Drain(&h.samples_, &h.results_);
  ASSERT_EQ(h.results_.size(), 2u);
  const int calls = h.drain_due_calls_;
  scheduler.ArmDrainWake(h.clock_.NowMillis() + 100);
  third_may_finish->Notify();
  ASSERT_TRUE(h.WaitForResults(3));
  EXPECT_EQ(h.drain_due_calls_, calls + 1);
  EXPECT_EQ(scheduler.ArmDrainWake(h.clock_.NowMillis() + 100), h.clock_.NowMillis());
}

TEST(CheckSchedulerTest, WarningCountsAsUpAndCriticalAsFailure) {
  Harness h;
  h.Add(Spec("db", 100ms, 50ms), [](int attempt, Steady::time_point) {
    return Outcome(attempt % 2 == 1 ? CheckStatus::kWarning : CheckStatus::kCritical);
  });
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return h.results_.size() >= 4; }));
  std::vector<double> up, failures;
  for (const Sample& s : h.samples_.samples()) {
    std::string_view name = GetLabel(s.labels, kMetricNameLabel);
    if (name == "vitals_check_up") up.push_back(s.value);
    if (name == "vitals_check_failures_total") failures.push_back(s.value);
  }
  ASSERT_GE(up.size(), 4u);
  EXPECT_EQ(std::vector<double>(up.begin(), up.begin() + 4), (std::vector<double>{1, 0, 1, 0}));
  EXPECT_EQ(std::vector<double>(failures.begin(), failures.begin() + 4),
            (std::vector<double>{0, 1, 1, 2}));
  EXPECT_EQ(h.results_[0].status(), wire::CHECK_STATUS_WARNING);
  EXPECT_EQ(h.results_[1].status(), wire::CHECK_STATUS_CRITICAL);
}

TEST(CheckSchedulerTest, CountsRunsAcrossRuns) {
  Harness h;
  h.Add(Spec("db", 100ms, 50ms), Always(CheckStatus::kOk));
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return h.results_.size() >= 3; }));
  std::vector<double> runs;
  for (const Sample& s : h.samples_.samples()) {
    if (GetLabel(s.labels, kMetricNameLabel) == "vitals_check_runs_total") runs.push_back(s.value);
  }
  ASSERT_GE(runs.size(), 3u);
  EXPECT_EQ(runs[0], 1);
  EXPECT_EQ(runs[1], 2);
  EXPECT_EQ(runs[2], 3);
}

TEST(CheckSchedulerTest, RetriesFailedAttemptsWithinTheRun) {
  Harness h;
  auto recorder =
      h.Add(Spec("db", 300ms, 50ms, /*retries=*/2), [](int attempt, Steady::time_point) {
        return Outcome(attempt < 3 ? CheckStatus::kCritical : CheckStatus::kOk);
      });
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return !h.results_.empty(); }));
  EXPECT_EQ(h.results_[0].status(), wire::CHECK_STATUS_OK);
  EXPECT_EQ(recorder->Attempts().size(), 3u);
  EXPECT_EQ(SampleValue(h.samples_, "vitals_check_runs_total"), 1);
  EXPECT_EQ(SampleValue(h.samples_, "vitals_check_failures_total"), 0);
}

TEST(CheckSchedulerTest, ReportsLastAttemptWhenRetriesRunOut) {
  Harness h;
  auto recorder =
      h.Add(Spec("db", 300ms, 50ms, /*retries=*/2), [](int attempt, Steady::time_point) {
        return Outcome(CheckStatus::kCritical, "failure " + std::to_string(attempt));
      });
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return !h.results_.empty(); }));
  EXPECT_EQ(h.results_[0].status(), wire::CHECK_STATUS_CRITICAL);
  EXPECT_EQ(h.results_[0].message(), "failure 3");
  EXPECT_EQ(SampleValue(h.samples_, "vitals_check_failures_total"), 1);
}

TEST(CheckSchedulerTest, BoundsEachAttemptByTheTimeout) {
  Harness h;
  auto recorder = h.Add(Spec("db", 200ms, 80ms, /*retries=*/1), Always(CheckStatus::kCritical));
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return h.results_.size() >= 2; }));
  for (const auto& attempt : recorder->Attempts()) {
    EXPECT_LE(attempt.deadline - attempt.start, 80ms);
    EXPECT_GT(attempt.deadline - attempt.start, 70ms);
  }
}

TEST(CheckSchedulerTest, RetriesNeverRunPastTheNextRun) {
  Harness h;
  // Each attempt hangs for its full 150ms; only one retry fits in 200ms.
  auto recorder = h.Add(Spec("db", 200ms, 150ms, /*retries=*/5),
                        [](int, Steady::time_point deadline) { return HangUntil(deadline); });
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return !h.results_.empty(); }));
  auto attempts = recorder->Attempts();
  ASSERT_GE(attempts.size(), 2u);
  // The run's slot is at or before its first attempt, so the next run is at
  // or before first start + interval.
  EXPECT_LE(attempts[1].deadline, attempts[0].start + 200ms);
  EXPECT_EQ(h.results_[0].status(), wire::CHECK_STATUS_CRITICAL);
}

TEST(CheckSchedulerTest, NeverOverlapsACheckWithItself) {
  Harness h(Options(4));
  auto recorder = h.Add(Spec("slow", 100ms, 90ms, /*retries=*/3),
                        [](int, Steady::time_point deadline) { return HangUntil(deadline); });
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return h.results_.size() >= 5; }));
  EXPECT_EQ(recorder->overlaps, 0);
}

TEST(CheckSchedulerTest, HungCheckDelaysNoOtherCheck) {
  Harness h(Options(2));
  h.Add(Spec("hung", 300ms, 250ms, /*retries=*/10),
        [](int, Steady::time_point deadline) { return HangUntil(deadline); });
  auto fast = h.Add(Spec("fast", 100ms, 50ms), Always(CheckStatus::kOk));
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return h.ResultsOf("fast").size() >= 10; }));
  EXPECT_GE(h.ResultsOf("hung").size(), 1u);
  // Every run of the fast check starts on its 100ms grid, give or take
  // scheduling noise, although the hung check keeps the other worker busy.
  auto attempts = fast->Attempts();
  for (size_t k = 1; k < attempts.size(); ++k) {
    EXPECT_LE(attempts[k].start - attempts[0].start, k * 100ms + 50ms) << "run " << k;
  }
}

TEST(CheckSchedulerTest, StopReturnsWithinTheLongestTimeout) {
  Harness h;
  auto recorder = h.Add(Spec("hung", 1s, 400ms),
                        [](int, Steady::time_point deadline) { return HangUntil(deadline); });
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(recorder->started.WaitFor(5s));
  const auto start = std::chrono::steady_clock::now();
  scheduler.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 400ms + 100ms);
  // The run that was cut short is still reported.
  SampleSet samples;
  std::vector<wire::CheckResult> results;
  EXPECT_EQ(scheduler.Drain(&samples, &results), 1u);
}

TEST(CheckSchedulerTest, StopStartsNoFurtherAttempt) {
  Harness h;
  auto recorder = h.Add(Spec("hung", 1s, 300ms, /*retries=*/5),
                        [](int, Steady::time_point deadline) { return HangUntil(deadline); });
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(recorder->started.WaitFor(5s));
  scheduler.Stop();
  EXPECT_EQ(recorder->Attempts().size(), 1u);
}

TEST(CheckSchedulerTest, InitialDelaysAreWithinTheIntervalAndFollowTheSeed) {
  auto delays = [](uint64_t seed) {
    std::vector<ConfiguredCheck> checks;
    for (int i = 0; i < 8; ++i) {
      checks.push_back({Spec("c" + std::to_string(i), 30s, 5s), nullptr});
    }
    FakeClock clock;
    return CheckScheduler(std::move(checks), clock, Options(0, seed)).initial_delays();
  };
  const auto a = delays(7);
  EXPECT_EQ(a, delays(7));
  EXPECT_NE(a, delays(8));
  ASSERT_EQ(a.size(), 8u);
  for (milliseconds d : a) {
    EXPECT_GE(d, 0ms);
    EXPECT_LT(d, 30s);
  }
  EXPECT_NE(*std::min_element(a.begin(), a.end()), *std::max_element(a.begin(), a.end()));
}

TEST(CheckSchedulerTest, FirstRunWaitsForItsInitialDelay) {
  Harness h;
  auto recorder = h.Add(Spec("db", 300ms, 50ms), Always(CheckStatus::kOk));
  CheckScheduler& scheduler = h.Start();
  ASSERT_TRUE(recorder->started.WaitFor(5s));
  EXPECT_GE(recorder->Attempts()[0].start - h.started_, scheduler.initial_delays()[0]);
}

TEST(CheckSchedulerTest, DefaultsToOneWorkerPerCheckUpToFour) {
  FakeClock clock;
  auto workers = [&](int checks) {
    std::vector<ConfiguredCheck> list;
    for (int i = 0; i < checks; ++i)
      list.push_back({Spec("c" + std::to_string(i), 30s, 5s), nullptr});
    return CheckScheduler(std::move(list), clock).worker_count();
  };
  EXPECT_EQ(workers(2), 2u);
  EXPECT_EQ(workers(4), 4u);
  EXPECT_EQ(workers(9), 4u);
  FakeClock c;
  EXPECT_EQ(CheckScheduler({}, c, Options(3)).worker_count(), 3u);
}

TEST(CheckSchedulerTest, ResultMessageIsOneLineOfValidUtf8) {
  Harness h;
  h.Add(Spec("db", 100ms, 50ms), [](int, Steady::time_point) {
    return Outcome(CheckStatus::kCritical, "bad \xff byte\nsecond line");
  });
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return !h.results_.empty(); }));
  EXPECT_EQ(h.results_[0].message(), "bad ? byte");
}

TEST(CheckSchedulerTest, DropsCheckSamplesWithInvalidLabels) {
  Harness h;
  h.Add(Spec("db", 100ms, 50ms), [](int, Steady::time_point) {
    CheckOutcome outcome = Outcome(CheckStatus::kOk);
    outcome.samples.Add({"vitals_check_perfdata", MetricType::kGauge, "help"},
                        {{"label", "bad \xff"}}, 1);
    outcome.samples.Add({"vitals_check_perfdata", MetricType::kGauge, "help"}, {{"label", "good"}},
                        2);
    return outcome;
  });
  h.Start();
  ASSERT_TRUE(h.WaitFor([&] { return !h.results_.empty(); }));
  EXPECT_EQ(SampleValue(h.samples_, "vitals_check_perfdata"), 2);
}

}  // namespace
}  // namespace vitals::agent
