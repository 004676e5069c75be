#include "agent/host_kernel_stats.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "agent/host_common.h"
#include "common/labels.h"

namespace vitals::agent {
namespace {

using internal::AllOrNothing;
using internal::Counter;
using internal::Fields;
using internal::SplitFields;
using internal::Gauge;
using internal::LineError;
using internal::Lines;
using internal::ParseNumber;

// /proc/diskstats counts 512-byte sectors whatever the device's block size,
// and times in milliseconds.
constexpr double kSectorBytes = 512;
constexpr double kSecondsPerTick = 1.0 / 1000.0;

// Columns after "major minor name": 11 on every kernel, 15 with the discard
// counters (4.18+), 17 with the flush counters (5.5+).
constexpr size_t kBaseDiskColumns = 11;
constexpr size_t kDiscardDiskColumns = 15;
constexpr size_t kFlushDiskColumns = 17;
// procfs (and so node_exporter) skips shorter lines: kernels before 2.6.25
// printed only four counters for partitions.
constexpr size_t kMinDiskFields = 14;

// One /proc/diskstats column and how node_exporter scales it.
struct DiskColumn {
  MetricDesc desc;
  double scale;
};

const std::array<DiskColumn, kFlushDiskColumns>& DiskColumns() {
  static const std::array<DiskColumn, kFlushDiskColumns> columns = {{
      {Counter("node_disk_reads_completed_total",
               "The total number of reads completed successfully."),
       1},
      {Counter("node_disk_reads_merged_total", "The total number of reads merged."), 1},
      {Counter("node_disk_read_bytes_total", "The total number of bytes read successfully."),
       kSectorBytes},
      {Counter("node_disk_read_time_seconds_total",
               "The total number of seconds spent by all reads."),
       kSecondsPerTick},
      {Counter("node_disk_writes_completed_total",
               "The total number of writes completed successfully."),
       1},
      {Counter("node_disk_writes_merged_total", "The number of writes merged."), 1},
      {Counter("node_disk_written_bytes_total", "The total number of bytes written successfully."),
       kSectorBytes},
      {Counter("node_disk_write_time_seconds_total",
               "This is the total number of seconds spent by all writes."),
       kSecondsPerTick},
      {Gauge("node_disk_io_now", "The number of I/Os currently in progress."), 1},
      {Counter("node_disk_io_time_seconds_total", "Total seconds spent doing I/Os."),
       kSecondsPerTick},
      {Counter("node_disk_io_time_weighted_seconds_total",
               "The weighted # of seconds spent doing I/Os."),
       kSecondsPerTick},
      {Counter("node_disk_discards_completed_total",
               "The total number of discards completed successfully."),
       1},
      {Counter("node_disk_discards_merged_total", "The total number of discards merged."), 1},
      // Sectors, not bytes: node_exporter does not convert this one.
      {Counter("node_disk_discarded_sectors_total",
               "The total number of sectors discarded successfully."),
       1},
      {Counter("node_disk_discard_time_seconds_total",
               "This is the total number of seconds spent by all discards."),
       kSecondsPerTick},
      {Counter("node_disk_flush_requests_total",
               "The total number of flush requests completed successfully"),
       1},
      {Counter("node_disk_flush_requests_time_seconds_total",
               "This is the total number of seconds spent by all flush requests."),
       kSecondsPerTick},
  }};
  return columns;
}

// How many columns of a line with `present` counter columns node_exporter
// reports: whole groups only.
size_t ReportedDiskColumns(size_t present) {
  if (present >= kFlushDiskColumns) return kFlushDiskColumns;
  if (present >= kDiscardDiskColumns) return kDiscardDiskColumns;
  return kBaseDiskColumns;
}

Status AddDiskLine(const std::vector<std::string_view>& fields, SampleSet* out) {
  RETURN_IF_ERROR(ParseNumber(fields[0]).status());  // Major and minor device numbers.
  RETURN_IF_ERROR(ParseNumber(fields[1]).status());
  const std::string device(fields[2]);
  const size_t columns = ReportedDiskColumns(fields.size() - 3);
  for (size_t i = 0; i < columns; ++i) {
    ASSIGN_OR_RETURN(double value, ParseNumber(fields[3 + i]));
    const DiskColumn& column = DiskColumns()[i];
    out->Add(column.desc, {{"device", device}}, value * column.scale);
  }
  static const MetricDesc kInfo = Gauge("node_disk_info", "Info of /sys/block/<block_device>.");
  // node_exporter adds model, serial, ... from udev's database, which the
  // agent does not read; empty labels are dropped, as it does too.
  out->Add(
      kInfo,
      {{"device", device}, {"major", std::string(fields[0])}, {"minor", std::string(fields[1])}},
      1);
  return Status::Ok();
}

struct PressureDescs {
  MetricDesc cpu_waiting = Counter("node_pressure_cpu_waiting_seconds_total",
                                   "Total time in seconds that processes have waited for CPU time");
  MetricDesc memory_waiting =
      Counter("node_pressure_memory_waiting_seconds_total",
              "Total time in seconds that processes have waited for memory");
  MetricDesc memory_stalled =
      Counter("node_pressure_memory_stalled_seconds_total",
              "Total time in seconds no process could make progress due to memory congestion");
  MetricDesc io_waiting =
      Counter("node_pressure_io_waiting_seconds_total",
              "Total time in seconds that processes have waited due to IO congestion");
  MetricDesc io_stalled =
      Counter("node_pressure_io_stalled_seconds_total",
              "Total time in seconds no process could make progress due to IO congestion");
};

// The `total=` value of a "some ..." or "full ..." pressure line.
Result<double> PressureTotal(const std::vector<std::string_view>& fields) {
  for (std::string_view field : fields) {
    if (field.starts_with("total=")) return ParseNumber(field.substr(6));
  }
  return Status::InvalidArgument("no total= field");
}

struct TimexDescs {
  MetricDesc sync_status = Gauge("node_timex_sync_status",
                                 "Is clock synchronized to a reliable server (1 = yes, 0 = no).");
  MetricDesc offset = Gauge("node_timex_offset_seconds",
                            "Time offset in between local system and reference clock.");
  MetricDesc frequency =
      Gauge("node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.");
  MetricDesc maxerror = Gauge("node_timex_maxerror_seconds", "Maximum error in seconds.");
  MetricDesc esterror = Gauge("node_timex_estimated_error_seconds", "Estimated error in seconds.");
  MetricDesc status = Gauge("node_timex_status", "Value of the status array bits.");
  MetricDesc constant = Gauge("node_timex_loop_time_constant", "Phase-locked loop time constant.");
  MetricDesc tick = Gauge("node_timex_tick_seconds", "Seconds between clock ticks.");
  MetricDesc pps_frequency = Gauge("node_timex_pps_frequency_hertz", "Pulse per second frequency.");
  MetricDesc pps_jitter = Gauge("node_timex_pps_jitter_seconds", "Pulse per second jitter.");
  MetricDesc pps_shift =
      Gauge("node_timex_pps_shift_seconds", "Pulse per second interval duration.");
  MetricDesc pps_stability =
      Gauge("node_timex_pps_stability_hertz",
            "Pulse per second stability, average of recent frequency changes.");
  MetricDesc pps_jitter_count = Counter("node_timex_pps_jitter_total",
                                        "Pulse per second count of jitter limit exceeded events.");
  MetricDesc pps_calibration_count = Counter("node_timex_pps_calibration_total",
                                             "Pulse per second count of calibration intervals.");
  MetricDesc pps_error_count =
      Counter("node_timex_pps_error_total", "Pulse per second count of calibration errors.");
  MetricDesc pps_stability_exceeded_count =
      Counter("node_timex_pps_stability_exceeded_total",
              "Pulse per second count of stability limit exceeded events.");
  MetricDesc tai_offset =
      Gauge("node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.");
};

// node_exporter's default vmstat fields, ^(oom_kill|pgpg|pswp|pg.*fault).*,
// spelled out: this runs for every line of every round.
bool IsReportedVmstatField(std::string_view field) {
  return field.starts_with("oom_kill") || field.starts_with("pgpg") || field.starts_with("pswp") ||
         (field.starts_with("pg") && field.find("fault", 2) != std::string_view::npos);
}

}  // namespace

bool IsIgnoredDisk(std::string_view device) {
  // node_exporter's ^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$, spelled
  // out: this runs for every line of every round.
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  // Strips a run of at least one digit from the front of *s.
  auto digits = [&](std::string_view* s) {
    const size_t n = std::find_if_not(s->begin(), s->end(), is_digit) - s->begin();
    s->remove_prefix(n);
    return n > 0;
  };
  auto only_digits = [&](std::string_view s) { return digits(&s) && s.empty(); };
  for (std::string_view prefix : {"ram", "loop", "fd"}) {
    if (device.starts_with(prefix) && only_digits(device.substr(prefix.size()))) return true;
  }
  for (std::string_view prefix : {"hd", "sd", "vd", "xvd"}) {
    if (!device.starts_with(prefix)) continue;
    std::string_view rest = device.substr(prefix.size());
    if (!rest.empty() && rest[0] >= 'a' && rest[0] <= 'z' && only_digits(rest.substr(1))) {
      return true;
    }
  }
  std::string_view rest = device;
  if (!rest.starts_with("nvme")) return false;
  rest.remove_prefix(4);
  if (!digits(&rest) || !rest.starts_with('n')) return false;
  rest.remove_prefix(1);
  if (!digits(&rest) || !rest.starts_with('p')) return false;
  return only_digits(rest.substr(1));
}

Status ParseDiskstats(std::string_view text, SampleSet* out) {
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    std::vector<std::string_view> lines = Lines(text);
    std::vector<std::string_view> fields;  // Reused line by line.
    for (size_t i = 0; i < lines.size(); ++i) {
      SplitFields(lines[i], &fields);
      if (fields.size() < kMinDiskFields || IsIgnoredDisk(fields[2])) continue;
      Status st = AddDiskLine(fields, set);
      if (!st.ok()) return LineError(i, st.message(), lines[i]);
    }
    return Status::Ok();
  });
}

