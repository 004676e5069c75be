#pragma once

#include <sys/statvfs.h>
#include <sys/timex.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/host_kernel_stats.h"
#include "agent/host_statvfs.h"
#include "common/clock.h"
#include "common/samples.h"
#include "common/status.h"

// Host probes: read Linux /proc and /sys and publish the same series as
// Prometheus's node_exporter (names, types, help texts, units and labels), so
// dashboards and alerts written for node_exporter work unchanged.

namespace vitals::agent {

// Where the kernel's interfaces are mounted. Tests point these at a fixture
// tree; an agent in a container points them at the host's bind mounts.
struct HostPaths {
  std::string proc = "/proc";  // procfs root.
  std::string sys = "/sys";    // sysfs root.
};

// Pure parsers: file contents in, samples out. Each adds its samples to *out
// with out->default_timestamp_ms(). On error they return InvalidArgument
// naming the offending line and leave *out unchanged.

// /proc/stat: node_cpu_seconds_total{cpu,mode} and
// node_cpu_guest_seconds_total{cpu,mode} per CPU (ticks of USER_HZ=100 turned
// into seconds; the aggregate "cpu" line is skipped, as node_exporter does),
// node_intr_total, node_context_switches_total, node_forks_total,
// node_boot_time_seconds, node_procs_running and node_procs_blocked.
Status ParseProcStat(std::string_view text, SampleSet* out);

// /proc/meminfo: node_memory_<Field>_bytes for every line with a kB unit
// (value * 1024) and node_memory_<Field> for unitless lines such as
// HugePages_Total. "Active(anon)" becomes "Active_anon".
Status ParseMeminfo(std::string_view text, SampleSet* out);

// /proc/loadavg: node_load1, node_load5, node_load15.
Status ParseLoadavg(std::string_view text, SampleSet* out);

// /proc/net/dev: node_network_{receive,transmit}_<column>_total{device} for
// every column of the header, e.g. node_network_receive_errs_total and
// node_network_transmit_colls_total.
Status ParseNetDev(std::string_view text, SampleSet* out);

// One line of /proc/mounts, with the kernel's octal escapes (\040 for a space,
// \011 for a tab, ...) decoded.
struct MountEntry {
  std::string device;
  std::string mountpoint;
  std::string fstype;
  std::string options;  // Comma-separated, e.g. "rw,relatime".
  friend bool operator==(const MountEntry&, const MountEntry&) = default;
};

// Parses /proc/mounts. InvalidArgument if a line has fewer than four fields.
Result<std::vector<MountEntry>> ParseMounts(std::string_view text);

// True if node_exporter 1.5's default excludes drop `m`: mount points under
// /dev, /proc, /sys, /run/credentials/*, /var/lib/docker/* or
// /var/lib/containers/storage/*, and pseudo file system types (proc, sysfs,
// cgroup, overlay, squashfs, ...).
bool IsIgnoredFilesystem(const MountEntry& m);

// The mounts the filesystem collector reports, in mount order: only the last
// mount at each mount point (it hides the earlier ones), then those that are
// not IsIgnoredFilesystem. (node_exporter 1.5 also reports the hidden mounts,
// each with the statvfs numbers of the visible one.)
std::vector<MountEntry> SelectFilesystems(std::vector<MountEntry> mounts);

// Adds the node_filesystem_* samples of one mount from its statvfs(3) result,
// labelled device, fstype and mountpoint: node_filesystem_device_error 0 plus
// size/free/avail bytes, files, files_free and readonly (from the "ro" mount
// option, as node_exporter). `st` == nullptr means statvfs failed or hung,
// which adds node_filesystem_device_error 1 and nothing else.
void AddFilesystemSamples(const MountEntry& m, const struct statvfs* st, SampleSet* out);

// How the probe reaches what is not a file, and how long it waits for it.
struct HostProbeOptions {
  // How long one mount's statvfs(3) may take before the mount counts as hung
  // (node_exporter's mount_timeout). A hung mount reports
  // node_filesystem_device_error 1 and is not tried again until that call
  // returns.
  std::chrono::milliseconds mount_timeout{std::chrono::seconds(5)};
  // statvfs(3), run on the probe's worker thread. Tests inject fakes.
  StatvfsFunction statvfs_fn = ::statvfs;
  // adjtimex(2); the probe only reads (modes = 0). Tests inject fakes.
  std::function<int(struct timex*)> adjtimex_fn = ::adjtimex;
};

// Reads the host's kernel interfaces and reports, with node_scrape_collector_success
// {collector} 1 or 0 for each collector:
//   cpu, stat  ParseProcStat on <proc>/stat
//   meminfo    ParseMeminfo on <proc>/meminfo
//   loadavg    ParseLoadavg on <proc>/loadavg
//   diskstats  ParseDiskstats on <proc>/diskstats
//   vmstat     ParseVmstat on <proc>/vmstat
//   filefd     ParseFileNr on <proc>/sys/fs/file-nr
//   pressure   ParsePressure on <proc>/pressure/{cpu,memory,io}
//   netdev     ParseNetDev on <proc>/net/dev
//   netclass   node_network_up{device} and node_network_info{device,address,
//              broadcast,duplex,ifalias,operstate} from <sys>/class/net/*
//   filesystem node_filesystem_* for the selected mounts of <proc>/1/mounts
//              (<proc>/mounts if that is unreadable, as node_exporter)
//   time       node_time_seconds, node_time_zone_offset_seconds{time_zone} and
//              node_time_clocksource_{available,current}_info{clocksource,device}
//              from <sys>/devices/system/clocksource
//   timex      AddTimexSamples on adjtimex(2)
//   uname      node_uname_info
//
// A subsystem that fails (file missing, parse error) reports success 0 and no
// other samples while the rest still report; its first failure is logged as a
// warning, later ones are not. A kernel without the feature (no PSI, adjtimex
// not permitted) also reports success 0, as node_exporter does, but is not
// logged.
//
// The files read every round stay open between rounds (procfs and sysfs
// regenerate a file for each read from its start); those of network
// interfaces while the interface exists.
//
// Not thread-safe: call Collect from one thread at a time. The probe owns one
// worker thread for statvfs calls (see StatvfsWorker).
class HostProbe {
 public:
  // `clock` gives node_time_seconds and must outlive the probe.
  explicit HostProbe(HostPaths paths, const Clock& clock = Clock::Real(),
                     HostProbeOptions options = {});
  ~HostProbe();

