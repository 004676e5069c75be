#pragma once

#include <chrono>
#include <string>

#include "bench/load_generator.h"
#include "bench/synthetic_fleet.h"
#include "common/status.h"

namespace vitals::bench {

struct VmImportOptions {
  // VictoriaMetrics single-node base URL, e.g. "http://127.0.0.1:8428".
  std::string url;
  // The same fleet and rounds as a Vitals run: the same samples.
  FleetOptions fleet;
  int rounds = 60;
  // Concurrent HTTP connections, each sending one agent-round per request.
  int connections = 4;
  // Give up after this much wall time.
  std::chrono::milliseconds deadline{std::chrono::minutes(30)};
};

// Sends every sample a LoadGenerator with the same fleet options sends to a
// collector, as the collector stores it (with agent and instance labels), to
// VictoriaMetrics's /api/v1/import/prometheus: one request per agent and
// round, bodies generated before the clock starts, `connections` at a time.
// The clock stops when VictoriaMetrics's vm_rows_added_to_storage_total has
// grown by the number of samples sent, i.e. when they are in its storage.
// The latencies are those of the HTTP requests.
//
// Unavailable if VictoriaMetrics cannot be reached.
Result<LoadSummary> ImportToVictoriaMetrics(const VmImportOptions& options);

}  // namespace vitals::bench
