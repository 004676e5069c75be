#pragma once

#include <sys/timex.h>

#include <string_view>

#include "common/samples.h"
#include "common/status.h"

// Pure parsers for node_exporter 1.5's diskstats, vmstat, filefd, pressure and
// timex collectors: kernel text (or a struct timex) in, samples out, with
// node_exporter's names, types, units, labels and help texts. Each adds its
// samples to *out with out->default_timestamp_ms(); on error it returns
// InvalidArgument naming the offending line and leaves *out unchanged.

namespace vitals::agent {

// /proc/diskstats: per device node_disk_reads_completed_total,
// node_disk_reads_merged_total, node_disk_read_bytes_total (sectors * 512),
// node_disk_read_time_seconds_total, node_disk_writes_completed_total,
// node_disk_writes_merged_total, node_disk_written_bytes_total,
// node_disk_write_time_seconds_total, node_disk_io_now,
// node_disk_io_time_seconds_total and node_disk_io_time_weighted_seconds_total
// (kernel milliseconds turned into seconds); node_disk_discards_completed_total,
// node_disk_discards_merged_total, node_disk_discarded_sectors_total and
// node_disk_discard_time_seconds_total when the kernel prints them (4.18+);
// node_disk_flush_requests_total and node_disk_flush_requests_time_seconds_total
// likewise (5.5+); and node_disk_info{major,minor} 1. All labelled `device`.
// Devices matching IsIgnoredDisk are skipped, and so are lines with fewer than
// 14 columns (partitions on kernels before 2.6.25), as node_exporter does.
Status ParseDiskstats(std::string_view text, SampleSet* out);

// True if node_exporter 1.5's default --collector.diskstats.device-exclude,
// ^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$, drops `device`: RAM
// disks, loop devices, floppies and partitions.
bool IsIgnoredDisk(std::string_view device);

// /proc/vmstat: node_vmstat_<field> (untyped, as in node_exporter) for the
// fields that node_exporter 1.5's default --collector.vmstat.fields,
// ^(oom_kill|pgpg|pswp|pg.*fault).*, selects: pgpgin, pgpgout, pswpin,
// pswpout, pgfault, pgmajfault, oom_kill.
Status ParseVmstat(std::string_view text, SampleSet* out);

// /proc/sys/fs/file-nr ("allocated unused maximum"): node_filefd_allocated
// and node_filefd_maximum.
Status ParseFileNr(std::string_view text, SampleSet* out);

// The files of /proc/pressure.
enum class PressureResource { kCpu, kMemory, kIo };

// One /proc/pressure/<resource> file. From the microsecond `total=` counters:
// cpu gives node_pressure_cpu_waiting_seconds_total ("some"); memory and io
// give node_pressure_<resource>_waiting_seconds_total ("some") and
// node_pressure_<resource>_stalled_seconds_total ("full"). InvalidArgument if
// a line the resource needs is missing or malformed.
Status ParsePressure(PressureResource resource, std::string_view text, SampleSet* out);

// The node_timex_* samples of one adjtimex(2) reading: `clock_state` is its
// return value (TIME_ERROR means not synchronised) and `tx` what it filled
// in. Offsets and jitter are in microseconds, or nanoseconds when STA_NANO is
// set; frequencies are ppm with a 16-bit fraction.
void AddTimexSamples(int clock_state, const struct timex& tx, SampleSet* out);

}  // namespace vitals::agent
