// vitals-agent and vitals-collector as processes: samples flow from the agent
// to /federate, the collector reports on itself in /metrics, samples survive a
// restart, and an agent started before its collector delivers what it measured
// in the meantime.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kAgentId[] = "e2e-agent";
constexpr auto kDeadline = 30s;

// The series of kAgentId's load average as /federate shows it.
constexpr char kAgentLoad[] = R"(node_load1{agent="e2e-agent",instance="e2e-agent"})";

// Counts reads of one file through inotify, so a test can see that the agent
// measured something without knowing its log format.
class ReadCounter {
 public:
  explicit ReadCounter(const std::string& path) : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (fd_ >= 0) inotify_add_watch(fd_, path.c_str(), IN_ACCESS);
  }
  ~ReadCounter() {
    if (fd_ >= 0) close(fd_);
  }
  ReadCounter(const ReadCounter&) = delete;
  ReadCounter& operator=(const ReadCounter&) = delete;

  bool ok() const { return fd_ >= 0; }

  // Reads seen so far.
  int Count() {
    alignas(inotify_event) std::array<char, 4096> buf;
    ssize_t n;
    while ((n = read(fd_, buf.data(), buf.size())) > 0) {
      for (ssize_t off = 0; off < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buf.data() + off);
        if (event->mask & IN_ACCESS) ++count_;
        off += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    return count_;
  }

 private:
  const int fd_;
  int count_ = 0;
};

class EndToEndTest : public ::testing::Test {
 protected:
  EndToEndTest() : collector_(dir_) {}

  void TearDown() override {
    if (!HasFailure()) return;
    std::cerr << collector_.Output();
    if (agent_ != nullptr) std::cerr << agent_->Output();
  }

  AgentConfig MakeAgentConfig() const {
    AgentConfig config;
    config.agent_id = kAgentId;
    config.endpoint = collector_.config().IngestEndpoint();
    config.labels = {{"env", "it"}};
    return config;
  }

  // As MakeAgentConfig(), reading a copy of tests/fixtures/hostroot instead of
  // the real /proc and /sys; *loadavg is that copy's /proc/loadavg.
  AgentConfig MakeFakeHostAgentConfig(std::string* loadavg) const {
    const std::string hostroot = CopyHostRootFixture(dir_);
    *loadavg = hostroot + "/proc/loadavg";
    AgentConfig config = MakeAgentConfig();
    config.proc_path = hostroot + "/proc";
    config.sys_path = hostroot + "/sys";
    return config;
  }

  void StartCollector() {
    std::string error;
    ASSERT_TRUE(collector_.Start(&error)) << error;
  }

  void StartAgent(const AgentConfig& config) {
    WriteAgentConfig(dir_.File("agent.yml"), config);
    std::string error;
    agent_ = StartProgram(AgentBinary(), dir_.File("agent.yml"), dir_.File("agent"), &error);
    ASSERT_NE(agent_, nullptr) << error;
  }

  // Starts both and waits until the agent's load average is federated.
  void StartCollectorAndAgent() {
    ASSERT_NO_FATAL_FAILURE(StartCollector());
    ASSERT_NO_FATAL_FAILURE(StartAgent(MakeAgentConfig()));
    ASSERT_TRUE(WaitFor([&] { return AgentLoad().has_value(); }, kDeadline))
        << "no " << kAgentLoad << " in /federate:\n"
        << collector_.Federate("node_load1");
  }

  std::optional<ExpositionSample> AgentLoad() const {
    return FindSample(collector_.Federate("node_load1"), kAgentLoad);
  }

  TempDir dir_;
  TestCollector collector_;
  std::unique_ptr<Process> agent_;
};

TEST_F(EndToEndTest, FederatedSeriesCarryAgentInstanceAndAgentLabels) {
  ASSERT_NO_FATAL_FAILURE(StartCollectorAndAgent());

  std::optional<ExpositionSample> load = AgentLoad();
  ASSERT_TRUE(load.has_value());
  EXPECT_EQ(load->labels["agent"], kAgentId);
  EXPECT_EQ(load->labels["instance"], kAgentId);
  EXPECT_EQ(load->labels["env"], "it") << load->line;
}

