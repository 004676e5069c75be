#include "agent/host_probes.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/labels.h"
#include "common/samples.h"
#include "tests/agent/host_test_util.h"

// The files under tests/fixtures/proc were captured from a real Linux host;
// the expected values below are read off those files.

namespace vitals::agent {
namespace {

size_t CountSeries(const SampleSet& set, std::string_view name) {
  size_t n = 0;
  for (const Sample& s : set.samples()) {
    if (GetLabel(s.labels, kMetricNameLabel) == name) ++n;
  }
  return n;
}

// --- /proc/stat ---

TEST(ProcStatParserTest, ConvertsCpu0TicksToSecondsForEveryMode) {
  SampleSet set;
  ASSERT_TRUE(ParseProcStat(ReadFixture("proc/stat"), &set).ok());
  // Fixture line: "cpu0 640 0 681 33943 9 0 5 2 0 0".
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}), 6.40);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "nice"}}), 0);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "system"}}), 6.81);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}}), 339.43);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "iowait"}}), 0.09);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "irq"}}), 0);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "softirq"}}), 0.05);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "steal"}}), 0.02);
}

TEST(ProcStatParserTest, ReportsEightModesPerCpuAndSkipsTheAggregateLine) {
  SampleSet set;
  ASSERT_TRUE(ParseProcStat(ReadFixture("proc/stat"), &set).ok());
  // The fixture host has cpu0 and cpu1.
  EXPECT_EQ(CountSeries(set, "node_cpu_seconds_total"), 16u);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "iowait"}}), 5.65);
  for (const Sample& s : set.samples()) {
    if (GetLabel(s.labels, kMetricNameLabel).starts_with("node_cpu_")) {
      EXPECT_FALSE(GetLabel(s.labels, "cpu").empty()) << FormatSeries(s.labels);
    }
  }
}

TEST(ProcStatParserTest, ReportsGuestTimeAsSeparateUserAndNiceSeries) {
  SampleSet set;
  ASSERT_TRUE(
      ParseProcStat("cpu  1 2 3 4 5 6 7 8 90 120\ncpu3 1 2 3 4 5 6 7 8 90 120\n", &set).ok());
  EXPECT_EQ(Render(set, "node_cpu_guest_seconds_total"),
            "node_cpu_guest_seconds_total{cpu=\"3\",mode=\"user\"} 0.9\n"
            "node_cpu_guest_seconds_total{cpu=\"3\",mode=\"nice\"} 1.2\n");
}

TEST(ProcStatParserTest, ReportsKernelCountersAndProcessGaugesFromFixture) {
  SampleSet set;
  ASSERT_TRUE(ParseProcStat(ReadFixture("proc/stat"), &set).ok());
  std::string rendered = Render(set, "node_intr") + Render(set, "node_context") +
                         Render(set, "node_boot") + Render(set, "node_forks") +
                         Render(set, "node_procs");
  EXPECT_EQ(rendered,
            "node_intr_total 163962\n"
            "node_context_switches_total 365972\n"
            "node_boot_time_seconds 1795296512\n"
            "node_forks_total 4635\n"
            "node_procs_running 1\n"
            "node_procs_blocked 0\n");
}

TEST(ProcStatParserTest, UsesNodeExporterTypesAndHelpTexts) {
  SampleSet set;
  ASSERT_TRUE(ParseProcStat(ReadFixture("proc/stat"), &set).ok());
  const auto& meta = set.metadata();
  EXPECT_EQ(meta.at("node_cpu_seconds_total").type, MetricType::kCounter);
  EXPECT_EQ(meta.at("node_cpu_seconds_total").help, "Seconds the CPUs spent in each mode.");
  EXPECT_EQ(meta.at("node_cpu_guest_seconds_total").help,
            "Seconds the CPUs spent in guests (VMs) for each mode.");
  EXPECT_EQ(meta.at("node_intr_total").type, MetricType::kCounter);
  EXPECT_EQ(meta.at("node_context_switches_total").type, MetricType::kCounter);
  EXPECT_EQ(meta.at("node_forks_total").type, MetricType::kCounter);
  EXPECT_EQ(meta.at("node_boot_time_seconds").type, MetricType::kGauge);
  EXPECT_EQ(meta.at("node_boot_time_seconds").help, "Node boot time, in unixtime.");
  EXPECT_EQ(meta.at("node_procs_running").type, MetricType::kGauge);
  EXPECT_EQ(meta.at("node_procs_blocked").help,
            "Number of processes blocked waiting for I/O to complete.");
}

