// The host probe's diskstats, vmstat, filefd, pressure and timex collectors,
// hung-mount protection, node_network_info, and the files it keeps open
// between rounds. The fixtures under
// tests/fixtures/proc (and their copies under hostroot/proc) were captured
// from a real Linux 6.x host; expected values are read off those files and
// were checked against node_exporter 1.5 run on the same files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "agent/host_common.h"
#include "agent/host_kernel_stats.h"
#include "agent/host_probes.h"
#include "agent/host_statvfs.h"
#include "common/clock.h"
#include "common/labels.h"
#include "common/samples.h"
#include "tests/agent/host_test_util.h"

namespace vitals::agent {
namespace {

using std::chrono_literals::operator""ms;

// --- /proc/diskstats ---

// The vda line of tests/fixtures/proc/diskstats (kernel 6.x: 17 counters).
constexpr char kVdaLine[] =
    " 254       0 vda 119381 28305 5480962 58705 186818 37934 28536320 100101 0 33656 169187 "
    "35938 38 168861624 6220 44819 4160\n";

TEST(DiskstatsParserTest, ConvertsSectorsToBytesAndMillisecondsToSeconds) {
  SampleSet set;
  ASSERT_TRUE(ParseDiskstats(kVdaLine, &set).ok());
  EXPECT_EQ(Render(set, "node_disk_"),
            "node_disk_reads_completed_total{device=\"vda\"} 119381\n"
            "node_disk_reads_merged_total{device=\"vda\"} 28305\n"
            "node_disk_read_bytes_total{device=\"vda\"} 2806252544\n"
            "node_disk_read_time_seconds_total{device=\"vda\"} 58.705\n"
            "node_disk_writes_completed_total{device=\"vda\"} 186818\n"
            "node_disk_writes_merged_total{device=\"vda\"} 37934\n"
            "node_disk_written_bytes_total{device=\"vda\"} 14610595840\n"
            "node_disk_write_time_seconds_total{device=\"vda\"} 100.101\n"
            "node_disk_io_now{device=\"vda\"} 0\n"
            "node_disk_io_time_seconds_total{device=\"vda\"} 33.656\n"
            "node_disk_io_time_weighted_seconds_total{device=\"vda\"} 169.187\n"
            "node_disk_discards_completed_total{device=\"vda\"} 35938\n"
            "node_disk_discards_merged_total{device=\"vda\"} 38\n"
            "node_disk_discarded_sectors_total{device=\"vda\"} 168861624\n"
            "node_disk_discard_time_seconds_total{device=\"vda\"} 6.22\n"
            "node_disk_flush_requests_total{device=\"vda\"} 44819\n"
            "node_disk_flush_requests_time_seconds_total{device=\"vda\"} 4.16\n"
            "node_disk_info{device=\"vda\",major=\"254\",minor=\"0\"} 1\n");
}

TEST(DiskstatsParserTest, UsesNodeExporterTypesAndHelpTexts) {
  SampleSet set;
  ASSERT_TRUE(ParseDiskstats(kVdaLine, &set).ok());
  const auto& meta = set.metadata();
  for (const auto& [name, desc] : meta) {
    bool gauge = name == "node_disk_io_now" || name == "node_disk_info";
    EXPECT_EQ(desc.type, gauge ? MetricType::kGauge : MetricType::kCounter) << name;
  }
  EXPECT_EQ(meta.at("node_disk_read_bytes_total").help,
            "The total number of bytes read successfully.");
  EXPECT_EQ(meta.at("node_disk_writes_merged_total").help, "The number of writes merged.");
  EXPECT_EQ(meta.at("node_disk_io_time_weighted_seconds_total").help,
            "The weighted # of seconds spent doing I/Os.");
  EXPECT_EQ(meta.at("node_disk_flush_requests_total").help,
            "The total number of flush requests completed successfully");
  EXPECT_EQ(meta.at("node_disk_info").help, "Info of /sys/block/<block_device>.");
}

TEST(DiskstatsParserTest, SkipsLoopDevicesInFixture) {
  SampleSet set;
  ASSERT_TRUE(ParseDiskstats(ReadFixture("proc/diskstats"), &set).ok());
  // loop0..loop7 are excluded; vda and zram0 remain.
  EXPECT_EQ(Render(set, "node_disk_info"),
            "node_disk_info{device=\"vda\",major=\"254\",minor=\"0\"} 1\n"
            "node_disk_info{device=\"zram0\",major=\"253\",minor=\"0\"} 1\n");
  EXPECT_EQ(set.size(), 2u * 18);
}

TEST(DiskstatsParserTest, DefaultExcludeDropsRamLoopFloppyAndPartitions) {
  for (const char* device :
       {"ram0", "loop12", "fd0", "sda1", "hdb2", "vda15", "xvda1", "nvme0n1p1", "nvme10n2p3"}) {
    EXPECT_TRUE(IsIgnoredDisk(device)) << device;
  }
  for (const char* device :
       {"sda", "vdb", "xvda", "nvme0n1", "dm-0", "md0", "zram0", "mmcblk0", "mmcblk0p1", "sr0",
        // Lookalikes the pattern does not match either.
        "ram", "loop0a", "sdab1", "sdA1", "nvme0n1p", "nvmen1p1", "xd1"}) {
    EXPECT_FALSE(IsIgnoredDisk(device)) << device;
  }
}

TEST(DiskstatsParserTest, ReportsOnlyTheColumnGroupsAnOlderKernelPrints) {
  SampleSet set;
  ASSERT_TRUE(ParseDiskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n"
                             "8 16 sdb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n",
                             &set)
                  .ok());
  EXPECT_EQ(Render(set, "node_disk_discards_completed"),
            "node_disk_discards_completed_total{device=\"sdb\"} 12\n");
  EXPECT_EQ(Render(set, "node_disk_flush"), "");
  EXPECT_EQ(Render(set, "node_disk_io_time_weighted"),
            "node_disk_io_time_weighted_seconds_total{device=\"sda\"} 0.011\n"
            "node_disk_io_time_weighted_seconds_total{device=\"sdb\"} 0.011\n");
}

TEST(DiskstatsParserTest, SkipsLinesWithFewerThanFourteenFields) {
  SampleSet set;
  ASSERT_TRUE(ParseDiskstats("253 1 dm-1 1 2 3 4\n\n", &set).ok());
  EXPECT_TRUE(set.empty());
}

TEST(DiskstatsParserTest, RejectsNonNumericCounterAndLeavesOutputUnchanged) {
  SampleSet set;
  Status st = ParseDiskstats(std::string(kVdaLine) + "8 0 sda 1 x 3 4 5 6 7 8 9 10 11\n", &set);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("line 2"), std::string::npos) << st.message();
  EXPECT_TRUE(set.empty());
}

