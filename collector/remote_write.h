#pragma once

#include <functional>
#include <cstdint>
#include <string>
#include <string_view>

#include "collector/collector_metrics.h"
#include "common/clock.h"
#include "common/log.h"
#include "storage/store.h"

namespace httplib {
class Server;
}

namespace vitals::collector {

struct RemoteWriteOptions {
  // Largest accepted request after snappy decompression. Larger ones are
  // refused with 413 before anything is decompressed, so a small hostile
  // body cannot claim a large buffer. Prometheus sends a few MiB at most.
  uint64_t max_decompressed_bytes = 32ull << 20;
  // Called with the samples of every stored request (the rule manager's
  // on-ingest trigger). Must be quick.
  std::function<void(std::span<const SeriesSamples>)> on_stored;
};

// What the receiver answers: an HTTP status and, unless it is 204, a
// one-line reason for the body.
struct RemoteWriteResponse {
  int status = 204;
  std::string message;
};

// The HTTP request as the receiver needs it. Views into the caller's data.
struct RemoteWriteRequest {
  std::string_view body;
  std::string_view content_encoding;  // Content-Encoding header, "" if absent.
  std::string_view content_type;      // Content-Type header, "" if absent.
  std::string_view version;           // X-Prometheus-Remote-Write-Version, "" if absent.
};

// A Prometheus remote_write 1.0 receiver (POST /api/v1/write): decodes a
// snappy-compressed prometheus.WriteRequest and stores its float samples and
// metadata through the same checks and limits as agent batches.
//
// Answers, as Prometheus 2.42's own receiver does where it can:
//   204  stored. Samples storage refused (out_of_order, conflict, limits) are
//        counted in vitals_storage_samples_rejected_total and logged; the
//        rest of the request is stored. (Prometheus rolls the whole request
//        back and answers 400 instead; this store keeps what it accepted.)
//   400  not snappy, not a WriteRequest, or a series with invalid labels;
//        nothing of the request is stored. Senders do not retry a 4xx.
//   413  larger than max_decompressed_bytes.
//   415  another encoding or protobuf message (remote write 2.0).
//   500  storage failed; nothing stored, and the sender retries.
// Exemplars and native histograms are counted and dropped.
//
// Thread-safe: HTTP server threads may call Handle concurrently.
class RemoteWriteReceiver {
 public:
  // `store`, `metrics` and `clock` must outlive the receiver.
  RemoteWriteReceiver(const RemoteWriteOptions& options, storage::Store& store,
                      CollectorMetrics& metrics, const Clock& clock);
  RemoteWriteReceiver(const RemoteWriteReceiver&) = delete;
  RemoteWriteReceiver& operator=(const RemoteWriteReceiver&) = delete;

  // Decodes, validates and stores one request; counts it in
  // vitals_remote_write_requests_total{code}.
  RemoteWriteResponse Handle(const RemoteWriteRequest& request);

  // Answers 413 for a body the HTTP layer did not read because it is larger
  // than max_body_bytes() (`size` says how large, for the message); counts it.
  RemoteWriteResponse RefuseTooLarge(const std::string& size);

  // The largest compressed body that can decompress to at most
  // max_decompressed_bytes; larger bodies need not be read at all.
  uint64_t max_body_bytes() const { return max_body_bytes_; }

 private:
  RemoteWriteResponse Decode(const RemoteWriteRequest& request, std::vector<Sample>* samples,
                             std::vector<MetricDesc>* metadata);
  RemoteWriteResponse Answer(int status, std::string message);

  const RemoteWriteOptions options_;
  const uint64_t max_body_bytes_;
  storage::Store& store_;
  CollectorMetrics& metrics_;
  LogRateLimiter log_limiter_;
};

// Serves POST `path` on `server` with `receiver`, reading at most
// receiver.max_body_bytes() of body (413 beyond). `receiver` must outlive
// the server's use of the route.
void RegisterRemoteWriteRoute(httplib::Server& server, RemoteWriteReceiver& receiver,
                              const std::string& path = "/api/v1/write");

}  // namespace vitals::collector
