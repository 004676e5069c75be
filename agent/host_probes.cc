#include "agent/host_probes.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <map>
#include <system_error>
#include <utility>

#include "agent/host_common.h"
#include "common/labels.h"
#include "common/log.h"

namespace vitals::agent {
namespace {

using internal::AllOrNothing;
using internal::Counter;
using internal::Fields;
using internal::SplitFields;
using internal::Gauge;
using internal::KernelDir;
using internal::KernelFile;
using internal::LineError;
using internal::Lines;
using internal::ParseKernelFile;
using internal::ParseNumber;
using internal::Trim;

// /proc/stat counts CPU time in USER_HZ ticks, which the kernel fixes at 100
// for user space on every architecture node_exporter supports.
constexpr double kUserHz = 100;

// node_exporter 1.5's defaults for --collector.filesystem.mount-points-exclude,
// ^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/),
// and --collector.filesystem.fs-types-exclude, spelled out.
bool IsExcludedMountPoint(std::string_view path) {
  for (std::string_view dir : {"/dev", "/proc", "/sys"}) {
    if (path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/')) {
      return true;
    }
  }
  // ".+" and then the end or a slash: anything at all after the prefix.
  for (std::string_view parent :
       {"/run/credentials/", "/var/lib/docker/", "/var/lib/containers/storage/"}) {
    if (path.starts_with(parent) && path.size() > parent.size()) return true;
  }
  return false;
}

constexpr std::string_view kFsTypesExclude[] = {
    "autofs",     "binfmt_misc", "bpf",       "cgroup",   "cgroup2",   "configfs",
    "debugfs",    "devpts",      "devtmpfs",  "fusectl",  "hugetlbfs", "iso9660",
    "mqueue",     "nsfs",        "overlay",   "proc",     "procfs",    "pstore",
    "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs", "sysfs",     "tracefs"};

// The metrics whose names are fixed, with node_exporter's help texts.
struct NodeDescs {
  MetricDesc cpu_seconds =
      Counter("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.");
  MetricDesc cpu_guest_seconds = Counter("node_cpu_guest_seconds_total",
                                         "Seconds the CPUs spent in guests (VMs) for each mode.");
  MetricDesc intr = Counter("node_intr_total", "Total number of interrupts serviced.");
  MetricDesc context_switches =
      Counter("node_context_switches_total", "Total number of context switches.");
  MetricDesc forks = Counter("node_forks_total", "Total number of forks.");
  MetricDesc boot_time = Gauge("node_boot_time_seconds", "Node boot time, in unixtime.");
  MetricDesc procs_running = Gauge("node_procs_running", "Number of processes in runnable state.");
  MetricDesc procs_blocked =
      Gauge("node_procs_blocked", "Number of processes blocked waiting for I/O to complete.");
  MetricDesc load1 = Gauge("node_load1", "1m load average.");
  MetricDesc load5 = Gauge("node_load5", "5m load average.");
  MetricDesc load15 = Gauge("node_load15", "15m load average.");
  MetricDesc fs_size = Gauge("node_filesystem_size_bytes", "Filesystem size in bytes.");
  MetricDesc fs_free = Gauge("node_filesystem_free_bytes", "Filesystem free space in bytes.");
  MetricDesc fs_avail = Gauge("node_filesystem_avail_bytes",
                              "Filesystem space available to non-root users in bytes.");
  MetricDesc fs_files = Gauge("node_filesystem_files", "Filesystem total file nodes.");
  MetricDesc fs_files_free =
      Gauge("node_filesystem_files_free", "Filesystem total free file nodes.");
  MetricDesc fs_readonly = Gauge("node_filesystem_readonly", "Filesystem read-only status.");
  MetricDesc fs_device_error =
      Gauge("node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.");
  MetricDesc network_up = Gauge("node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.");
  MetricDesc network_info = Gauge(
      "node_network_info", "Non-numeric data from /sys/class/net/<iface>, value is always 1.");
  MetricDesc time = Gauge("node_time_seconds", "System time in seconds since epoch (1970).");
  MetricDesc time_zone_offset =
      Gauge("node_time_zone_offset_seconds", "System time zone offset in seconds.");
  MetricDesc clocksource_available =
      Gauge("node_time_clocksource_available_info",
            "Available clocksources read from '/sys/devices/system/clocksource'.");
  MetricDesc clocksource_current =
      Gauge("node_time_clocksource_current_info",
            "Current clocksource read from '/sys/devices/system/clocksource'.");
  MetricDesc uname_info =
      Gauge("node_uname_info", "Labeled system information as provided by the uname system call.");
  MetricDesc scrape_success =
      Gauge("node_scrape_collector_success", "node_exporter: Whether a collector succeeded.");
};

const NodeDescs& Descs() {
  static const NodeDescs descs;
  return descs;
}

// One "cpuN v1 v2 ..." line of /proc/stat. Kernels before 2.6.33 print fewer
// columns; missing ones count as zero, like the procfs library.
Status AddCpuLine(const std::vector<std::string_view>& fields, SampleSet* out) {
  static constexpr std::array<std::string_view, 8> kModes = {"user",   "nice", "system",  "idle",
                                                             "iowait", "irq",  "softirq", "steal"};
  std::string_view id = fields[0].substr(3);
  if (id.empty() ||
      !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::InvalidArgument("bad CPU name \"" + std::string(fields[0]) + "\"");
  }
  if (fields.size() < 2) return Status::InvalidArgument("CPU line without values");
  std::array<double, kModes.size() + 2> seconds{};  // The modes, then guest and guest_nice.
  for (size_t i = 0; i < seconds.size() && i + 1 < fields.size(); ++i) {
    ASSIGN_OR_RETURN(double ticks, ParseNumber(fields[i + 1]));
    seconds[i] = ticks / kUserHz;
  }
  const std::string cpu(id);
  for (size_t i = 0; i < kModes.size(); ++i) {
    out->Add(Descs().cpu_seconds, {{"cpu", cpu}, {"mode", std::string(kModes[i])}}, seconds[i]);
  }
  // The kernel also counts guest time in user and nice; node_exporter reports
  // it separately without subtracting.
  out->Add(Descs().cpu_guest_seconds, {{"cpu", cpu}, {"mode", "user"}}, seconds[8]);
  out->Add(Descs().cpu_guest_seconds, {{"cpu", cpu}, {"mode", "nice"}}, seconds[9]);
  return Status::Ok();
}

// The node_exporter name of a meminfo field: "Active(anon)" -> "Active_anon".
std::string MeminfoKey(std::string_view field) {
  size_t open = field.find('(');
  size_t close = field.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::string(field);
  }
  return std::string(field.substr(0, open)) + "_" +
         std::string(field.substr(open + 1, close - open - 1)) +
         std::string(field.substr(close + 1));
}

// Decodes the octal escapes the kernel writes into /proc/mounts for space,
// tab, newline and backslash (e.g. "\040").
std::string DecodeOctalEscapes(std::string_view s) {
  auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
        is_octal(s[i + 2]) && is_octal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool HasMountOption(std::string_view options, std::string_view option) {
  while (!options.empty()) {
    size_t comma = options.find(',');
    if (options.substr(0, comma) == option) return true;
    if (comma == std::string_view::npos) break;
    options.remove_prefix(comma + 1);
  }
  return false;
}

Status CollectUname(SampleSet* out) {
  struct utsname u {};
  if (::uname(&u) != 0) {
    return Status::IOError("uname: " + std::generic_category().message(errno));
  }
  out->Add(Descs().uname_info,
           {{"sysname", u.sysname},
            {"release", u.release},
            {"version", u.version},
            {"machine", u.machine},
            {"nodename", u.nodename},
            {"domainname", u.domainname}},
           1);
  return Status::Ok();
}

}  // namespace

Status ParseProcStat(std::string_view text, SampleSet* out) {
  static const std::map<std::string_view, const MetricDesc*> kSingleValues = {
      {"intr", &Descs().intr},
      {"ctxt", &Descs().context_switches},
      {"btime", &Descs().boot_time},
      {"processes", &Descs().forks},
      {"procs_running", &Descs().procs_running},
      {"procs_blocked", &Descs().procs_blocked},
  };
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    std::vector<std::string_view> lines = Lines(text);
    bool saw_cpu = false;
    std::vector<std::string_view> fields;  // Reused line by line.
    for (size_t i = 0; i < lines.size(); ++i) {
      SplitFields(lines[i], &fields);
      if (fields.empty() || fields[0] == "cpu") continue;  // The aggregate is left to PromQL.
      if (fields[0].starts_with("cpu")) {
        Status st = AddCpuLine(fields, set);
        if (!st.ok()) return LineError(i, st.message(), lines[i]);
        saw_cpu = true;
        continue;
      }
      auto it = kSingleValues.find(fields[0]);
      if (it == kSingleValues.end()) continue;  // softirq and future additions.
      if (fields.size() < 2) return LineError(i, "missing value", lines[i]);
      // For intr the first number is the total; the per-IRQ counts follow.
      Result<double> value = ParseNumber(fields[1]);
      if (!value.ok()) return LineError(i, value.status().message(), lines[i]);
      set->Add(*it->second, {}, *value);
    }
    if (!saw_cpu) return Status::InvalidArgument("no per-CPU lines");
    return Status::Ok();
  });
}