// --- /proc/vmstat ---

TEST(VmstatParserTest, ReportsNodeExporterDefaultFieldsInFileOrder) {
  SampleSet set;
  ASSERT_TRUE(ParseVmstat(ReadFixture("proc/vmstat"), &set).ok());
  EXPECT_EQ(Render(set, ""),
            "node_vmstat_pgpgin 2740481\n"
            "node_vmstat_pgpgout 14268160\n"
            "node_vmstat_pswpin 0\n"
            "node_vmstat_pswpout 0\n"
            "node_vmstat_pgfault 88782604\n"
            "node_vmstat_pgmajfault 2297\n"
            "node_vmstat_oom_kill 0\n");
}

TEST(VmstatParserTest, PublishesUntypedSeriesWithFieldHelp) {
  SampleSet set;
  ASSERT_TRUE(ParseVmstat("pgmajfault 5\n", &set).ok());
  const MetricDesc& desc = set.metadata().at("node_vmstat_pgmajfault");
  EXPECT_EQ(desc.type, MetricType::kUntyped);
  EXPECT_EQ(desc.help, "/proc/vmstat information field pgmajfault.");
}

TEST(VmstatParserTest, SelectsFieldsByPrefixLikeNodeExporter) {
  SampleSet set;
  ASSERT_TRUE(
      ParseVmstat("nr_free_pages 9\npgpgin_extra 1\npgscan_fault 2\nthp_fault_alloc 3\n", &set)
          .ok());
  EXPECT_EQ(Render(set, ""),
            "node_vmstat_pgpgin_extra 1\n"
            "node_vmstat_pgscan_fault 2\n");
}

