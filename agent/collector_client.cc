#include "agent/collector_client.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "common/version.h"
#include "common/wire.h"

namespace vitals::agent {
namespace {

uint64_t RandomSessionId() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

std::string HostName() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

}  // namespace

// Reports connection changes so the client says Hello as soon as a collector
// is reachable, instead of waiting out its retry back-off.
class CollectorClient::ConnectionMonitor final : public zmq::monitor_t {
 public:
  explicit ConnectionMonitor(CollectorClient& client) : client_(client) {}
  void on_event_handshake_succeeded(const zmq_event_t&, const char*) override {
    client_.OnConnected();
  }
  void on_event_disconnected(const zmq_event_t&, const char*) override {
    client_.OnDisconnected();
  }

 private:
  CollectorClient& client_;
};

CollectorClient::CollectorClient(const ClientOptions& options, const Clock& clock)
    : options_(options),
      clock_(clock),
      session_id_(RandomSessionId()),
      log_limiter_(clock, std::chrono::seconds(30)),
      context_(1),
      socket_(context_, zmq::socket_type::dealer),
      backoff_(options.initial_retry_backoff) {}

Result<std::unique_ptr<CollectorClient>> CollectorClient::Create(const ClientOptions& options,
                                                                 const Clock& clock) {
  std::unique_ptr<CollectorClient> client(new CollectorClient(options, clock));
  try {
    zmq::socket_t& s = client->socket_;
    // Queue messages only on completed connections: while the collector is
    // down a send fails at once and the batch stays in our queue, where it is
    // counted and bounded, instead of in a ZeroMQ pipe where it is neither.
    s.set(zmq::sockopt::immediate, 1);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::reconnect_ivl, 100);
    s.set(zmq::sockopt::reconnect_ivl_max,
          static_cast<int>(std::min<int64_t>(options.max_retry_backoff.count(), INT32_MAX)));
    s.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(1 << 20));
    client->monitor_ = std::make_unique<ConnectionMonitor>(*client);
    client->monitor_->init(s, "inproc://agent-monitor-" + std::to_string(client->session_id_),
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
    s.connect(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("collector endpoint " + options.endpoint + ": " + e.what());
  }
  return client;
}

CollectorClient::~CollectorClient() {
  monitor_.reset();
  socket_.close();
  context_.close();
}

void CollectorClient::Enqueue(wire::Batch batch) {
  batch.set_seq(next_seq_++);
  pending_.push_back(Pending{std::move(batch), -1});
  while (pending_.size() > options_.max_pending_batches) {
    ++stats_.batches_dropped;
    uint64_t suppressed = 0;
    if (log_limiter_.Allow("dropped", &suppressed)) {
      LOG_WARN << "collector unreachable and " << options_.max_pending_batches
               << " batches queued: dropping the oldest (" << stats_.batches_dropped
               << " dropped so far)";
    }
    pending_.pop_front();
  }
  stats_.pending = pending_.size();
}

void CollectorClient::OnConnected() {
  LOG_DEBUG << "connection to " << options_.endpoint << " established";
  backoff_ = options_.initial_retry_backoff;
  retry_at_ms_ = 0;
  hello_acked_ = false;
  hello_sent_at_ms_ = -1;
}

void CollectorClient::OnDisconnected() {
  if (stats_.connected) LOG_WARN << "lost connection to collector " << options_.endpoint;
  stats_.connected = false;
  hello_acked_ = false;
  hello_sent_at_ms_ = -1;
  ForgetSent();
}

void CollectorClient::Poll(std::chrono::milliseconds timeout) {
  while (monitor_->check_event(0)) {
  }
  SendDue();
  zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, 1, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) LOG_ERROR << "poll: " << e.what();
    return;
  }
  while (monitor_->check_event(0)) {
  }
  if (items[0].revents & ZMQ_POLLIN) {
    zmq::message_t msg;
    while (true) {
      try {
        if (!socket_.recv(msg, zmq::recv_flags::dontwait)) break;
      } catch (const zmq::error_t& e) {
        LOG_ERROR << "receive: " << e.what();
        break;
      }
      HandleReply(msg);
    }
  }
  SendDue();
}

bool CollectorClient::TrySend(const wire::Envelope& envelope) {
  std::string payload = envelope.SerializeAsString();
  try {
    if (socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait)) return true;
  } catch (const zmq::error_t& e) {
    LOG_ERROR << "send: " << e.what();
  }
  return false;  // No connected collector (ZMQ_IMMEDIATE) or queue full.
}

void CollectorClient::BackOff() {
  retry_at_ms_ = clock_.NowMillis() + backoff_.count();
  backoff_ = std::min(backoff_ * 2, options_.max_retry_backoff);
}