Status ParseMeminfo(std::string_view text, SampleSet* out) {
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    std::vector<std::string_view> lines = Lines(text);
    std::vector<std::string_view> fields;  // Reused line by line.
    for (size_t i = 0; i < lines.size(); ++i) {
      SplitFields(lines[i], &fields);
      if (fields.empty()) continue;  // Some kernels print stray blank lines.
      if (fields.size() > 3 || fields.size() < 2 || !fields[0].ends_with(':')) {
        return LineError(i, "expected \"Field: value [kB]\"", lines[i]);
      }
      Result<double> value = ParseNumber(fields[1]);
      if (!value.ok()) return LineError(i, value.status().message(), lines[i]);
      std::string key = MeminfoKey(fields[0].substr(0, fields[0].size() - 1));
      double v = *value;
      if (fields.size() == 3) {
        if (fields[2] != "kB") return LineError(i, "unknown unit", lines[i]);
        v *= 1024;
        key += "_bytes";
      }
      std::string name = "node_memory_" + key;
      if (!IsValidMetricName(name)) {
        return LineError(i, "field is not a valid metric name", lines[i]);
      }
      // node_exporter makes fields ending in _total counters.
      MetricType type = key.ends_with("_total") ? MetricType::kCounter : MetricType::kGauge;
      set->Add(MetricDesc{std::move(name), type, "Memory information field " + key + "."}, {}, v);
    }
    return Status::Ok();
  });
}

