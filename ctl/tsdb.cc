#include "ctl/tsdb.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "collector/collector_config.h"
#include "common/selector.h"
#include "storage/store.h"

namespace vitals::ctl {
namespace {

// Opens an existing store for inspection: nothing is dropped or rewritten.
Result<std::unique_ptr<storage::Store>> OpenForInspection(const std::string& dir) {
  if (!std::filesystem::exists(dir + "/CURRENT")) {
    return Status::NotFound(dir + " is not a Vitals storage directory (no CURRENT file)");
  }
  storage::Options options;
  options.path = dir;
  options.partition_duration = std::chrono::milliseconds(0);  // As the store was created.
  options.retention = std::chrono::milliseconds(0);
  options.background_maintenance = false;
  options.persist_head_on_close = false;
  return storage::Store::Open(options);
}

std::string FormatTime(int64_t ms) {
  std::time_t seconds = ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  return 1;
}

MetricType MetricTypeOf(std::string_view type) {
  if (type == "counter") return MetricType::kCounter;
  if (type == "gauge") return MetricType::kGauge;
  // Histograms, summaries and the OpenMetrics types have no MetricType of
  // their own yet; their series are stored all the same.
  return MetricType::kUntyped;
}

// Reads the exposition; with a store, appends it in batches, without one
// only checks it.
Result<ImportSummary> ReadExposition(std::istream& in, const std::string& source_name,
                                     storage::Store* store, const ImportOptions& options) {
  ImportSummary summary;
  exposition::Parser parser(in, source_name, options.format);
  std::map<std::string, MetricDesc> families;  // By family name, as TYPE and HELP said.
  std::vector<MetricDesc> pending_metadata;
  std::vector<Sample> batch;
  batch.reserve(std::min<size_t>(options.batch_samples, 1 << 16));

  auto flush = [&]() -> Status {
    if (store != nullptr && (!batch.empty() || !pending_metadata.empty())) {
      auto stored = store->Append(batch, pending_metadata);
      if (!stored.ok()) return stored.status();
      summary.appended += stored->appended;
      summary.duplicates += stored->duplicates;
      summary.new_series += stored->new_series;
      for (size_t i = 0; i < std::size(summary.rejected); ++i) {
        summary.rejected[i] += stored->rejected[i];
      }
      if (summary.first_rejection.empty()) summary.first_rejection = stored->first_rejection;
    }
    batch.clear();
    pending_metadata.clear();
    return Status::Ok();
  };

  exposition::Entry entry;
  while (true) {
    auto more = parser.Next(&entry);
    if (!more.ok()) {
      RETURN_IF_ERROR(flush());
      return more.status();
    }
    if (!*more) break;
    switch (entry.kind) {
      case exposition::EntryKind::kType:
      case exposition::EntryKind::kHelp: {
        MetricDesc& desc = families[entry.family];
        desc.name = entry.family;
        if (entry.kind == exposition::EntryKind::kType) desc.type = MetricTypeOf(entry.text);
        if (entry.kind == exposition::EntryKind::kHelp) desc.help = entry.text;
        pending_metadata.push_back(desc);
        break;
      }
      case exposition::EntryKind::kUnit:
        break;  // MetricDesc has no unit.
      case exposition::EntryKind::kSample: {
        auto where = [&] { return source_name + ":" + std::to_string(entry.line) + ": "; };
        if (!entry.timestamp_ms) {
          RETURN_IF_ERROR(flush());
          return Status::InvalidArgument(where() + "sample " + FormatSeries(entry.labels) +
                                         " has no timestamp");
        }
        if (Status valid = CanonicalizeAndValidate(&entry.labels); !valid.ok()) {
          RETURN_IF_ERROR(flush());
          return valid.WithContext(where() + FormatSeries(entry.labels));
        }
        const int64_t t = *entry.timestamp_ms;
        summary.min_time_ms = summary.samples == 0 ? t : std::min(summary.min_time_ms, t);
        summary.max_time_ms = summary.samples == 0 ? t : std::max(summary.max_time_ms, t);
        ++summary.samples;
        if (entry.has_exemplar) ++summary.exemplars_ignored;
        batch.push_back(Sample{std::move(entry.labels), t, entry.value});
        if (batch.size() >= options.batch_samples) {
          RETURN_IF_ERROR(flush());
          if (store != nullptr) RETURN_IF_ERROR(store->Maintain());  // Bounds the head.
        }
        break;
      }
    }
  }
  RETURN_IF_ERROR(flush());
  summary.lines = static_cast<uint64_t>(parser.line());
  summary.metadata = families.size();
  return summary;
}

void PrintImportSummary(const std::string& file, const std::string& storage_dir,
                        const ImportSummary& s) {
  std::printf("Imported %s into %s\n", file.c_str(), storage_dir.c_str());
  std::printf("Lines: %" PRIu64 "\n", s.lines);
  std::printf("Samples: %" PRIu64 " read, %" PRIu64 " stored, %" PRIu64 " duplicates\n",
              s.samples, s.appended, s.duplicates);
  std::printf("Series: %" PRIu64 " new\n", s.new_series);
  if (s.samples > 0) {
    std::printf("Time range: %s .. %s (%" PRId64 " .. %" PRId64 " ms)\n",
                FormatTime(s.min_time_ms).c_str(), FormatTime(s.max_time_ms).c_str(),
                s.min_time_ms, s.max_time_ms);
  }
  std::printf("Metric families with metadata: %" PRIu64 "\n", s.metadata);
  if (s.exemplars_ignored > 0) {
    std::printf("Exemplars ignored: %" PRIu64 "\n", s.exemplars_ignored);
  }
  uint64_t rejected = 0;
  for (uint64_t n : s.rejected) rejected += n;
  std::printf("Rejected: %" PRIu64 "\n", rejected);
  for (storage::RejectReason reason : storage::kAllRejectReasons) {
    std::printf("  %s: %" PRIu64 "\n", std::string(storage::RejectReasonName(reason)).c_str(),
                s.rejected[static_cast<size_t>(reason)]);
  }
  if (!s.first_rejection.empty()) std::printf("First rejection: %s\n", s.first_rejection.c_str());
}

// Storage options for an import: the collector's, if a collector.yml is
// given, and nothing dropped by retention while importing (the collector
// applies its retention when it next runs).
Result<storage::Options> ImportStoreOptions(const std::string& storage_dir,
                                            const std::string& collector_config) {
  storage::Options options;
  options.path = storage_dir;
  options.retention = std::chrono::milliseconds(0);
  options.background_maintenance = false;
  if (!collector_config.empty()) {
    ASSIGN_OR_RETURN(collector::CollectorConfig config,
                     collector::LoadCollectorConfig(collector_config));
    const collector::CollectorConfig::Storage& st = config.storage;
    options.out_of_order_window = st.out_of_order_window;
    options.partition_duration = st.partition_duration;
    options.limits.max_series_per_tenant = st.max_series_per_agent;
    options.limits.max_series_per_metric = st.max_series_per_metric;
    options.limits.max_label_count = static_cast<uint32_t>(st.max_label_count);
    options.limits.max_label_name_length = static_cast<uint32_t>(st.max_label_name_length);
    options.limits.max_label_value_length = static_cast<uint32_t>(st.max_label_value_length);
  }
  if (std::filesystem::exists(storage_dir + "/CURRENT") && collector_config.empty()) {
    options.partition_duration = std::chrono::milliseconds(0);  // As the store was created.
  }
  return options;
}

}  // namespace

Result<ImportSummary> ImportExposition(std::istream& in, const std::string& source_name,
                                       storage::Store& store, const ImportOptions& options) {
  return ReadExposition(in, source_name, &store, options);
}

int TsdbImport(const std::string& file, const std::string& storage_dir,
               const std::string& collector_config, const ImportOptions& options) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Fail(Status::NotFound("cannot open " + file));
  // A first pass finds syntax errors before anything is stored.
  auto checked = ReadExposition(in, file, nullptr, options);
  if (!checked.ok()) return Fail(checked.status());
  in.clear();
  in.seekg(0);
  if (!in) return Fail(Status::IOError("cannot rewind " + file));

