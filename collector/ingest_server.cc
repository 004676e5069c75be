#include "collector/ingest_server.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "common/version.h"
#include "common/wire.h"

namespace vitals::collector {
namespace {

constexpr size_t kRecentSeqsPerAgent = 4096;
constexpr std::chrono::minutes kSessionIdleExpiry{10};
constexpr int kPollMillis = 100;
// Batches that arrive together are stored with one write, up to this many samples.
constexpr size_t kGroupCommitSamples = 50000;

// Counts ZMTP handshake failures: peers that do not speak ZeroMQ at all, or
// speak it wrongly. They never reach the application as messages.
class HandshakeMonitor final : public zmq::monitor_t {
 public:
  explicit HandshakeMonitor(std::function<void(const std::string&)> on_failure)
      : on_failure_(std::move(on_failure)) {}
  void on_event_handshake_failed_no_detail(const zmq_event_t&, const char* addr) override {
    on_failure_(std::string("handshake failed with ") + addr);
  }
  void on_event_handshake_failed_protocol(const zmq_event_t&, const char* addr) override {
    on_failure_(std::string("protocol error in handshake with ") + addr);
  }
  // Authentication failures are counted by the ZAP handler, as "unauthorized".

 private:
  std::function<void(const std::string&)> on_failure_;
};

}  // namespace

IngestServer::IngestServer(const IngestOptions& options, storage::Store& store,
                           CollectorMetrics& metrics, const Clock& clock)
    : options_(options),
      store_(store),
      metrics_(metrics),
      clock_(clock),
      log_limiter_(clock),
      context_(1),
      socket_(context_, zmq::socket_type::router) {}

Result<std::unique_ptr<IngestServer>> IngestServer::Start(const IngestOptions& options,
                                                          storage::Store& store,
                                                          CollectorMetrics& metrics,
                                                          const Clock& clock) {
  std::unique_ptr<IngestServer> server(new IngestServer(options, store, metrics, clock));
  try {
    // A single frame above the limit makes libzmq drop the connection before
    // the message is buffered; multi-frame totals are checked per message.
    server->socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options.max_message_size));
    server->socket_.set(zmq::sockopt::linger, 0);
    server->socket_.set(zmq::sockopt::router_mandatory, 0);
    server->socket_.set(zmq::sockopt::sndhwm, 10000);
    server->socket_.set(zmq::sockopt::rcvhwm, 10000);
    if (!options.curve_public_key.empty()) {
      server->zap_ = std::make_unique<ZapHandler>(server->context_, options.allowed_agents_dir, clock);
      server->socket_.set(zmq::sockopt::curve_server, 1);
      server->socket_.set(zmq::sockopt::curve_publickey, options.curve_public_key);
      server->socket_.set(zmq::sockopt::curve_secretkey, options.curve_secret_key);
    } else {
      LOG_WARN << "ingest: CURVE is off: agents are neither authenticated nor encrypted "
                  "(set ingest.curve outside a lab)";
    }
    server->socket_.bind(options.listen);
    server->endpoint_ = server->socket_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind ingest endpoint " + options.listen + ": " + e.what());
  }
  server->modes_event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (server->modes_event_fd_ < 0) return Status::IOError("eventfd failed");
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

IngestServer::~IngestServer() { Stop(); }

void IngestServer::Stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  socket_.close();
  zap_.reset();
  context_.close();
  if (modes_event_fd_ >= 0) close(modes_event_fd_);
  modes_event_fd_ = -1;
}

void IngestServer::NotifyModesChanged() {
  if (modes_event_fd_ < 0) return;
  uint64_t one = 1;
  // A full counter (never in practice) still leaves the fd readable.
  [[maybe_unused]] ssize_t n = write(modes_event_fd_, &one, sizeof one);
}

void IngestServer::PushModes(const std::string& routing_id, const Session& session) {
  if (!options_.modes_for || session.services.empty()) return;
  wire::Envelope envelope = wirecodec::NewEnvelope();
  *envelope.mutable_modes() = options_.modes_for(session.services);
  Reply(routing_id, envelope);
}

