#include "agent/collector_client.h"

#include <gtest/gtest.h>

#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "agent/spool.h"
#include "common/clock.h"
#include "common/wire.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {
namespace {

using std::chrono::milliseconds;

// A hand-driven collector: a real ROUTER on a free loopback port whose replies
// each test decides.
class FakeCollector {
 public:
  FakeCollector() : socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  }

  const std::string& endpoint() const { return endpoint_; }

  // The next envelope if one has arrived, without waiting.
  std::optional<wire::Envelope> TryReceive() {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      return std::nullopt;
    }
    EXPECT_EQ(frames.size(), 2u);
    routing_id_ = frames[0].to_string();
    wire::Envelope env;
    EXPECT_TRUE(env.ParseFromArray(frames[1].data(), static_cast<int>(frames[1].size())));
    return env;
  }

  // Receives the next envelope, letting `client` run meanwhile. Fails the
  // test after 5 s of real time with nothing received.
  std::optional<wire::Envelope> Receive(CollectorClient& client) {
    for (int i = 0; i < 250; ++i) {
      client.Poll(milliseconds(20));
      if (auto env = TryReceive()) return env;
    }
    ADD_FAILURE() << "nothing received from the client";
    return std::nullopt;
  }

  // Receives until a message of `kind` arrives, answering any Hello on the way.
  std::optional<wire::Envelope> ReceiveKind(CollectorClient& client,
                                            wire::Envelope::BodyCase kind) {
    for (int i = 0; i < 20; ++i) {
      auto env = Receive(client);
      if (!env) return std::nullopt;
      if (env->body_case() == kind) return env;
      if (env->has_hello()) SendHelloAck();
    }
    ADD_FAILURE() << "no message of the expected kind";
    return std::nullopt;
  }

  // The seqs of the batches that arrive while `client` is polled, until none
  // arrived for `quiet` (real time). Answers any Hello.
  std::vector<uint64_t> ReceiveBatchesUntilQuiet(CollectorClient& client, milliseconds quiet) {
    std::vector<uint64_t> seqs;
    auto quiet_until = std::chrono::steady_clock::now() + quiet;
    while (std::chrono::steady_clock::now() < quiet_until) {
      client.Poll(milliseconds(5));
      while (auto env = TryReceive()) {
        if (env->has_hello()) SendHelloAck();
        if (env->has_batch()) seqs.push_back(env->batch().seq());
        quiet_until = std::chrono::steady_clock::now() + quiet;
      }
    }
    return seqs;
  }

  void Send(const wire::Envelope& env) {
    std::string payload = env.SerializeAsString();
    std::array<zmq::const_buffer, 2> parts = {zmq::buffer(routing_id_), zmq::buffer(payload)};
    zmq::send_multipart(socket_, parts);
  }

  void SendHelloAck() {
    wire::Envelope env = wirecodec::NewEnvelope();
    env.mutable_hello_ack()->set_collector_version("test");
    Send(env);
  }

  void SendAck(uint64_t seq) {
    wire::Envelope env = wirecodec::NewEnvelope();
    env.mutable_ack()->add_seqs(seq);
    Send(env);
  }

  void SendModes(const wire::Modes& modes) {
    wire::Envelope env = wirecodec::NewEnvelope();
    *env.mutable_modes() = modes;
    Send(env);
  }

  void SendError(wire::Error::Code code, uint64_t seq) {
    wire::Envelope env = wirecodec::NewEnvelope();
    env.mutable_error()->set_code(code);
    env.mutable_error()->set_seq(seq);
    Send(env);
  }

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  std::string endpoint_;
  std::string routing_id_;
};

class CollectorClientTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kSpoolId = 0x5eed;

  void SetUp() override {
    SpoolOptions spool_options;
    spool_options.dir = dir_.path();
    spool_options.sync = false;  // Durability is the spool's own test's business.
    auto spool = Spool::Open(spool_options);
    ASSERT_TRUE(spool.ok()) << spool.status().ToString();
    spool_ = std::move(spool).value();
  }

  void TearDown() override { spool_.reset(); }

  static ClientOptions Options(const std::string& endpoint) {
    ClientOptions options;
    options.endpoint = endpoint;
    options.agent_id = "web-01";
    options.spool_id = kSpoolId;
    options.labels = {{"env", "test"}};
    options.interval = milliseconds(1000);
    options.ack_timeout = milliseconds(1000);
    return options;
  }

  std::unique_ptr<CollectorClient> NewClient(const ClientOptions& options) {
    auto client = CollectorClient::Create(
        options, *spool_, clock_, [this](uint64_t seq) { done_.push_back(seq); },
        [this](const wire::Modes& modes) { modes_.push_back(modes); });
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::unique_ptr<CollectorClient> NewClient(const std::string& endpoint) {
    return NewClient(Options(endpoint));
  }

  static wire::Batch BatchWithOneSample(double value) {
    SampleSet set(1000);
    set.Add(MetricDesc{"node_load1", MetricType::kGauge, "1m load average."}, {}, value);
    wire::Batch batch;
    wirecodec::EncodeSamples(set, &batch);
    return batch;
  }

  // Appends a batch holding `value` to the spool and returns its seq.
  uint64_t SpoolBatch(double value) {
    wire::Batch batch = BatchWithOneSample(value);
    auto seq = spool_->Append(&batch);
    EXPECT_TRUE(seq.ok()) << seq.status().ToString();
    return seq.ok() ? *seq : 0;
  }

  // Polls `client` until `cond` holds; false after 5 s of real time.
  static bool PollUntil(CollectorClient& client, const std::function<bool()>& cond) {
    for (int i = 0; i < 250 && !cond(); ++i) client.Poll(milliseconds(20));
    return cond();
  }

  testing::TempDir dir_;
  std::unique_ptr<Spool> spool_;
  FakeClock clock_;
  std::vector<uint64_t> done_;      // Seqs reported through on_done, in order.
  std::vector<wire::Modes> modes_;  // Received through on_modes, in order.
};

// Modes for shop with its payments module degraded.
wire::Modes PaymentsDegraded(uint64_t generation) {
  wire::Modes modes;
  modes.set_generation(generation);
  modes.add_services("shop");
  wire::ServiceMode* payments = modes.add_modes();
  payments->set_service("shop");
  payments->set_module("payments");
  payments->set_mode("degraded");
  payments->set_source("automatic");
  return modes;
}

TEST_F(CollectorClientTest, SaysHelloBeforeAnyBatch) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(1));
  auto first = collector.Receive(*client);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->has_hello());
  EXPECT_EQ(first->protocol_major(), 1u);
  EXPECT_EQ(first->hello().agent_id(), "web-01");
  EXPECT_EQ(first->hello().spool_id(), kSpoolId);
  EXPECT_EQ(first->hello().interval_ms(), 1000u);
  ASSERT_EQ(first->hello().labels_size(), 1);
  EXPECT_EQ(first->hello().labels(0).name(), "env");
  EXPECT_EQ(first->hello().labels(0).value(), "test");
}

TEST_F(CollectorClientTest, HelloNamesTheServicesThisAgentEnforces) {
  FakeCollector collector;
  ClientOptions options = Options(collector.endpoint());
  options.services = {"api", "shop"};
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  auto hello = collector.Receive(*client);
  ASSERT_TRUE(hello);
  ASSERT_TRUE(hello->has_hello());
  ASSERT_EQ(hello->hello().services_size(), 2);
  EXPECT_EQ(hello->hello().services(0), "api");
  EXPECT_EQ(hello->hello().services(1), "shop");
}

TEST_F(CollectorClientTest, HelloWithoutServicesListsNone) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  auto hello = collector.Receive(*client);
  ASSERT_TRUE(hello);
  ASSERT_TRUE(hello->has_hello());
  EXPECT_EQ(hello->hello().services_size(), 0);
}

TEST_F(CollectorClientTest, ModesRightAfterTheHelloAckReachTheCallback) {
  FakeCollector collector;
  ClientOptions options = Options(collector.endpoint());
  options.services = {"shop"};
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  auto hello = collector.Receive(*client);
  ASSERT_TRUE(hello && hello->has_hello());
  collector.SendHelloAck();
  collector.SendModes(PaymentsDegraded(42));
  EXPECT_TRUE(PollUntil(*client, [&] { return !modes_.empty(); }));
  ASSERT_EQ(modes_.size(), 1u);
  EXPECT_EQ(modes_[0].SerializeAsString(), PaymentsDegraded(42).SerializeAsString());
  EXPECT_TRUE(client->stats().connected);
  EXPECT_EQ(client->stats().modes_received, 1u);
}

