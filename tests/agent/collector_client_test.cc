#include "agent/collector_client.h"

#include <gtest/gtest.h>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/clock.h"
#include "common/wire.h"

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

  // Receives the next envelope, letting `client` run meanwhile. Fails the
  // test after 5 s of real time with nothing received.
  std::optional<wire::Envelope> Receive(CollectorClient& client) {
    for (int i = 0; i < 250; ++i) {
      client.Poll(milliseconds(20));
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        continue;
      }
      EXPECT_EQ(frames.size(), 2u);
      routing_id_ = frames[0].to_string();
      wire::Envelope env;
      EXPECT_TRUE(env.ParseFromArray(frames[1].data(), static_cast<int>(frames[1].size())));
      return env;
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
  std::unique_ptr<CollectorClient> NewClient(const std::string& endpoint,
                                             size_t max_pending = 100) {
    ClientOptions options;
    options.endpoint = endpoint;
    options.agent_id = "web-01";
    options.labels = {{"env", "test"}};
    options.interval = milliseconds(1000);
    options.ack_timeout = milliseconds(1000);
    options.max_pending_batches = max_pending;
    auto client = CollectorClient::Create(options, clock_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(client).value();
  }

  static wire::Batch BatchWithOneSample(double value) {
    SampleSet set(1000);
    set.Add(MetricDesc{"node_load1", MetricType::kGauge, "1m load average."}, {}, value);
    wire::Batch batch;
    wirecodec::EncodeSamples(set, &batch);
    return batch;
  }

  FakeClock clock_;
};

TEST_F(CollectorClientTest, SaysHelloBeforeAnyBatch) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  client->Enqueue(BatchWithOneSample(1));
  auto first = collector.Receive(*client);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->has_hello());
  EXPECT_EQ(first->protocol_major(), 1u);
  EXPECT_EQ(first->hello().agent_id(), "web-01");
  EXPECT_EQ(first->hello().interval_ms(), 1000u);
  ASSERT_EQ(first->hello().labels_size(), 1);
  EXPECT_EQ(first->hello().labels(0).name(), "env");
}

TEST_F(CollectorClientTest, NumbersBatchesFromOne) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  client->Enqueue(BatchWithOneSample(1));
  client->Enqueue(BatchWithOneSample(2));
  auto first = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  auto second = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->batch().seq(), 1u);
  EXPECT_EQ(second->batch().seq(), 2u);
}

TEST_F(CollectorClientTest, ForgetsBatchOnceAcknowledged) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  client->Enqueue(BatchWithOneSample(1));
  auto batch = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(batch);
  EXPECT_EQ(client->stats().pending, 1u);
  collector.SendAck(batch->batch().seq());
  for (int i = 0; i < 250 && client->stats().pending != 0; ++i) client->Poll(milliseconds(20));
  EXPECT_EQ(client->stats().pending, 0u);
  EXPECT_EQ(client->stats().batches_acked, 1u);
}

TEST_F(CollectorClientTest, ResendsBatchAfterAckTimeout) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  client->Enqueue(BatchWithOneSample(7));
  auto first = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(first);
  clock_.Advance(milliseconds(1001));
  auto again = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->batch().seq(), first->batch().seq());
  EXPECT_EQ(again->batch().SerializeAsString(), first->batch().SerializeAsString());
  EXPECT_EQ(client->stats().batches_resent, 1u);
}

TEST_F(CollectorClientTest, DoesNotResendBeforeAckTimeout) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  client->Enqueue(BatchWithOneSample(7));
  ASSERT_TRUE(collector.ReceiveKind(*client, wire::Envelope::kBatch));
  clock_.Advance(milliseconds(999));
  for (int i = 0; i < 10; ++i) client->Poll(milliseconds(5));
  EXPECT_EQ(client->stats().batches_resent, 0u);
}

TEST_F(CollectorClientTest, SaysHelloAgainAndResendsWhenCollectorForgotIt) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  client->Enqueue(BatchWithOneSample(3));
  auto batch = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(batch);
  // As after a collector restart: the batch is refused until a new Hello.
  collector.SendError(wire::Error::HELLO_REQUIRED, batch->batch().seq());
  auto hello = collector.Receive(*client);
  ASSERT_TRUE(hello);
  EXPECT_TRUE(hello->has_hello());
  collector.SendHelloAck();
  auto resent = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(resent);
  EXPECT_EQ(resent->batch().seq(), batch->batch().seq());
}

TEST_F(CollectorClientTest, DropsBatchTheCollectorRefusesAsInvalid) {
  FakeCollector collector;
  auto client = NewClient(collector.endpoint());
  client->Enqueue(BatchWithOneSample(3));
  auto batch = collector.ReceiveKind(*client, wire::Envelope::kBatch);
  ASSERT_TRUE(batch);
  collector.SendError(wire::Error::INVALID_BATCH, batch->batch().seq());
  for (int i = 0; i < 250 && client->stats().pending != 0; ++i) client->Poll(milliseconds(20));
  EXPECT_EQ(client->stats().pending, 0u);
  EXPECT_EQ(client->stats().batches_rejected, 1u);
}

TEST_F(CollectorClientTest, DropsOldestBatchesWhenQueueIsFull) {
  // Nothing listens on port 1: every batch stays queued.
  auto client = NewClient("tcp://127.0.0.1:1", /*max_pending=*/2);
  client->Enqueue(BatchWithOneSample(1));
  client->Enqueue(BatchWithOneSample(2));
  client->Enqueue(BatchWithOneSample(3));
  EXPECT_EQ(client->stats().pending, 2u);
  EXPECT_EQ(client->stats().batches_dropped, 1u);
}

TEST_F(CollectorClientTest, RejectsMalformedEndpoint) {
  ClientOptions options;
  options.endpoint = "not-an-endpoint";
  options.agent_id = "a";
  EXPECT_FALSE(CollectorClient::Create(options, clock_).ok());
}

}  // namespace
}  // namespace vitals::agent
