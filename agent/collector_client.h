#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/status.h"
#include "proto/vitals.pb.h"

namespace vitals::agent {

struct ClientOptions {
  // Collector endpoint, e.g. "tcp://collector:4740".
  std::string endpoint;
  // Sent in the Hello.
  std::string agent_id;
  Labels labels;
  std::chrono::milliseconds interval{std::chrono::seconds(15)};
  // A sent batch (or Hello) not acknowledged within this time is sent again.
  std::chrono::milliseconds ack_timeout{std::chrono::seconds(5)};
  // Retry back-off starts here and doubles up to max_retry_backoff.
  std::chrono::milliseconds initial_retry_backoff{std::chrono::milliseconds(100)};
  std::chrono::milliseconds max_retry_backoff{std::chrono::seconds(30)};
  // Batches kept until acknowledged; the oldest are dropped beyond this.
  size_t max_pending_batches = 720;
  // Batches sent but not yet acknowledged at any one time.
  size_t max_in_flight = 16;
};

// Counters the client keeps about itself; read with stats().
struct ClientStats {
  uint64_t batches_acked = 0;
  uint64_t batches_dropped = 0;   // Pushed out of a full queue.
  uint64_t batches_resent = 0;
  uint64_t batches_rejected = 0;  // Refused by the collector for good (invalid).
  uint64_t pending = 0;
  bool connected = false;         // A Hello was acknowledged on the current connection.
};

// The agent's side of the wire protocol: a ZeroMQ DEALER that says Hello,
// sends numbered batches, and keeps each one until the collector acknowledges
// it, resending after ack_timeout and backing off exponentially while the
// collector is unreachable. Everything happens on the caller's thread inside
// Enqueue and Poll; the class is not thread-safe.
class CollectorClient {
 public:
  // Creates the socket and starts connecting (in the background: a collector
  // that is down is not an error). InvalidArgument for a malformed endpoint.
  static Result<std::unique_ptr<CollectorClient>> Create(const ClientOptions& options,
                                                         const Clock& clock);
  ~CollectorClient();
  CollectorClient(const CollectorClient&) = delete;
  CollectorClient& operator=(const CollectorClient&) = delete;

  // Numbers `batch` (sets its seq) and queues it for sending. If the queue
  // is full, the oldest batch is dropped and counted.
  void Enqueue(wire::Batch batch);

  // Sends what is due, waits up to `timeout` (real time) for replies from the
  // collector, processes them and sends what became due. Call it in a loop;
  // resend timing follows the injected clock.
  void Poll(std::chrono::milliseconds timeout);

  const ClientStats& stats() const { return stats_; }

 private:
  struct Pending {
    wire::Batch batch;
    int64_t sent_at_ms = -1;  // -1: not sent on the current connection.
  };

  class ConnectionMonitor;

  CollectorClient(const ClientOptions& options, const Clock& clock);
  void OnConnected();
  void OnDisconnected();
  void SendDue();
  bool TrySend(const wire::Envelope& envelope);
  void HandleReply(const zmq::message_t& msg);
  void OnAck(uint64_t seq);
  void OnError(const wire::Error& error);
  void BackOff();
  void ForgetSent();

  const ClientOptions options_;
  const Clock& clock_;
  const uint64_t session_id_;
  LogRateLimiter log_limiter_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::unique_ptr<ConnectionMonitor> monitor_;  // Declared after socket_: destroyed first.

  std::deque<Pending> pending_;  // Ordered by seq.
  uint64_t next_seq_ = 1;
  bool hello_acked_ = false;
  int64_t hello_sent_at_ms_ = -1;
  int64_t retry_at_ms_ = 0;  // No sends before this (back-off).
  std::chrono::milliseconds backoff_;
  ClientStats stats_;
};

}  // namespace vitals::agent