TEST(VmstatParserTest, RejectsLineWithoutValue) {
  SampleSet set;
  EXPECT_EQ(ParseVmstat("pgfault 1\npgmajfault\n", &set).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseVmstat("pgfault many\n", &set).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(set.empty());
}

// --- /proc/sys/fs/file-nr ---

TEST(FileNrParserTest, ReportsAllocatedAndMaximum) {
  SampleSet set;
  ASSERT_TRUE(ParseFileNr(ReadFixture("proc/file-nr"), &set).ok());
  // Fixture: "478\t0\t2466170".
  EXPECT_EQ(Render(set, ""),
            "node_filefd_allocated 478\n"
            "node_filefd_maximum 2466170\n");
  EXPECT_EQ(set.metadata().at("node_filefd_allocated").type, MetricType::kGauge);
  EXPECT_EQ(set.metadata().at("node_filefd_maximum").help, "File descriptor statistics: maximum.");
}

TEST(FileNrParserTest, RejectsWrongNumberOfFields) {
  SampleSet set;
  EXPECT_EQ(ParseFileNr("478\t0\n", &set).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseFileNr("478\t0\tmany\n", &set).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(set.empty());
}

// --- /proc/pressure ---

TEST(PressureParserTest, CpuReportsWaitingSecondsFromSomeTotal) {
  SampleSet set;
  ASSERT_TRUE(ParsePressure(PressureResource::kCpu, ReadFixture("proc/pressure_cpu"), &set).ok());
  // Fixture: "some ... total=710913785" (microseconds); "full" is not reported for cpu.
  EXPECT_EQ(Render(set, ""), "node_pressure_cpu_waiting_seconds_total 710.9137850000001\n");
  const MetricDesc& desc = set.metadata().at("node_pressure_cpu_waiting_seconds_total");
  EXPECT_EQ(desc.type, MetricType::kCounter);
  EXPECT_EQ(desc.help, "Total time in seconds that processes have waited for CPU time");
}

TEST(PressureParserTest, IoReportsWaitingAndStalledSeconds) {
  SampleSet set;
  ASSERT_TRUE(ParsePressure(PressureResource::kIo, ReadFixture("proc/pressure_io"), &set).ok());
  EXPECT_EQ(Render(set, ""),
            "node_pressure_io_waiting_seconds_total 16.675904\n"
            "node_pressure_io_stalled_seconds_total 9.199695\n");
  EXPECT_EQ(set.metadata().at("node_pressure_io_stalled_seconds_total").help,
            "Total time in seconds no process could make progress due to IO congestion");
}

TEST(PressureParserTest, MemoryReportsWaitingAndStalledSeconds) {
  SampleSet set;
  ASSERT_TRUE(ParsePressure(PressureResource::kMemory,
                            "some avg10=0.00 avg60=0.00 avg300=0.00 total=2500000\n"
                            "full avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n",
                            &set)
                  .ok());
  EXPECT_EQ(Render(set, ""),
            "node_pressure_memory_waiting_seconds_total 2.5\n"
            "node_pressure_memory_stalled_seconds_total 1\n");
  EXPECT_EQ(set.metadata().at("node_pressure_memory_waiting_seconds_total").help,
            "Total time in seconds that processes have waited for memory");
}

TEST(PressureParserTest, AcceptsCpuFileWithoutFullLineFromOlderKernels) {
  SampleSet set;
  ASSERT_TRUE(ParsePressure(PressureResource::kCpu,
                            "some avg10=1.00 avg60=0.50 avg300=0.10 total=3000000\n", &set)
                  .ok());
  EXPECT_EQ(Render(set, ""), "node_pressure_cpu_waiting_seconds_total 3\n");
}

TEST(PressureParserTest, RejectsMissingLineOrTotal) {
  SampleSet set;
  EXPECT_EQ(ParsePressure(PressureResource::kIo, "some avg10=0.00 total=5\n", &set).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ParsePressure(PressureResource::kCpu, "some avg10=0.00 avg60=0.00\n", &set).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ParsePressure(PressureResource::kCpu, "some total=lots\n", &set).code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(set.empty());
}

// --- adjtimex(2) ---

// What adjtimex reports on an unsynchronised VM (values seen on the fixture host).
struct timex UnsyncedTimex() {
  struct timex tx {};
  tx.offset = 1500;
  tx.freq = 10 * 65536;  // 10 ppm.
  tx.maxerror = 16'000'000;
  tx.esterror = 16'000'000;
  tx.status = STA_UNSYNC;
  tx.constant = 2;
  tx.tick = 10'000;
  return tx;
}

TEST(TimexTest, ConvertsMicrosecondsAndPpmLikeNodeExporter) {
  SampleSet set;
  AddTimexSamples(TIME_ERROR, UnsyncedTimex(), &set);
  EXPECT_EQ(Render(set, ""),
            "node_timex_sync_status 0\n"
            "node_timex_offset_seconds 0.0015\n"
            "node_timex_frequency_adjustment_ratio 1.00001\n"
            "node_timex_maxerror_seconds 16\n"
            "node_timex_estimated_error_seconds 16\n"
            "node_timex_status 64\n"
            "node_timex_loop_time_constant 2\n"
            "node_timex_tick_seconds 0.01\n"
            "node_timex_pps_frequency_hertz 0\n"
            "node_timex_pps_jitter_seconds 0\n"
            "node_timex_pps_shift_seconds 0\n"
            "node_timex_pps_stability_hertz 0\n"
            "node_timex_pps_jitter_total 0\n"
            "node_timex_pps_calibration_total 0\n"
            "node_timex_pps_error_total 0\n"
            "node_timex_pps_stability_exceeded_total 0\n"
            "node_timex_tai_offset_seconds 0\n");
}

TEST(TimexTest, OffsetIsInNanosecondsWhenStaNanoIsSet) {
  struct timex tx = UnsyncedTimex();
  tx.status |= STA_NANO;
  SampleSet set;
  AddTimexSamples(TIME_OK, tx, &set);
  EXPECT_EQ(Render(set, "node_timex_offset_seconds"), "node_timex_offset_seconds 1.5e-06\n");
}

TEST(TimexTest, SyncStatusIsOneUnlessClockStateIsTimeError) {
  SampleSet set;
  AddTimexSamples(TIME_OK, UnsyncedTimex(), &set);
  EXPECT_EQ(Render(set, "node_timex_sync_status"), "node_timex_sync_status 1\n");
}

TEST(TimexTest, UsesNodeExporterTypesAndHelpTexts) {
  SampleSet set;
  AddTimexSamples(TIME_OK, UnsyncedTimex(), &set);
  const auto& meta = set.metadata();
  EXPECT_EQ(meta.size(), 17u);
  for (const auto& [name, desc] : meta) {
    EXPECT_EQ(desc.type, name.ends_with("_total") ? MetricType::kCounter : MetricType::kGauge)
        << name;
  }
  EXPECT_EQ(meta.at("node_timex_offset_seconds").help,
            "Time offset in between local system and reference clock.");
  EXPECT_EQ(meta.at("node_timex_sync_status").help,
            "Is clock synchronized to a reliable server (1 = yes, 0 = no).");
  EXPECT_EQ(meta.at("node_timex_maxerror_seconds").help, "Maximum error in seconds.");
}

// --- StatvfsWorker ---

// A statvfs stand-in that answers at once, except for `hung_path`, whose calls
// block until Release(). Shared with the worker's threads, which may outlive
// a test's worker.
class FakeStatvfs {
 public:
  explicit FakeStatvfs(std::string hung_path) : hung_path_(std::move(hung_path)) {}

  int Call(const char* path, struct statvfs* st) {
    ++calls_;
    if (path == hung_path_) {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return released_; });
    }
    if (std::string_view(path) == "/broken") {
      errno = EIO;
      return -1;
    }
    st->f_frsize = 4096;
    st->f_blocks = 42;
    return 0;
  }

  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  int calls() const { return calls_; }

 private:
  const std::string hung_path_;
  std::atomic<int> calls_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;  // GUARDED_BY(mu_)
};

StatvfsFunction Bind(const std::shared_ptr<FakeStatvfs>& fake) {
  return [fake](const char* path, struct statvfs* st) { return fake->Call(path, st); };
}

// Waits until the worker's abandoned thread has seen its call return. Polls:
// the thread finishes on its own schedule, not the test's.
bool WaitUntilNotHung(const StatvfsWorker& worker, const std::string& path) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (worker.IsHung(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(StatvfsWorkerTest, ReturnsTheResultOfTheCall) {
  auto fake = std::make_shared<FakeStatvfs>("/hung");
  StatvfsWorker worker({std::chrono::seconds(5), Bind(fake)});
  struct statvfs st {};
  EXPECT_EQ(worker.Stat("/data", &st), StatvfsWorker::Outcome::kOk);
  EXPECT_EQ(st.f_blocks, 42u);
  EXPECT_EQ(worker.Stat("/broken", &st), StatvfsWorker::Outcome::kFailed);
  EXPECT_EQ(fake->calls(), 2);
}

TEST(StatvfsWorkerTest, RunsTheRealStatvfsByDefault) {
  StatvfsWorker worker({});
  struct statvfs st {};
  EXPECT_EQ(worker.Stat("/", &st), StatvfsWorker::Outcome::kOk);
  EXPECT_GT(st.f_blocks, 0u);
  EXPECT_EQ(worker.Stat("/vitals-no-such-dir", &st), StatvfsWorker::Outcome::kFailed);
}

TEST(StatvfsWorkerTest, HungPathTimesOutAndIsNotCalledAgainUntilItReturns) {
  auto fake = std::make_shared<FakeStatvfs>("/mnt/nfs");
  StatvfsWorker worker({20ms, Bind(fake)});
  struct statvfs st {};
  EXPECT_EQ(worker.Stat("/mnt/nfs", &st), StatvfsWorker::Outcome::kTimedOut);
  EXPECT_TRUE(worker.IsHung("/mnt/nfs"));
  EXPECT_EQ(worker.Stat("/mnt/nfs", &st), StatvfsWorker::Outcome::kHung);
  EXPECT_EQ(fake->calls(), 1);

  fake->Release();
  ASSERT_TRUE(WaitUntilNotHung(worker, "/mnt/nfs"));
  EXPECT_EQ(worker.Stat("/mnt/nfs", &st), StatvfsWorker::Outcome::kOk);
  EXPECT_EQ(fake->calls(), 2);
}

TEST(StatvfsWorkerTest, OtherPathsAreServedWhileOneIsHung) {
  auto fake = std::make_shared<FakeStatvfs>("/mnt/nfs");
  StatvfsWorker worker({20ms, Bind(fake)});
  struct statvfs st {};
  ASSERT_EQ(worker.Stat("/mnt/nfs", &st), StatvfsWorker::Outcome::kTimedOut);
  EXPECT_EQ(worker.Stat("/", &st), StatvfsWorker::Outcome::kOk);
  EXPECT_EQ(worker.Stat("/home", &st), StatvfsWorker::Outcome::kOk);
  fake->Release();
  EXPECT_TRUE(WaitUntilNotHung(worker, "/mnt/nfs"));
}

TEST(StatvfsWorkerTest, DestructionDoesNotWaitForAHungCall) {
  auto fake = std::make_shared<FakeStatvfs>("/mnt/nfs");
  {
    StatvfsWorker worker({20ms, Bind(fake)});
    struct statvfs st {};
    ASSERT_EQ(worker.Stat("/mnt/nfs", &st), StatvfsWorker::Outcome::kTimedOut);
  }                 // Returns although the call is still blocked.
  fake->Release();  // The abandoned thread then finishes by itself.
}

// --- HostProbe: the collectors added for node_exporter 1.5 parity ---

TEST(HostProbeKernelStatsTest, ReportsDiskVmstatFilefdAndPressureFromFixtureTree) {
  HostProbe probe(FixtureHost());
  SampleSet set;
  probe.Collect(&set);
  EXPECT_DOUBLE_EQ(*Find(set, "node_disk_read_bytes_total", {{"device", "vda"}}), 5480962.0 * 512);
  EXPECT_FALSE(Find(set, "node_disk_read_bytes_total", {{"device", "loop0"}}).has_value());
  EXPECT_DOUBLE_EQ(*Find(set, "node_vmstat_pgfault"), 88782604);
  EXPECT_DOUBLE_EQ(*Find(set, "node_filefd_allocated"), 478);
  EXPECT_DOUBLE_EQ(*Find(set, "node_pressure_io_stalled_seconds_total"), 9.199695);
  EXPECT_DOUBLE_EQ(*Find(set, "node_pressure_memory_waiting_seconds_total"), 0);
  for (const char* collector : {"diskstats", "vmstat", "filefd", "pressure"}) {
    EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", collector}}), 1)
        << collector;
  }
}

TEST(HostProbeKernelStatsTest, KernelWithoutPressureReportsFailureWithoutLogging) {
  ScratchHost host;
  host.Remove("proc/pressure");
  HostProbe probe(host.paths());
  SampleSet set;
  ::testing::internal::CaptureStderr();
  probe.Collect(&set);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "pressure"}}), 0);
  EXPECT_EQ(Render(set, "node_pressure_"), "");
  EXPECT_EQ(log, "");
}