  HostProbe(const HostProbe&) = delete;
  HostProbe& operator=(const HostProbe&) = delete;

  // Adds this round's samples to *out with out->default_timestamp_ms(). Takes
  // up to mount_timeout longer for each mount that hangs in this round.
  // REQUIRES: out != nullptr.
  void Collect(SampleSet* out);

 private:
  struct Files;

  Status CollectTime(SampleSet* out);
  Status CollectClocksources(SampleSet* out);
  Status CollectPressure(SampleSet* out);
  Status CollectNetClass(SampleSet* out);
  Status CollectFilesystems(SampleSet* out);
  Status CollectTimex(SampleSet* out) const;

  // Adds node_scrape_collector_success for each of `collectors`, which are
  // all fed by one subsystem, and logs the subsystem's first failure unless
  // it is Unavailable.
  void Report(const Status& status, std::initializer_list<std::string_view> collectors,
              SampleSet* out);

  const HostPaths paths_;
  const Clock& clock_;
  const std::function<int(struct timex*)> adjtimex_fn_;
  StatvfsWorker statvfs_;
  const std::unique_ptr<Files> files_;                  // Open between rounds.
  std::set<std::string, std::less<>> logged_failures_;  // First collector of each logged subsystem.
};

}  // namespace vitals::agent