TEST(ProcStatParserTest, TreatsColumnsMissingOnOldKernelsAsZero) {
  SampleSet set;
  ASSERT_TRUE(ParseProcStat("cpu0 100 200 300 400\n", &set).ok());
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}}), 4);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "steal"}}), 0);
}

TEST(ProcStatParserTest, RejectsNonNumericValueAndLeavesOutputUnchanged) {
  SampleSet set;
  Status st = ParseProcStat("cpu0 1 2 3 4\nctxt lots\n", &set);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("line 2"), std::string::npos) << st.message();
  EXPECT_TRUE(set.empty());
}

TEST(ProcStatParserTest, RejectsTextWithoutPerCpuLines) {
  SampleSet set;
  EXPECT_EQ(ParseProcStat("ctxt 5\n", &set).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseProcStat("", &set).code(), Status::Code::kInvalidArgument);
}

TEST(ProcStatParserTest, RejectsMalformedCpuName) {
  SampleSet set;
  EXPECT_EQ(ParseProcStat("cpuX 1 2 3 4\n", &set).code(), Status::Code::kInvalidArgument);
}

// --- /proc/meminfo ---

TEST(MeminfoParserTest, ConvertsKilobytesToBytes) {
  SampleSet set;
  ASSERT_TRUE(ParseMeminfo(ReadFixture("proc/meminfo"), &set).ok());
  // Fixture lines: "MemAvailable:   24358712 kB", "MemTotal:       24684084 kB".
  EXPECT_DOUBLE_EQ(*Find(set, "node_memory_MemAvailable_bytes"), 24358712.0 * 1024);
  EXPECT_DOUBLE_EQ(*Find(set, "node_memory_MemTotal_bytes"), 24684084.0 * 1024);
  EXPECT_DOUBLE_EQ(*Find(set, "node_memory_VmallocTotal_bytes"), 34359738367.0 * 1024);
}

TEST(MeminfoParserTest, RenamesParenthesizedFieldsLikeNodeExporter) {
  SampleSet set;
  ASSERT_TRUE(ParseMeminfo(ReadFixture("proc/meminfo"), &set).ok());
  EXPECT_DOUBLE_EQ(*Find(set, "node_memory_Active_anon_bytes"), 1520.0 * 1024);
  EXPECT_DOUBLE_EQ(*Find(set, "node_memory_Inactive_file_bytes"), 60740.0 * 1024);
}

TEST(MeminfoParserTest, KeepsUnitlessFieldsWithoutBytesSuffix) {
  SampleSet set;
  ASSERT_TRUE(ParseMeminfo("HugePages_Total:      12\nHugepagesize:       2048 kB\n", &set).ok());
  EXPECT_EQ(Render(set, "node_memory_"),
            "node_memory_HugePages_Total 12\n"
            "node_memory_Hugepagesize_bytes 2097152\n");
  EXPECT_EQ(set.metadata().at("node_memory_HugePages_Total").type, MetricType::kGauge);
}

TEST(MeminfoParserTest, PublishesEveryLineAsGaugeWithFieldHelp) {
  SampleSet set;
  ASSERT_TRUE(ParseMeminfo(ReadFixture("proc/meminfo"), &set).ok());
  EXPECT_EQ(set.size(), 54u);  // The fixture has 54 lines.
  const MetricDesc& desc = set.metadata().at("node_memory_MemAvailable_bytes");
  EXPECT_EQ(desc.type, MetricType::kGauge);
  EXPECT_EQ(desc.help, "Memory information field MemAvailable_bytes.");
}