Status ParseLoadavg(std::string_view text, SampleSet* out) {
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    std::vector<std::string_view> fields = Fields(text);
    if (fields.size() < 3) {
      return Status::InvalidArgument("expected at least 3 fields: \"" + std::string(Trim(text)) +
                                     "\"");
    }
    const MetricDesc* descs[] = {&Descs().load1, &Descs().load5, &Descs().load15};
    for (size_t i = 0; i < 3; ++i) {
      ASSIGN_OR_RETURN(double value, ParseNumber(fields[i]));
      set->Add(*descs[i], {}, value);
    }
    return Status::Ok();
  });
}

Status ParseNetDev(std::string_view text, SampleSet* out) {
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    std::vector<std::string_view> lines = Lines(text);
    // Line 1 groups the columns ("Inter-| Receive | Transmit"); line 2 names them.
    if (lines.size() < 2) return Status::InvalidArgument("missing header lines");
    std::vector<std::string_view> groups;
    for (std::string_view rest = lines[1];;) {
      size_t bar = rest.find('|');
      groups.push_back(rest.substr(0, bar));
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 1);
    }
    if (groups.size() != 3) return LineError(1, "expected interface|receive|transmit", lines[1]);
    std::vector<MetricDesc> descs;
    for (std::string_view direction : {"receive", "transmit"}) {
      for (std::string_view column : Fields(groups[direction == "receive" ? 1 : 2])) {
        std::string key = std::string(direction) + "_" + std::string(column);
        std::string name = "node_network_" + key + "_total";
        if (!IsValidMetricName(name)) return LineError(1, "bad column name", lines[1]);
        descs.push_back(Counter(std::move(name), "Network device statistic " + key + "."));
      }
    }
    std::vector<std::string_view> values;  // Reused line by line.
    for (size_t i = 2; i < lines.size(); ++i) {
      if (Trim(lines[i]).empty()) continue;
      // Old kernels print no space after the colon ("eth0:123"), so split on it.
      size_t colon = lines[i].find(':');
      if (colon == std::string_view::npos) return LineError(i, "missing device name", lines[i]);
      std::string device(Trim(lines[i].substr(0, colon)));
      SplitFields(lines[i].substr(colon + 1), &values);
      if (device.empty() || values.size() != descs.size()) {
        return LineError(i, "expected " + std::to_string(descs.size()) + " values", lines[i]);
      }
      for (size_t k = 0; k < values.size(); ++k) {
        Result<double> value = ParseNumber(values[k]);
        if (!value.ok()) return LineError(i, value.status().message(), lines[i]);
        set->Add(descs[k], {{"device", device}}, *value);
      }
    }
    return Status::Ok();
  });
}

