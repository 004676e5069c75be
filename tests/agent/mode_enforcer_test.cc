#include "agent/mode_enforcer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/labels.h"
#include "common/samples.h"
#include "tests/support/temp_dir.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kTenOClock = 1795341600000;         // 2026-11-22T10:00:00.000Z
constexpr int64_t kTwoMinutesBefore = 1795341480000;  // 2026-11-22T09:58:00.000Z
constexpr int64_t kNoon = 1795348800000;              // 2026-11-22T12:00:00.000Z

wire::ServiceMode Mode(const std::string& service, const std::string& module,
                       const std::string& mode, const std::string& reason = "") {
  wire::ServiceMode m;
  m.set_service(service);
  m.set_module(module);
  m.set_mode(mode);
  m.set_reason(reason);
  m.set_source("automatic");
  m.set_since_ms(kTwoMinutesBefore);
  return m;
}

// A Modes message complete for `services`.
wire::Modes ModesOf(uint64_t generation, std::vector<std::string> services,
                    std::vector<wire::ServiceMode> modes = {}) {
  wire::Modes out;
  out.set_generation(generation);
  for (std::string& s : services) out.add_services(std::move(s));
  for (wire::ServiceMode& m : modes) *out.add_modes() = std::move(m);
  return out;
}

// shop's payments module degraded, the rest of shop normal.
wire::Modes PaymentsDegraded(uint64_t generation = 42) {
  wire::ServiceMode payments = Mode("shop", "payments", "degraded", "payment gateway failing");
  payments.set_incident_id("INC-3f9a2c");
  return ModesOf(generation, {"shop"}, {payments});
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string FormatValue(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, end);
}

// The samples of metric `name`, one "series value" line each, sorted.
std::string Render(const SampleSet& set, std::string_view name) {
  std::vector<std::string> lines;
  for (const Sample& s : set.samples()) {
    if (GetLabel(s.labels, kMetricNameLabel) != name) continue;
    lines.push_back(FormatSeries(s.labels) + " " + FormatValue(s.value) + "\n");
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& line : lines) out += line;
  return out;
}

class ModeEnforcerTest : public ::testing::Test {
 protected:
  void SetUp() override { clock_.SetMillis(kTenOClock); }

  ModeEnforcerOptions Options(std::vector<std::string> hook = {}) const {
    ModeEnforcerOptions options;
    options.dir = dir_;
    options.services = {"shop", "api"};
    options.hook = std::move(hook);
    return options;
  }

  std::unique_ptr<ModeEnforcer> Open(const ModeEnforcerOptions& options) {
    auto enforcer = ModeEnforcer::Open(options, clock_);
    EXPECT_TRUE(enforcer.ok()) << enforcer.status().ToString();
    return enforcer.ok() ? std::move(enforcer).value() : nullptr;
  }

  // A hook that appends "<VITALS_SERVICE> <VITALS_MODE> <VITALS_MODULES>" to
  // hooks.log.
  std::vector<std::string> LoggingHook() const {
    return {"/bin/sh", "-c",
            "echo \"$VITALS_SERVICE $VITALS_MODE $VITALS_MODULES\" >> '" + root_ + "/hooks.log'"};
  }

  std::string HookLog() const { return ReadFile(root_ + "/hooks.log"); }

  // The names in the modes directory, sorted.
  std::vector<std::string> DirEntries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  testing::TempDir tmp_;
  const std::string root_ = tmp_.path();
  const std::string dir_ = root_ + "/modes";
  FakeClock clock_;
};

// --- the mode file ------------------------------------------------------------

TEST_F(ModeEnforcerTest, WritesTheDocumentedFile) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  clock_.SetMillis(kTenOClock + 1234);
  enforcer->Apply(PaymentsDegraded());
  EXPECT_EQ(ReadFile(dir_ + "/shop.json"),
            R"({
  "service": "shop",
  "mode": "normal",
  "reason": "",
  "since": "2026-11-22T10:00:01.234Z",
  "eta": null,
  "incident_id": "",
  "source": "",
  "modules": {
    "payments": {
      "mode": "degraded",
      "reason": "payment gateway failing",
      "since": "2026-11-22T09:58:00.000Z",
      "eta": null,
      "incident_id": "INC-3f9a2c",
      "source": "automatic"
    }
  },
  "generation": 42,
  "updated_at": "2026-11-22T10:00:01.234Z"
}
)");
}