TEST(HostProbeKernelStatsTest, BrokenPressureFileIsLogged) {
  ScratchHost host;
  host.Write("proc/pressure/io", "some avg10=0.00\n");
  HostProbe probe(host.paths());
  SampleSet set;
  ::testing::internal::CaptureStderr();
  probe.Collect(&set);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "pressure"}}), 0);
  EXPECT_EQ(Render(set, "node_pressure_"), "");  // Nothing from cpu either.
  EXPECT_NE(log.find("host probe pressure failed"), std::string::npos) << log;
}

TEST(HostProbeKernelStatsTest, ReportsTimexFromAdjtimex) {
  HostProbeOptions options;
  options.adjtimex_fn = [](struct timex* tx) {
    EXPECT_EQ(tx->modes, 0u);  // Read only.
    *tx = UnsyncedTimex();
    return TIME_ERROR;
  };
  HostProbe probe(FixtureHost(), Clock::Real(), options);
  SampleSet set;
  probe.Collect(&set);
  EXPECT_EQ(*Find(set, "node_timex_maxerror_seconds"), 16);
  EXPECT_EQ(*Find(set, "node_timex_sync_status"), 0);
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "timex"}}), 1);
}

TEST(HostProbeKernelStatsTest, AdjtimexRefusedIsReportedButNotLogged) {
  HostProbeOptions options;
  options.adjtimex_fn = [](struct timex*) {
    errno = EPERM;
    return -1;
  };
  HostProbe probe(FixtureHost(), Clock::Real(), options);
  SampleSet set;
  ::testing::internal::CaptureStderr();
  probe.Collect(&set);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "timex"}}), 0);
  EXPECT_EQ(Render(set, "node_timex_"), "");
}

