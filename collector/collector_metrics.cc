#include "collector/collector_metrics.h"

#include <algorithm>
#include <chrono>

#include "common/version.h"

namespace vitals::collector {

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMalformed: return "malformed";
    case RejectReason::kTooLarge: return "too_large";
    case RejectReason::kUnsupportedVersion: return "unsupported_version";
    case RejectReason::kHelloRequired: return "hello_required";
    case RejectReason::kInvalidBatch: return "invalid_batch";
    case RejectReason::kInvalidHello: return "invalid_hello";
    case RejectReason::kStorageFailed: return "storage_failed";
    case RejectReason::kHandshakeFailed: return "handshake_failed";
    case RejectReason::kUnauthorized: return "unauthorized";
  }
  return "unknown";
}

namespace {

prometheus::Counter& NewCounter(prometheus::Registry& r, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& NewGauge(prometheus::Registry& r, const std::string& name,
                            const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

CollectorMetrics::CollectorMetrics(prometheus::Registry& registry)
    : batches(NewCounter(registry, "vitals_ingest_batches_total",
                         "Batches accepted from agents and stored durably.")),
      samples(NewCounter(registry, "vitals_ingest_samples_total",
                         "Samples accepted from agents and stored durably.")),
      duplicate_batches(NewCounter(registry, "vitals_ingest_duplicate_batches_total",
                                   "Batches received again after they were stored; acknowledged "
                                   "without storing.")),
      rejected_family(prometheus::BuildCounter()
                          .Name("vitals_ingest_rejected_total")
                          .Help("Messages refused on the ingest socket, by reason.")
                          .Register(registry)),
      agent_last_seen(prometheus::BuildGauge()
                          .Name("vitals_agent_last_seen_timestamp_seconds")
                          .Help("Unix time of the last message received from each agent.")
                          .Register(registry)),
      agents_connected(NewGauge(registry, "vitals_agents_connected",
                                "Agents heard from within three of their send intervals.")),
      append_seconds(prometheus::BuildHistogram()
                         .Name("vitals_storage_append_duration_seconds")
                         .Help("Time to store one batch durably.")
                         .Register(registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                      0.25, 0.5, 1})),
      storage_series(NewGauge(registry, "vitals_storage_series",
                              "Distinct series in storage.")),
      duplicate_samples(NewCounter(registry, "vitals_storage_duplicate_samples_total",
                                   "Samples identical to one already stored; ignored.")),
      samples_rejected_family(prometheus::BuildCounter()
                                  .Name("vitals_storage_samples_rejected_total")
                                  .Help("Samples of accepted batches that storage refused, by "
                                        "reason.")
                                  .Register(registry)),
      head_series(NewGauge(registry, "vitals_storage_head_series",
                           "Series with samples in memory, as of the last maintenance.")),
      head_samples(NewGauge(registry, "vitals_storage_head_samples",
                            "Samples in memory not yet in chunks on disk, as of the last "
                            "maintenance.")),
      head_bytes(NewGauge(registry, "vitals_storage_head_chunks_bytes",
                          "Memory held by head chunks, as of the last maintenance.")),
      partitions(NewGauge(registry, "vitals_storage_partitions",
                          "Time partitions on disk.")),
      disk_bytes(NewGauge(registry, "vitals_storage_disk_bytes",
                          "Size of storage's SST files.")),
      max_time(NewGauge(registry, "vitals_storage_newest_sample_timestamp_seconds",
                        "Timestamp of the newest sample stored.")),
      remote_write_requests_family(prometheus::BuildCounter()
                                       .Name("vitals_remote_write_requests_total")
                                       .Help("Prometheus remote_write requests received, by "
                                             "HTTP status answered.")
                                       .Register(registry)),
      remote_write_samples(NewCounter(registry, "vitals_remote_write_samples_total",
                                      "Samples received through remote_write and stored "
                                      "durably.")),
      remote_write_exemplars_ignored(NewCounter(registry,
                                                "vitals_remote_write_exemplars_ignored_total",
                                                "Exemplars received through remote_write; not "
                                                "stored.")),
      remote_write_histograms_ignored(NewCounter(
          registry, "vitals_remote_write_histograms_ignored_total",
          "Native histogram samples received through remote_write; not stored.")) {
  for (size_t i = 0; i < std::size(kRemoteWriteCodes); ++i) {
    remote_write_requests[i] =
        &remote_write_requests_family.Add({{"code", std::to_string(kRemoteWriteCodes[i])}});
  }
  for (storage::RejectReason reason : storage::kAllRejectReasons) {
    samples_rejected[static_cast<size_t>(reason)] = &samples_rejected_family.Add(
        {{"reason", std::string(storage::RejectReasonName(reason))}});
  }
  for (int i = 0; i < kNumRejectReasons; ++i) {
    rejected[i] = &rejected_family.Add(
        {{"reason", std::string(RejectReasonName(static_cast<RejectReason>(i)))}});
  }
  prometheus::BuildGauge()
      .Name("vitals_build_info")
      .Help("A metric with a constant '1' value labeled by version and revision of the collector.")
      .Register(registry)
      .Add({{"version", kVersion}, {"revision", kRevision}})
      .Set(1);
}

void CollectorMetrics::SetStorageStats(const storage::Stats& stats) {
  storage_series.Set(static_cast<double>(stats.series));
  head_series.Set(static_cast<double>(stats.head_series));
  head_samples.Set(static_cast<double>(stats.head_samples));
  head_bytes.Set(static_cast<double>(stats.head_bytes));
  partitions.Set(static_cast<double>(stats.partitions));
  disk_bytes.Set(static_cast<double>(stats.disk_bytes));
  max_time.Set(static_cast<double>(stats.max_time_ms) / 1000.0);
}

void CollectorMetrics::CountStorageOutcome(const storage::AppendResult& result) {
  duplicate_samples.Increment(static_cast<double>(result.duplicates));
  if (result.rejected_total() == 0) return;
  for (storage::RejectReason reason : storage::kAllRejectReasons) {
    if (uint64_t n = result.rejected_for(reason)) {
      samples_rejected[static_cast<size_t>(reason)]->Increment(static_cast<double>(n));
    }
  }
}

prometheus::Counter& CollectorMetrics::RemoteWriteRequests(int code) {
  const auto* it = std::find(std::begin(kRemoteWriteCodes), std::end(kRemoteWriteCodes), code);
  if (it == std::end(kRemoteWriteCodes)) std::abort();  // A status the receiver never answers.
  return *remote_write_requests[static_cast<size_t>(it - std::begin(kRemoteWriteCodes))];
}

Result<storage::AppendResult> AppendCounted(storage::Store& store, CollectorMetrics& metrics,
                                            std::span<const SeriesSamples> series,
                                            const std::vector<MetricDesc>& metadata) {
  auto start = std::chrono::steady_clock::now();
  auto stored = store.Append(series, metadata);
  metrics.append_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (stored.ok()) metrics.CountStorageOutcome(*stored);
  return stored;
}

}  // namespace vitals::collector