void CollectorClient::ForgetSent() {
  for (Pending& p : pending_) p.sent_at_ms = -1;
}

void CollectorClient::SendDue() {
  int64_t now = clock_.NowMillis();
  if (now < retry_at_ms_) return;

  if (!hello_acked_) {
    if (hello_sent_at_ms_ >= 0 && now - hello_sent_at_ms_ < options_.ack_timeout.count()) return;
    wire::Envelope env = wirecodec::NewEnvelope();
    wire::Hello* hello = env.mutable_hello();
    hello->set_agent_id(options_.agent_id);
    for (const Label& l : options_.labels) {
      wire::Label* wl = hello->add_labels();
      wl->set_name(l.name);
      wl->set_value(l.value);
    }
    hello->set_agent_version(std::string(kVersion) + " (" + kRevision + ")");
    hello->set_hostname(HostName());
    hello->set_session_id(session_id_);
    hello->set_interval_ms(static_cast<uint32_t>(options_.interval.count()));
    if (!TrySend(env)) {
      BackOff();
      return;
    }
    if (hello_sent_at_ms_ >= 0) BackOff();  // A Hello went unanswered: back off.
    hello_sent_at_ms_ = now;
    return;
  }

  size_t in_flight = 0;
  for (Pending& p : pending_) {
    if (in_flight >= options_.max_in_flight) break;
    ++in_flight;
    bool never_sent = p.sent_at_ms < 0;
    if (!never_sent && now - p.sent_at_ms < options_.ack_timeout.count()) continue;
    wire::Envelope env = wirecodec::NewEnvelope();
    *env.mutable_batch() = p.batch;
    if (!TrySend(env)) {
      stats_.connected = false;
      BackOff();
      return;
    }
    if (!never_sent) {
      ++stats_.batches_resent;
      BackOff();  // An unanswered batch: the collector may be struggling.
    }
    p.sent_at_ms = now;
  }
}

void CollectorClient::HandleReply(const zmq::message_t& msg) {
  wire::Envelope env;
  if (!env.ParseFromArray(msg.data(), static_cast<int>(msg.size())) ||
      env.protocol_major() != static_cast<uint32_t>(kProtocolMajor)) {
    LOG_WARN << "ignoring an undecodable reply from the collector";
    return;
  }
  // Any sensible reply means the collector is there: stop backing off.
  backoff_ = options_.initial_retry_backoff;
  retry_at_ms_ = 0;
  switch (env.body_case()) {
    case wire::Envelope::kHelloAck:
      if (!hello_acked_) {
        LOG_INFO << "connected to collector " << options_.endpoint << " (version "
                 << env.hello_ack().collector_version() << ")";
      }
      hello_acked_ = true;
      stats_.connected = true;
      ForgetSent();  // Resend in-flight batches on this connection.
      break;
    case wire::Envelope::kAck:
      for (uint64_t seq : env.ack().seqs()) OnAck(seq);
      break;
    case wire::Envelope::kError:
      OnError(env.error());
      break;
    default:
      LOG_WARN << "ignoring an unexpected reply kind from the collector";
  }
}

void CollectorClient::OnAck(uint64_t seq) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [seq](const Pending& p) { return p.batch.seq() == seq; });
  if (it == pending_.end()) return;  // A late ack for a resent batch.
  pending_.erase(it);
  ++stats_.batches_acked;
  stats_.pending = pending_.size();
}

void CollectorClient::OnError(const wire::Error& error) {
  switch (error.code()) {
    case wire::Error::HELLO_REQUIRED:
      // The collector restarted or the connection was re-established.
      hello_acked_ = false;
      hello_sent_at_ms_ = -1;
      stats_.connected = false;
      ForgetSent();
      return;
    case wire::Error::STORAGE_FAILED:
      LOG_WARN << "collector could not store batch " << error.seq() << ": " << error.message()
               << "; will resend";
      BackOff();
      return;
    case wire::Error::INVALID_BATCH:
    case wire::Error::TOO_LARGE: {
      // Resending the same bytes cannot succeed: drop the batch and say so.
      LOG_ERROR << "collector refused batch " << error.seq() << " for good: " << error.message();
      ++stats_.batches_rejected;
      auto it = std::find_if(pending_.begin(), pending_.end(),
                             [&](const Pending& p) { return p.batch.seq() == error.seq(); });
      if (it != pending_.end()) pending_.erase(it);
      stats_.pending = pending_.size();
      return;
    }
    default:
      LOG_ERROR << "collector error " << wire::Error::Code_Name(error.code()) << ": "
                << error.message();
      BackOff();
  }
}

}  // namespace vitals::agent
