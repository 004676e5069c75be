#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/log.h"
#include "common/status.h"

namespace vitals::collector {

// Everything in collector.yml. See docs/configuration.md.
struct CollectorConfig {
  struct Ingest {
    // ZeroMQ endpoint of the ROUTER socket agents connect to.
    std::string listen = "tcp://127.0.0.1:4740";
    // Largest accepted message, all frames together; larger ones are
    // rejected with reason "too_large".
    uint64_t max_message_size = 16ull << 20;
    // CurveZMQ: the collector's key pair (Z85) and the directory of allowed
    // agents' public keys (*.pub). Empty public_key: plain TCP.
    struct Curve {
      std::string public_key;
      std::string secret_key;
      std::string allowed_agents_dir;
    } curve;
  } ingest;

  struct Web {
    // host:port of the HTTP server (/metrics, /federate, /-/healthy, /-/ready).
    std::string listen = "127.0.0.1:9740";
  } web;

  struct Storage {
    // RocksDB directory. Required.
    std::string path;
  } storage;

  LogLevel log_level = LogLevel::kInfo;
};

// Reads and validates a collector.yml. InvalidArgument names file, line and
// key ("collector.yml:4: storage.path: missing required key ...").
Result<CollectorConfig> LoadCollectorConfig(const std::string& path);
Result<CollectorConfig> ParseCollectorConfig(const std::string& yaml, const std::string& file_name);

// Splits "host:port"; InvalidArgument unless port is 0-65535.
Status ParseHostPort(const std::string& text, std::string* host, int* port);

}  // namespace vitals::collector
