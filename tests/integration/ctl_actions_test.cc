// vitalsctl mode / maintenance / incidents / audit against a real collector
// process with a token file, as operators run them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

class CtlActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("tokens"), "ops:s3cret-token\n");
    WriteFile(dir_.File("ops.token"), "s3cret-token\n");
    WriteFile(dir_.File("wrong.token"), "guess\n");
    collector_.config().extra_yaml = "control:\n  token_file: " + dir_.File("tokens") + "\n";
    std::string error;
    ASSERT_TRUE(collector_.Start(&error)) << error;
    url_ = "http://127.0.0.1:" + std::to_string(collector_.config().web_port);
  }

  int Ctl(std::vector<std::string> args, const std::string& token = "ops.token") {
    std::vector<std::string> argv = {CtlBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--collector", url_});
    if (!token.empty()) argv.insert(argv.end(), {"--token-file", dir_.File(token)});
    std::string error;
    auto process = Process::Start(argv, dir_.File("ctl"), &error);
    if (!process) {
      ADD_FAILURE() << error;
      return -1;
    }
    auto status = process->Wait(60s);
    out_ = process->Stdout();
    err_ = process->Stderr();
    return status.value_or(-1);
  }

  TempDir dir_;
  TestCollector collector_{dir_};
  std::string url_;
  std::string out_, err_;
};

TEST_F(CtlActionsTest, ModeSetGetClear) {
  ASSERT_EQ(Ctl({"mode", "set", "shop", "read_only", "--reason", "db migration", "--for", "30m"}), 0)
      << err_;
  ASSERT_EQ(Ctl({"mode", "get", "shop", "-o", "json"}), 0) << err_;
  auto j = nlohmann::json::parse(out_);
  const auto& modes = j.contains("data") ? j["data"]["modes"] : j["modes"];
  ASSERT_EQ(modes.size(), 1u) << out_;
  EXPECT_EQ(modes[0]["mode"], "read_only");
  EXPECT_EQ(modes[0]["source"], "manual");
  EXPECT_EQ(modes[0]["reason"], "db migration");
  ASSERT_EQ(Ctl({"mode", "get", "shop"}), 0) << err_;
  EXPECT_NE(out_.find("read_only"), std::string::npos) << out_;
  ASSERT_EQ(Ctl({"mode", "clear", "shop"}), 0) << err_;
  ASSERT_EQ(Ctl({"mode", "get", "shop", "-o", "json"}), 0) << err_;
  j = nlohmann::json::parse(out_);
  EXPECT_TRUE((j.contains("data") ? j["data"]["modes"] : j["modes"]).empty()) << out_;
}

TEST_F(CtlActionsTest, AWrongTokenIsRefusedAuditedAndExplained) {
  EXPECT_EQ(Ctl({"mode", "set", "shop", "maintenance", "--reason", "x"}, "wrong.token"), 1);
  EXPECT_NE(err_.find("unauthorized"), std::string::npos) << err_;
  EXPECT_NE(err_.find("--token-file"), std::string::npos) << err_;
  EXPECT_EQ(collector_.Metric("vitals_control_unauthorized_total"), 1);
  ASSERT_EQ(Ctl({"audit", "list", "--kind", "auth", "-o", "json"}), 0) << err_;
  EXPECT_NE(out_.find("auth.refused"), std::string::npos) << out_;
  // Nothing changed.
  ASSERT_EQ(Ctl({"mode", "get", "-o", "json"}), 0);
  EXPECT_EQ(out_.find("maintenance"), std::string::npos) << out_;
}

TEST_F(CtlActionsTest, MaintenanceScheduleListExtendCancel) {
  ASSERT_EQ(Ctl({"maintenance", "schedule", "shop", "--start", "now", "--duration", "1h", "--tz",
                 "UTC", "--reason", "kernel upgrade"}),
            0)
      << err_;
  ASSERT_EQ(Ctl({"maintenance", "list", "-o", "json"}), 0) << err_;
  auto j = nlohmann::json::parse(out_);
  const auto& windows = j.contains("data") ? j["data"]["windows"] : j["windows"];
  ASSERT_EQ(windows.size(), 1u) << out_;
  std::string id = windows[0]["id"];
  ASSERT_EQ(Ctl({"mode", "get", "shop", "-o", "json"}), 0);
  EXPECT_NE(out_.find("\"maintenance\""), std::string::npos) << out_;
  ASSERT_EQ(Ctl({"maintenance", "extend", id, "--by", "30m"}), 0) << err_;
  ASSERT_EQ(Ctl({"maintenance", "cancel", id}), 0) << err_;
  ASSERT_EQ(Ctl({"mode", "get", "shop", "-o", "json"}), 0);
  EXPECT_EQ(out_.find("\"maintenance\""), std::string::npos) << out_;
}

TEST_F(CtlActionsTest, AuditVerifyOnlineAndOffline) {
  ASSERT_EQ(Ctl({"mode", "set", "shop", "degraded", "--module", "search", "--reason", "slow"}), 0)
      << err_;
  ASSERT_EQ(Ctl({"audit", "verify"}), 0) << out_ << err_;
  EXPECT_NE(out_.find("OK"), std::string::npos) << out_;
  collector_.process()->Kill(SIGTERM);
  collector_.process()->Wait();
  ASSERT_EQ(Ctl({"audit", "verify", "--db", collector_.config().storage_path + "/actions"}, ""), 0)
      << out_ << err_;
}

}  // namespace
}  // namespace vitals::testing
