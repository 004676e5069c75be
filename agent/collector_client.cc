#include "agent/collector_client.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "common/host_name.h"
#include "common/version.h"
#include "common/wire.h"

namespace vitals::agent {
namespace {

uint64_t NextMonitorId() {
  static std::atomic<uint64_t> next{1};
  return next++;
}

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// The encoded Envelope carrying the batch encoded as `batch`. Protobuf
// encodes an embedded message as its field's tag, its length and its bytes,
// so the spooled bytes are wrapped as they are, without decoding them.
std::string EnvelopeOfBatch(const std::string& batch) {
  constexpr uint32_t kLengthDelimited = 2;
  std::string out = wirecodec::NewEnvelope().SerializeAsString();
  AppendVarint((wire::Envelope::kBatchFieldNumber << 3) | kLengthDelimited, &out);
  AppendVarint(batch.size(), &out);
  out += batch;
  return out;
}

}  // namespace

// The DEALER's connection events, from libzmq's socket monitor, read from an
// inproc PAIR socket that Poll waits on together with the DEALER: the client
// says Hello as soon as a collector is reachable, without waking up
// periodically to look.
class CollectorClient::ConnectionMonitor {
 public:
  // Starts monitoring `socket` for `events` over `endpoint` (inproc://).
  // Throws zmq::error_t.
  ConnectionMonitor(zmq::context_t& context, zmq::socket_t& socket, const std::string& endpoint,
                    int events)
      : monitored_(socket.handle()) {
    if (zmq_socket_monitor(monitored_, endpoint.c_str(), events) != 0) throw zmq::error_t();
    pair_ = zmq::socket_t(context, zmq::socket_type::pair);
    pair_.connect(endpoint);
  }
  ~ConnectionMonitor() { zmq_socket_monitor(monitored_, nullptr, 0); }
  ConnectionMonitor(const ConnectionMonitor&) = delete;
  ConnectionMonitor& operator=(const ConnectionMonitor&) = delete;

  zmq::socket_t& socket() { return pair_; }

  // Reads one event without waiting; false if there is none.
  bool Read(uint16_t* event, std::string* address) {
    zmq::message_t head;
    zmq::message_t where;
    try {
      if (!pair_.recv(head, zmq::recv_flags::dontwait)) return false;
      // The second frame follows the first at once.
      if (!pair_.recv(where, zmq::recv_flags::none)) return false;
    } catch (const zmq::error_t&) {
      return false;  // The context is shutting down.
    }
    if (head.size() < sizeof(uint16_t)) return false;
    std::memcpy(event, head.data(), sizeof(uint16_t));
    *address = where.to_string();
    return true;
  }