Status ParseVmstat(std::string_view text, SampleSet* out) {
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    std::vector<std::string_view> lines = Lines(text);
    std::vector<std::string_view> fields;  // Reused line by line.
    for (size_t i = 0; i < lines.size(); ++i) {
      SplitFields(lines[i], &fields);
      if (fields.empty()) continue;
      if (fields.size() != 2) return LineError(i, "expected \"field value\"", lines[i]);
      if (!IsReportedVmstatField(fields[0])) continue;
      Result<double> value = ParseNumber(fields[1]);
      if (!value.ok()) return LineError(i, value.status().message(), lines[i]);
      const std::string key(fields[0]);
      std::string name = "node_vmstat_" + key;
      if (!IsValidMetricName(name))
        return LineError(i, "field is not a valid metric name", lines[i]);
      set->Add(MetricDesc{std::move(name), MetricType::kUntyped,
                          "/proc/vmstat information field " + key + "."},
               {}, *value);
    }
    return Status::Ok();
  });
}

Status ParseFileNr(std::string_view text, SampleSet* out) {
  static const MetricDesc kAllocated =
      Gauge("node_filefd_allocated", "File descriptor statistics: allocated.");
  static const MetricDesc kMaximum =
      Gauge("node_filefd_maximum", "File descriptor statistics: maximum.");
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    std::vector<std::string_view> fields = Fields(text);
    if (fields.size() != 3) {
      return Status::InvalidArgument("expected \"allocated unused maximum\": \"" +
                                     std::string(internal::Trim(text)) + "\"");
    }
    // The middle number, free handles, has been 0 since Linux 2.6.
    ASSIGN_OR_RETURN(double allocated, ParseNumber(fields[0]));
    ASSIGN_OR_RETURN(double maximum, ParseNumber(fields[2]));
    set->Add(kAllocated, {}, allocated);
    set->Add(kMaximum, {}, maximum);
    return Status::Ok();
  });
}

