// Writes what an agent's spool holds as Prometheus text exposition with
// millisecond timestamps: one `name{labels} value timestamp_ms` line per
// sample, batch by batch in spool order, series in batch order. Each series
// carries the labels a collector would store: the batch's labels with the
// agent's (agent and instance set to the agent id, plus --label pairs)
// merged over them, as the collector's ingest does (wirecodec::DecodeBatch).
// Values are in the shortest text that reads back as the same double; NaN,
// +Inf and -Inf as the text format spells them (a stale marker is NaN there).
// bench/record_agent.sh makes bench/data/agent-recording.prom.gz with it.
//   build/bench/vitals_spool_export --spool DIR --agent rec-01 --label env=prod
//
// The spool must not be in use: it is opened as the agent opens it (which
// repairs a torn tail). Prints a one-line JSON summary on stderr.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/spool.h"
#include "bench/storage_workload.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/status.h"
#include "common/wire.h"

namespace vitals::bench {
namespace {

struct FileCloser {
  void operator()(FILE* file) const {
    if (file != stdout) std::fclose(file);
  }
};

struct ExportSummary {
  uint64_t batches = 0;
  uint64_t samples = 0;
  uint64_t series = 0;      // Distinct label sets.
  uint64_t non_finite = 0;  // NaN (stale markers included) and ±Inf values.
  int64_t first_ms = INT64_MAX;
  int64_t last_ms = INT64_MIN;
};

// The labels the collector sets on every series of agent `agent_id`
// (IngestServer's hello handling): `extra`, then agent and instance.
Result<Labels> AgentLabels(const std::string& agent_id, const std::vector<std::string>& extra) {
  Labels labels;
  for (const std::string& pair : extra) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || !IsValidLabelName(pair.substr(0, eq)) ||
        pair.starts_with("__")) {
      return Status::InvalidArgument("--label wants name=value with a valid name, got \"" + pair +
                                     "\"");
    }
    labels.push_back(Label{pair.substr(0, eq), pair.substr(eq + 1)});
  }
  Canonicalize(&labels);
  SetLabel(&labels, "agent", agent_id);
  SetLabel(&labels, "instance", agent_id);
  return labels;
}

// Writes every spooled batch of `spool_dir` to `out`. IOError if the spool
// or the output cannot be read or written; NotFound if `spool_dir` does not
// exist; InvalidArgument if a batch does
// not decode (the collector would refuse it too).
Result<ExportSummary> Export(const std::string& spool_dir, const Labels& agent_labels, FILE* out) {
  // Open would create a missing directory: an empty export of a mistyped path.
  RETURN_IF_ERROR(agent::Spool::Inspect(spool_dir).status());
  agent::SpoolOptions options;
  options.dir = spool_dir;
  options.sync = false;
  ASSIGN_OR_RETURN(std::unique_ptr<agent::Spool> spool, agent::Spool::Open(options));
  ExportSummary summary;
  std::set<std::string> series_seen;
  std::string buffer, series_text;
  char number[32];
  for (const auto& [seq, location] : spool->batches()) {
    ASSIGN_OR_RETURN(wire::Batch batch, spool->Read(seq));
    auto decoded = wirecodec::DecodeBatch(batch, agent_labels);
    if (!decoded.ok()) {
      return Status::InvalidArgument("batch " + std::to_string(seq) + ": " +
                                     decoded.status().message());
    }
    buffer.clear();
    for (const SeriesSamples& series : decoded->series) {
      series_text = FormatSeries(ToLabels(series.labels));
      if (series_seen.insert(series_text).second) ++summary.series;
      for (size_t i = 0; i < series.timestamps_ms.size(); ++i) {
        const int64_t t = series.timestamps_ms[i];
        const double v = series.values[i];
        buffer += series_text;
        buffer += ' ';
        AppendSampleValue(v, &buffer);
        buffer += ' ';
        buffer.append(number, std::to_chars(number, number + sizeof(number), t).ptr);
        buffer += '\n';
        if (!std::isfinite(v)) ++summary.non_finite;
        summary.first_ms = std::min(summary.first_ms, t);
        summary.last_ms = std::max(summary.last_ms, t);
      }
      summary.samples += series.timestamps_ms.size();
    }
    if (std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) {
      return Status::IOError("cannot write the output");
    }
    ++summary.batches;
  }
  if (std::fflush(out) != 0) return Status::IOError("cannot write the output");
  return summary;
}

int Run(const std::string& spool_dir, const std::string& agent_id,
        const std::vector<std::string>& labels, const std::string& output) {
  Result<Labels> agent_labels = AgentLabels(agent_id, labels);
  if (!agent_labels.ok()) {
    std::fprintf(stderr, "%s\n", agent_labels.status().ToString().c_str());
    return 2;
  }
  std::unique_ptr<FILE, FileCloser> out(output == "-" ? stdout
                                                      : std::fopen(output.c_str(), "w"));
  if (!out) {
    std::fprintf(stderr, "cannot create %s\n", output.c_str());
    return 1;
  }
  Result<ExportSummary> summary = Export(spool_dir, *agent_labels, out.get());
  if (!summary.ok()) {
    std::fprintf(stderr, "%s: %s\n", spool_dir.c_str(), summary.status().ToString().c_str());
    return 1;
  }
  if (output != "-" && std::fclose(out.release()) != 0) {
    std::fprintf(stderr, "cannot write %s\n", output.c_str());
    return 1;
  }
  std::fprintf(stderr,
               "{\"batches\":%" PRIu64 ",\"series\":%" PRIu64 ",\"samples\":%" PRIu64
               ",\"non_finite\":%" PRIu64 ",\"first_timestamp_ms\":%" PRId64
               ",\"last_timestamp_ms\":%" PRId64 "}\n",
               summary->batches, summary->series, summary->samples, summary->non_finite,
               summary->samples ? summary->first_ms : 0, summary->samples ? summary->last_ms : 0);
  return 0;
}

}  // namespace
}  // namespace vitals::bench

int main(int argc, char** argv) {
  std::string spool_dir, agent_id, output = "-";
  std::vector<std::string> labels;
  CLI::App app{"An agent's spool as Prometheus text with timestamps, labelled as a collector would"};
  app.add_option("--spool", spool_dir, "The agent's spool directory (not in use)")->required();
  app.add_option("--agent", agent_id, "The agent's agent_id (agent and instance labels)")
      ->required();
  app.add_option("--label", labels, "One of the agent's labels, name=value (repeatable)");
  app.add_option("--output", output, "Where to write the text; - for standard output")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  vitals::SetMinLogLevel(vitals::LogLevel::kWarn);  // Not the spool's "waiting from a previous run".
  return vitals::bench::Run(spool_dir, agent_id, labels, output);
}