TEST(HostProbeKernelStatsTest, ReportsTimexOfTheRealClock) {
  HostProbe probe(FixtureHost());
  SampleSet set;
  probe.Collect(&set);
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "timex"}}), 1);
  EXPECT_GT(*Find(set, "node_timex_tick_seconds"), 0);
}

// --- HostProbe: the time collector ---

TEST(HostProbeTimeTest, ReportsTimeZoneOffsetOfTheLocalZone) {
  FakeClock clock(1'700'000'000'000);
  HostProbe probe(FixtureHost(), clock);
  SampleSet set;
  probe.Collect(&set);
  time_t now = 1'700'000'000;
  struct tm local {};
  ASSERT_NE(localtime_r(&now, &local), nullptr);
  EXPECT_EQ(*Find(set, "node_time_zone_offset_seconds", {{"time_zone", local.tm_zone}}),
            local.tm_gmtoff);
  EXPECT_EQ(set.metadata().at("node_time_zone_offset_seconds").help,
            "System time zone offset in seconds.");
}

TEST(HostProbeTimeTest, ReportsClocksourcesFromSysfs) {
  ScratchHost host;
  host.Write("sys/devices/system/clocksource/clocksource0/available_clocksource",
             "tsc kvm-clock acpi_pm \n");
  host.Write("sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n");
  HostProbe probe(host.paths());
  SampleSet set;
  probe.Collect(&set);
  EXPECT_EQ(Render(set, "node_time_clocksource"),
            "node_time_clocksource_available_info{clocksource=\"tsc\",device=\"0\"} 1\n"
            "node_time_clocksource_available_info{clocksource=\"kvm-clock\",device=\"0\"} 1\n"
            "node_time_clocksource_available_info{clocksource=\"acpi_pm\",device=\"0\"} 1\n"
            "node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"} 1\n");
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "time"}}), 1);
}