Status ParsePressure(PressureResource resource, std::string_view text, SampleSet* out) {
  static const PressureDescs descs;
  const MetricDesc* some = nullptr;
  const MetricDesc* full = nullptr;  // Null: node_exporter reports only "some".
  switch (resource) {
    case PressureResource::kCpu:
      some = &descs.cpu_waiting;
      break;
    case PressureResource::kMemory:
      some = &descs.memory_waiting;
      full = &descs.memory_stalled;
      break;
    case PressureResource::kIo:
      some = &descs.io_waiting;
      full = &descs.io_stalled;
      break;
  }
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    std::optional<double> some_us;
    std::optional<double> full_us;
    std::vector<std::string_view> lines = Lines(text);
    std::vector<std::string_view> fields;  // Reused line by line.
    for (size_t i = 0; i < lines.size(); ++i) {
      SplitFields(lines[i], &fields);
      if (fields.empty()) continue;
      std::optional<double>* total = fields[0] == "some"   ? &some_us
                                     : fields[0] == "full" ? &full_us
                                                           : nullptr;
      if (total == nullptr) continue;  // Lines a future kernel may add.
      Result<double> value = PressureTotal(fields);
      if (!value.ok()) return LineError(i, value.status().message(), lines[i]);
      *total = *value;
    }
    if (!some_us) return Status::InvalidArgument("no \"some\" line");
    if (full != nullptr && !full_us) return Status::InvalidArgument("no \"full\" line");
    // Divided twice, exactly as node_exporter does, so values match to the bit.
    set->Add(*some, {}, *some_us / 1000.0 / 1000.0);
    if (full != nullptr) set->Add(*full, {}, *full_us / 1000.0 / 1000.0);
    return Status::Ok();
  });
}

