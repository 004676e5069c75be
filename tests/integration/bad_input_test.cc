// What the collector does with input no agent should send: it answers with an
// Error envelope where it can, counts the rejection by reason, and keeps
// serving a real agent that is sending at the same time.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "proto/vitals.pb.h"
#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;

// For failure messages (the wire library is protobuf-lite: no DebugString).
std::string Describe(const wire::Error& error) {
  return "Error{code: " + wire::Error::Code_Name(error.code()) + ", message: \"" +
         error.message() + "\", seq: " + std::to_string(error.seq()) +
         ", supported_major: " + std::to_string(error.supported_major()) + "}";
}

std::string Describe(const wire::Envelope& envelope) {
  if (envelope.has_error()) return Describe(envelope.error());
  return "Envelope{major: " + std::to_string(envelope.protocol_major()) +
         ", body: " + std::to_string(envelope.body_case()) + "}";
}

// A DEALER connected to the collector's ingest endpoint, standing in for a
// misbehaving agent. Keep it alive until the collector has seen what it sent:
// closing it drops messages not yet delivered.
class RawDealer {
 public:
  explicit RawDealer(const std::string& endpoint) : socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 10000);
    socket_.connect(endpoint);
  }

  // Sends one message made of `frames`.
  void Send(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      socket_.send(zmq::buffer(frames[i]), flags);
    }
  }

  // The frames of the next reply, or an empty vector after 10s without one.
  std::vector<std::string> ReceiveFrames() {
    std::vector<std::string> frames;
    do {
      zmq::message_t part;
      if (!socket_.recv(part)) return {};
      frames.push_back(part.to_string());
    } while (socket_.get(zmq::sockopt::rcvmore));
    return frames;
  }

  // The next reply decoded as a single-frame Envelope.
  std::optional<wire::Envelope> ReceiveEnvelope() {
    std::vector<std::string> frames = ReceiveFrames();
    wire::Envelope envelope;
    if (frames.size() != 1 || !envelope.ParseFromString(frames[0])) return std::nullopt;
    return envelope;
  }

 private:
  zmq::context_t context_;
  zmq::socket_t socket_;
};

wire::Envelope HelloEnvelope(uint32_t major) {
  wire::Envelope envelope;
  envelope.set_protocol_major(major);
  wire::Hello* hello = envelope.mutable_hello();
  hello->set_agent_id("intruder");
  hello->set_agent_version("0.0.0 (test)");
  hello->set_hostname("localhost");
  hello->set_spool_id(42);
  hello->set_interval_ms(200);
  return envelope;
}

// A well-formed batch of one node_load1 sample.
wire::Envelope BatchEnvelope(uint64_t seq) {
  wire::Envelope envelope;
  envelope.set_protocol_major(wire::PROTOCOL_MAJOR);
  wire::Batch* batch = envelope.mutable_batch();
  batch->set_seq(seq);
  batch->add_strings("__name__");
  batch->add_strings("node_load1");
  wire::Series* series = batch->add_series();
  series->add_label_refs(0);
  series->add_label_refs(1);
  series->add_timestamps_ms(NowUnixMs());
  series->add_values(0.5);
  wire::MetricMetadata* metadata = batch->add_metadata();
  metadata->set_name("node_load1");
  metadata->set_type(wire::METRIC_TYPE_GAUGE);
  metadata->set_help("1m load average.");
  return envelope;
}

std::string Rejected(std::string_view reason) {
  return "vitals_ingest_rejected_total{reason=\"" + std::string(reason) + "\"}";
}

class BadInputTest : public ::testing::Test {
 protected:
  BadInputTest() : collector_(dir_) {}

  void SetUp() override {
    collector_.config().max_message_size = "64KiB";
    std::string error;
    ASSERT_TRUE(collector_.Start(&error)) << error;

    AgentConfig agent;
    agent.agent_id = "good-agent";
    agent.endpoint = collector_.config().IngestEndpoint();
    WriteAgentConfig(dir_.File("agent.yml"), agent);
    agent_ = StartProgram(AgentBinary(), dir_.File("agent.yml"), dir_.File("agent"), &error);
    ASSERT_NE(agent_, nullptr) << error;
    ASSERT_TRUE(WaitFor([&] { return Batches() > 0; }, kDeadline))
        << "the agent's batches never arrived\n"
        << collector_.Metrics();
  }

  // Whatever the test sent, the collector is still up and the real agent's
  // batches keep arriving.
  void TearDown() override {
    if (collector_.process() != nullptr && agent_ != nullptr) {
      EXPECT_TRUE(collector_.process()->IsRunning()) << "the collector died";
      const double batches = Batches();
      EXPECT_TRUE(WaitFor([&] { return Batches() > batches; }, kDeadline))
          << "the agent's batches stopped arriving after the bad input";
    }
    if (HasFailure()) {
      std::cerr << collector_.Output();
      if (agent_ != nullptr) std::cerr << agent_->Output();
    }
  }

  double Batches() const { return collector_.Metric("vitals_ingest_batches_total").value_or(0); }
  double RejectedCount(std::string_view reason) const {
    return collector_.Metric(Rejected(reason)).value_or(0);
  }

  // Waits until the count for `reason` is `before` + 1.
  void ExpectOneMoreRejection(std::string_view reason, double before) {
    EXPECT_TRUE(WaitFor([&] { return RejectedCount(reason) == before + 1; }, kDeadline))
        << Rejected(reason) << " was " << before << ", now " << RejectedCount(reason) << "\n"
        << collector_.Metrics();
  }