TEST(HostProbeTimeTest, UnreadableClocksourceFailsTheTimeCollector) {
  ScratchHost host;
  host.Write("sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n");
  HostProbe probe(host.paths());
  SampleSet set;
  ::testing::internal::CaptureStderr();
  probe.Collect(&set);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "time"}}), 0);
  EXPECT_EQ(Render(set, "node_time_"), "");
  EXPECT_NE(log.find("host probe time failed"), std::string::npos) << log;
}

// --- HostProbe: hung mounts ---

TEST(HostProbeMountTest, HungMountReportsDeviceErrorAndIsSkippedUntilItsCallReturns) {
  auto fake = std::make_shared<FakeStatvfs>("/");
  HostProbeOptions options;
  options.mount_timeout = 20ms;
  options.statvfs_fn = Bind(fake);
  HostProbe probe(FixtureHost(), Clock::Real(), options);
  const Labels root = {{"device", "/dev/vda"}, {"fstype", "ext4"}, {"mountpoint", "/"}};
  ::testing::internal::CaptureStderr();
  for (int round = 0; round < 2; ++round) {
    SampleSet set;
    probe.Collect(&set);
    EXPECT_EQ(*Find(set, "node_filesystem_device_error", root), 1) << round;
    EXPECT_FALSE(Find(set, "node_filesystem_size_bytes", root).has_value()) << round;
    EXPECT_EQ(*Find(set, "node_scrape_collector_success", {{"collector", "filesystem"}}), 1);
  }
  std::string log = ::testing::internal::GetCapturedStderr();
  // Per round: "/" and "/vitals-missing mount"; the hung "/" only in the first.
  EXPECT_EQ(fake->calls(), 3);
  EXPECT_NE(log.find("statvfs of mount point / did not return"), std::string::npos) << log;
  fake->Release();
}

TEST(HostProbeMountTest, ReadsInitsMountTableBeforeItsOwn) {
  ScratchHost host;
  host.Write("proc/1/mounts", "/dev/vdz / ext4 rw 0 0\n");
  HostProbe probe(host.paths());
  SampleSet set;
  probe.Collect(&set);
  EXPECT_EQ(
      Render(set, "node_filesystem_device_error"),
      "node_filesystem_device_error{device=\"/dev/vdz\",fstype=\"ext4\",mountpoint=\"/\"} 0\n");
}