TEST(MeminfoParserTest, RejectsLineWithoutValue) {
  SampleSet set;
  EXPECT_EQ(ParseMeminfo("MemTotal: 1 kB\nMemFree:\n", &set).code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(set.empty());
}

TEST(MeminfoParserTest, RejectsNonNumericValue) {
  SampleSet set;
  EXPECT_EQ(ParseMeminfo("MemTotal: many kB\n", &set).code(), Status::Code::kInvalidArgument);
}

TEST(MeminfoParserTest, RejectsFieldWithoutColon) {
  SampleSet set;
  EXPECT_EQ(ParseMeminfo("MemTotal 1 kB\n", &set).code(), Status::Code::kInvalidArgument);
}

// --- /proc/loadavg ---

TEST(LoadavgParserTest, ReportsOneFiveAndFifteenMinuteAverages) {
  SampleSet set;
  ASSERT_TRUE(ParseLoadavg(ReadFixture("proc/loadavg"), &set).ok());
  // Fixture: "0.00 0.05 0.03 1/82 4636".
  EXPECT_EQ(Render(set, "node_load"),
            "node_load1 0\n"
            "node_load5 0.05\n"
            "node_load15 0.03\n");
  EXPECT_EQ(set.metadata().at("node_load1").help, "1m load average.");
  EXPECT_EQ(set.metadata().at("node_load15").type, MetricType::kGauge);
}

TEST(LoadavgParserTest, RejectsTruncatedInput) {
  SampleSet set;
  EXPECT_EQ(ParseLoadavg("0.5 0.4\n", &set).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseLoadavg("0.5 x 0.3 1/2 3\n", &set).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(set.empty());
}

// --- /proc/net/dev ---

TEST(NetDevParserTest, ReportsSixteenCountersPerDevice) {
  SampleSet set;
  ASSERT_TRUE(ParseNetDev(ReadFixture("proc/net_dev"), &set).ok());
  EXPECT_EQ(set.size(), 4u * 16);  // lo, ifb0, ifb1, eth0.
  // Fixture line: "eth0: 59106581 1253 0 0 0 0 0 0 63012 729 0 0 0 0 0 0".
  EXPECT_DOUBLE_EQ(*Find(set, "node_network_receive_bytes_total", {{"device", "eth0"}}), 59106581);
  EXPECT_DOUBLE_EQ(*Find(set, "node_network_receive_packets_total", {{"device", "eth0"}}), 1253);
  EXPECT_DOUBLE_EQ(*Find(set, "node_network_transmit_bytes_total", {{"device", "eth0"}}), 63012);
  EXPECT_DOUBLE_EQ(*Find(set, "node_network_transmit_packets_total", {{"device", "eth0"}}), 729);
  EXPECT_DOUBLE_EQ(*Find(set, "node_network_receive_bytes_total", {{"device", "lo"}}), 3267);
}

TEST(NetDevParserTest, UsesNodeExporterMetricNamesTypesAndHelp) {
  SampleSet set;
  ASSERT_TRUE(ParseNetDev(ReadFixture("proc/net_dev"), &set).ok());
  std::string names;
  for (const auto& [name, desc] : set.metadata()) {
    names += name + "\n";
    EXPECT_EQ(desc.type, MetricType::kCounter) << name;
  }
  EXPECT_EQ(names,
            "node_network_receive_bytes_total\n"
            "node_network_receive_compressed_total\n"
            "node_network_receive_drop_total\n"
            "node_network_receive_errs_total\n"
            "node_network_receive_fifo_total\n"
            "node_network_receive_frame_total\n"
            "node_network_receive_multicast_total\n"
            "node_network_receive_packets_total\n"
            "node_network_transmit_bytes_total\n"
            "node_network_transmit_carrier_total\n"
            "node_network_transmit_colls_total\n"
            "node_network_transmit_compressed_total\n"
            "node_network_transmit_drop_total\n"
            "node_network_transmit_errs_total\n"
            "node_network_transmit_fifo_total\n"
            "node_network_transmit_packets_total\n");
  EXPECT_EQ(set.metadata().at("node_network_receive_errs_total").help,
            "Network device statistic receive_errs.");
}

TEST(NetDevParserTest, AcceptsDeviceNameWithoutSpaceAfterColon) {
  SampleSet set;
  ASSERT_TRUE(ParseNetDev("Inter-|   Receive  |  Transmit\n"
                          " face |bytes packets|bytes packets\n"
                          "  eth1:4294967296 7 9 10\n",
                          &set)
                  .ok());
  EXPECT_EQ(Render(set, "node_network_"),
            "node_network_receive_bytes_total{device=\"eth1\"} 4294967296\n"
            "node_network_receive_packets_total{device=\"eth1\"} 7\n"
            "node_network_transmit_bytes_total{device=\"eth1\"} 9\n"
            "node_network_transmit_packets_total{device=\"eth1\"} 10\n");
}

TEST(NetDevParserTest, RejectsLineWithMissingColumns) {
  SampleSet set;
  std::string text = ReadFixture("proc/net_dev") + "  eth9: 1 2 3\n";
  Status st = ParseNetDev(text, &set);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("eth9"), std::string::npos) << st.message();
  EXPECT_TRUE(set.empty());
}

TEST(NetDevParserTest, RejectsMissingHeader) {
  SampleSet set;
  EXPECT_EQ(ParseNetDev("  eth0: 1 2 3 4\n", &set).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseNetDev("", &set).code(), Status::Code::kInvalidArgument);
}

// --- /proc/mounts ---

TEST(MountsParserTest, ParsesDeviceMountPointTypeAndOptions) {
  Result<std::vector<MountEntry>> mounts = ParseMounts(ReadFixture("proc/mounts"));
  ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
  ASSERT_EQ(mounts->size(), 20u);  // The fixture has 20 lines.
  EXPECT_EQ((*mounts)[0], (MountEntry{"proc", "/proc", "proc", "rw,relatime"}));
  EXPECT_EQ((*mounts)[5],
            (MountEntry{"/dev/vda", "/", "ext4",
                        "rw,relatime,discard,resv_strict,resuid=65534,resgid=65534"}));
}

TEST(MountsParserTest, DecodesOctalEscapes) {
  Result<std::vector<MountEntry>> mounts =
      ParseMounts("/dev/sdb1 /media/My\\040Disk\\011x vfat rw 0 0\n");
  ASSERT_TRUE(mounts.ok());
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0].mountpoint, "/media/My Disk\tx");
}

