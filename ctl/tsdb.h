#pragma once

#include <chrono>
#include <cstdint>
#include <istream>
#include <string>

#include "common/exposition_parser.h"
#include "common/status.h"
#include "storage/store.h"

// vitalsctl tsdb ...: looking into a collector's storage.
namespace vitals::ctl {

// Prints what a storage directory holds, like `promtool tsdb analyze`: series,
// samples, bytes per sample, time range, and the metric names and label names
// with the most series and values. The collector must not be running on it
// (RocksDB locks the directory): use it on a snapshot. Returns the exit status.
int TsdbStats(const std::string& storage_dir, size_t top_n);

// Prints every sample of series matching `selector` in [min_ms, max_ms], one
// per line: `labels value timestamp_ms`, like `promtool tsdb dump`.
int TsdbDump(const std::string& storage_dir, const std::string& selector, int64_t min_ms,
             int64_t max_ms);

// Asks a running collector (http://host:port) for an online snapshot and
// prints where it was written.
int TsdbSnapshot(const std::string& collector_url);

struct ImportOptions {
  exposition::Format format = exposition::Format::kOpenMetrics;
  // Samples per Store::Append (one durable write each).
  size_t batch_samples = 50000;
};

// What an import read and what storage made of it.
struct ImportSummary {
  uint64_t lines = 0;
  uint64_t samples = 0;        // Sample lines read.
  uint64_t appended = 0;       // Stored.
  uint64_t duplicates = 0;     // Identical to a stored sample.
  uint64_t rejected[std::size(storage::kAllRejectReasons)] = {};  // By storage::RejectReason.
  std::string first_rejection;
  uint64_t new_series = 0;     // Series storage did not have before.
  uint64_t metadata = 0;       // Metric families with a TYPE or HELP line.
  uint64_t exemplars_ignored = 0;
  int64_t min_time_ms = 0;     // Of the samples read; 0 when none.
  int64_t max_time_ms = 0;
};

// Appends every sample of the exposition in `in` to `store`, in batches of
// options.batch_samples, with the metric families' TYPE and HELP as
// metadata. Every series is checked with CanonicalizeAndValidate and every
// sample goes through Store::Append's limits, as agent batches do; what
// storage refuses is counted in the summary, not an error. InvalidArgument
// ("FILE:LINE:COL: ...") for a syntax error, invalid labels or a sample
// without a timestamp, after storing the batches before that line; IOError
// if storage fails. Reads `in` once, holding one batch in memory.
Result<ImportSummary> ImportExposition(std::istream& in, const std::string& source_name,
                                       storage::Store& store, const ImportOptions& options);

// vitalsctl tsdb import openmetrics FILE DIR, like `promtool tsdb
// create-blocks-from openmetrics`: checks the whole file first (nothing is
// stored if it has an error), then imports it into the storage directory
// (created if missing; a collector must not be running on it) and prints the
// summary. `collector_config`, if not empty, supplies the storage limits,
// partition duration and out-of-order window of that collector.yml. Returns
// the exit status.
int TsdbImport(const std::string& file, const std::string& storage_dir,
               const std::string& collector_config, const ImportOptions& options);

}  // namespace vitals::ctl
