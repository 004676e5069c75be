#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/labels.h"
#include "common/samples.h"
#include "common/selector.h"
#include "common/status.h"

namespace vitals::storage {

// What the store refuses to take, to protect the collector from a cardinality
// explosion or absurd labels. Zero means "no limit".
struct Limits {
  // Series with the same value of `tenant_label` (agents set "agent").
  uint64_t max_series_per_tenant = 0;
  std::string tenant_label = "agent";
  // Series with the same __name__.
  uint64_t max_series_per_metric = 0;
  // Labels per series, including __name__.
  uint32_t max_label_count = 64;
  uint32_t max_label_name_length = 256;     // Bytes.
  uint32_t max_label_value_length = 4096;   // Bytes.
};

struct Options {
  // Directory of the database; created if missing.
  std::string path;

  // --- Behaviour ---
  // Fsync the write-ahead log before Append returns. Only tests of unrelated
  // behaviour should turn this off: without it, "acknowledged" no longer
  // means "survives a power cut".
  bool sync_writes = true;
  // Data older than this (relative to the newest sample in the store) is
  // dropped, a whole partition at a time. Zero keeps everything.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 15)};
  // A sample older than the series' newest one is accepted if it is within
  // this window of the newest sample in the store, rejected as
  // "out_of_order" otherwise (Prometheus's out_of_order_time_window).
  std::chrono::milliseconds out_of_order_window{0};
  Limits limits;

  // --- Performance and layout ---
  // Time covered by one partition (one column family of chunks). Retention
  // drops whole partitions, so it cannot be finer than this. Fixed when the
  // store is created: reopening with another value is InvalidArgument. Zero
  // means "whatever the store was created with" (24h for a new store), for
  // tools that open a store they did not create.
  std::chrono::milliseconds partition_duration{std::chrono::hours(24)};
  // A head chunk is closed when it holds this many samples ...
  uint32_t max_samples_per_chunk = 240;
  // ... or when its first sample is this much older than the newest sample
  // in the store, so an idle series does not pin the write-ahead log.
  std::chrono::milliseconds max_chunk_age{std::chrono::hours(1)};
  // How often the background thread writes closed chunks, trims the
  // write-ahead log and applies retention. Tests call Maintain() instead.
  std::chrono::milliseconds maintenance_interval{std::chrono::seconds(10)};
  bool background_maintenance = true;
  // On close, cut every open head chunk and write it to its partition, so
  // the next Open replays no write-ahead log (a faster restart) and the data
  // sits compressed in chunks. A crash skips this; the log covers it.
  bool persist_head_on_close = true;
  // RocksDB block cache for chunk and index reads.
  uint64_t block_cache_bytes = 64ull << 20;
};

// Why samples of an Append were not stored.
enum class RejectReason {
  kOutOfOrder,      // Older than the series' newest sample, beyond the window.
  kConflict,        // Same series and timestamp as a stored sample, other value.
  kSeriesLimit,     // Would create a series beyond a Limits count.
  kLabelLimit,      // Too many labels, or a name or value too long.
};
inline constexpr RejectReason kAllRejectReasons[] = {
    RejectReason::kOutOfOrder, RejectReason::kConflict, RejectReason::kSeriesLimit,
    RejectReason::kLabelLimit};
// "out_of_order", "conflict", "series_limit", "label_limit".
std::string_view RejectReasonName(RejectReason reason);

// What one Append did with its samples. Every sample is counted exactly once.
struct AppendResult {
  uint64_t appended = 0;
  uint64_t duplicates = 0;  // Identical to a stored sample: ignored.
  uint64_t rejected[std::size(kAllRejectReasons)] = {};
  uint64_t new_series = 0;
  // The first rejection, for the log: "out_of_order: node_load1{...} @ 123".
  std::string first_rejection;