TEST(MountsParserTest, LeavesBackslashWithoutOctalDigitsAlone) {
  Result<std::vector<MountEntry>> mounts = ParseMounts("srv:/x /mnt/a\\9b nfs rw 0 0\n");
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ((*mounts)[0].mountpoint, "/mnt/a\\9b");
}

TEST(MountsParserTest, RejectsLineWithTooFewFields) {
  Result<std::vector<MountEntry>> mounts = ParseMounts("/dev/vda / ext4 rw 0 0\n/dev/vdb /data\n");
  ASSERT_FALSE(mounts.ok());
  EXPECT_EQ(mounts.status().code(), Status::Code::kInvalidArgument);
}

// --- Which file systems are reported ---

TEST(FilesystemFilterTest, KeepsTmpfsOnRun) {
  EXPECT_FALSE(IsIgnoredFilesystem({"tmpfs", "/run", "tmpfs", "rw"}));
  EXPECT_FALSE(IsIgnoredFilesystem({"tmpfs", "/run/user/1000", "tmpfs", "rw"}));
}

TEST(FilesystemFilterTest, SkipsPseudoFilesystemTypes) {
  for (const char* fstype : {"proc", "sysfs", "cgroup", "cgroup2", "overlay", "squashfs", "nsfs",
                             "bpf", "tracefs", "autofs", "iso9660", "selinuxfs"}) {
    EXPECT_TRUE(IsIgnoredFilesystem({"x", "/mnt/x", fstype, "rw"})) << fstype;
  }
  EXPECT_FALSE(IsIgnoredFilesystem({"x", "/mnt/x", "cgroup3", "rw"}));
  EXPECT_FALSE(IsIgnoredFilesystem({"x", "/mnt/x", "xfs", "rw"}));
}

TEST(FilesystemFilterTest, SkipsExcludedMountPointsButNotTheirLookalikes) {
  EXPECT_TRUE(IsIgnoredFilesystem({"tmpfs", "/dev/shm", "tmpfs", "rw"}));
  EXPECT_TRUE(IsIgnoredFilesystem({"x", "/proc", "ext4", "rw"}));
  EXPECT_TRUE(IsIgnoredFilesystem({"x", "/sys/fs/cgroup", "tmpfs", "rw"}));
  EXPECT_TRUE(IsIgnoredFilesystem({"x", "/run/credentials/a.service", "tmpfs", "ro"}));
  EXPECT_TRUE(IsIgnoredFilesystem({"x", "/var/lib/docker/volumes/v", "ext4", "rw"}));
  EXPECT_TRUE(IsIgnoredFilesystem({"x", "/var/lib/containers/storage/o", "xfs", "rw"}));
  EXPECT_FALSE(IsIgnoredFilesystem({"x", "/devices", "ext4", "rw"}));
  EXPECT_FALSE(IsIgnoredFilesystem({"x", "/var/lib/docker", "ext4", "rw"}));
  EXPECT_FALSE(IsIgnoredFilesystem({"x", "/run/credentials", "tmpfs", "rw"}));
}