void AddTimexSamples(int clock_state, const struct timex& tx, SampleSet* out) {
  static const TimexDescs d;
  constexpr double kMicro = 1e6;
  // adjtimex(2) NOTES: frequencies are in ppm with a 16-bit fraction.
  constexpr double kPpm16Frac = 1000000.0 * 65536.0;
  const double divisor = (tx.status & STA_NANO) != 0 ? 1e9 : kMicro;
  auto add = [out](const MetricDesc& desc, double value) { out->Add(desc, {}, value); };
  add(d.sync_status, clock_state == TIME_ERROR ? 0 : 1);
  add(d.offset, static_cast<double>(tx.offset) / divisor);
  add(d.frequency, 1 + static_cast<double>(tx.freq) / kPpm16Frac);
  add(d.maxerror, static_cast<double>(tx.maxerror) / kMicro);
  add(d.esterror, static_cast<double>(tx.esterror) / kMicro);
  add(d.status, tx.status);
  add(d.constant, static_cast<double>(tx.constant));
  add(d.tick, static_cast<double>(tx.tick) / kMicro);
  add(d.pps_frequency, static_cast<double>(tx.ppsfreq) / kPpm16Frac);
  add(d.pps_jitter, static_cast<double>(tx.jitter) / divisor);
  add(d.pps_shift, tx.shift);
  add(d.pps_stability, static_cast<double>(tx.stabil) / kPpm16Frac);
  add(d.pps_jitter_count, static_cast<double>(tx.jitcnt));
  add(d.pps_calibration_count, static_cast<double>(tx.calcnt));
  add(d.pps_error_count, static_cast<double>(tx.errcnt));
  add(d.pps_stability_exceeded_count, static_cast<double>(tx.stbcnt));
  add(d.tai_offset, tx.tai);
}

}  // namespace vitals::agent