  auto store_options = ImportStoreOptions(storage_dir, collector_config);
  if (!store_options.ok()) return Fail(store_options.status());
  auto store = storage::Store::Open(*store_options);
  if (!store.ok()) return Fail(store.status());
  auto summary = ImportExposition(in, file, **store, options);
  if (!summary.ok()) return Fail(summary.status());
  Status maintained = (*store)->Maintain();
  if (!maintained.ok()) return Fail(maintained);
  PrintImportSummary(file, storage_dir, *summary);
  return 0;
}

int TsdbStats(const std::string& storage_dir, size_t top_n) {
  auto store = OpenForInspection(storage_dir);
  if (!store.ok()) return Fail(store.status());
  auto analysis = (*store)->Analyze(top_n);
  if (!analysis.ok()) return Fail(analysis.status());
  const storage::Analysis& a = *analysis;
  const storage::Stats& s = a.stats;
  std::printf("Storage: %s\n", storage_dir.c_str());
  std::printf("Series: %" PRIu64 "\nMetric names: %" PRIu64 "\nPartitions: %" PRIu64 "\n",
              s.series, s.metric_names, s.partitions);
  if (s.max_time_ms != 0) {
    std::printf("Time range: %s .. %s\n", FormatTime(s.min_time_ms).c_str(),
                FormatTime(s.max_time_ms).c_str());
  }
  std::printf("Chunks on disk: %" PRIu64 " holding %" PRIu64 " samples\n", a.chunks,
              a.chunk_samples);
  if (a.chunk_samples > 0) {
    double n = static_cast<double>(a.chunk_samples);
    std::printf("Bytes per sample: %.3f encoded, %.3f in SST files\n",
                static_cast<double>(a.chunk_bytes) / n, static_cast<double>(a.sst_bytes) / n);
  }
  std::printf("Head (not yet in chunks): %" PRIu64 " samples in write-ahead log\n",
              s.head_samples);
  std::printf("Disk: %" PRIu64 " bytes of SST files\n", s.disk_bytes);
  std::printf("\nHighest cardinality metric names:\n");
  for (const auto& [name, n] : a.series_per_metric) std::printf("%" PRIu64 " %s\n", n, name.c_str());
  std::printf("\nHighest cardinality labels:\n");
  for (const auto& [name, n] : a.values_per_label_name) {
    std::printf("%" PRIu64 " %s\n", n, name.c_str());
  }
  return 0;
}