TEST(FilesystemFilterTest, SelectsOnlyRealFilesystemsFromFixture) {
  Result<std::vector<MountEntry>> mounts = ParseMounts(ReadFixture("proc/mounts"));
  ASSERT_TRUE(mounts.ok());
  std::string selected;
  for (const MountEntry& m : SelectFilesystems(*mounts)) {
    selected += m.fstype + " " + m.mountpoint + "\n";
  }
  EXPECT_EQ(selected,
            "ext4 /\n"
            "tmpfs /mnt/sandboxing/model_tools_env/v1/python\n");
}

TEST(FilesystemFilterTest, LastMountAtAMountPointWins) {
  std::vector<MountEntry> mounts = {
      {"/dev/sda1", "/data", "ext4", "rw"},
      {"/dev/sda2", "/home", "ext4", "rw"},
      {"/dev/sdb1", "/data", "xfs", "ro"},
  };
  std::vector<MountEntry> selected = SelectFilesystems(mounts);
  ASSERT_EQ(selected.size(), 2u);
  EXPECT_EQ(selected[0], mounts[2]);
  EXPECT_EQ(selected[1], mounts[1]);
}

TEST(FilesystemFilterTest, HiddenRealMountIsDroppedWhenOvermountedByIgnoredType) {
  std::vector<MountEntry> mounts = {
      {"/dev/sda1", "/srv", "ext4", "rw"},
      {"overlay", "/srv", "overlay", "rw"},
  };
  EXPECT_TRUE(SelectFilesystems(mounts).empty());
}

// --- Samples from statvfs ---

struct statvfs ExampleStatvfs() {
  struct statvfs st {};
  st.f_bsize = 4096;
  st.f_frsize = 4096;
  st.f_blocks = 1000;
  st.f_bfree = 300;
  st.f_bavail = 200;
  st.f_files = 50;
  st.f_ffree = 20;
  return st;
}

TEST(FilesystemSamplesTest, ReportsSizesInBytesAndInodeCounts) {
  struct statvfs st = ExampleStatvfs();
  SampleSet set;
  AddFilesystemSamples({"/dev/vda", "/", "ext4", "rw,relatime"}, &st, &set);
  EXPECT_EQ(
      Render(set, "node_filesystem_"),
      "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 0\n"
      "node_filesystem_size_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 4096000\n"
      "node_filesystem_free_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 1228800\n"
      "node_filesystem_avail_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 819200\n"
      "node_filesystem_files{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 50\n"
      "node_filesystem_files_free{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 20\n"
      "node_filesystem_readonly{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 0\n");
  EXPECT_EQ(set.metadata().at("node_filesystem_avail_bytes").help,
            "Filesystem space available to non-root users in bytes.");
  EXPECT_EQ(set.metadata().at("node_filesystem_size_bytes").type, MetricType::kGauge);
}

TEST(FilesystemSamplesTest, CountsBlocksInFragmentSize) {
  struct statvfs st = ExampleStatvfs();
  st.f_bsize = 65536;
  st.f_frsize = 1024;
  SampleSet set;
  AddFilesystemSamples({"srv:/x", "/mnt/x", "nfs", "rw"}, &st, &set);
  EXPECT_DOUBLE_EQ(*Find(set, "node_filesystem_size_bytes",
                         {{"device", "srv:/x"}, {"fstype", "nfs"}, {"mountpoint", "/mnt/x"}}),
                   1000.0 * 1024);
}

