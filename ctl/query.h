#pragma once

#include <string>

// vitalsctl query ...: PromQL against a running collector's HTTP API, shaped
// like `promtool query instant|range`.
namespace vitals::ctl {

struct QueryOptions {
  // Base URL of the collector's web server.
  std::string collector_url = "http://127.0.0.1:9740";
  std::string expr;
  // "table": one row per sample (series, value, timestamp); "json": the API's
  // response body as it came.
  std::string format = "table";

  // Instant query: the evaluation time (Unix seconds or RFC 3339); "" means
  // the collector's now.
  std::string time;

  // Range query (range == true): start and end times as above and the step
  // (seconds or a duration like 15s). Defaults as promtool: end now, start
  // 5m before end, step (end - start) / 250 but at least 1s.
  bool range = false;
  std::string start, end, step;
};

// Runs the query and prints the result on stdout. Returns the exit status:
// 0 on success; 1 when the collector cannot be reached, answers an error
// (printed on stderr as "<errorType>: <error>") or a parameter is malformed.
int Query(const QueryOptions& options);

}  // namespace vitals::ctl
