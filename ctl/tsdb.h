#pragma once

#include <cstdint>
#include <string>

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

}  // namespace vitals::ctl