TEST_F(ModeEnforcerTest, WritesServiceLevelModeWithEta) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  wire::ServiceMode maintenance = Mode("shop", "", "maintenance", "database upgrade");
  maintenance.set_source("maintenance");
  maintenance.set_eta_ms(kNoon);
  enforcer->Apply(ModesOf(7, {"shop"}, {maintenance}));
  auto state = ParseModeFile(ReadFile(dir_ + "/shop.json"));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->service.mode, "maintenance");
  EXPECT_EQ(state->service.reason, "database upgrade");
  EXPECT_EQ(state->service.source, "maintenance");
  EXPECT_EQ(state->service.since_ms, kTwoMinutesBefore);
  EXPECT_EQ(state->service.eta_ms, kNoon);
  EXPECT_TRUE(state->modules.empty());
  EXPECT_NE(ReadFile(dir_ + "/shop.json").find("\"eta\": \"2026-11-22T12:00:00.000Z\""),
            std::string::npos);
}

TEST_F(ModeEnforcerTest, ServiceEntirelyNormalStillGetsAFile) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(ModesOf(1, {"shop"}));
  std::string text = ReadFile(dir_ + "/shop.json");
  EXPECT_NE(text.find("\"mode\": \"normal\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"modules\": {}"), std::string::npos) << text;
  EXPECT_NE(text.find("\"since\": \"2026-11-22T10:00:00.000Z\""), std::string::npos) << text;
}

TEST_F(ModeEnforcerTest, ListedNormalModesCountAsNotListed) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(ModesOf(1, {"shop"}, {Mode("shop", "payments", "normal")}));
  auto state = ParseModeFile(ReadFile(dir_ + "/shop.json"));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_TRUE(state->modules.empty());
}

TEST_F(ModeEnforcerTest, ModeFileParsesBackToTheSameState) {
  ServiceModeState state;
  state.service =
      ModeEntry{"read_only", "replica lag", kTwoMinutesBefore, kNoon, "INC-1", "manual"};
  state.modules["search"] = ModeEntry{"degraded", "", kTenOClock, 0, "", "automatic"};
  auto parsed = ParseModeFile(FormatModeFile("shop", state, 3, kTenOClock));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, state);
}

TEST_F(ModeEnforcerTest, ParseModeFileRejectsOtherJson) {
  EXPECT_EQ(ParseModeFile("{\"mode\": \"normal\"}").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseModeFile("not json").status().code(), Status::Code::kCorruption);
}

TEST_F(ModeEnforcerTest, ReplacesTheFileByRenameLeavingNoTemporaryFile) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(ModesOf(1, {"shop"}));
  const std::string path = dir_ + "/shop.json";
  const std::string before = ReadFile(path);
  struct stat old_stat {};
  ASSERT_EQ(::stat(path.c_str(), &old_stat), 0);
  // A reader that opened the file before the change keeps the whole old file.
  std::ifstream reader(path);
  ASSERT_TRUE(reader.good());

  enforcer->Apply(PaymentsDegraded());

  struct stat new_stat {};
  ASSERT_EQ(::stat(path.c_str(), &new_stat), 0);
  EXPECT_NE(new_stat.st_ino, old_stat.st_ino) << "rewritten in place, not renamed over";
  EXPECT_EQ(new_stat.st_mode & 0777, 0644u);
  std::stringstream old_text;
  old_text << reader.rdbuf();
  EXPECT_EQ(old_text.str(), before);
  EXPECT_NE(ReadFile(path).find("payments"), std::string::npos);
  EXPECT_EQ(DirEntries(), (std::vector<std::string>{"shop.json"}));
}

TEST_F(ModeEnforcerTest, RemovesTemporaryFilesACrashLeft) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/.shop.json.tmp") << "{\"serv";
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  EXPECT_TRUE(DirEntries().empty());
}