TEST(FilesystemSamplesTest, ReadonlyFollowsRoMountOption) {
  struct statvfs st = ExampleStatvfs();
  SampleSet set;
  AddFilesystemSamples({"/dev/sr0", "/cdrom", "udf", "ro,nosuid"}, &st, &set);
  EXPECT_EQ(*Find(set, "node_filesystem_readonly",
                  {{"device", "/dev/sr0"}, {"fstype", "udf"}, {"mountpoint", "/cdrom"}}),
            1);
}

TEST(FilesystemSamplesTest, StatvfsFailureReportsOnlyDeviceError) {
  SampleSet set;
  AddFilesystemSamples({"srv:/x", "/mnt/x", "nfs", "rw"}, nullptr, &set);
  EXPECT_EQ(
      Render(set, ""),
      "node_filesystem_device_error{device=\"srv:/x\",fstype=\"nfs\",mountpoint=\"/mnt/x\"} 1\n");
}

// --- HostProbe end to end ---

TEST(HostProbeTest, EveryCollectorSucceedsOnFixtureTree) {
  HostProbe probe(FixtureHost());
  SampleSet set;
  probe.Collect(&set);
  EXPECT_EQ(Render(set, "node_scrape_collector_success"),
            "node_scrape_collector_success{collector=\"cpu\"} 1\n"
            "node_scrape_collector_success{collector=\"stat\"} 1\n"
            "node_scrape_collector_success{collector=\"meminfo\"} 1\n"
            "node_scrape_collector_success{collector=\"loadavg\"} 1\n"
            "node_scrape_collector_success{collector=\"diskstats\"} 1\n"
            "node_scrape_collector_success{collector=\"vmstat\"} 1\n"
            "node_scrape_collector_success{collector=\"filefd\"} 1\n"
            "node_scrape_collector_success{collector=\"pressure\"} 1\n"
            "node_scrape_collector_success{collector=\"netdev\"} 1\n"
            "node_scrape_collector_success{collector=\"netclass\"} 1\n"
            "node_scrape_collector_success{collector=\"filesystem\"} 1\n"
            "node_scrape_collector_success{collector=\"time\"} 1\n"
            "node_scrape_collector_success{collector=\"timex\"} 1\n"
            "node_scrape_collector_success{collector=\"uname\"} 1\n");
}

TEST(HostProbeTest, ReportsValuesFromFixtureFiles) {
  HostProbe probe(FixtureHost());
  SampleSet set;
  probe.Collect(&set);
  EXPECT_DOUBLE_EQ(*Find(set, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}), 6.40);
  EXPECT_DOUBLE_EQ(*Find(set, "node_memory_MemAvailable_bytes"), 24358712.0 * 1024);
  EXPECT_DOUBLE_EQ(*Find(set, "node_load5"), 0.05);
  EXPECT_DOUBLE_EQ(*Find(set, "node_network_receive_bytes_total", {{"device", "eth0"}}), 59106581);
}

TEST(HostProbeTest, NetworkUpFollowsOperstate) {
  HostProbe probe(FixtureHost());
  SampleSet set;
  probe.Collect(&set);
  EXPECT_EQ(Render(set, "node_network_up"),
            "node_network_up{device=\"eth0\"} 1\n"
            "node_network_up{device=\"ifb0\"} 0\n"
            "node_network_up{device=\"ifb1\"} 0\n"
            "node_network_up{device=\"lo\"} 0\n");
}

TEST(HostProbeTest, ReportsSelectedMountsAndDeviceErrorForMissingMountPoint) {
  HostProbe probe(FixtureHost());
  SampleSet set;
  probe.Collect(&set);
  // hostroot/proc/mounts: proc and sysfs (skipped), ext4 on "/" (always
  // exists), and tmpfs on "/vitals-missing\040mount" (does not exist).
  EXPECT_EQ(Render(set, "node_filesystem_device_error"),
            "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 0\n"
            "node_filesystem_device_error{device=\"tmpfs\",fstype=\"tmpfs\","
            "mountpoint=\"/vitals-missing mount\"} 1\n");
  EXPECT_EQ(CountSeries(set, "node_filesystem_size_bytes"), 1u);
  EXPECT_TRUE(Find(set, "node_filesystem_size_bytes",
                   {{"device", "/dev/vda"}, {"fstype", "ext4"}, {"mountpoint", "/"}})
                  .has_value());
}

