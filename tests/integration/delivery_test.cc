// The agent's delivery path with the real programs: every round the agent
// spools reaches the collector's storage once, whatever is killed with -9 in
// between; batches spooled while a collector is down are delivered when it
// returns, also after an agent restart; an HA pair both get every batch;
// SIGHUP reloads a valid configuration and keeps the old one otherwise;
// SIGTERM exits 0 and leaves what was not delivered in the spool; the
// collector acknowledges a batch it already stored without storing it again.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "agent/spool.h"
#include "common/selector.h"
#include "common/wire.h"
#include "storage/store.h"
#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;

// The batches waiting in the spool at `dir`, read from outside while the
// agent runs (Spool::Inspect); none if there is no spool yet.
std::set<uint64_t> SpooledSeqs(const std::string& dir) {
  auto contents = agent::Spool::Inspect(dir);
  if (!contents.ok()) {
    EXPECT_EQ(contents.status().code(), Status::Code::kNotFound) << contents.status().ToString();
    return {};
  }
  return std::set<uint64_t>(contents->seqs.begin(), contents->seqs.end());
}

size_t CountSpooled(const std::string& dir) { return SpooledSeqs(dir).size(); }

// How many sequence numbers the (stopped) agent's spool at `dir` ever handed
// out, i.e. how many rounds it spooled: the spool never reuses a seq.
uint64_t SeqsHandedOut(const std::string& dir) {
  auto contents = agent::Spool::Inspect(dir);
  EXPECT_TRUE(contents.ok()) << contents.status().ToString();
  return contents.ok() ? contents->next_seq - 1 : 0;
}

// The distinct timestamps of `agent_id`'s vitals_agent_build_info samples in
// the (stopped) collector's storage at `path`. The agent adds that sample to
// every batch with the round's timestamp, so this is the set of rounds stored.
std::vector<int64_t> StoredRounds(const std::string& path, const std::string& agent_id) {
  storage::Options options;
  options.path = path;
  auto store = storage::Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return {};
  std::vector<Matcher> matchers = {
      Matcher::Create(MatchType::kEqual, "__name__", "vitals_agent_build_info").value(),
      Matcher::Create(MatchType::kEqual, "agent", agent_id).value(),
  };
  // Walk backwards in time: the newest sample at or before `max` each time.
  std::vector<int64_t> rounds;
  int64_t max = std::numeric_limits<int64_t>::max();
  while (true) {
    auto latest = (*store)->SelectLatest(matchers, 0, max);
    EXPECT_TRUE(latest.ok()) << latest.status().ToString();
    if (!latest.ok() || latest->empty()) break;
    int64_t newest = 0;
    for (const Sample& s : *latest) newest = std::max(newest, s.timestamp_ms);
    rounds.push_back(newest);
    max = newest - 1;
  }
  std::reverse(rounds.begin(), rounds.end());
  return rounds;
}

// A DEALER speaking the agent's protocol by hand, to resend exactly what a test
// wants.
class HandAgent {
 public:
  HandAgent(const std::string& endpoint, const std::string& agent_id, uint64_t spool_id)
      : socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 10000);
    socket_.connect(endpoint);
    wire::Envelope hello = wirecodec::NewEnvelope();
    hello.mutable_hello()->set_agent_id(agent_id);
    hello.mutable_hello()->set_spool_id(spool_id);
    hello.mutable_hello()->set_interval_ms(1000);
    Send(hello);
  }

  void Send(const wire::Envelope& envelope) {
    socket_.send(zmq::buffer(envelope.SerializeAsString()), zmq::send_flags::none);
  }

  // Sends batch `seq` holding one node_load1 sample at `timestamp_ms`.
  void SendBatch(uint64_t seq, int64_t timestamp_ms) {
    SampleSet set(timestamp_ms);
    set.Add(MetricDesc{"node_load1", MetricType::kGauge, "1m load average."}, {}, 0.5);
    wire::Envelope envelope = wirecodec::NewEnvelope();
    wirecodec::EncodeSamples(set, envelope.mutable_batch());
    envelope.mutable_batch()->set_seq(seq);
    Send(envelope);
  }

  // The next reply, or nullopt after 10s without one.
  std::optional<wire::Envelope> Receive() {
    zmq::message_t msg;
    if (!socket_.recv(msg)) return std::nullopt;
    wire::Envelope envelope;
    if (!envelope.ParseFromArray(msg.data(), static_cast<int>(msg.size()))) return std::nullopt;
    return envelope;
  }

  // Receives the next reply and checks that it acknowledges `seq`.
  void ExpectAck(uint64_t seq) {
    std::optional<wire::Envelope> reply = Receive();
    ASSERT_TRUE(reply.has_value()) << "no reply for batch " << seq;
    ASSERT_TRUE(reply->has_ack()) << reply->ShortDebugString();
    ASSERT_EQ(reply->ack().seqs_size(), 1);
    EXPECT_EQ(reply->ack().seqs(0), seq);
  }

 private:
  zmq::context_t context_;
  zmq::socket_t socket_;
};

class DeliveryTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!HasFailure()) return;
    for (const TestCollector* c : collectors_) std::cerr << c->Output();
    if (agent_ != nullptr) std::cerr << agent_->Output();
  }

  // An agent measuring every 100ms into <dir>/spool, sending to `collector`.
  AgentConfig MakeAgentConfig(const TestCollector& collector) const {
    AgentConfig config;
    config.agent_id = "delivery-agent";
    config.endpoint = collector.config().IngestEndpoint();
    config.interval = "100ms";
    config.spool_dir = spool_dir_;
    return config;
  }

  void StartCollector(TestCollector& collector) {
    if (std::find(collectors_.begin(), collectors_.end(), &collector) == collectors_.end()) {
      collectors_.push_back(&collector);
    }
    std::string error;
    ASSERT_TRUE(collector.Start(&error)) << error;
  }

  static void KillNine(TestCollector& collector) {
    collector.process()->Kill(SIGKILL);
    collector.process()->Wait();
  }

  // Starts (or restarts) the agent on agent_yml_; each run keeps its own output.
  void StartAgent() {
    std::string error;
    agent_ = StartProgram(AgentBinary(), agent_yml_, dir_.File("agent-" + std::to_string(++runs_)),
                          &error);
    ASSERT_NE(agent_, nullptr) << error;
  }

  void KillAgentNine() {
    agent_->Kill(SIGKILL);
    agent_->Wait();
  }

  static double Batches(const TestCollector& collector) {
    return collector.Metric("vitals_ingest_batches_total").value_or(0);
  }

  // Waits until `collector` counts at least `n` stored batches.
  void WaitForBatches(const TestCollector& collector, double n) {
    ASSERT_TRUE(WaitFor([&] { return Batches(collector) >= n; }, kDeadline))
        << "vitals_ingest_batches_total of " << collector.config().IngestEndpoint() << " is "
        << Batches(collector) << ", waited for " << n;
  }

  // Waits until the spool holds at least `n` batches.
  void WaitForSpooled(size_t n) {
    ASSERT_TRUE(WaitFor([&] { return CountSpooled(spool_dir_) >= n; }, kDeadline))
        << CountSpooled(spool_dir_) << " batches spooled, waited for " << n;
  }

  // Waits until the spool holds no batch.
  void WaitForEmptySpool() {
    ASSERT_TRUE(WaitFor([&] { return CountSpooled(spool_dir_) == 0; }, kDeadline))
        << CountSpooled(spool_dir_) << " batches still spooled";
  }

  // SIGTERM; the agent must exit 0.
  void StopAgent() {
    agent_->Kill(SIGTERM);
    std::optional<int> status = agent_->Wait(kDeadline);
    ASSERT_TRUE(status.has_value()) << "agent still running after SIGTERM";
    EXPECT_EQ(*status, 0);
  }

  static void StopCollector(TestCollector& collector) {
    collector.process()->Kill(SIGTERM);
    EXPECT_EQ(collector.process()->Wait(kDeadline), 0);
  }

  TempDir dir_;
  const std::string spool_dir_ = dir_.File("spool");
  const std::string agent_yml_ = dir_.File("agent.yml");
  std::unique_ptr<Process> agent_;
  int runs_ = 0;
  std::vector<const TestCollector*> collectors_;  // For output on failure.
};