TEST_F(ModeEnforcerTest, UnchangedStateIsNotRewritten) {
  auto enforcer = Open(Options(LoggingHook()));
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(PaymentsDegraded(42));
  enforcer->WaitForHooks();
  const std::string first = ReadFile(dir_ + "/shop.json");
  clock_.Advance(1min);
  enforcer->Apply(PaymentsDegraded(43));  // A new generation, the same state.
  enforcer->WaitForHooks();
  EXPECT_EQ(ReadFile(dir_ + "/shop.json"), first);
  EXPECT_EQ(enforcer->stats().files_written, 1u);
  EXPECT_EQ(enforcer->stats().updates, 2u);
  EXPECT_EQ(HookLog(), "shop normal payments=degraded\n");
}

TEST_F(ModeEnforcerTest, RemovedFileIsWrittenAgainByTheNextModes) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(PaymentsDegraded(42));
  std::filesystem::remove(dir_ + "/shop.json");
  enforcer->Apply(PaymentsDegraded(43));
  auto state = ParseModeFile(ReadFile(dir_ + "/shop.json"));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->modules.at("payments").mode, "degraded");
  EXPECT_EQ(enforcer->stats().files_written, 2u);
}

TEST_F(ModeEnforcerTest, NormalServiceKeepsItsSinceWhileItStaysNormal) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(ModesOf(1, {"shop"}));
  clock_.Advance(1h);
  enforcer->Apply(ModesOf(2, {"shop"}));
  EXPECT_EQ(enforcer->stats().files_written, 1u);
  // Back to normal after a change: since is when the agent learned it.
  enforcer->Apply(ModesOf(3, {"shop"}, {Mode("shop", "", "read_only")}));
  clock_.Advance(1min);
  enforcer->Apply(ModesOf(4, {"shop"}));
  auto state = ParseModeFile(ReadFile(dir_ + "/shop.json"));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->service.mode, "normal");
  EXPECT_EQ(state->service.since_ms, kTenOClock + 3'660'000);
}

TEST_F(ModeEnforcerTest, IgnoresServicesNotEnforcedHere) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(ModesOf(1, {"billing", "../etc/passwd"}, {Mode("billing", "", "maintenance")}));
  EXPECT_TRUE(DirEntries().empty());
}

TEST_F(ModeEnforcerTest, LeavesServicesTheMessageDoesNotCover) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(ModesOf(1, {"api"}, {Mode("api", "", "degraded")}));
  enforcer->Apply(ModesOf(2, {"shop"}));
  auto api = ParseModeFile(ReadFile(dir_ + "/api.json"));
  ASSERT_TRUE(api.ok()) << api.status().ToString();
  EXPECT_EQ(api->service.mode, "degraded");
  EXPECT_EQ(DirEntries(), (std::vector<std::string>{"api.json", "shop.json"}));
}

TEST_F(ModeEnforcerTest, FailedWriteIsCountedAndRetriedWithTheNextModes) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  // A directory where the temporary file must go makes the write fail.
  std::filesystem::create_directories(dir_ + "/.shop.json.tmp");
  enforcer->Apply(PaymentsDegraded());
  EXPECT_EQ(enforcer->stats().write_errors, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/shop.json"));

  std::filesystem::remove(dir_ + "/.shop.json.tmp");
  enforcer->Apply(PaymentsDegraded());
  EXPECT_EQ(enforcer->stats().files_written, 1u);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/shop.json"));
}

TEST_F(ModeEnforcerTest, OpenFailsWhenTheDirectoryCannotBeCreated) {
  std::ofstream(root_ + "/file") << "x";
  ModeEnforcerOptions options = Options();
  options.dir = root_ + "/file/modes";
  auto enforcer = ModeEnforcer::Open(options, clock_);
  ASSERT_FALSE(enforcer.ok());
  EXPECT_EQ(enforcer.status().code(), Status::Code::kIOError);
}

// --- the hook -------------------------------------------------------------------