TEST_F(EndToEndTest, FederateWritesTypeLinesAndMillisecondTimestamps) {
  const int64_t start_ms = NowUnixMs();
  ASSERT_NO_FATAL_FAILURE(StartCollectorAndAgent());

  std::string body = collector_.Federate("node_load1");
  EXPECT_NE(body.find("# TYPE node_load1 gauge\n"), std::string::npos) << body;
  std::optional<ExpositionSample> load = FindSample(body, kAgentLoad);
  ASSERT_TRUE(load.has_value()) << body;
  ASSERT_TRUE(load->timestamp_ms.has_value()) << load->line;
  EXPECT_GE(*load->timestamp_ms, start_ms - 1000) << load->line;
  EXPECT_LE(*load->timestamp_ms, NowUnixMs() + 1000) << load->line;
}

TEST_F(EndToEndTest, FederateReturnsOnlyMatchingSeries) {
  ASSERT_NO_FATAL_FAILURE(StartCollectorAndAgent());

  std::string body = collector_.Federate("node_load1");
  std::vector<ExpositionSample> samples = ParseExposition(body);
  ASSERT_FALSE(samples.empty()) << body;
  for (const ExpositionSample& sample : samples) {
    EXPECT_EQ(sample.name, "node_load1") << sample.line;
  }
}

TEST_F(EndToEndTest, FederateAcceptsSeveralMatchers) {
  ASSERT_NO_FATAL_FAILURE(StartCollectorAndAgent());

  HttpResponse r = collector_.Get("/federate?match[]=node_load1&match[]=" +
                                  UrlEncode(R"({__name__="node_load5"})"));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_TRUE(FindSample(r.body, kAgentLoad).has_value()) << r.body;
  EXPECT_TRUE(FindSample(r.body, R"(node_load5{agent="e2e-agent"})").has_value()) << r.body;
}

TEST_F(EndToEndTest, MetricsCountIngestedBatchesAndSamples) {
  ASSERT_NO_FATAL_FAILURE(StartCollectorAndAgent());

  // The ingest thread counts a batch just after the store made it visible,
  // which is what StartCollectorAndAgent waits for: wait for the count too.
  std::string metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        metrics = collector_.Metrics();
        return MetricValue(metrics, "vitals_ingest_batches_total").value_or(0) > 0;
      },
      std::chrono::seconds(10)));
  EXPECT_GT(MetricValue(metrics, "vitals_ingest_batches_total").value_or(0), 0) << metrics;
  EXPECT_GT(MetricValue(metrics, "vitals_ingest_samples_total").value_or(0), 0) << metrics;
}

TEST_F(EndToEndTest, MetricsShowOneConnectedAgent) {
  ASSERT_NO_FATAL_FAILURE(StartCollectorAndAgent());

  EXPECT_TRUE(
      WaitFor([&] { return collector_.Metric("vitals_agents_connected") == 1.0; }, kDeadline))
      << collector_.Metrics();
}

TEST_F(EndToEndTest, MetricsShowWhenTheAgentWasLastSeen) {
  const double start_seconds = static_cast<double>(NowUnixMs()) / 1000;
  ASSERT_NO_FATAL_FAILURE(StartCollectorAndAgent());

  std::string metrics = collector_.Metrics();
  std::optional<double> last_seen =
      MetricValue(metrics, R"(vitals_agent_last_seen_timestamp_seconds{agent="e2e-agent"})");
  ASSERT_TRUE(last_seen.has_value()) << metrics;
  EXPECT_GE(*last_seen, start_seconds - 1);
  EXPECT_LE(*last_seen, static_cast<double>(NowUnixMs()) / 1000 + 1);
}

TEST_F(EndToEndTest, MetricsShowBuildInfo) {
  ASSERT_NO_FATAL_FAILURE(StartCollector());

  std::string metrics = collector_.Metrics();
  std::optional<ExpositionSample> info = FindSample(metrics, "vitals_build_info");
  ASSERT_TRUE(info.has_value()) << metrics;
  EXPECT_EQ(info->value, 1);
  EXPECT_FALSE(info->labels["version"].empty()) << info->line;
  EXPECT_FALSE(info->labels["revision"].empty()) << info->line;
}

TEST_F(EndToEndTest, HealthyAnswers200) {
  ASSERT_NO_FATAL_FAILURE(StartCollector());

  EXPECT_EQ(collector_.Get("/-/healthy").status, 200);
}

TEST_F(EndToEndTest, ReadyAnswers200) {
  ASSERT_NO_FATAL_FAILURE(StartCollector());

  EXPECT_EQ(collector_.Get("/-/ready").status, 200);
}

