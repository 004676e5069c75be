#pragma once

#include <functional>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/arena.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/wire.h"

#include "collector/collector_metrics.h"
#include "collector/zap_handler.h"
#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/status.h"
#include "proto/vitals.pb.h"
#include "storage/store.h"

namespace vitals::collector {

struct IngestOptions {
  // ZeroMQ endpoint to bind, e.g. "tcp://0.0.0.0:4740"; "tcp://127.0.0.1:*"
  // binds a free port (see IngestServer::endpoint()).
  std::string listen;
  // Largest accepted message in bytes, all frames together.
  uint64_t max_message_size = 16ull << 20;
  // Agents not heard from for this many of their intervals stop counting
  // as connected.
  int liveness_intervals = 3;
  // CurveZMQ server keys (Z85) and the directory of allowed agent keys;
  // empty public_key: plain TCP.
  std::string curve_public_key;
  std::string curve_secret_key;
  std::string allowed_agents_dir;
  // Called on the ingest thread with the samples of every durable write,
  // after the batches are acknowledged (the rule manager's on-ingest
  // trigger). Must be quick.
  std::function<void(std::span<const SeriesSamples>)> on_stored;
  // The current modes of `services` (wire::Modes with services filled in),
  // pushed to each agent after its Hello and after NotifyModesChanged().
  // Called on the ingest thread; unset: no modes are pushed.
  std::function<wire::Modes(const std::vector<std::string>& services)> modes_for;
};

// The ZeroMQ ROUTER that agents push batches to. It decodes and validates
// each message, stores batches, and acknowledges a batch only after the store
// reports it durable. Bad input is answered with an Error, counted in
// vitals_ingest_rejected_total{reason} and logged at most once per second per
// reason; it never stops the server.
//
// Runs its own thread; the public methods are thread-safe.
class IngestServer {
 public:
  // Binds and starts serving. `store`, `metrics` and `clock` must outlive the
  // server. Unavailable if the endpoint cannot be bound.
  static Result<std::unique_ptr<IngestServer>> Start(const IngestOptions& options,
                                                     storage::Store& store,
                                                     CollectorMetrics& metrics, const Clock& clock);
  ~IngestServer();
  IngestServer(const IngestServer&) = delete;
  IngestServer& operator=(const IngestServer&) = delete;

  // The endpoint actually bound (with the real port if "*" was asked for).
  const std::string& endpoint() const { return endpoint_; }

  // Stops the thread and closes the socket; idempotent.
  void Stop();

  // The modes changed: push them to every connected agent that enforces one
  // of the services (the server thread does it at once). Thread-safe.
  void NotifyModesChanged();

 private:
  // What the server knows about one connection (ZeroMQ routing id).
  struct Session {
    std::string agent_id;
    uint64_t spool_id = 0;
    // agent, instance and the agent's own labels; shared with the pending
    // batches decoded against them, which a new Hello must not pull away.
    std::shared_ptr<const Labels> labels;
    int64_t last_seen_ms = 0;
    std::chrono::milliseconds interval{0};
    std::vector<std::string> services;  // Whose modes the agent enforces.
  };

  IngestServer(const IngestOptions& options, storage::Store& store, CollectorMetrics& metrics,
               const Clock& clock);
  void Run();
  void HandleMessage(const std::string& routing_id, std::vector<zmq::message_t>& frames);
  void HandleHello(const std::string& routing_id, const wire::Hello& hello);
  // Validates the envelope's batch and queues it for the next group commit
  // (keeping the envelope: the decoded batch points into it).
  void HandleBatch(const std::string& routing_id, std::unique_ptr<google::protobuf::Arena> arena,
                   const wire::Envelope& envelope);
  // Stores every queued batch with one Append, then acknowledges each (or
  // answers STORAGE_FAILED to each).
  void CommitPending();
  // Logs (rate-limited) what storage did not take from a batch; AppendCounted
  // counted it.
  void LogStorageRejections(const std::string& agent_id, uint64_t seq,
                            const storage::AppendResult& result);
  void Reject(const std::string& routing_id, RejectReason reason, wire::Error::Code code,
              const std::string& detail, uint64_t seq);
  void Reply(const std::string& routing_id, const wire::Envelope& envelope);
  void UpdateLiveness();
  // Sends the modes of the session's services, if it has any.
  void PushModes(const std::string& routing_id, const Session& session);
  void HandleZap();

  const IngestOptions options_;
  storage::Store& store_;
  CollectorMetrics& metrics_;
  const Clock& clock_;
  LogRateLimiter log_limiter_;

  zmq::context_t context_;
  std::unique_ptr<ZapHandler> zap_;  // Set when CURVE is on; bound before socket_.
  zmq::socket_t socket_;  // Used only by the server thread after Start.
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  // Readable when NotifyModesChanged was called; polled with the socket.
  int modes_event_fd_ = -1;
  std::thread thread_;

  // Server thread only.
  std::map<std::string, Session> sessions_;  // By routing id.
  // Sequence numbers of the batches each agent had stored recently, to
  // recognise a resent batch. Agents number batches persistently per spool,
  // so this is keyed by (agent id, spool id), across connections. Bounded.
  std::map<std::pair<std::string, uint64_t>, std::set<uint64_t>> recent_seqs_;
  // Batches decoded since the last commit.
  struct PendingBatch {
    std::string routing_id;
    std::string agent_id;
    uint64_t spool_id;
    uint64_t seq;
    // What `decoded` points into: the arena owns the parsed envelope.
    std::unique_ptr<google::protobuf::Arena> arena;
    std::shared_ptr<const Labels> agent_labels;
    wirecodec::DecodedBatch decoded;
  };
  std::vector<PendingBatch> pending_;
  size_t pending_samples_ = 0;
};

}  // namespace vitals::collector