TEST_F(ModeEnforcerTest, HookGetsTheModeEnvironment) {
  const std::string env_file = root_ + "/env.txt";
  auto enforcer =
      Open(Options({"/bin/sh", "-c", "env | grep '^VITALS_' | sort > '" + env_file + "'"}));
  ASSERT_NE(enforcer, nullptr);
  wire::ServiceMode shop = Mode("shop", "", "read_only", "replica lag");
  shop.set_incident_id("INC-42");
  shop.set_source("manual");
  wire::ServiceMode payments = Mode("shop", "payments", "degraded");
  wire::ServiceMode search = Mode("shop", "search", "maintenance");
  enforcer->Apply(ModesOf(5, {"shop"}, {search, shop, payments}));
  enforcer->WaitForHooks();
  EXPECT_EQ(ReadFile(env_file),
            "VITALS_INCIDENT_ID=INC-42\n"
            "VITALS_MODE=read_only\n"
            "VITALS_MODE_FILE=" +
                dir_ +
                "/shop.json\n"
                "VITALS_MODULES=payments=degraded search=maintenance\n"
                "VITALS_REASON=replica lag\n"
                "VITALS_SERVICE=shop\n"
                "VITALS_SOURCE=manual\n");
  EXPECT_EQ(enforcer->stats().hook_successes, 1u);
}

TEST_F(ModeEnforcerTest, HookRunsAfterTheFileIsInPlace) {
  auto enforcer = Open(Options({"/bin/sh", "-c", "cp \"$VITALS_MODE_FILE\" '" + root_ + "/seen'"}));
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(PaymentsDegraded());
  enforcer->WaitForHooks();
  EXPECT_EQ(ReadFile(root_ + "/seen"), ReadFile(dir_ + "/shop.json"));
}

TEST_F(ModeEnforcerTest, HookFailureIsCountedWithItsFirstLineOfOutput) {
  auto enforcer = Open(
      Options({"/bin/sh", "-c", "echo 'nginx: config test failed' >&2; echo more >&2; exit 3"}));
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(PaymentsDegraded());
  enforcer->WaitForHooks();
  ModeEnforcerStats stats = enforcer->stats();
  EXPECT_EQ(stats.hook_failures, 1u);
  EXPECT_EQ(stats.hook_successes, 0u);
  EXPECT_EQ(stats.last_hook_failure, "shop: exit status 3: nginx: config test failed");
  SampleSet set;
  enforcer->AddMetrics(&set);
  EXPECT_EQ(Render(set, "vitals_agent_mode_hook_runs_total"),
            "vitals_agent_mode_hook_runs_total{result=\"failure\",service=\"api\"} 0\n"
            "vitals_agent_mode_hook_runs_total{result=\"failure\",service=\"shop\"} 1\n"
            "vitals_agent_mode_hook_runs_total{result=\"success\",service=\"api\"} 0\n"
            "vitals_agent_mode_hook_runs_total{result=\"success\",service=\"shop\"} 0\n");
}

TEST_F(ModeEnforcerTest, HookThatTimesOutIsKilledAndCountedAsFailed) {
  ModeEnforcerOptions options = Options({"/bin/sh", "-c", "exec sleep 60"});
  options.hook_timeout = 200ms;
  auto enforcer = Open(options);
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(PaymentsDegraded());
  enforcer->WaitForHooks();
  EXPECT_EQ(enforcer->stats().hook_failures, 1u);
  EXPECT_EQ(enforcer->stats().last_hook_failure,
            "shop: timed out after 200ms; its process group was killed");
}