void IngestServer::Run() {
  HandshakeMonitor monitor([this](const std::string& detail) {
    metrics_.Rejected(RejectReason::kHandshakeFailed).Increment();
    uint64_t suppressed = 0;
    if (log_limiter_.Allow("handshake_failed", &suppressed)) {
      LOG_WARN << "ingest: rejected connection (reason=handshake_failed): " << detail
               << (suppressed ? " (" + std::to_string(suppressed) + " similar suppressed)" : "");
    }
  });
  const std::string monitor_endpoint =
      "inproc://ingest-monitor-" + std::to_string(reinterpret_cast<uintptr_t>(this));
  monitor.init(socket_, monitor_endpoint,
               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
  LOG_INFO << "ingest: listening on " << endpoint_;

  int64_t next_liveness_ms = 0;
  while (!stop_.load()) {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, modes_event_fd_, ZMQ_POLLIN, 0},
                               {zap_ ? zap_->socket().handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, zap_ ? 3 : 2, std::chrono::milliseconds(kPollMillis));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      LOG_ERROR << "ingest: poll failed: " << e.what();
      break;
    }
    if (zap_ && (items[2].revents & ZMQ_POLLIN)) HandleZap();
    if (items[1].revents & ZMQ_POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = read(modes_event_fd_, &count, sizeof count);
      for (const auto& [routing_id, session] : sessions_) PushModes(routing_id, session);
    }
    // Drain everything that is ready before looking at the clock again.
    while (items[0].revents & ZMQ_POLLIN) {
      std::vector<zmq::message_t> frames;
      try {
        auto received = zmq::recv_multipart(socket_, std::back_inserter(frames),
                                            zmq::recv_flags::dontwait);
        if (!received) break;
      } catch (const zmq::error_t& e) {
        LOG_ERROR << "ingest: receive failed: " << e.what();
        break;
      }
      if (frames.empty()) continue;
      std::string routing_id = frames.front().to_string();
      frames.erase(frames.begin());
      HandleMessage(routing_id, frames);
    }
    CommitPending();
    while (monitor.check_event(0)) {
    }
    int64_t now = clock_.NowMillis();
    if (now >= next_liveness_ms) {
      UpdateLiveness();
      next_liveness_ms = now + 1000;
    }
  }
  LOG_INFO << "ingest: stopped";
}

void IngestServer::HandleMessage(const std::string& routing_id,
                                 std::vector<zmq::message_t>& frames) {
  size_t total = 0;
  for (const auto& f : frames) total += f.size();
  if (total > options_.max_message_size) {
    Reject(routing_id, RejectReason::kTooLarge, wire::Error::TOO_LARGE,
           "message of " + std::to_string(total) + " bytes exceeds max_message_size " +
               std::to_string(options_.max_message_size),
           0);
    return;
  }
  if (frames.size() != 1) {
    Reject(routing_id, RejectReason::kMalformed, wire::Error::MALFORMED,
           "expected 1 frame, got " + std::to_string(frames.size()), 0);
    return;
  }
  // Parsed on an arena: a batch is thousands of small objects, allocated and
  // freed in one piece instead of one malloc each.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = std::max<size_t>(4096, frames[0].size() * 2);
  arena_options.max_block_size = std::max<size_t>(64 << 10, frames[0].size() * 2);
  auto arena = std::make_unique<google::protobuf::Arena>(arena_options);
  auto* envelope = google::protobuf::Arena::CreateMessage<wire::Envelope>(arena.get());
  if (!envelope->ParseFromArray(frames[0].data(), static_cast<int>(frames[0].size()))) {
    Reject(routing_id, RejectReason::kMalformed, wire::Error::MALFORMED,
           "not a protocol buffer Envelope", 0);
    return;
  }
  if (envelope->protocol_major() == 0) {
    Reject(routing_id, RejectReason::kMalformed, wire::Error::MALFORMED,
           "envelope has no protocol version", 0);
    return;
  }
  if (envelope->protocol_major() != static_cast<uint32_t>(kProtocolMajor)) {
    Reject(routing_id, RejectReason::kUnsupportedVersion, wire::Error::UNSUPPORTED_VERSION,
           "protocol major version " + std::to_string(envelope->protocol_major()) +
               " is not supported; this collector speaks " + std::to_string(kProtocolMajor),
           0);
    return;
  }
  switch (envelope->body_case()) {
    case wire::Envelope::kHello:
      HandleHello(routing_id, envelope->hello());
      return;
    case wire::Envelope::kBatch:
      HandleBatch(routing_id, std::move(arena), *envelope);
      return;
    default:
      Reject(routing_id, RejectReason::kMalformed, wire::Error::MALFORMED,
             "unexpected message kind from an agent", 0);
  }
}