TEST_F(EndToEndTest, FederateRejectsBadSelectorWith400) {
  ASSERT_NO_FATAL_FAILURE(StartCollector());

  HttpResponse r = collector_.Get("/federate?match[]=" + UrlEncode("node_load1{job="));
  EXPECT_EQ(r.status, 400) << r.error << r.body;
}

TEST_F(EndToEndTest, FederateRejectsMissingSelectorWith400) {
  ASSERT_NO_FATAL_FAILURE(StartCollector());

  HttpResponse r = collector_.Get("/federate");
  EXPECT_EQ(r.status, 400) << r.error << r.body;
}

TEST_F(EndToEndTest, SamplesSurviveCollectorRestart) {
  ASSERT_NO_FATAL_FAILURE(StartCollectorAndAgent());

  agent_->Kill(SIGKILL);
  agent_->Wait();
  // What the agent sent before it died may still be in flight; take the line
  // once two reads in a row agree.
  std::string line;
  std::string previous;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::optional<ExpositionSample> load = AgentLoad();
        previous = line;
        line = load ? load->line : "";
        return !line.empty() && line == previous;
      },
      kDeadline));

  collector_.process()->Kill(SIGKILL);
  collector_.process()->Wait();
  ASSERT_NO_FATAL_FAILURE(StartCollector());

  std::optional<ExpositionSample> after = AgentLoad();
  ASSERT_TRUE(after.has_value()) << collector_.Federate("node_load1");
  EXPECT_EQ(after->line, line);
}

TEST_F(EndToEndTest, AgentDeliversSamplesTakenBeforeCollectorStarted) {
  // The agent reads a fake /proc, so the test controls its load average.
  std::string loadavg;
  const AgentConfig config = MakeFakeHostAgentConfig(&loadavg);
  WriteFile(loadavg, "0.42 0.05 0.03 1/82 4636\n");
  ReadCounter reads(loadavg);
  ASSERT_TRUE(reads.ok());
  ASSERT_NO_FATAL_FAILURE(StartAgent(config));

  // Nothing listens on the ingest port yet; let the agent measure a few times.
  ASSERT_TRUE(WaitFor([&] { return reads.Count() >= 3; }, kDeadline))
      << "the agent never read " << loadavg;
  // From now on the agent has no load average to measure, so every node_load1
  // sample the collector will ever see was taken before the collector ran.
  // Emptied in place rather than removed: the agent keeps its /proc files
  // open between rounds, and an unlinked file would still read as before.
  ASSERT_EQ(truncate(loadavg.c_str(), 0), 0);
  ASSERT_TRUE(agent_->IsRunning());

  ASSERT_NO_FATAL_FAILURE(StartCollector());
  const int64_t collector_ready_ms = NowUnixMs();

  std::optional<ExpositionSample> load;
  ASSERT_TRUE(WaitFor(
      [&] {
        load = AgentLoad();
        return load.has_value();
      },
      kDeadline))
      << "the samples measured before the collector started never arrived";
  EXPECT_EQ(load->value, 0.42) << load->line;
  ASSERT_TRUE(load->timestamp_ms.has_value()) << load->line;
  EXPECT_LT(*load->timestamp_ms, collector_ready_ms) << load->line;
  EXPECT_TRUE(agent_->IsRunning());
}

TEST_F(EndToEndTest, CollectorExitsZeroOnSigterm) {
  ASSERT_NO_FATAL_FAILURE(StartCollector());

  collector_.process()->Kill(SIGTERM);
  EXPECT_EQ(collector_.process()->Wait(kDeadline), 0);
}

TEST_F(EndToEndTest, AgentExitsZeroOnSigterm) {
  ASSERT_NO_FATAL_FAILURE(StartCollectorAndAgent());

  agent_->Kill(SIGTERM);
  EXPECT_EQ(agent_->Wait(kDeadline), 0);
}

TEST_F(EndToEndTest, AgentExitsZeroOnSigtermWhileCollectorIsDown) {
  std::string loadavg;
  const AgentConfig config = MakeFakeHostAgentConfig(&loadavg);
  ReadCounter reads(loadavg);
  ASSERT_TRUE(reads.ok());
  ASSERT_NO_FATAL_FAILURE(StartAgent(config));
  // Once it measures, it is past start-up and has batches it cannot deliver.
  ASSERT_TRUE(WaitFor([&] { return reads.Count() >= 2; }, kDeadline));

  agent_->Kill(SIGTERM);
  EXPECT_EQ(agent_->Wait(kDeadline), 0);
}

}  // namespace
}  // namespace vitals::testing