int TsdbDump(const std::string& storage_dir, const std::string& selector, int64_t min_ms,
             int64_t max_ms) {
  auto matchers = ParseSeriesSelector(selector);
  if (!matchers.ok()) return Fail(matchers.status());
  auto store = OpenForInspection(storage_dir);
  if (!store.ok()) return Fail(store.status());
  auto set = (*store)->Select(*matchers, min_ms, max_ms);
  if (!set.ok()) return Fail(set.status());
  while ((*set)->Next()) {
    std::string series = FormatSeries((*set)->labels());
    auto it = (*set)->Samples();
    while (it->Next()) std::printf("%s %.17g %" PRId64 "\n", series.c_str(), it->v(), it->t());
    if (!it->status().ok()) return Fail(it->status());
  }
  if (!(*set)->status().ok()) return Fail((*set)->status());
  return 0;
}

int TsdbSnapshot(const std::string& collector_url) {
  httplib::Client client(collector_url);
  client.set_read_timeout(300, 0);
  auto res = client.Post("/api/v1/admin/tsdb/snapshot");
  if (!res) {
    std::fprintf(stderr, "cannot reach %s: %s\n", collector_url.c_str(),
                 httplib::to_string(res.error()).c_str());
    return 1;
  }
  if (res->status == 404) {
    std::fprintf(stderr, "%s: the admin API is off (set web.enable_admin_api: true)\n",
                 collector_url.c_str());
    return 1;
  }
  auto body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status != 200 || body.is_discarded() || body.value("status", "") != "success") {
    std::fprintf(stderr, "snapshot failed (HTTP %d): %s\n", res->status, res->body.c_str());
    return 1;
  }
  std::printf("snapshot %s written to <storage.path>/snapshots/%s\n",
              body["data"].value("name", "").c_str(), body["data"].value("name", "").c_str());
  return 0;
}

}  // namespace vitals::ctl