TEST_F(CollectorClientTest, ModesArriveUnaskedBetweenBatches) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(1));
  auto batch = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(batch);
  collector.SendModes(PaymentsDegraded(1));
  collector.SendAck(batch->batch().seq());
  collector.SendModes(PaymentsDegraded(2));
  EXPECT_TRUE(PollUntil(*client, [&] { return modes_.size() == 2 && done_.size() == 1; }));
  ASSERT_EQ(modes_.size(), 2u);
  EXPECT_EQ(modes_[0].generation(), 1u);
  EXPECT_EQ(modes_[1].generation(), 2u);
  EXPECT_EQ(done_, (std::vector<uint64_t>{1}));
}

TEST_F(CollectorClientTest, ModesWithoutACallbackAreDropped) {
  FakeCollector collector;
  auto created = CollectorClient::Create(Options(collector.endpoint()), *spool_, clock_, nullptr);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  CollectorClient& client = **created;
  auto hello = collector.Receive(client);
  ASSERT_TRUE(hello && hello->has_hello());
  collector.SendHelloAck();
  collector.SendModes(PaymentsDegraded(1));
  EXPECT_TRUE(PollUntil(client, [&] { return client.stats().modes_received == 1; }));
}

TEST_F(CollectorClientTest, SendsNoBatchUntilTheHelloIsAcknowledged) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(1));
  auto hello = collector.Receive(*client);
  ASSERT_TRUE(hello);
  ASSERT_TRUE(hello->has_hello());
  for (int i = 0; i < 10; ++i) client->Poll(milliseconds(5));
  EXPECT_FALSE(collector.TryReceive().has_value());
}

TEST_F(CollectorClientTest, SendsSpooledBatchesWithTheirSpoolSeqs) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(1));
  client->Offer(SpoolBatch(2));
  auto first = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  auto second = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->batch().seq(), 1u);
  EXPECT_EQ(second->batch().seq(), 2u);
  auto spooled = spool_->Read(2);
  ASSERT_TRUE(spooled.ok());
  EXPECT_EQ(second->batch().SerializeAsString(), spooled->SerializeAsString());
}

TEST_F(CollectorClientTest, AcknowledgedBatchIsDoneOnce) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(1));
  auto batch = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(batch);
  EXPECT_EQ(client->stats().pending, 1u);
  EXPECT_TRUE(done_.empty());
  collector.SendAck(batch->batch().seq());
  collector.SendAck(batch->batch().seq());  // A late duplicate changes nothing.
  EXPECT_TRUE(PollUntil(*client, [&] { return client->stats().pending == 0; }));
  for (int i = 0; i < 10; ++i) client->Poll(milliseconds(5));
  EXPECT_EQ(done_, (std::vector<uint64_t>{1}));
  EXPECT_EQ(client->stats().batches_acked, 1u);
  // Removing the batch is the owner's decision, not the client's.
  EXPECT_EQ(spool_->batches().size(), 1u);
}

TEST_F(CollectorClientTest, ResendsBatchAfterAckTimeout) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(7));
  auto first = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(first);
  clock_.Advance(milliseconds(1001));
  auto again = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->batch().seq(), first->batch().seq());
  EXPECT_EQ(again->batch().SerializeAsString(), first->batch().SerializeAsString());
  EXPECT_EQ(client->stats().batches_resent, 1u);
  EXPECT_TRUE(done_.empty());
}

TEST_F(CollectorClientTest, DoesNotResendBeforeAckTimeout) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(7));
  ASSERT_TRUE(collector.ReceiveKind(*client, wire::Envelope::kBatch));
  clock_.Advance(milliseconds(999));
  for (int i = 0; i < 10; ++i) client->Poll(milliseconds(5));
  EXPECT_EQ(client->stats().batches_resent, 0u);
  EXPECT_FALSE(collector.TryReceive().has_value());
}