TEST(HostProbeTest, StampsEverySampleWithTheSetsDefaultTimestamp) {
  HostProbe probe(FixtureHost());
  SampleSet set(1'700'000'123'456);
  probe.Collect(&set);
  ASSERT_FALSE(set.empty());
  for (const Sample& s : set.samples()) {
    EXPECT_EQ(s.timestamp_ms, 1'700'000'123'456) << FormatSeries(s.labels);
  }
}

TEST(HostProbeTest, ReportsTimeFromInjectedClock) {
  FakeClock clock(1'700'000'000'250);
  HostProbe probe(FixtureHost(), clock);
  SampleSet set;
  probe.Collect(&set);
  EXPECT_EQ(Render(set, "node_time_seconds"), "node_time_seconds 1700000000.25\n");
}

TEST(HostProbeTest, ReportsUnameInfoWithNodeExporterLabels) {
  HostProbe probe(FixtureHost());
  SampleSet set;
  probe.Collect(&set);
  ASSERT_EQ(CountSeries(set, "node_uname_info"), 1u);
  for (const Sample& s : set.samples()) {
    if (GetLabel(s.labels, kMetricNameLabel) != "node_uname_info") continue;
    EXPECT_EQ(s.value, 1);
    for (const char* label : {"sysname", "release", "version", "machine", "nodename"}) {
      EXPECT_FALSE(GetLabel(s.labels, label).empty()) << label;
    }
  }
  EXPECT_EQ(set.metadata().at("node_uname_info").help,
            "Labeled system information as provided by the uname system call.");
}

TEST(HostProbeTest, BrokenSubsystemReportsFailureWhileOthersStillReport) {
  ScratchHost host;
  host.Write("proc/meminfo", "MemTotal: lots kB\n");
  HostProbe probe(host.paths());
  SampleSet set;
  probe.Collect(&set);
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "meminfo"}}), 0);
  EXPECT_EQ(Render(set, "node_memory_"), "");
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "loadavg"}}), 1);
  EXPECT_TRUE(Find(set, "node_load1").has_value());
}

TEST(HostProbeTest, MissingTreeFailsFileCollectorsButStillReportsTimeAndUname) {
  HostProbe probe(HostPaths{FixturePath("no-such-dir/proc"), FixturePath("no-such-dir/sys")});
  SampleSet set;
  probe.Collect(&set);
  for (const char* collector : {"cpu", "stat", "meminfo", "loadavg", "diskstats", "vmstat",
                                "filefd", "pressure", "netdev", "netclass", "filesystem"}) {
    EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", collector}}), 0)
        << collector;
  }
  EXPECT_TRUE(Find(set, "node_time_seconds").has_value());
  EXPECT_EQ(CountSeries(set, "node_uname_info"), 1u);
}

size_t CountOccurrences(const std::string& text, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(HostProbeTest, LogsEachFailingSubsystemOnlyOnce) {
  HostProbe probe(HostPaths{FixturePath("no-such-dir/proc"), FixturePath("no-such-dir/sys")});
  ::testing::internal::CaptureStderr();
  for (int round = 0; round < 3; ++round) {
    SampleSet set;
    probe.Collect(&set);
  }
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(CountOccurrences(log, "host probe cpu failed"), 1u) << log;
  EXPECT_EQ(CountOccurrences(log, "host probe stat failed"), 0u) << log;  // Same file as cpu.
  EXPECT_EQ(CountOccurrences(log, "host probe meminfo failed"), 1u) << log;
  EXPECT_EQ(CountOccurrences(log, "host probe filesystem failed"), 1u) << log;
  // A missing /proc/pressure means a kernel without PSI, which is not an error.
  EXPECT_EQ(CountOccurrences(log, "host probe pressure failed"), 0u) << log;
  // cpu, meminfo, loadavg, diskstats, vmstat, filefd, netdev, netclass, filesystem.
  EXPECT_EQ(CountOccurrences(log, "level=warn"), 9u) << log;
}

TEST(HostProbeTest, SmokeTestOnLiveProc) {
  HostProbe probe(HostPaths{});
  SampleSet set;
  probe.Collect(&set);
  EXPECT_TRUE(Find(set, "node_load1").has_value());
  EXPECT_GT(CountSeries(set, "node_cpu_seconds_total"), 0u);
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "cpu"}}), 1);
}

}  // namespace
}  // namespace vitals::agent