  // Sends one message and returns the Error the collector answered with.
  std::optional<wire::Error> SendAndReceiveError(const std::vector<std::string>& frames) {
    RawDealer dealer(collector_.config().IngestEndpoint());
    dealer.Send(frames);
    std::optional<wire::Envelope> reply = dealer.ReceiveEnvelope();
    if (!reply || !reply->has_error()) {
      ADD_FAILURE() << "no Error reply; got "
                    << (reply ? Describe(*reply) : std::string("nothing decodable"));
      return std::nullopt;
    }
    EXPECT_EQ(reply->protocol_major(), wire::PROTOCOL_MAJOR);
    return reply->error();
  }

  static std::string Garbage() { return std::string("\x07\xff\xfe not an envelope", 20); }

  static std::string TruncatedBatch() {
    wire::Envelope envelope = BatchEnvelope(1);
    for (int i = 0; i < 20; ++i)
      envelope.mutable_batch()->add_strings("padding-" + std::to_string(i));
    std::string bytes = envelope.SerializeAsString();
    return bytes.substr(0, bytes.size() / 2);
  }

  static std::vector<std::string> OversizedMessage() {
    return {std::string(30 * 1024, 'a'), std::string(30 * 1024, 'b'), std::string(30 * 1024, 'c')};
  }

  TempDir dir_;
  TestCollector collector_;
  std::unique_ptr<Process> agent_;
};

TEST_F(BadInputTest, GarbageFrameGetsMalformedError) {
  std::optional<wire::Error> error = SendAndReceiveError({Garbage()});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), wire::Error::MALFORMED) << Describe(*error);
}

TEST_F(BadInputTest, GarbageFrameCountsAsMalformed) {
  const double before = RejectedCount("malformed");
  RawDealer dealer(collector_.config().IngestEndpoint());
  dealer.Send({Garbage()});
  ExpectOneMoreRejection("malformed", before);
}

TEST_F(BadInputTest, TruncatedEnvelopeGetsMalformedError) {
  ASSERT_FALSE(wire::Envelope().ParseFromString(TruncatedBatch()));
  std::optional<wire::Error> error = SendAndReceiveError({TruncatedBatch()});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), wire::Error::MALFORMED) << Describe(*error);
}

TEST_F(BadInputTest, TruncatedEnvelopeCountsAsMalformed) {
  const double before = RejectedCount("malformed");
  RawDealer dealer(collector_.config().IngestEndpoint());
  dealer.Send({TruncatedBatch()});
  ExpectOneMoreRejection("malformed", before);
}

TEST_F(BadInputTest, UnsupportedMajorVersionGetsUnsupportedVersionError) {
  std::optional<wire::Error> error = SendAndReceiveError({HelloEnvelope(2).SerializeAsString()});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), wire::Error::UNSUPPORTED_VERSION) << Describe(*error);
  EXPECT_EQ(error->supported_major(), wire::PROTOCOL_MAJOR) << Describe(*error);
}

TEST_F(BadInputTest, UnsupportedMajorVersionCountsAsUnsupportedVersion) {
  const double before = RejectedCount("unsupported_version");
  RawDealer dealer(collector_.config().IngestEndpoint());
  dealer.Send({HelloEnvelope(2).SerializeAsString()});
  ExpectOneMoreRejection("unsupported_version", before);
}

TEST_F(BadInputTest, OversizedMultipartMessageGetsTooLargeError) {
  std::optional<wire::Error> error = SendAndReceiveError(OversizedMessage());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), wire::Error::TOO_LARGE) << Describe(*error);
}

TEST_F(BadInputTest, OversizedMultipartMessageCountsAsTooLarge) {
  const double before = RejectedCount("too_large");
  RawDealer dealer(collector_.config().IngestEndpoint());
  dealer.Send(OversizedMessage());
  ExpectOneMoreRejection("too_large", before);
}

TEST_F(BadInputTest, BatchWithoutHelloGetsHelloRequiredError) {
  std::optional<wire::Error> error = SendAndReceiveError({BatchEnvelope(7).SerializeAsString()});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), wire::Error::HELLO_REQUIRED) << Describe(*error);
  EXPECT_EQ(error->seq(), 7u) << Describe(*error);
}

TEST_F(BadInputTest, BatchWithoutHelloCountsAsHelloRequired) {
  const double before = RejectedCount("hello_required");
  RawDealer dealer(collector_.config().IngestEndpoint());
  dealer.Send({BatchEnvelope(7).SerializeAsString()});
  ExpectOneMoreRejection("hello_required", before);
}

TEST_F(BadInputTest, BatchWithoutHelloIsNotStored) {
  ASSERT_TRUE(SendAndReceiveError({BatchEnvelope(7).SerializeAsString()}).has_value());

  std::string federated = collector_.Federate("node_load1");
  for (const ExpositionSample& sample : ParseExposition(federated)) {
    EXPECT_EQ(sample.labels.count("agent") ? sample.labels.at("agent") : "", "good-agent")
        << sample.line;
  }
}

TEST_F(BadInputTest, RawTcpGarbageLeavesIngestServing) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(collector_.config().ingest_port));
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string garbage = "GET / HTTP/1.1\r\nHost: vitals\r\n\r\n";
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919) & 0xff);
  // The collector may hang up part-way; that is fine.
  (void)send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL);
  close(fd);

  std::optional<wire::Error> error = SendAndReceiveError({Garbage()});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), wire::Error::MALFORMED);
}

}  // namespace
}  // namespace vitals::testing