  uint64_t rejected_total() const;
  uint64_t rejected_for(RejectReason reason) const {
    return rejected[static_cast<size_t>(reason)];
  }
};

// The samples of one series in [min_time, max_time], oldest first. Reads
// chunks the SeriesSet handed it; not thread-safe.
class SampleIterator {
 public:
  virtual ~SampleIterator() = default;
  // Advances to the next sample; false at the end or on error (see status()).
  virtual bool Next() = 0;
  virtual int64_t t() const = 0;
  virtual double v() const = 0;
  virtual Status status() const = 0;
};

// The series a Select matched, in label order. Not thread-safe; holds a
// consistent view of the store taken when Select was called, except that
// samples appended afterwards to the head may or may not be seen.
class SeriesSet {
 public:
  virtual ~SeriesSet() = default;
  // Advances to the next series; false at the end or on error.
  virtual bool Next() = 0;
  virtual const Labels& labels() const = 0;
  // The current series' samples. Valid until Next() is called again.
  virtual std::unique_ptr<SampleIterator> Samples() = 0;
  virtual Status status() const = 0;
};

// Sizes of what is stored.
struct Stats {
  uint64_t series = 0;            // Series in the index.
  uint64_t metric_names = 0;      // Distinct __name__ values.
  uint64_t samples_appended = 0;  // Since Open.
  uint64_t head_series = 0;       // Series with samples in memory.
  uint64_t head_samples = 0;      // Samples in memory, not yet in chunks on disk.
  uint64_t head_bytes = 0;        // Memory held by head chunks.
  uint64_t partitions = 0;
  uint64_t disk_bytes = 0;        // Live SST and WAL files, as RocksDB reports them.
  int64_t min_time_ms = 0;        // Oldest and newest sample; 0 when empty.
  int64_t max_time_ms = 0;
};

// A detailed look at the data, like `promtool tsdb analyze`. Scans every
// chunk on disk, so it costs a full read.
struct Analysis {
  Stats stats;
  uint64_t chunks = 0;
  uint64_t chunk_samples = 0;     // Samples in chunks on disk.
  uint64_t chunk_bytes = 0;       // Encoded size of those chunks.
  uint64_t sst_bytes = 0;         // Size on disk after RocksDB's own compression.
  // Highest cardinality first.
  std::vector<std::pair<std::string, uint64_t>> series_per_metric;
  std::vector<std::pair<std::string, uint64_t>> values_per_label_name;
};

// A time-series database: labelled series of (timestamp, float64) samples
// plus metric metadata, on RocksDB (see docs/storage.md for the layout).
//
// Thread-safe: Append calls are serialised internally (one writer path);
// reads run concurrently with each other and with Append.
class Store {
 public:
  // Opens or creates the store at options.path and replays its write-ahead
  // log. InvalidArgument for bad options, IOError or Corruption (naming the
  // damaged part) if the directory cannot be used.
  static Result<std::unique_ptr<Store>> Open(const Options& options);

  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // Stores what it can of `samples` and all of `metadata`, and returns once
  // that is durable. Samples that break a rule (see AppendResult) are
  // skipped and counted, not fatal; a resent batch is reported as duplicates.
  // An error (IOError) means nothing of the batch was stored.
  // Samples are taken in order; a series may appear more than once.
  // REQUIRES: every series' labels are canonical and valid.
  virtual Result<AppendResult> Append(std::span<const SeriesSamples> series,
                                      const std::vector<MetricDesc>& metadata) = 0;
  // The same for samples that each carry their label set.
  Result<AppendResult> Append(const std::vector<Sample>& samples,
                              const std::vector<MetricDesc>& metadata) {
    SampleViews views(samples);
    return Append(views.series(), metadata);
  }

  // Every series matching all `matchers` with at least one sample in
  // [min_time_ms, max_time_ms], in label order. InvalidArgument if no
  // matcher is given.
  virtual Result<std::unique_ptr<SeriesSet>> Select(const std::vector<Matcher>& matchers,
                                                    int64_t min_time_ms,
                                                    int64_t max_time_ms) const = 0;

  // For every series matching all `matchers`, the newest sample with a
  // timestamp in [min_time_ms, max_time_ms], staleness markers included (the
  // caller decides what an ended series means). Ordered by label set.
  virtual Result<std::vector<Sample>> SelectLatest(const std::vector<Matcher>& matchers,
                                                   int64_t min_time_ms,
                                                   int64_t max_time_ms) const = 0;

  // Label names of series matching `matchers` (all series if empty) with a
  // sample in [min_time_ms, max_time_ms], sorted. A range that covers all
  // data is answered from the index alone; a narrower one reads the
  // matching series' samples, as a Select does.
  virtual Result<std::vector<std::string>> LabelNames(const std::vector<Matcher>& matchers,
                                                      int64_t min_time_ms,
                                                      int64_t max_time_ms) const = 0;
  // Values of label `name` among the same series, sorted.
  virtual Result<std::vector<std::string>> LabelValues(const std::string& name,
                                                       const std::vector<Matcher>& matchers,
                                                       int64_t min_time_ms,
                                                       int64_t max_time_ms) const = 0;

  // The metadata last written for `metric_name`, if any.
  virtual std::optional<MetricDesc> GetMetadata(const std::string& metric_name) const = 0;
  // All metadata by metric name.
  virtual std::map<std::string, MetricDesc> AllMetadata() const = 0;

  virtual Stats GetStats() const = 0;
  virtual Result<Analysis> Analyze(size_t top_n) const = 0;

  // Writes closed head chunks to disk, trims the write-ahead log and applies
  // retention. The background thread calls it every maintenance_interval;
  // tests call it directly. Never blocks Append for longer than it takes to
  // swap in-memory lists.
  virtual Status Maintain() = 0;

  // Compacts every partition fully (a RocksDB manual compaction), so that
  // disk use reflects the data rather than write timing. Maintenance does not
  // need it; operators and benchmarks measuring disk use do.
  virtual Status Compact() = 0;

  // A consistent copy of the database in `dir` (which must not exist), made
  // with hard links where possible, that a collector can be started from.
  virtual Status Snapshot(const std::string& dir) = 0;
};

}  // namespace vitals::storage
