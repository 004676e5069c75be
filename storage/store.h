#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/labels.h"
#include "common/samples.h"
#include "common/selector.h"
#include "common/status.h"

namespace vitals::storage {

struct Options {
  // Directory of the database; created if missing.
  std::string path;
  // Behaviour: fsync the write-ahead log before Append returns. Only tests of
  // unrelated behaviour should turn this off: without it, "acknowledged"
  // no longer means "survives a power cut".
  bool sync_writes = true;
};

// Sizes of what is stored.
struct Stats {
  uint64_t series = 0;           // Distinct label sets ever written.
  uint64_t metric_names = 0;     // Distinct metric names with metadata.
  uint64_t samples_appended = 0; // Since Open.
  uint64_t disk_bytes = 0;       // Live SST and WAL files, as RocksDB reports them.
};

// A time-series store: samples keyed by series and timestamp, plus metric
// metadata. This first cut keeps one RocksDB row per sample; the storage
// engine issue replaces the layout (compressed chunks, postings, retention)
// behind the same interface.
//
// Thread-safe: Append calls are serialised internally; reads may run
// concurrently with each other and with Append.
class Store {
 public:
  // Opens or creates the store at options.path. IOError or Corruption if the
  // directory cannot be used.
  static Result<std::unique_ptr<Store>> Open(const Options& options);

  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // Writes `samples` and `metadata` atomically; returns OK only once they are
  // durable. Writing a sample again with the same series and timestamp
  // overwrites it, so a resent batch is harmless.
  // REQUIRES: every sample's labels are canonical and valid.
  virtual Status Append(const std::vector<Sample>& samples,
                        const std::vector<MetricDesc>& metadata) = 0;

  // For every series matching all `matchers`, the newest sample with a
  // timestamp in [min_time_ms, max_time_ms]. Series without one are left out.
  // Ordered by label set.
  virtual Result<std::vector<Sample>> SelectLatest(const std::vector<Matcher>& matchers,
                                                   int64_t min_time_ms, int64_t max_time_ms) = 0;

  // The metadata last written for `metric_name`, if any.
  virtual std::optional<MetricDesc> GetMetadata(const std::string& metric_name) const = 0;

  virtual Stats GetStats() const = 0;
};

}  // namespace vitals::storage