void IngestServer::HandleHello(const std::string& routing_id, const wire::Hello& hello) {
  const std::string& agent_id = hello.agent_id();
  if (agent_id.empty() || agent_id.size() > 256 || !IsValidUtf8(agent_id)) {
    Reject(routing_id, RejectReason::kInvalidHello, wire::Error::INVALID_HELLO,
           "agent_id must be 1 to 256 bytes of UTF-8", 0);
    return;
  }
  Labels labels;
  for (const wire::Label& l : hello.labels()) {
    if (!IsValidLabelName(l.name()) || l.name().starts_with("__") || !IsValidUtf8(l.value())) {
      Reject(routing_id, RejectReason::kInvalidHello, wire::Error::INVALID_HELLO,
             "agent " + agent_id + ": invalid label \"" + l.name() + "\"", 0);
      return;
    }
    labels.push_back(Label{l.name(), l.value()});
  }
  if (hello.services_size() > 1024) {
    Reject(routing_id, RejectReason::kInvalidHello, wire::Error::INVALID_HELLO,
           "agent " + agent_id + ": more than 1024 services", 0);
    return;
  }
  for (const std::string& service : hello.services()) {
    if (service.empty() || service.size() > 256 || !IsValidUtf8(service)) {
      Reject(routing_id, RejectReason::kInvalidHello, wire::Error::INVALID_HELLO,
             "agent " + agent_id + ": a service name must be 1 to 256 bytes of UTF-8", 0);
      return;
    }
  }
  Canonicalize(&labels);
  SetLabel(&labels, "agent", agent_id);
  SetLabel(&labels, "instance", agent_id);

  Session& session = sessions_[routing_id];
  session.agent_id = agent_id;
  session.spool_id = hello.spool_id();
  session.labels = std::make_shared<const Labels>(std::move(labels));
  session.interval = std::chrono::milliseconds(hello.interval_ms());
  session.services.assign(hello.services().begin(), hello.services().end());
  session.last_seen_ms = clock_.NowMillis();
  metrics_.agent_last_seen.Add({{"agent", agent_id}}).Set(session.last_seen_ms / 1000.0);
  LOG_INFO << "ingest: agent " << agent_id << " connected (version " << hello.agent_version()
           << ", host " << hello.hostname() << ")";

  wire::Envelope reply = wirecodec::NewEnvelope();
  reply.mutable_hello_ack()->set_collector_version(std::string(kVersion) + " (" + kRevision + ")");
  Reply(routing_id, reply);
  // Whatever the agent missed while it was away (or we restarted).
  PushModes(routing_id, session);
}

void IngestServer::HandleBatch(const std::string& routing_id,
                               std::unique_ptr<google::protobuf::Arena> arena,
                               const wire::Envelope& envelope) {
  const wire::Batch& batch = envelope.batch();
  auto it = sessions_.find(routing_id);
  if (it == sessions_.end()) {
    Reject(routing_id, RejectReason::kHelloRequired, wire::Error::HELLO_REQUIRED,
           "batch " + std::to_string(batch.seq()) + " before hello on this connection",
           batch.seq());
    return;
  }
  Session& session = it->second;
  session.last_seen_ms = clock_.NowMillis();
  metrics_.agent_last_seen.Add({{"agent", session.agent_id}}).Set(session.last_seen_ms / 1000.0);

  wire::Envelope ack = wirecodec::NewEnvelope();
  ack.mutable_ack()->add_seqs(batch.seq());
  std::set<uint64_t>& recent_seqs = recent_seqs_[{session.agent_id, session.spool_id}];
  if (recent_seqs.contains(batch.seq())) {
    metrics_.duplicate_batches.Increment();
    Reply(routing_id, ack);
    return;
  }
  auto decoded = wirecodec::DecodeBatch(batch, *session.labels);
  if (!decoded.ok()) {
    Reject(routing_id, RejectReason::kInvalidBatch, wire::Error::INVALID_BATCH,
           "agent " + session.agent_id + " batch " + std::to_string(batch.seq()) + ": " +
               decoded.status().message(),
           batch.seq());
    return;
  }
  pending_samples_ += decoded->num_samples;
  const uint64_t seq = batch.seq();
  pending_.push_back(PendingBatch{routing_id, session.agent_id, session.spool_id, seq,
                                  std::move(arena), session.labels,
                                  std::move(decoded).value()});
  if (pending_samples_ >= kGroupCommitSamples) CommitPending();
}

