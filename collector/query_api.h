#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "rules/promql/engine.h"
#include "storage/store.h"

namespace vitals::collector {

// The parameters of one API request, as Go's http.Request.Form holds them:
// values from an application/x-www-form-urlencoded POST body first, then
// those of the URL query. Not thread-safe.
class Form {
 public:
  void Add(std::string name, std::string value) {
    values_.emplace_back(std::move(name), std::move(value));
  }
  // The first value of `name`, "" if there is none (Go's FormValue).
  std::string_view Get(std::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string> GetAll(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

// What a handler answers: an HTTP status and a JSON body ("" for 204).
struct ApiResponse {
  int status = 200;
  std::string body;
};

struct QueryApiOptions {
  // Shown by /api/v1/status/runtimeinfo as storageRetention ("15d").
  std::string storage_retention;
  // /api/v1/status/flags: Prometheus-style flag names and their values.
  std::map<std::string, std::string> flags;
};

// Prometheus 2.42's HTTP query API (web/api/v1) over a Store and an Engine:
// the same parameters, errors and JSON, so Grafana's Prometheus data source
// and promtool work against the collector. Each method serves one endpoint;
// WebServer maps paths and methods onto them. See docs/api.md.
//
// Errors are answered as {"status":"error","errorType":...,"error":...} with
// the HTTP status of the errorType: bad_data 400, execution 422, canceled 499,
// timeout 503, internal 500.
//
// Thread-safe: handlers run concurrently; the store, engine and clock must
// outlive the QueryApi.
class QueryApi {
 public:
  QueryApi(const storage::Store& store, const promql::Engine& engine, const Clock& clock,
           QueryApiOptions options);
  QueryApi(const QueryApi&) = delete;
  QueryApi& operator=(const QueryApi&) = delete;

  ApiResponse Query(const Form& form) const;           // /api/v1/query
  ApiResponse QueryRange(const Form& form) const;      // /api/v1/query_range
  ApiResponse QueryExemplars(const Form& form) const;  // /api/v1/query_exemplars
  ApiResponse FormatQuery(const Form& form) const;     // /api/v1/format_query
  ApiResponse Series(const Form& form) const;          // /api/v1/series
  ApiResponse LabelNames(const Form& form) const;      // /api/v1/labels
  ApiResponse LabelValues(std::string_view name,
                          const Form& form) const;     // /api/v1/label/<name>/values
  ApiResponse Metadata(const Form& form) const;        // /api/v1/metadata
  ApiResponse BuildInfo() const;                       // /api/v1/status/buildinfo
  ApiResponse RuntimeInfo() const;                     // /api/v1/status/runtimeinfo
  ApiResponse Flags() const;                           // /api/v1/status/flags

  // Makes running and future queries fail as canceled; for shutdown.
  void CancelQueries() { cancel_ = true; }

 private:
  const storage::Store& store_;
  const promql::Engine& engine_;
  const Clock& clock_;
  const QueryApiOptions options_;
  const int64_t start_time_ms_;
  std::atomic<bool> cancel_{false};
};

// The earliest and latest times the API accepts and defaults to (Prometheus's
// minTime and maxTime), in milliseconds.
inline constexpr int64_t kApiMinTimeMs = -9223309901257974000;
inline constexpr int64_t kApiMaxTimeMs = 9223309901257974999;

// Parses a time parameter as Prometheus's parseTime: Unix seconds with an
// optional fraction (rounded to milliseconds), RFC 3339 with an optional
// fraction ("2015-07-01T20:10:51.781Z", "...+02:00"), or the formatted min
// and max times. Returns milliseconds since the epoch. InvalidArgument
// `cannot parse "<text>" to a valid timestamp` otherwise.
Result<int64_t> ParseApiTime(std::string_view text);

// Parses a duration parameter as Prometheus's parseDuration: float seconds
// ("15", "0.5") or a Prometheus duration ("1m30s"). Returns nanoseconds (may
// be zero or negative). InvalidArgument `cannot parse "<text>" to a valid
// duration` otherwise.
Result<std::chrono::nanoseconds> ParseApiDuration(std::string_view text);

}  // namespace vitals::collector