TEST(HostProbeMountTest, AMountTableUnderAFakeRootIsReadAgainEachRound) {
  // Only procfs tells of changes; a plain file is read every round.
  ScratchHost host;
  host.Write("proc/1/mounts", "/dev/vdz / ext4 rw 0 0\n");
  HostProbe probe(host.paths());
  SampleSet first;
  probe.Collect(&first);
  host.Write("proc/1/mounts", "/dev/vdy / xfs rw 0 0\n");
  SampleSet second;
  probe.Collect(&second);
  EXPECT_EQ(
      Render(second, "node_filesystem_device_error"),
      "node_filesystem_device_error{device=\"/dev/vdy\",fstype=\"xfs\",mountpoint=\"/\"} 0\n");
}

// --- HostProbe: node_network_info ---

TEST(HostProbeNetClassTest, ReportsNetworkInfoFromSysfsAttributes) {
  ScratchHost host;
  host.Write("sys/class/net/eth0/address", "02:fc:00:00:00:01\n");
  host.Write("sys/class/net/eth0/broadcast", "ff:ff:ff:ff:ff:ff\n");
  host.Write("sys/class/net/eth0/duplex", "full\n");
  host.Write("sys/class/net/eth0/ifalias", "\n");
  HostProbe probe(host.paths());
  SampleSet set;
  probe.Collect(&set);
  EXPECT_EQ(Render(set, "node_network_info"),
            "node_network_info{address=\"02:fc:00:00:00:01\",broadcast=\"ff:ff:ff:ff:ff:ff\","
            "device=\"eth0\",duplex=\"full\",operstate=\"up\"} 1\n"
            "node_network_info{device=\"ifb0\",operstate=\"down\"} 1\n"
            "node_network_info{device=\"ifb1\",operstate=\"down\"} 1\n"
            "node_network_info{device=\"lo\",operstate=\"unknown\"} 1\n");
  EXPECT_EQ(set.metadata().at("node_network_info").help,
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.");
}

// --- Files kept open between rounds ---

TEST(KernelFileTest, ReadsTheWholeFileAgainEachTime) {
  ScratchHost host;
  const std::string big(10000, 'x');  // More than one read's worth.
  host.Write("proc/loadavg", big);
  internal::KernelFile file(host.paths().proc + "/loadavg");
  std::string contents;
  ASSERT_TRUE(file.Read(&contents).ok());
  EXPECT_EQ(contents, big);
  host.Write("proc/loadavg", "0.5 0.25 0.125 1/100 42\n");
  ASSERT_TRUE(file.Read(&contents).ok());
  EXPECT_EQ(contents, "0.5 0.25 0.125 1/100 42\n");
}

// Exit codes of the child in ProcMountTableTellsOfMountsAndUnmounts.
enum MountChild { kMountChildOk = 0, kMountChildCannotMount = 77 };

TEST(KernelFileTest, ProcMountTableTellsOfMountsAndUnmounts) {
  // In a child with its own mount namespace, so the test's mount is seen by
  // nobody else; needs CAP_SYS_ADMIN (tests run as root in CI).
  ScratchHost host;
  const std::string target = host.paths().proc;  // Any empty directory.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      ::_exit(kMountChildCannotMount);
    }
    internal::KernelFile file("/proc/self/mounts");
    std::string contents;
    int step = 1;
    auto expect = [&](bool ok) {
      if (!ok) ::_exit(step);
      ++step;
    };
    expect(!file.MountTableUnchanged());  // 1: not read yet, so not open.
    expect(file.Read(&contents).ok());    // 2
    expect(file.MountTableUnchanged());   // 3
    expect(::mount("vitals-test", target.c_str(), "tmpfs", 0, nullptr) == 0);  // 4
    expect(!file.MountTableUnchanged());  // 5: the mount
    expect(file.MountTableUnchanged());   // 6: told once
    expect(file.Read(&contents).ok() && contents.find("vitals-test") != std::string::npos);  // 7
    expect(::umount(target.c_str()) == 0);  // 8
    expect(!file.MountTableUnchanged());    // 9: the unmount
    ::_exit(kMountChildOk);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == kMountChildCannotMount) {
    GTEST_SKIP() << "no mount namespace for this test (needs CAP_SYS_ADMIN)";
  }
  EXPECT_EQ(WEXITSTATUS(status), kMountChildOk) << "failed at step " << WEXITSTATUS(status);
}

TEST(KernelFileTest, MissingFileIsNotFoundUntilItAppears) {
  ScratchHost host;
  internal::KernelFile file(host.paths().proc + "/not-yet");
  std::string contents = "stale";
  Status read = file.Read(&contents);
  EXPECT_EQ(read.code(), Status::Code::kNotFound);
  EXPECT_NE(read.message().find("/not-yet"), std::string::npos) << read.message();
  host.Write("proc/not-yet", "now\n");
  ASSERT_TRUE(file.Read(&contents).ok());
  EXPECT_EQ(contents, "now\n");
}