void IngestServer::CommitPending() {
  if (pending_.empty()) return;
  // One durable write for every batch that arrived together: the fsync is
  // shared, and each batch is acknowledged once it is done.
  std::vector<SeriesSamples> series;
  std::vector<MetricDesc> metadata;
  size_t num_series = 0;
  for (const PendingBatch& p : pending_) num_series += p.decoded.series.size();
  series.reserve(num_series);
  for (PendingBatch& p : pending_) {
    series.insert(series.end(), p.decoded.series.begin(), p.decoded.series.end());
    std::move(p.decoded.metadata.begin(), p.decoded.metadata.end(), std::back_inserter(metadata));
  }
  auto stored = AppendCounted(store_, metrics_, series, metadata);
  std::vector<PendingBatch> batches = std::move(pending_);
  pending_.clear();
  pending_samples_ = 0;
  if (!stored.ok()) {
    for (const PendingBatch& p : batches) {
      Reject(p.routing_id, RejectReason::kStorageFailed, wire::Error::STORAGE_FAILED,
             stored.status().ToString(), p.seq);
    }
    return;
  }
  LogStorageRejections(batches.front().agent_id, batches.front().seq, *stored);
  metrics_.samples.Increment(static_cast<double>(stored->appended));
  for (const PendingBatch& p : batches) {
    metrics_.batches.Increment();
    std::set<uint64_t>& recent_seqs = recent_seqs_[{p.agent_id, p.spool_id}];
    recent_seqs.insert(p.seq);
    if (recent_seqs.size() > kRecentSeqsPerAgent) recent_seqs.erase(recent_seqs.begin());
    wire::Envelope ack = wirecodec::NewEnvelope();
    ack.mutable_ack()->add_seqs(p.seq);
    Reply(p.routing_id, ack);
  }
  if (options_.on_stored) options_.on_stored(series);
}

void IngestServer::LogStorageRejections(const std::string& agent_id, uint64_t seq,
                                         const storage::AppendResult& result) {
  if (result.rejected_total() == 0) return;
  // The batch is still acknowledged: resending it would be refused the same way.
  uint64_t suppressed = 0;
  if (log_limiter_.Allow("storage_rejected_samples", &suppressed)) {
    LOG_WARN << "ingest: agent " << agent_id << " batch " << seq << ": storage refused "
             << result.rejected_total() << " samples, first " << result.first_rejection
             << (suppressed ? " (" + std::to_string(suppressed) + " similar suppressed)" : "");
  }
}

void IngestServer::Reject(const std::string& routing_id, RejectReason reason,
                          wire::Error::Code code, const std::string& detail, uint64_t seq) {
  metrics_.Rejected(reason).Increment();
  uint64_t suppressed = 0;
  std::string_view name = RejectReasonName(reason);
  if (log_limiter_.Allow(name, &suppressed)) {
    LOG_WARN << "ingest: rejected message (reason=" << name << "): " << detail
             << (suppressed ? " (" + std::to_string(suppressed) + " similar suppressed)" : "");
  }
  wire::Envelope reply = wirecodec::NewEnvelope();
  wire::Error* error = reply.mutable_error();
  error->set_code(code);
  error->set_message(detail);
  error->set_seq(seq);
  error->set_supported_major(kProtocolMajor);
  Reply(routing_id, reply);
}

void IngestServer::Reply(const std::string& routing_id, const wire::Envelope& envelope) {
  std::string payload = envelope.SerializeAsString();
  try {
    // A peer that went away, or whose queue is full, simply misses the reply;
    // it resends what was not acknowledged.
    std::array<zmq::const_buffer, 2> parts = {zmq::buffer(routing_id), zmq::buffer(payload)};
    zmq::send_multipart(socket_, parts, zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    LOG_DEBUG << "ingest: reply not sent: " << e.what();
  }
}

void IngestServer::HandleZap() {
  while (auto verdict = zap_->Handle()) {
    if (verdict->allowed) continue;
    metrics_.Rejected(RejectReason::kUnauthorized).Increment();
    uint64_t suppressed = 0;
    if (log_limiter_.Allow("unauthorized", &suppressed)) {
      LOG_WARN << "ingest: refused connection from " << verdict->address
               << " (reason=unauthorized): public key " << verdict->public_key
               << " is not in allowed_agents_dir"
               << (suppressed ? " (" + std::to_string(suppressed) + " similar suppressed)" : "");
    }
  }
}

void IngestServer::UpdateLiveness() {
  const int64_t now = clock_.NowMillis();
  std::map<std::string, bool> live;  // By agent id.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const Session& s = it->second;
    int64_t window = std::max<int64_t>(s.interval.count() * options_.liveness_intervals, 5000);
    if (now - s.last_seen_ms <= window) live[s.agent_id] = true;
    if (now - s.last_seen_ms > std::chrono::milliseconds(kSessionIdleExpiry).count()) {
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  metrics_.agents_connected.Set(static_cast<double>(live.size()));
  metrics_.SetStorageStats(store_.GetStats());
}

}  // namespace vitals::collector