Result<std::vector<MountEntry>> ParseMounts(std::string_view text) {
  std::vector<MountEntry> mounts;
  std::vector<std::string_view> lines = Lines(text);
  std::vector<std::string_view> fields;  // Reused line by line.
  for (size_t i = 0; i < lines.size(); ++i) {
    SplitFields(lines[i], &fields);
    if (fields.empty()) continue;
    if (fields.size() < 4) {
      return LineError(i, "expected device, mount point, type and options", lines[i]);
    }
    mounts.push_back(MountEntry{DecodeOctalEscapes(fields[0]), DecodeOctalEscapes(fields[1]),
                                DecodeOctalEscapes(fields[2]), DecodeOctalEscapes(fields[3])});
  }
  return mounts;
}

bool IsIgnoredFilesystem(const MountEntry& m) {
  return IsExcludedMountPoint(m.mountpoint) ||
         std::find(std::begin(kFsTypesExclude), std::end(kFsTypesExclude), m.fstype) !=
             std::end(kFsTypesExclude);
}

std::vector<MountEntry> SelectFilesystems(std::vector<MountEntry> mounts) {
  std::vector<MountEntry> visible;
  std::map<std::string, size_t, std::less<>> index;  // Mount point -> position in `visible`.
  for (MountEntry& m : mounts) {
    auto [it, inserted] = index.try_emplace(m.mountpoint, visible.size());
    if (inserted) {
      visible.push_back(std::move(m));
    } else {
      visible[it->second] = std::move(m);
    }
  }
  std::erase_if(visible, IsIgnoredFilesystem);
  return visible;
}

void AddFilesystemSamples(const MountEntry& m, const struct statvfs* st, SampleSet* out) {
  const NodeDescs& d = Descs();
  const Labels labels = {{"device", m.device}, {"fstype", m.fstype}, {"mountpoint", m.mountpoint}};
  out->Add(d.fs_device_error, labels, st == nullptr ? 1 : 0);
  if (st == nullptr) return;
  // POSIX counts blocks in f_frsize units; Linux sets it equal to f_bsize
  // (node_exporter's multiplier) except on file systems that differ.
  double block = static_cast<double>(st->f_frsize != 0 ? st->f_frsize : st->f_bsize);
  out->Add(d.fs_size, labels, static_cast<double>(st->f_blocks) * block);
  out->Add(d.fs_free, labels, static_cast<double>(st->f_bfree) * block);
  out->Add(d.fs_avail, labels, static_cast<double>(st->f_bavail) * block);
  out->Add(d.fs_files, labels, static_cast<double>(st->f_files));
  out->Add(d.fs_files_free, labels, static_cast<double>(st->f_ffree));
  out->Add(d.fs_readonly, labels, HasMountOption(m.options, "ro") ? 1 : 0);
}

