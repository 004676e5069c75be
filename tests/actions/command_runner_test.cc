#include "actions/command_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/temp_dir.h"

namespace vitals::actions {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using Steady = std::chrono::steady_clock;
using testing::TempDir;

CommandSpec Shell(std::string script) {
  CommandSpec spec;
  spec.argv = {"sh", "-c", std::move(script)};
  spec.timeout = 10s;
  return spec;
}

CommandResult MustRun(const CommandSpec& spec) {
  Result<CommandResult> result = NewProcessCommandRunner()->Run(spec);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : CommandResult();
}

// True once `pid` has exited (it may linger as a zombie of another parent).
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// Polls until `pid` is gone or 5s have passed: its end after SIGKILL is
// asynchronous.
bool EventuallyGone(pid_t pid) {
  const auto give_up = Steady::now() + 5s;
  while (!ProcessGone(pid) && Steady::now() < give_up) std::this_thread::sleep_for(5ms);
  return ProcessGone(pid);
}

TEST(CommandRunnerTest, ExitZeroSucceeds) {
  CommandResult result = MustRun(Shell("echo rolled back"));
  EXPECT_TRUE(result.succeeded());
  EXPECT_EQ(result.process.exit_code, 0);
  EXPECT_EQ(result.process.out, "rolled back\n");
  EXPECT_THAT(result.Describe(), MatchesRegex("exit 0 after [0-9.]+m?s: rolled back"));
}

TEST(CommandRunnerTest, ReportsNonZeroExitCode) {
  CommandResult result = MustRun(Shell("exit 3"));
  EXPECT_FALSE(result.succeeded());
  EXPECT_FALSE(result.process.timed_out);
  EXPECT_EQ(result.process.exit_code, 3);
  EXPECT_THAT(result.Describe(), MatchesRegex("exit 3 after [0-9.]+m?s"));
}

TEST(CommandRunnerTest, DescribesWithTheFirstLineOfStdoutElseStderr) {
  EXPECT_THAT(MustRun(Shell("printf '\\n  first line  \\nsecond\\n'; exit 2")).Describe(),
              MatchesRegex("exit 2 after [0-9.]+m?s: first line"));
  EXPECT_THAT(MustRun(Shell("echo 'no such deployment' >&2; exit 1")).Describe(),
              MatchesRegex("exit 1 after [0-9.]+m?s: no such deployment"));
}

TEST(CommandRunnerTest, ReportsDeathBySignal) {
  CommandResult result = MustRun(Shell("kill -USR1 $$"));
  EXPECT_FALSE(result.succeeded());
  EXPECT_EQ(result.process.signal, SIGUSR1);
  EXPECT_THAT(result.Describe(), StartsWith("killed by signal " + std::to_string(SIGUSR1)));
}

TEST(CommandRunnerTest, PassesEnvironmentMergedIntoTheInheritedOne) {
  ::setenv("VITALS_RUNNER_INHERITED", "kept", 1);
  ::setenv("VITALS_RUNNER_REPLACED", "old", 1);
  CommandSpec spec =
      Shell("echo \"$SERVICE $FROM_VERSION $VITALS_RUNNER_INHERITED $VITALS_RUNNER_REPLACED\"");
  spec.env = {
      {"SERVICE", "checkout"}, {"FROM_VERSION", "1.4.2"}, {"VITALS_RUNNER_REPLACED", "new"}};
  EXPECT_EQ(MustRun(spec).process.out, "checkout 1.4.2 kept new\n");
}

TEST(CommandRunnerTest, StartsInTheWorkingDirectory) {
  TempDir dir;
  CommandSpec spec = Shell("pwd -P");
  spec.working_dir = dir.path();
  EXPECT_EQ(MustRun(spec).process.out, std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST(CommandRunnerTest, CapturesOutputUpToTheLimit) {
  CommandSpec spec = Shell("head -c 100000 /dev/zero | tr '\\0' a; echo oops >&2");
  spec.max_output_bytes = 1000;
  CommandResult result = MustRun(spec);
  EXPECT_TRUE(result.succeeded());
  EXPECT_EQ(result.process.out, std::string(1000, 'a'));
  EXPECT_TRUE(result.process.out_truncated);
  EXPECT_EQ(result.process.err, "oops\n");
  EXPECT_FALSE(result.process.err_truncated);
}

TEST(CommandRunnerTest, TimeoutTerminatesACommandThatHonoursSigterm) {
  CommandSpec spec;
  spec.argv = {"sleep", "100"};
  spec.timeout = 200ms;
  spec.kill_grace = 10s;
  const auto start = Steady::now();
  CommandResult result = MustRun(spec);
  const auto elapsed = Steady::now() - start;
  EXPECT_TRUE(result.process.timed_out);
  EXPECT_EQ(result.process.signal, SIGTERM);
  EXPECT_EQ(result.Describe(), "timed out after 200ms");
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 2s) << "waited for the kill grace although the command had ended";
}

TEST(CommandRunnerTest, TimeoutKillsAGroupThatIgnoresSigtermAfterTheGrace) {
  TempDir dir;
  const std::string pid_file = dir.File("grandchild.pid");
  CommandSpec spec = Shell("trap '' TERM; sleep 100 & echo $! > " + pid_file + "; wait");
  spec.timeout = 200ms;
  spec.kill_grace = 200ms;
  const auto start = Steady::now();
  CommandResult result = MustRun(spec);
  const auto elapsed = Steady::now() - start;
  EXPECT_TRUE(result.process.timed_out);
  EXPECT_EQ(result.process.signal, SIGKILL);
  EXPECT_GE(elapsed, 400ms);
  EXPECT_LT(elapsed, 400ms + 1s);

  pid_t grandchild = 0;
  std::ifstream(pid_file) >> grandchild;
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(EventuallyGone(grandchild)) << "the grandchild " << grandchild << " survived";
}

TEST(CommandRunnerTest, MissingProgramIsAnErrorNamingIt) {
  CommandSpec spec;
  spec.argv = {"/nonexistent/rollback.sh", "checkout"};
  Result<CommandResult> result = NewProcessCommandRunner()->Run(spec);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(result.status().message(),
            "cannot run \"/nonexistent/rollback.sh\": \"/nonexistent/rollback.sh\" does not exist");
}

TEST(CommandRunnerTest, ProgramNotInPathIsAnErrorNamingIt) {
  CommandSpec spec;
  spec.argv = {"vitals-no-such-rollback-tool"};
  spec.env = {{"PATH", "/nonexistent"}};
  Result<CommandResult> result = NewProcessCommandRunner()->Run(spec);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(result.status().message(),
              HasSubstr("\"vitals-no-such-rollback-tool\" not found in PATH (/nonexistent)"));
}

TEST(CommandRunnerTest, NonExecutableFileIsAnErrorNamingIt) {
  TempDir dir;
  const std::string script = dir.File("rollback.sh");
  std::ofstream(script) << "#!/bin/sh\nexit 0\n";
  ::chmod(script.c_str(), 0644);
  CommandSpec spec;
  spec.argv = {script};
  Result<CommandResult> result = NewProcessCommandRunner()->Run(spec);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr(script + "\" is not an executable file"));
}

TEST(CommandRunnerTest, ValidateRejectsBadSpecsWithoutRunningThem) {
  EXPECT_TRUE(ValidateCommand(Shell("exit 1")).ok());
  CommandSpec empty;
  EXPECT_EQ(ValidateCommand(empty).code(), Status::Code::kInvalidArgument);
  CommandSpec bad_env = Shell("true");
  bad_env.env = {{"A=B", "c"}};
  EXPECT_EQ(ValidateCommand(bad_env).code(), Status::Code::kInvalidArgument);
  CommandSpec no_time = Shell("true");
  no_time.timeout = 0ms;
  EXPECT_EQ(ValidateCommand(no_time).code(), Status::Code::kInvalidArgument);
  CommandSpec no_dir = Shell("true");
  no_dir.working_dir = "/nonexistent/dir";
  EXPECT_EQ(ValidateCommand(no_dir).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace vitals::actions