TEST_F(CollectorClientTest, SaysHelloAgainAndResendsWhenCollectorForgotIt) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(3));
  auto batch = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(batch);
  // As after a collector restart: the batch is refused until a new Hello.
  collector.SendError(wire::Error::HELLO_REQUIRED, batch->batch().seq());
  auto hello = collector.Receive(*client);
  ASSERT_TRUE(hello);
  EXPECT_TRUE(hello->has_hello());
  EXPECT_FALSE(client->stats().connected);
  collector.SendHelloAck();
  auto resent = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(resent);
  EXPECT_EQ(resent->batch().seq(), batch->batch().seq());
  EXPECT_TRUE(done_.empty());
}

TEST_F(CollectorClientTest, BatchTheCollectorRefusesAsInvalidIsDoneAndCounted) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(3));
  auto batch = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(batch);
  collector.SendError(wire::Error::INVALID_BATCH, batch->batch().seq());
  EXPECT_TRUE(PollUntil(*client, [&] { return client->stats().pending == 0; }));
  EXPECT_EQ(done_, (std::vector<uint64_t>{batch->batch().seq()}));
  EXPECT_EQ(client->stats().batches_rejected, 1u);
  EXPECT_EQ(client->stats().batches_acked, 0u);
}

TEST_F(CollectorClientTest, ReplayIsRateLimitedAndInSeqOrder) {
  FakeCollector collector;
  ClientOptions options = Options(collector.endpoint());
  options.max_batches_per_second = 5;
  options.max_in_flight = 100;                 // The rate, not the window, is the limit here.
  options.ack_timeout = milliseconds(60'000);  // No resends within the test.
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  // As after an outage: 20 batches wait in the spool.
  for (int i = 1; i <= 20; ++i) client->Offer(SpoolBatch(i));

  auto first = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(first);
  std::vector<uint64_t> sent = {first->batch().seq()};
  // With the clock standing still, at most one second's worth goes out.
  for (uint64_t seq : collector.ReceiveBatchesUntilQuiet(*client, milliseconds(200))) {
    sent.push_back(seq);
  }
  const size_t burst = sent.size();
  EXPECT_LE(burst, 5u);

  // As the clock advances by one second, about five more go out.
  for (int step = 0; step < 10; ++step) {
    clock_.Advance(milliseconds(100));
    for (uint64_t seq : collector.ReceiveBatchesUntilQuiet(*client, milliseconds(20))) {
      sent.push_back(seq);
    }
  }
  for (uint64_t seq : collector.ReceiveBatchesUntilQuiet(*client, milliseconds(200))) {
    sent.push_back(seq);
  }
  EXPECT_GE(sent.size(), burst + 4) << "burst " << burst;
  EXPECT_LE(sent.size(), 5u + 6u) << "burst " << burst;

  // Oldest first, each once.
  std::vector<uint64_t> expected(sent.size());
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(sent, expected);
  EXPECT_EQ(client->stats().pending, 20u);
}

TEST_F(CollectorClientTest, SkipsBatchesDroppedFromTheSpoolMeanwhile) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(1));
  client->Offer(SpoolBatch(2));
  client->Offer(SpoolBatch(3));
  // As a full spool does to its oldest batches while the collector is away.
  ASSERT_TRUE(spool_->Remove(1).ok());
  ASSERT_TRUE(spool_->Remove(2).ok());

  auto batch = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->batch().seq(), 3u);
  EXPECT_TRUE(collector.ReceiveBatchesUntilQuiet(*client, milliseconds(100)).empty());
  EXPECT_EQ(client->stats().pending, 1u);
  EXPECT_TRUE(done_.empty());
}

TEST_F(CollectorClientTest, SkippingDroppedBatchesCostsNoReplayBudget) {
  FakeCollector collector;
  ClientOptions options = Options(collector.endpoint());
  options.max_batches_per_second = 1;
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  client->Offer(SpoolBatch(1));
  client->Offer(SpoolBatch(2));
  client->Offer(SpoolBatch(3));
  ASSERT_TRUE(spool_->Remove(1).ok());
  ASSERT_TRUE(spool_->Remove(2).ok());

  // With the clock standing still there is one send; it goes to batch 3.
  auto batch = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->batch().seq(), 3u);
}

TEST_F(CollectorClientTest, RejectsMalformedEndpoint) {
  ClientOptions options;
  options.endpoint = "not-an-endpoint";
  options.agent_id = "a";
  auto client = CollectorClient::Create(options, *spool_, clock_, nullptr);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace vitals::agent
