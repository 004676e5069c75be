#include "ctl/tsdb.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include <httplib.h>
#include <nlohmann/json.hpp>

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

}  // namespace

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