// The files Collect reads, open between rounds (internal::KernelFile).
struct HostProbe::Files {
  // The attributes of one network interface, in /sys/class/net/<device>.
  struct NetDevice {
    explicit NetDevice(const std::string& dir)
        : operstate(dir + "/operstate"),
          address(dir + "/address"),
          broadcast(dir + "/broadcast"),
          duplex(dir + "/duplex"),
          ifalias(dir + "/ifalias") {}
    KernelFile operstate, address, broadcast, duplex, ifalias;
  };
  // The clocksources one clocksource device offers and uses.
  struct Clocksource {
    explicit Clocksource(const std::string& dir)
        : available(dir + "/available_clocksource"), current(dir + "/current_clocksource") {}
    KernelFile available, current;
  };

  explicit Files(const HostPaths& paths)
      : stat(paths.proc + "/stat"),
        meminfo(paths.proc + "/meminfo"),
        loadavg(paths.proc + "/loadavg"),
        diskstats(paths.proc + "/diskstats"),
        vmstat(paths.proc + "/vmstat"),
        file_nr(paths.proc + "/sys/fs/file-nr"),
        net_dev(paths.proc + "/net/dev"),
        pressure_cpu(paths.proc + "/pressure/cpu"),
        pressure_memory(paths.proc + "/pressure/memory"),
        pressure_io(paths.proc + "/pressure/io"),
        init_mounts(paths.proc + "/1/mounts"),
        own_mounts(paths.proc + "/mounts"),
        net_class_dir(paths.sys + "/class/net"),
        clocksource_dir(paths.sys + "/devices/system/clocksource") {}

  KernelFile stat, meminfo, loadavg, diskstats, vmstat, file_nr, net_dev;
  KernelFile pressure_cpu, pressure_memory, pressure_io;
  KernelFile init_mounts, own_mounts;
  // The file the mount table was last read from, and the filesystems chosen
  // from it: kept while the kernel reports no mount or unmount.
  KernelFile* mounts_source = nullptr;
  std::vector<MountEntry> filesystems;
  KernelDir net_class_dir;
  std::map<std::string, NetDevice, std::less<>> net_devices;  // Those seen last round.
  KernelDir clocksource_dir;
  std::map<std::string, Clocksource, std::less<>> clocksources;  // By directory name.
  std::vector<std::string> names;  // A directory's entries, reused every listing.
  // Every file is read into this buffer and parsed before the next is read:
  // one allocation for the probe's lifetime instead of one per file.
  std::string buffer;
};

HostProbe::HostProbe(HostPaths paths, const Clock& clock, HostProbeOptions options)
    : paths_(std::move(paths)),
      clock_(clock),
      adjtimex_fn_(std::move(options.adjtimex_fn)),
      statvfs_(StatvfsWorker::Options{options.mount_timeout, std::move(options.statvfs_fn)}),
      files_(std::make_unique<Files>(paths_)) {}

HostProbe::~HostProbe() = default;

void HostProbe::Collect(SampleSet* out) {
  Files& f = *files_;
  std::string* buffer = &f.buffer;
  Report(ParseKernelFile(f.stat, buffer, ParseProcStat, out), {"cpu", "stat"}, out);
  Report(ParseKernelFile(f.meminfo, buffer, ParseMeminfo, out), {"meminfo"}, out);
  Report(ParseKernelFile(f.loadavg, buffer, ParseLoadavg, out), {"loadavg"}, out);
  Report(ParseKernelFile(f.diskstats, buffer, ParseDiskstats, out), {"diskstats"}, out);
  Report(ParseKernelFile(f.vmstat, buffer, ParseVmstat, out), {"vmstat"}, out);
  Report(ParseKernelFile(f.file_nr, buffer, ParseFileNr, out), {"filefd"}, out);
  Report(CollectPressure(out), {"pressure"}, out);
  Report(ParseKernelFile(f.net_dev, buffer, ParseNetDev, out), {"netdev"}, out);
  Report(CollectNetClass(out), {"netclass"}, out);
  Report(CollectFilesystems(out), {"filesystem"}, out);
  Report(CollectTime(out), {"time"}, out);
  Report(CollectTimex(out), {"timex"}, out);
  Report(CollectUname(out), {"uname"}, out);
}

