#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include <zmq.hpp>

#include "common/clock.h"

namespace vitals::collector {

// ZeroMQ's authentication hook (ZAP, RFC 27) for CURVE: accepts a client
// whose public key is one of the *.pub files in `allowed_dir`, refuses every
// other. Bind it before the socket it guards accepts connections; then call
// Handle whenever its socket is readable. The key directory is re-read at
// most once per second when an unknown key knocks, so adding an agent's key
// needs no restart.
//
// Lives on one thread (the ingest thread) after construction.
class ZapHandler {
 public:
  // Binds inproc://zeromq.zap.01 in `context`. Throws zmq::error_t if that
  // fails (the caller converts it).
  ZapHandler(zmq::context_t& context, std::string allowed_dir, const Clock& clock);

  zmq::socket_t& socket() { return socket_; }

  struct Verdict {
    bool allowed = false;
    std::string public_key;  // Z85 of the client's key.
    std::string address;     // The client's IP address.
  };
  // Answers one pending request. Returns nullopt if none was waiting.
  std::optional<Verdict> Handle();

 private:
  void LoadKeys();

  zmq::socket_t socket_;
  const std::string allowed_dir_;
  const Clock& clock_;
  std::set<std::string> allowed_;  // Z85 public keys.
  int64_t loaded_at_ms_ = -1;
};

}  // namespace vitals::collector
