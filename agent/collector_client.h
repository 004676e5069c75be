#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "agent/spool.h"
#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/status.h"
#include "proto/vitals.pb.h"

namespace vitals::agent {

// CurveZMQ keys of one connection, Z85-encoded (40 characters each).
struct CurveKeys {
  std::string server_public_key;  // The collector's public key.
  std::string public_key;         // This agent's key pair.
  std::string secret_key;
  bool enabled() const { return !server_public_key.empty(); }
};

struct ClientOptions {
  // Collector endpoint, e.g. "tcp://collector:4740".
  std::string endpoint;
  // Sent in the Hello.
  std::string agent_id;
  uint64_t spool_id = 0;
  Labels labels;
  std::chrono::milliseconds interval{std::chrono::seconds(15)};
  // The services whose modes this agent enforces on its host, sent in the
  // Hello so the collector pushes their Modes. Sorted, no duplicates.
  std::vector<std::string> services;
  // A sent batch (or Hello) not acknowledged within this time is sent again.
  std::chrono::milliseconds ack_timeout{std::chrono::seconds(5)};
  // Retry back-off starts here and doubles up to max_retry_backoff.
  std::chrono::milliseconds initial_retry_backoff{std::chrono::milliseconds(100)};
  std::chrono::milliseconds max_retry_backoff{std::chrono::seconds(30)};
  // Batches sent but not yet acknowledged at any one time.
  size_t max_in_flight = 16;
  // Sends per second at most, so a recovering collector is not flooded by a
  // replay of everything spooled during its outage.
  double max_batches_per_second = 200;
  // Empty keys: plain TCP.
  CurveKeys curve;
};

// Counters the client keeps about itself; read with stats().
struct ClientStats {
  uint64_t batches_acked = 0;
  uint64_t batches_resent = 0;
  uint64_t batches_rejected = 0;  // Refused by the collector for good (invalid).
  uint64_t modes_received = 0;    // Modes messages handed to on_modes.
  uint64_t pending = 0;           // Offered and not yet acknowledged.
  bool connected = false;         // A Hello was acknowledged on the current connection.
};

// The agent's side of the wire protocol towards one collector: a ZeroMQ
// DEALER that says Hello, sends spooled batches in sequence order, and
// resends each one until the collector acknowledges it, backing off
// exponentially while the collector is unreachable. The batches' bytes live in
// the Spool; the client only tracks sequence numbers, and reports each
// acknowledged (or rejected-for-good) seq through `on_done` so the owner can
// remove it from the spool once every collector has it. Modes the collector
// pushes (after each Hello and on every change, unasked) go to `on_modes`.
//
// Everything happens on the caller's thread inside Offer and Poll; not
// thread-safe.
class CollectorClient {
 public:
  using DoneCallback = std::function<void(uint64_t seq)>;
  // Receives each Modes message, on the thread calling Poll.
  using ModesCallback = std::function<void(const wire::Modes& modes)>;

  // Creates the socket and starts connecting in the background (a collector
  // that is down is not an error). `spool` and `clock` must outlive the
  // client; `on_modes` may be null (Modes are then dropped). InvalidArgument
  // for a malformed endpoint or keys.
  static Result<std::unique_ptr<CollectorClient>> Create(const ClientOptions& options,
                                                         Spool& spool, const Clock& clock,
                                                         DoneCallback on_done,
                                                         ModesCallback on_modes = nullptr);
  ~CollectorClient();
  CollectorClient(const CollectorClient&) = delete;
  CollectorClient& operator=(const CollectorClient&) = delete;

  // Queues spooled batch `seq` for delivery. REQUIRES: seqs are offered in
  // increasing order.
  void Offer(uint64_t seq);

  // Sends what is due, waits up to `timeout` (real time) for replies,
  // connection events or for `wake_fd` (an eventfd, -1 for none) to become
  // readable, processes replies and events and sends what became due. Call it
  // in a loop; resend and back-off timing follows the injected clock.
  void Poll(std::chrono::milliseconds timeout, int wake_fd = -1);

  // Poll for several clients at once (an HA pair): one wait for whichever
  // has something first, so neither waits for the other's timeout.
  static void PollAll(std::span<CollectorClient* const> clients, std::chrono::milliseconds timeout,
                      int wake_fd = -1);

  // The clock time at which the client next has something to do of its own
  // (a send, a resend, a retry); replies wake Poll earlier.
  int64_t NextWakeMillis() const;

  const ClientStats& stats() const { return stats_; }
  const std::string& endpoint() const { return options_.endpoint; }

 private:
  struct Pending {
    uint64_t seq;
    int64_t sent_at_ms = -1;  // -1: not sent on the current connection.
  };
  class ConnectionMonitor;

  CollectorClient(const ClientOptions& options, Spool& spool, const Clock& clock,
                  DoneCallback on_done, ModesCallback on_modes);
  void HandleConnectionEvents();
  void HandleReplies();
  void OnConnected();
  void OnDisconnected();
  void OnHandshakeRefused();
  void ReconnectIfDue();
  void SendHelloIfDue(int64_t now);
  void SendDue();
  bool TakeSendToken(int64_t now);
  bool TrySend(const wire::Envelope& envelope);
  bool TrySend(const std::string& payload);
  void HandleReply(const zmq::message_t& msg);
  void Finish(uint64_t seq);
  void OnError(const wire::Error& error);
  void BackOff();
  void ForgetSent();

  const ClientOptions options_;
  Spool& spool_;
  const Clock& clock_;
  const DoneCallback on_done_;
  const ModesCallback on_modes_;
  const uint64_t monitor_id_;  // Makes the monitor's inproc endpoint unique.
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::unique_ptr<ConnectionMonitor> monitor_;  // Declared after socket_: destroyed first.

  std::deque<Pending> pending_;  // Ordered by seq.
  bool hello_acked_ = false;
  int64_t hello_sent_at_ms_ = -1;
  int64_t retry_at_ms_ = 0;  // No sends before this (back-off).
  // libzmq gives up on an endpoint whose handshake was refused (e.g. our key
  // is not allowed yet); we reconnect ourselves at this time, -1: no need.
  int64_t reconnect_at_ms_ = -1;
  std::chrono::milliseconds backoff_;
  double send_tokens_ = 0;   // Token bucket for max_batches_per_second.
  int64_t tokens_at_ms_ = 0;
  ClientStats stats_;
};

}  // namespace vitals::agent