Status HostProbe::CollectTime(SampleSet* out) {
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    const int64_t now_ms = clock_.NowMillis();
    set->Add(Descs().time, {}, static_cast<double>(now_ms) / 1000);
    const time_t now_s = static_cast<time_t>(now_ms / 1000);
    struct tm local {};
    if (::localtime_r(&now_s, &local) == nullptr) {
      return Status::Internal("localtime_r: " + std::generic_category().message(errno));
    }
    set->Add(Descs().time_zone_offset,
             {{"time_zone", local.tm_zone != nullptr ? local.tm_zone : ""}},
             static_cast<double>(local.tm_gmtoff));
    return CollectClocksources(set);
  });
}

// node_time_clocksource_{available,current}_info{clocksource,device} from
// <sys>/devices/system/clocksource/clocksource<device>/{available,current}_clocksource.
// A missing directory (no sysfs, or a kernel without it) adds nothing, as in
// node_exporter.
Status HostProbe::CollectClocksources(SampleSet* out) {
  Files& f = *files_;
  Status listed = f.clocksource_dir.List(&f.names);
  if (listed.code() == Status::Code::kNotFound) return Status::Ok();
  RETURN_IF_ERROR(listed);
  std::vector<std::string> names;
  for (std::string& name : f.names) {
    if (name.starts_with("clocksource")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string device = name.substr(std::string_view("clocksource").size());
    Files::Clocksource& files =
        f.clocksources.try_emplace(name, f.clocksource_dir.path() + "/" + name).first->second;
    RETURN_IF_ERROR(files.available.Read(&f.buffer));
    for (std::string_view source : Fields(f.buffer)) {
      out->Add(Descs().clocksource_available,
               {{"clocksource", std::string(source)}, {"device", device}}, 1);
    }
    RETURN_IF_ERROR(files.current.Read(&f.buffer));
    out->Add(Descs().clocksource_current,
             {{"clocksource", std::string(Trim(f.buffer))}, {"device", device}}, 1);
  }
  return Status::Ok();
}

Status HostProbe::CollectPressure(SampleSet* out) {
  Files& f = *files_;
  const std::pair<KernelFile*, PressureResource> files[] = {
      {&f.pressure_cpu, PressureResource::kCpu},
      {&f.pressure_memory, PressureResource::kMemory},
      {&f.pressure_io, PressureResource::kIo},
  };
  return AllOrNothing(out, [&](SampleSet* set) -> Status {
    for (const auto& [file, resource] : files) {
      Status read = file->Read(&f.buffer);
      if (read.code() == Status::Code::kNotFound) {
        // Kernels before 4.20, or built without CONFIG_PSI, or booted with psi=0.
        return Status::Unavailable(file->path() +
                                   " is missing: the kernel does not report pressure");
      }
      RETURN_IF_ERROR(read);
      Status st = ParsePressure(resource, f.buffer, set);
      if (!st.ok()) return st.WithContext(file->path());
    }
    return Status::Ok();
  });
}

Status HostProbe::CollectNetClass(SampleSet* out) {
  Files& f = *files_;
  RETURN_IF_ERROR(f.net_class_dir.List(&f.names));
  std::vector<std::string> devices;
  for (const std::string& name : f.names) {
    // Skips plain files such as bonding_masters; devices are (links to)
    // directories. A device seen last round still is one.
    if (f.net_devices.contains(name) || f.net_class_dir.IsDirectory(name)) {
      devices.push_back(name);
    }
  }
  std::sort(devices.begin(), devices.end());
  // Interfaces that went away close their files.
  std::erase_if(f.net_devices, [&](const auto& entry) {
    return !std::binary_search(devices.begin(), devices.end(), entry.first);
  });
  for (const std::string& device : devices) {
    Files::NetDevice& files =
        f.net_devices.try_emplace(device, f.net_class_dir.path() + "/" + device).first->second;
    // An attribute that cannot be read (duplex of lo gives EINVAL) is empty,
    // which drops its label, and an unreadable operstate counts as not up,
    // as in node_exporter.
    auto attribute = [&](KernelFile& file) {
      return file.Read(&f.buffer).ok() ? std::string(Trim(f.buffer)) : std::string();
    };
    const std::string operstate = attribute(files.operstate);
    out->Add(Descs().network_up, {{"device", device}}, operstate == "up" ? 1 : 0);
    out->Add(Descs().network_info,
             {{"device", device},
              {"address", attribute(files.address)},
              {"broadcast", attribute(files.broadcast)},
              {"duplex", attribute(files.duplex)},
              {"ifalias", attribute(files.ifalias)},
              {"operstate", operstate}},
             1);
  }
  return Status::Ok();
}

Status HostProbe::CollectFilesystems(SampleSet* out) {
  // node_exporter reads init's mount table, which a service's private mount
  // namespace (systemd's ProtectSystem=, PrivateTmp=) does not change, and
  // falls back to our own where /proc/1 is hidden (hidepid).
  Files& f = *files_;
  if (f.mounts_source == nullptr || !f.mounts_source->MountTableUnchanged()) {
    f.mounts_source = nullptr;
    KernelFile* file = &f.init_mounts;
    Status read = file->Read(&f.buffer);
    if (!read.ok()) {
      file = &f.own_mounts;
      read = file->Read(&f.buffer);
    }
    RETURN_IF_ERROR(read);
    Result<std::vector<MountEntry>> mounts = ParseMounts(f.buffer);
    if (!mounts.ok()) return mounts.status().WithContext(file->path());
    f.filesystems = SelectFilesystems(std::move(mounts).value());
    f.mounts_source = file;
  }
  for (const MountEntry& m : f.filesystems) {
    struct statvfs st {};
    StatvfsWorker::Outcome outcome = statvfs_.Stat(m.mountpoint, &st);
    if (outcome == StatvfsWorker::Outcome::kTimedOut) {
      LOG_WARN << "statvfs of mount point " << m.mountpoint << " did not return within the "
               << "mount timeout; reporting it as failed until the call returns";
    }
    AddFilesystemSamples(m, outcome == StatvfsWorker::Outcome::kOk ? &st : nullptr, out);
  }
  return Status::Ok();
}

Status HostProbe::CollectTimex(SampleSet* out) const {
  struct timex tx {};  // modes = 0: read only, no privilege needed.
  int state = adjtimex_fn_(&tx);
  if (state < 0) {
    int err = errno;
    std::string msg = "adjtimex: " + std::generic_category().message(err);
    // Seccomp profiles of some container runtimes refuse it; node_exporter
    // treats that as no data too.
    return err == EPERM ? Status::Unavailable(msg) : Status::IOError(msg);
  }
  AddTimexSamples(state, tx, out);
  return Status::Ok();
}

void HostProbe::Report(const Status& status, std::initializer_list<std::string_view> collectors,
                       SampleSet* out) {
  for (std::string_view collector : collectors) {
    out->Add(Descs().scrape_success, {{"collector", std::string(collector)}}, status.ok() ? 1 : 0);
  }
  if (status.ok() || status.code() == Status::Code::kUnavailable) return;
  std::string_view subsystem = *collectors.begin();
  if (logged_failures_.contains(subsystem)) return;
  logged_failures_.emplace(subsystem);
  LOG_WARN << "host probe " << subsystem
           << " failed, skipping it (later failures are not logged): " << status.ToString();
}

}  // namespace vitals::agent