TEST_F(ModeEnforcerTest, ChangesWhileAHookRunsRunItOnceMoreWithTheNewestState) {
  // Each run logs its mode, says so on the FIFO "started" and then waits for
  // a line on the FIFO release-<mode>. The test holds every FIFO open for
  // reading and writing, so no open blocks, and a run that goes wrong ends at
  // the hook timeout instead of hanging the test.
  auto fifo = [this](const std::string& name) {
    std::string path = root_ + "/" + name;
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
    return ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  };
  const int started = fifo("started");
  const int release_first = fifo("release-degraded");
  const int release_second = fifo("release-maintenance");
  ASSERT_TRUE(started >= 0 && release_first >= 0 && release_second >= 0);
  ASSERT_EQ(::write(release_second, "go\n", 3), 3);  // The second run may go at once.
  auto enforcer = Open(Options({"/bin/sh", "-c",
                                "cd '" + root_ +
                                    "' && echo \"$VITALS_MODE\" >> hooks.log && "
                                    "echo \"$VITALS_MODE\" > started && "
                                    "read x < \"release-$VITALS_MODE\""}));
  ASSERT_NE(enforcer, nullptr);

  enforcer->Apply(ModesOf(1, {"shop"}, {Mode("shop", "", "degraded")}));
  pollfd first_run = {started, POLLIN, 0};
  ASSERT_EQ(::poll(&first_run, 1, 10'000), 1) << "the first run did not start";
  char line[16] = {};
  ASSERT_GT(::read(started, line, sizeof(line)), 0);
  EXPECT_STREQ(line, "degraded\n");
  enforcer->Apply(ModesOf(2, {"shop"}, {Mode("shop", "", "read_only")}));
  enforcer->Apply(ModesOf(3, {"shop"}, {Mode("shop", "", "maintenance")}));
  ASSERT_EQ(::write(release_first, "go\n", 3), 3);
  enforcer->WaitForHooks();
  for (int fd : {started, release_first, release_second}) ::close(fd);

  EXPECT_EQ(HookLog(), "degraded\nmaintenance\n");
  EXPECT_EQ(enforcer->stats().files_written, 3u);
  EXPECT_EQ(enforcer->stats().hook_successes, 2u);
}

TEST_F(ModeEnforcerTest, HooksOfDifferentServicesRunEach) {
  auto enforcer = Open(Options(LoggingHook()));
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(ModesOf(1, {"api", "shop"}, {Mode("api", "", "maintenance")}));
  enforcer->WaitForHooks();
  std::string log = HookLog();
  EXPECT_NE(log.find("api maintenance \n"), std::string::npos) << log;
  EXPECT_NE(log.find("shop normal \n"), std::string::npos) << log;
  EXPECT_EQ(enforcer->stats().hook_successes, 2u);
}

// --- restarts -------------------------------------------------------------------

TEST_F(ModeEnforcerTest, RestartReadsTheFilesAndRerunsNothingForUnchangedState) {
  {
    auto enforcer = Open(Options(LoggingHook()));
    ASSERT_NE(enforcer, nullptr);
    enforcer->Apply(PaymentsDegraded(42));
    enforcer->WaitForHooks();
    enforcer->Apply(ModesOf(42, {"api"}));
    enforcer->WaitForHooks();
  }
  const std::string before = ReadFile(dir_ + "/shop.json");
  clock_.Advance(10min);
  auto enforcer = Open(Options(LoggingHook()));
  ASSERT_NE(enforcer, nullptr);
  enforcer->WaitForHooks();
  enforcer->Apply(PaymentsDegraded(50));
  enforcer->Apply(ModesOf(50, {"api"}));
  enforcer->WaitForHooks();
  EXPECT_EQ(enforcer->stats().files_written, 0u);
  EXPECT_EQ(enforcer->stats().hook_successes, 0u);
  EXPECT_EQ(ReadFile(dir_ + "/shop.json"), before);
  EXPECT_EQ(HookLog(), "shop normal payments=degraded\napi normal \n");
  // What it read is reported.
  SampleSet set;
  enforcer->AddMetrics(&set);
  EXPECT_NE(Render(set, "vitals_agent_service_mode")
                .find("vitals_agent_service_mode{mode=\"degraded\",module=\"payments\",service="
                      "\"shop\"} 1\n"),
            std::string::npos);
}

TEST_F(ModeEnforcerTest, RestartRerunsAHookThatHadNotSucceeded) {
  const std::string fail_flag = root_ + "/fail";
  std::ofstream(fail_flag) << "x";
  std::vector<std::string> hook = {"/bin/sh", "-c",
                                   "test -e '" + fail_flag +
                                       "' && exit 1; echo \"$VITALS_MODULES\" >> '" + root_ +
                                       "/hooks.log'"};
  {
    auto enforcer = Open(Options(hook));
    ASSERT_NE(enforcer, nullptr);
    enforcer->Apply(PaymentsDegraded());
    enforcer->WaitForHooks();
    EXPECT_EQ(enforcer->stats().hook_failures, 1u);
  }
  std::filesystem::remove(fail_flag);
  auto enforcer = Open(Options(hook));
  ASSERT_NE(enforcer, nullptr);
  enforcer->WaitForHooks();
  EXPECT_EQ(enforcer->stats().hook_successes, 1u);
  EXPECT_EQ(HookLog(), "payments=degraded\n");
  EXPECT_EQ(enforcer->stats().files_written, 0u);
}

TEST_F(ModeEnforcerTest, UnreadableFileIsRewrittenWithTheNextModes) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/shop.json") << "{\"service\": \"sh";
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(ModesOf(1, {"shop"}));
  EXPECT_EQ(enforcer->stats().files_written, 1u);
  EXPECT_TRUE(ParseModeFile(ReadFile(dir_ + "/shop.json")).ok());
}

// --- metrics --------------------------------------------------------------------

TEST_F(ModeEnforcerTest, ReportsTheCurrentModeOfServicesAndModulesSeen) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(PaymentsDegraded());
  enforcer->Apply(ModesOf(43, {"shop"}, {Mode("shop", "", "maintenance")}));
  SampleSet set;
  enforcer->AddMetrics(&set);
  // payments is normal again and stays reported; api was never heard of.
  EXPECT_EQ(Render(set, "vitals_agent_service_mode"),
            "vitals_agent_service_mode{mode=\"degraded\",module=\"payments\",service=\"shop\"} 0\n"
            "vitals_agent_service_mode{mode=\"degraded\",service=\"shop\"} 0\n"
            "vitals_agent_service_mode{mode=\"maintenance\",module=\"payments\",service=\"shop\"} "
            "0\n"
            "vitals_agent_service_mode{mode=\"maintenance\",service=\"shop\"} 1\n"
            "vitals_agent_service_mode{mode=\"normal\",module=\"payments\",service=\"shop\"} 1\n"
            "vitals_agent_service_mode{mode=\"normal\",service=\"shop\"} 0\n"
            "vitals_agent_service_mode{mode=\"read_only\",module=\"payments\",service=\"shop\"} "
            "0\n"
            "vitals_agent_service_mode{mode=\"read_only\",service=\"shop\"} 0\n");
  EXPECT_EQ(Render(set, "vitals_agent_mode_updates_total"), "vitals_agent_mode_updates_total 2\n");
  EXPECT_EQ(Render(set, "vitals_agent_mode_file_writes_total"),
            "vitals_agent_mode_file_writes_total{result=\"failure\",service=\"api\"} 0\n"
            "vitals_agent_mode_file_writes_total{result=\"failure\",service=\"shop\"} 0\n"
            "vitals_agent_mode_file_writes_total{result=\"success\",service=\"api\"} 0\n"
            "vitals_agent_mode_file_writes_total{result=\"success\",service=\"shop\"} 2\n");
  EXPECT_EQ(Render(set, "vitals_agent_mode_hook_runs_total"), "");  // No hook configured.
}

TEST_F(ModeEnforcerTest, ReportsAnUnknownModeAsAnExtraSeries) {
  auto enforcer = Open(Options());
  ASSERT_NE(enforcer, nullptr);
  enforcer->Apply(ModesOf(1, {"api"}, {Mode("api", "", "lockdown")}));
  SampleSet set;
  enforcer->AddMetrics(&set);
  EXPECT_NE(Render(set, "vitals_agent_service_mode")
                .find("vitals_agent_service_mode{mode=\"lockdown\",service=\"api\"} 1\n"),
            std::string::npos);
}

TEST(DescribeFailedRunTest, SaysHowTheRunEnded) {
  SubprocessResult exited;
  exited.exit_code = 2;
  exited.out = "\n  usage: reload [--graceful]  \nmore\n";
  EXPECT_EQ(DescribeFailedRun(exited, 10s), "exit status 2: usage: reload [--graceful]");
  SubprocessResult killed;
  killed.signal = 9;
  EXPECT_EQ(DescribeFailedRun(killed, 10s), "killed by signal 9");
}

}  // namespace
}  // namespace vitals::agent