TEST_F(DeliveryTest, EveryRoundIsStoredExactlyOnceAcrossKillNine) {
  TestCollector collector(dir_);
  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));
  WriteAgentConfig(agent_yml_, MakeAgentConfig(collector));
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(collector, 5));

  // The collector dies; the agent spools and replays when it is back.
  KillNine(collector);
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(5));
  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(collector, 5));

  // The agent dies while delivering and starts again on its spool.
  KillAgentNine();
  double before = Batches(collector);
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(collector, before + 5));

  // Both die; the agent restarts on a non-empty spool before the collector.
  KillNine(collector);
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(5));
  KillAgentNine();
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(10));
  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));

  // The collector dies again just after it came back.
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(collector, 1));
  KillNine(collector);
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(5));
  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));

  // Caught up: batches are acknowledged as fast as they are measured. Then a
  // SIGTERM delivers the last ones before the agent exits.
  ASSERT_NO_FATAL_FAILURE(WaitForEmptySpool());
  ASSERT_NO_FATAL_FAILURE(StopAgent());
  EXPECT_EQ(CountSpooled(spool_dir_), 0u) << "SIGTERM did not drain the spool";
  ASSERT_NO_FATAL_FAILURE(StopCollector(collector));

  const uint64_t spooled = SeqsHandedOut(spool_dir_);
  const std::vector<int64_t> stored =
      StoredRounds(collector.config().storage_path, "delivery-agent");
  EXPECT_GE(spooled, 20u) << "the test ran fewer rounds than it means to";
  EXPECT_EQ(stored.size(), spooled) << "rounds stored vs. rounds the agent spooled";
}

TEST_F(DeliveryTest, DeliversEverythingSpooledDuringOutage) {
  TestCollector collector(dir_);
  WriteAgentConfig(agent_yml_, MakeAgentConfig(collector));
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(20));

  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));
  ASSERT_NO_FATAL_FAILURE(WaitForEmptySpool());
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(collector, 20));
}

TEST_F(DeliveryTest, AgentRestartKeepsSpool) {
  TestCollector collector(dir_);
  WriteAgentConfig(agent_yml_, MakeAgentConfig(collector));
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(10));
  KillAgentNine();
  const std::set<uint64_t> left = SpooledSeqs(spool_dir_);

  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(left.size() + 1));
  std::set<uint64_t> now = SpooledSeqs(spool_dir_);
  EXPECT_TRUE(std::includes(now.begin(), now.end(), left.begin(), left.end()))
      << "the restarted agent lost batches of its previous run";

  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));
  auto any_left = [&] {
    now = SpooledSeqs(spool_dir_);
    return std::any_of(left.begin(), left.end(), [&](uint64_t seq) { return now.contains(seq); });
  };
  EXPECT_TRUE(WaitFor([&] { return !any_left(); }, kDeadline))
      << "batches of the killed agent still spooled";
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(collector, static_cast<double>(left.size())));
}

TEST_F(DeliveryTest, HaPairGetsEveryBatch) {
  TestCollector a(dir_, "collector-a");
  TestCollector b(dir_, "collector-b");
  ASSERT_NO_FATAL_FAILURE(StartCollector(a));
  ASSERT_NO_FATAL_FAILURE(StartCollector(b));
  std::ostringstream yml;
  yml << "agent_id: ha-agent\n"
      << "interval: 100ms\n"
      << "collectors:\n";
  for (const TestCollector* c : {&a, &b}) {
    yml << "  - endpoint: " << c->config().IngestEndpoint() << "\n"
        << "    ack_timeout: 1s\n"
        << "    max_retry_backoff: 500ms\n";
  }
  yml << "spool:\n"
      << "  dir: " << spool_dir_ << "\n"
      << "log:\n"
      << "  level: debug\n";
  WriteFile(agent_yml_, yml.str());
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(a, 5));
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(b, 5));

  // B is away: A keeps receiving, and the spool keeps what B has not got.
  KillNine(b);
  const double a_before = Batches(a);
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(10));
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(a, a_before + 10));
  const size_t spooled = CountSpooled(spool_dir_);
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(spooled + 5));

  // B is back: it gets what it missed and the spool drains.
  const size_t missed = CountSpooled(spool_dir_);
  ASSERT_NO_FATAL_FAILURE(StartCollector(b));
  ASSERT_NO_FATAL_FAILURE(WaitForEmptySpool());
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(b, static_cast<double>(missed)));

  // Both stored every round.
  ASSERT_NO_FATAL_FAILURE(StopAgent());
  EXPECT_EQ(CountSpooled(spool_dir_), 0u) << "SIGTERM did not drain the spool";
  ASSERT_NO_FATAL_FAILURE(StopCollector(a));
  ASSERT_NO_FATAL_FAILURE(StopCollector(b));
  const uint64_t rounds = SeqsHandedOut(spool_dir_);
  EXPECT_EQ(StoredRounds(a.config().storage_path, "ha-agent").size(), rounds) << "collector A";
  EXPECT_EQ(StoredRounds(b.config().storage_path, "ha-agent").size(), rounds) << "collector B";
}

