#pragma once

#include <array>
#include <string_view>

#include "storage/store.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace vitals::collector {

// Why the ingest path refused a message; the `reason` label of
// vitals_ingest_rejected_total.
enum class RejectReason {
  kMalformed,           // Not a decodable Envelope, wrong frame count, or an unexpected kind.
  kTooLarge,            // Larger than ingest.max_message_size.
  kUnsupportedVersion,  // Envelope.protocol_major not spoken here.
  kHelloRequired,       // Batch before Hello on this connection.
  kInvalidBatch,        // Decodable batch with bad references or labels.
  kInvalidHello,        // Hello with a bad agent id or labels.
  kStorageFailed,       // Storage refused the write; the agent retries.
  kHandshakeFailed,     // A peer that does not speak ZMTP, or failed the handshake.
  kUnauthorized,        // CURVE key not in allowed_agents_dir (refused by ZAP).
};
inline constexpr int kNumRejectReasons = 9;
std::string_view RejectReasonName(RejectReason reason);

// The HTTP statuses the remote_write receiver answers with; the `code` label
// of vitals_remote_write_requests_total.
inline constexpr int kRemoteWriteCodes[] = {204, 400, 413, 415, 500};

// The collector's own metrics, declared once and held by reference on hot paths.
// prometheus-cpp metrics are thread-safe.
struct CollectorMetrics {
  explicit CollectorMetrics(prometheus::Registry& registry);

  prometheus::Counter& batches;            // vitals_ingest_batches_total
  prometheus::Counter& samples;            // vitals_ingest_samples_total
  prometheus::Counter& duplicate_batches;  // vitals_ingest_duplicate_batches_total
  prometheus::Family<prometheus::Counter>& rejected_family;
  std::array<prometheus::Counter*, kNumRejectReasons> rejected;  // By RejectReason.
  prometheus::Family<prometheus::Gauge>& agent_last_seen;  // vitals_agent_last_seen_timestamp_seconds{agent}
  prometheus::Gauge& agents_connected;                     // vitals_agents_connected
  prometheus::Histogram& append_seconds;   // vitals_storage_append_duration_seconds
  prometheus::Gauge& storage_series;       // vitals_storage_series
  prometheus::Counter& duplicate_samples;  // vitals_storage_duplicate_samples_total
  prometheus::Family<prometheus::Counter>& samples_rejected_family;
  // vitals_storage_samples_rejected_total{reason}, by storage::RejectReason.
  std::array<prometheus::Counter*, std::size(storage::kAllRejectReasons)> samples_rejected;
  prometheus::Gauge& head_series;          // vitals_storage_head_series
  prometheus::Gauge& head_samples;         // vitals_storage_head_samples
  prometheus::Gauge& head_bytes;           // vitals_storage_head_chunks_bytes
  prometheus::Gauge& partitions;           // vitals_storage_partitions
  prometheus::Gauge& disk_bytes;           // vitals_storage_disk_bytes
  prometheus::Gauge& max_time;             // vitals_storage_newest_sample_timestamp_seconds
  prometheus::Family<prometheus::Counter>& remote_write_requests_family;
  // vitals_remote_write_requests_total{code}, by index in kRemoteWriteCodes.
  std::array<prometheus::Counter*, std::size(kRemoteWriteCodes)> remote_write_requests;
  prometheus::Counter& remote_write_samples;     // vitals_remote_write_samples_total
  prometheus::Counter& remote_write_exemplars_ignored;   // vitals_remote_write_exemplars_ignored_total
  prometheus::Counter& remote_write_histograms_ignored;  // vitals_remote_write_histograms_ignored_total

  // Sets the storage gauges from `stats`.
  void SetStorageStats(const storage::Stats& stats);

  // Counts the duplicates and the rejections (by reason) of one Append.
  void CountStorageOutcome(const storage::AppendResult& result);

  // REQUIRES: `code` is in kRemoteWriteCodes.
  prometheus::Counter& RemoteWriteRequests(int code);

  prometheus::Counter& Rejected(RejectReason reason) {
    return *rejected[static_cast<int>(reason)];
  }
};

// Appends to `store` the way every ingest path does (agent batches, remote
// write): times the write in append_seconds and counts duplicates and
// rejections. Returns what Store::Append returns.
Result<storage::AppendResult> AppendCounted(storage::Store& store, CollectorMetrics& metrics,
                                            std::span<const SeriesSamples> series,
                                            const std::vector<MetricDesc>& metadata);

}  // namespace vitals::collector