TEST(KernelFileTest, UnreadableFileIsAnIoError) {
  ScratchHost host;
  internal::KernelFile file(host.paths().proc);  // A directory: read(2) fails.
  std::string contents;
  EXPECT_EQ(file.Read(&contents).code(), Status::Code::kIOError);
}

TEST(KernelFileTest, AnAttributeWithoutAValueStaysOpen) {
  // The loopback device has no duplex: reading it fails with EINVAL, every
  // round, and would cost an open and a close each time if it were closed.
  const std::string path = "/sys/class/net/lo/duplex";
  std::string contents;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no " << path;
  auto open_files = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                         std::filesystem::directory_iterator());
  };
  internal::KernelFile file(path);
  const auto before = open_files();
  Status read = file.Read(&contents);
  if (read.ok()) GTEST_SKIP() << "this kernel reports a duplex for lo: " << contents;
  EXPECT_NE(read.message().find("Invalid argument"), std::string::npos) << read.message();
  EXPECT_EQ(open_files(), before + 1);
  EXPECT_FALSE(file.Read(&contents).ok());
  EXPECT_EQ(open_files(), before + 1);
}

TEST(KernelDirTest, EachListingSeesTheCurrentEntries) {
  ScratchHost host;
  internal::KernelDir dir(host.paths().sys + "/class/vitals");
  std::vector<std::string> names = {"stale"};
  EXPECT_EQ(dir.List(&names).code(), Status::Code::kNotFound);
  EXPECT_TRUE(names.empty());
  host.Write("sys/class/vitals/a/x", "1\n");
  ASSERT_TRUE(dir.List(&names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"a"});
  EXPECT_TRUE(dir.IsDirectory("a"));
  host.Write("sys/class/vitals/b", "not a directory\n");
  ASSERT_TRUE(dir.List(&names).ok());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(dir.IsDirectory("b"));
  EXPECT_FALSE(dir.IsDirectory("gone"));
  std::filesystem::remove_all(host.paths().sys + "/class/vitals/a");
  ASSERT_TRUE(dir.List(&names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"b"});
}

TEST(HostProbeOpenFilesTest, EachRoundSeesTheCurrentContents) {
  ScratchHost host;
  HostProbe probe(host.paths());
  SampleSet first;
  probe.Collect(&first);
  host.Write("proc/loadavg", "9.5 0.25 0.125 1/100 42\n");
  host.Write("sys/class/net/eth0/operstate", "down\n");
  SampleSet second;
  probe.Collect(&second);
  EXPECT_NE(*Find(first, "node_load1"), 9.5);
  EXPECT_EQ(*Find(second, "node_load1"), 9.5);
  EXPECT_EQ(*Find(first, "node_network_up", {{"device", "eth0"}}), 1);
  EXPECT_EQ(*Find(second, "node_network_up", {{"device", "eth0"}}), 0);
}

TEST(HostProbeOpenFilesTest, FileThatAppearsIsReadFromThenOn) {
  ScratchHost host;
  host.Remove("proc/pressure");
  HostProbe probe(host.paths());
  SampleSet before;
  probe.Collect(&before);
  host.Write("proc/pressure/cpu", ReadFixture("hostroot/proc/pressure/cpu"));
  host.Write("proc/pressure/memory", ReadFixture("hostroot/proc/pressure/memory"));
  host.Write("proc/pressure/io", ReadFixture("hostroot/proc/pressure/io"));
  SampleSet after;
  probe.Collect(&after);
  EXPECT_EQ(*Find(before, "node_scrape_collector_success", {{"collector", "pressure"}}), 0);
  EXPECT_EQ(*Find(after, "node_scrape_collector_success", {{"collector", "pressure"}}), 1);
}

TEST(HostProbeOpenFilesTest, InterfacesComeAndGo) {
  ScratchHost host;
  HostProbe probe(host.paths());
  SampleSet first;
  probe.Collect(&first);
  host.Remove("sys/class/net/eth0");
  host.Write("sys/class/net/eth1/operstate", "up\n");
  SampleSet second;
  probe.Collect(&second);
  EXPECT_TRUE(Find(first, "node_network_up", {{"device", "eth0"}}).has_value());
  EXPECT_FALSE(Find(first, "node_network_up", {{"device", "eth1"}}).has_value());
  EXPECT_FALSE(Find(second, "node_network_up", {{"device", "eth0"}}).has_value());
  EXPECT_EQ(*Find(second, "node_network_up", {{"device", "eth1"}}), 1);
}

}  // namespace
}  // namespace vitals::agent