TEST_F(DeliveryTest, SighupReloadsValidConfig) {
  TestCollector collector(dir_);
  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));
  AgentConfig config = MakeAgentConfig(collector);
  config.labels = {{"env", "one"}};
  WriteAgentConfig(agent_yml_, config);
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  constexpr char kOne[] = R"(vitals_agent_build_info{agent="delivery-agent",env="one"})";
  constexpr char kTwo[] = R"(vitals_agent_build_info{agent="delivery-agent",env="two"})";
  ASSERT_TRUE(WaitFor(
      [&] { return FindSample(collector.Federate("vitals_agent_build_info"), kOne).has_value(); },
      kDeadline))
      << collector.Federate("vitals_agent_build_info");

  config.labels = {{"env", "two"}};
  WriteAgentConfig(agent_yml_, config);
  agent_->Kill(SIGHUP);
  EXPECT_TRUE(WaitFor(
      [&] { return FindSample(collector.Federate("vitals_agent_build_info"), kTwo).has_value(); },
      kDeadline))
      << collector.Federate("vitals_agent_build_info");
  EXPECT_TRUE(agent_->IsRunning());
  ASSERT_NO_FATAL_FAILURE(StopAgent());
}

TEST_F(DeliveryTest, SighupKeepsRunningOnInvalidConfig) {
  TestCollector collector(dir_);
  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));
  WriteAgentConfig(agent_yml_, MakeAgentConfig(collector));
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(collector, 3));

  WriteFile(agent_yml_, "interval: [\n");
  agent_->Kill(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return agent_->Stderr().find("reload refused") != std::string::npos; },
                      kDeadline))
      << agent_->Output();
  EXPECT_TRUE(agent_->IsRunning());
  const double before = Batches(collector);
  ASSERT_NO_FATAL_FAILURE(WaitForBatches(collector, before + 5));
  EXPECT_TRUE(agent_->IsRunning());
  ASSERT_NO_FATAL_FAILURE(StopAgent());
}

TEST_F(DeliveryTest, SigtermExitsZeroAndKeepsUnsentBatchesSpooled) {
  TestCollector collector(dir_);  // Never started.
  WriteAgentConfig(agent_yml_, MakeAgentConfig(collector));
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_NO_FATAL_FAILURE(WaitForSpooled(5));
  const std::set<uint64_t> before = SpooledSeqs(spool_dir_);

  ASSERT_NO_FATAL_FAILURE(StopAgent());
  const std::set<uint64_t> after = SpooledSeqs(spool_dir_);
  EXPECT_TRUE(std::includes(after.begin(), after.end(), before.begin(), before.end()))
      << before.size() << " batches spooled before SIGTERM, " << after.size() << " after";
}

TEST_F(DeliveryTest, CollectorAcksAResentBatchWithoutStoringItAgain) {
  TestCollector collector(dir_);
  ASSERT_NO_FATAL_FAILURE(StartCollector(collector));
  const int64_t t = NowUnixMs();
  {
    HandAgent agent(collector.config().IngestEndpoint(), "resender", 7);
    ASSERT_TRUE(agent.Receive().value_or(wire::Envelope()).has_hello_ack());
    agent.SendBatch(1, t);
    ASSERT_NO_FATAL_FAILURE(agent.ExpectAck(1));
    // Its ack was lost, say: the agent sends it again.
    agent.SendBatch(1, t);
    ASSERT_NO_FATAL_FAILURE(agent.ExpectAck(1));
  }
  {
    // Also on a new connection, as after an agent restart.
    HandAgent agent(collector.config().IngestEndpoint(), "resender", 7);
    ASSERT_TRUE(agent.Receive().value_or(wire::Envelope()).has_hello_ack());
    agent.SendBatch(1, t);
    ASSERT_NO_FATAL_FAILURE(agent.ExpectAck(1));
  }
  std::string metrics = collector.Metrics();
  EXPECT_EQ(MetricValue(metrics, "vitals_ingest_batches_total"), 1) << metrics;
  EXPECT_EQ(MetricValue(metrics, "vitals_ingest_duplicate_batches_total"), 2) << metrics;

  // The same seq from another spool is another batch.
  HandAgent fresh(collector.config().IngestEndpoint(), "resender", 8);
  ASSERT_TRUE(fresh.Receive().value_or(wire::Envelope()).has_hello_ack());
  fresh.SendBatch(1, t + 1);
  ASSERT_NO_FATAL_FAILURE(fresh.ExpectAck(1));
  metrics = collector.Metrics();
  EXPECT_EQ(MetricValue(metrics, "vitals_ingest_batches_total"), 2) << metrics;
  EXPECT_EQ(MetricValue(metrics, "vitals_ingest_duplicate_batches_total"), 2) << metrics;
}

}  // namespace
}  // namespace vitals::testing