 private:
  void* const monitored_;  // The DEALER; outlives this monitor.
  zmq::socket_t pair_;
};

CollectorClient::CollectorClient(const ClientOptions& options, Spool& spool, const Clock& clock,
                                 DoneCallback on_done, ModesCallback on_modes)
    : options_(options),
      spool_(spool),
      clock_(clock),
      on_done_(std::move(on_done)),
      on_modes_(std::move(on_modes)),
      monitor_id_(NextMonitorId()),
      context_(1),
      socket_(context_, zmq::socket_type::dealer),
      backoff_(options.initial_retry_backoff),
      send_tokens_(std::max(1.0, options.max_batches_per_second)) {}

Result<std::unique_ptr<CollectorClient>> CollectorClient::Create(const ClientOptions& options,
                                                                 Spool& spool, const Clock& clock,
                                                                 DoneCallback on_done,
                                                                 ModesCallback on_modes) {
  std::unique_ptr<CollectorClient> client(
      new CollectorClient(options, spool, clock, std::move(on_done), std::move(on_modes)));
  try {
    zmq::socket_t& s = client->socket_;
    // Queue messages only on completed connections: while the collector is
    // down a send fails at once and the batch simply stays in the spool.
    s.set(zmq::sockopt::immediate, 1);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::reconnect_ivl, 100);
    s.set(zmq::sockopt::reconnect_ivl_max,
          static_cast<int>(std::min<int64_t>(options.max_retry_backoff.count(), INT32_MAX)));
    s.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(1 << 20));
    if (options.curve.enabled()) {
      s.set(zmq::sockopt::curve_serverkey, options.curve.server_public_key);
      s.set(zmq::sockopt::curve_publickey, options.curve.public_key);
      s.set(zmq::sockopt::curve_secretkey, options.curve.secret_key);
    }
    client->monitor_ = std::make_unique<ConnectionMonitor>(
        client->context_, s, "inproc://agent-monitor-" + std::to_string(client->monitor_id_),
        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    s.connect(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("collector " + options.endpoint + ": " + e.what());
  }
  return client;
}

CollectorClient::~CollectorClient() {
  monitor_.reset();
  socket_.close();
  context_.close();
}

void CollectorClient::Offer(uint64_t seq) {
  pending_.push_back(Pending{seq, -1});
  stats_.pending = pending_.size();
}

void CollectorClient::OnConnected() {
  LOG_DEBUG << "connection to " << options_.endpoint << " established";
  // Say Hello now rather than after the back-off. The Hello state itself was
  // reset by the disconnect that preceded this connection; resetting it here
  // too would send a second Hello when the first went out before this event
  // was processed.
  reconnect_at_ms_ = -1;
  backoff_ = options_.initial_retry_backoff;
  retry_at_ms_ = 0;
}

void CollectorClient::OnDisconnected() {
  if (stats_.connected) LOG_WARN << "lost connection to collector " << options_.endpoint;
  stats_.connected = false;
  hello_acked_ = false;
  hello_sent_at_ms_ = -1;
  ForgetSent();
}

void CollectorClient::OnHandshakeRefused() {
  if (reconnect_at_ms_ >= 0) return;
  reconnect_at_ms_ = clock_.NowMillis() + backoff_.count();
  backoff_ = std::min(backoff_ * 2, options_.max_retry_backoff);
}

void CollectorClient::ReconnectIfDue() {
  if (reconnect_at_ms_ < 0 || clock_.NowMillis() < reconnect_at_ms_) return;
  reconnect_at_ms_ = -1;
  try {
    socket_.disconnect(options_.endpoint);
    socket_.connect(options_.endpoint);
  } catch (const zmq::error_t& e) {
    LOG_ERROR << "reconnecting to " << options_.endpoint << ": " << e.what();
  }
}

int64_t CollectorClient::NextWakeMillis() const {
  const int64_t now = clock_.NowMillis();
  int64_t next = INT64_MAX;
  if (reconnect_at_ms_ >= 0) next = reconnect_at_ms_;
  if (now < retry_at_ms_) return std::min(next, retry_at_ms_);
  if (!hello_acked_) {
    return std::min(next, hello_sent_at_ms_ < 0 ? now
                                                : hello_sent_at_ms_ + options_.ack_timeout.count());
  }
  size_t in_flight = 0;
  for (const Pending& p : pending_) {
    if (in_flight++ >= options_.max_in_flight) break;
    if (p.sent_at_ms < 0) {
      // Due now, or when the replay rate allows the next send.
      double missing = std::max(0.0, 1 - send_tokens_);
      return std::min(next, tokens_at_ms_ + static_cast<int64_t>(
                                                missing * 1000 / options_.max_batches_per_second));
    }
    next = std::min(next, p.sent_at_ms + options_.ack_timeout.count());
  }
  return next;
}

void CollectorClient::HandleConnectionEvents() {
  uint16_t event = 0;
  std::string address;
  while (monitor_->Read(&event, &address)) {
    switch (event) {
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        OnConnected();
        break;
      case ZMQ_EVENT_DISCONNECTED:
        OnDisconnected();
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        LOG_ERROR << "collector " << address
                  << " refused this agent's key (CURVE authentication failed); is its public key "
                     "in the collector's allowed_agents_dir?";
        OnHandshakeRefused();
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        LOG_ERROR << "handshake with collector " << address
                  << " failed (do both sides agree on CURVE being on?)";
        OnHandshakeRefused();
        break;
      default:
        break;
    }
  }
}

void CollectorClient::HandleReplies() {
  zmq::message_t msg;
  while (true) {
    try {
      if (!socket_.recv(msg, zmq::recv_flags::dontwait)) return;
    } catch (const zmq::error_t& e) {
      LOG_ERROR << "receive: " << e.what();
      return;
    }
    HandleReply(msg);
  }
}

void CollectorClient::Poll(std::chrono::milliseconds timeout, int wake_fd) {
  CollectorClient* self = this;
  PollAll(std::span(&self, 1), timeout, wake_fd);
}

void CollectorClient::PollAll(std::span<CollectorClient* const> clients,
                              std::chrono::milliseconds timeout, int wake_fd) {
  std::vector<zmq::pollitem_t> items;
  for (CollectorClient* client : clients) {
    client->HandleConnectionEvents();
    client->ReconnectIfDue();
    client->SendDue();
    items.push_back({client->socket_.handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({client->monitor_->socket().handle(), 0, ZMQ_POLLIN, 0});
  }
  if (wake_fd >= 0) items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
  try {
    zmq::poll(items, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) LOG_ERROR << "poll: " << e.what();
    return;
  }
  if (wake_fd >= 0 && (items.back().revents & ZMQ_POLLIN)) {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(wake_fd, &count, sizeof(count));
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    CollectorClient& client = *clients[i];
    if (items[2 * i + 1].revents & ZMQ_POLLIN) client.HandleConnectionEvents();
    if (items[2 * i].revents & ZMQ_POLLIN) client.HandleReplies();
    client.SendDue();
  }
}

bool CollectorClient::TrySend(const wire::Envelope& envelope) {
  return TrySend(envelope.SerializeAsString());
}

bool CollectorClient::TrySend(const std::string& payload) {
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

bool CollectorClient::TakeSendToken(int64_t now) {
  const double rate = options_.max_batches_per_second;
  const double burst = std::max(1.0, rate);
  send_tokens_ = std::min(burst, send_tokens_ + (now - tokens_at_ms_) * rate / 1000.0);
  tokens_at_ms_ = now;
  if (send_tokens_ < 1) return false;
  send_tokens_ -= 1;
  return true;
}

void CollectorClient::SendHelloIfDue(int64_t now) {
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
  hello->set_spool_id(options_.spool_id);
  hello->set_interval_ms(static_cast<uint32_t>(options_.interval.count()));
  for (const std::string& service : options_.services) hello->add_services(service);
  if (!TrySend(env)) {
    BackOff();
    return;
  }
  if (hello_sent_at_ms_ >= 0) BackOff();  // A Hello went unanswered: back off.
  hello_sent_at_ms_ = now;
}

void CollectorClient::SendDue() {
  int64_t now = clock_.NowMillis();
  if (now < retry_at_ms_) return;
  if (!hello_acked_) {
    SendHelloIfDue(now);
    return;
  }
  size_t in_flight = 0;
  for (auto it = pending_.begin(); it != pending_.end() && in_flight < options_.max_in_flight;) {
    Pending& p = *it;
    bool never_sent = p.sent_at_ms < 0;
    if (!never_sent && now - p.sent_at_ms < options_.ack_timeout.count()) {
      ++in_flight;
      ++it;
      continue;
    }
    // Dropped from a full spool meanwhile: skipping it must not use up a send.
    if (!spool_.batches().contains(p.seq)) {
      it = pending_.erase(it);
      stats_.pending = pending_.size();
      continue;
    }
    if (!TakeSendToken(now)) return;
    auto batch = spool_.ReadEncoded(p.seq);
    if (!batch.ok() && batch.status().code() == Status::Code::kIOError) {
      LOG_ERROR << "spool: " << batch.status().ToString() << "; will retry";
      BackOff();
      return;
    }
    if (!batch.ok()) {  // No longer in the spool (dropped or unreadable): nothing to send.
      it = pending_.erase(it);
      stats_.pending = pending_.size();
      continue;
    }
    if (!TrySend(EnvelopeOfBatch(*batch))) {
      stats_.connected = false;
      BackOff();
      return;
    }
    if (!never_sent) {
      ++stats_.batches_resent;
      BackOff();  // An unanswered batch: the collector may be struggling.
    }
    p.sent_at_ms = now;
    ++in_flight;
    ++it;
  }
}

void CollectorClient::HandleReply(const zmq::message_t& msg) {
  wire::Envelope env;
  if (!env.ParseFromArray(msg.data(), static_cast<int>(msg.size())) ||
      env.protocol_major() != static_cast<uint32_t>(kProtocolMajor)) {
    LOG_WARN << "ignoring an undecodable reply from collector " << options_.endpoint;
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
      for (uint64_t seq : env.ack().seqs()) {
        if (std::any_of(pending_.begin(), pending_.end(),
                        [seq](const Pending& p) { return p.seq == seq; })) {
          ++stats_.batches_acked;
          Finish(seq);
        }
      }
      break;
    case wire::Envelope::kError:
      OnError(env.error());
      break;
    case wire::Envelope::kModes:
      // Unasked, at any time: after a HelloAck, and whenever a mode changes.
      LOG_DEBUG << "modes of " << env.modes().services_size() << " services (generation "
                << env.modes().generation() << ") from collector " << options_.endpoint;
      ++stats_.modes_received;
      if (on_modes_) on_modes_(env.modes());
      break;
    default:
      LOG_WARN << "ignoring an unexpected reply kind from collector " << options_.endpoint;
  }
}

void CollectorClient::Finish(uint64_t seq) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [seq](const Pending& p) { return p.seq == seq; });
  if (it == pending_.end()) return;  // A late reply for a batch already finished.
  pending_.erase(it);
  stats_.pending = pending_.size();
  if (on_done_) on_done_(seq);
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
      LOG_WARN << "collector " << options_.endpoint << " could not store batch " << error.seq()
               << ": " << error.message() << "; will resend";
      BackOff();
      return;
    case wire::Error::INVALID_BATCH:
    case wire::Error::TOO_LARGE:
      // Resending the same bytes cannot succeed: give the batch up and say so.
      LOG_ERROR << "collector " << options_.endpoint << " refused batch " << error.seq()
                << " for good: " << error.message();
      ++stats_.batches_rejected;
      Finish(error.seq());
      return;
    default:
      LOG_ERROR << "collector " << options_.endpoint << " error "
                << wire::Error::Code_Name(error.code()) << ": " << error.message();
      BackOff();
  }
}

}  // namespace vitals::agent
