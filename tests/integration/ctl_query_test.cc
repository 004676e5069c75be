// vitalsctl query against a collector's web server (in this process, over a
// real store), as operators run it.

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "collector/web_server.h"
#include "rules/promql/engine.h"
#include "storage/store.h"
#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kT0 = 1'700'000'000'000;

class CtlQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Options options;
    options.path = dir_.File("db");
    options.sync_writes = false;
    options.background_maintenance = false;
    options.retention = 0ms;
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    std::vector<Sample> samples;
    for (int64_t t : {kT0 - 30'000, kT0}) {
      samples.push_back({{{"__name__", "node_load1"}, {"agent", "a"}}, t, 0.5});
      samples.push_back({{{"__name__", "node_load1"}, {"agent", "b"}}, t, 1.25});
    }
    ASSERT_TRUE(store_->Append(samples, {}).ok());

    engine_ = std::make_unique<promql::Engine>(promql::EngineOptions{}, clock_);
    collector::WebOptions web_options;
    web_options.port = 0;
    auto web = collector::WebServer::Start(web_options, *store_, *engine_, registry_, clock_,
                                           [] { return true; });
    ASSERT_TRUE(web.ok()) << web.status().ToString();
    web_ = std::move(web).value();
    url_ = "http://127.0.0.1:" + std::to_string(web_->port());
  }

  // Runs vitalsctl with `args`; returns its exit status, stdout in *out and
  // stderr in *err.
  int RunCtl(const std::vector<std::string>& args, std::string* out, std::string* err) {
    std::vector<std::string> argv = {CtlBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string error;
    auto process = Process::Start(argv, dir_.File("ctl"), &error);
    if (process == nullptr) {
      ADD_FAILURE() << error;
      return -1;
    }
    auto status = process->Wait(30s);
    *out = process->Stdout();
    *err = process->Stderr();
    return status.value_or(-1);
  }

  TempDir dir_;
  FakeClock clock_{kT0};
  prometheus::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<promql::Engine> engine_;
  std::unique_ptr<collector::WebServer> web_;
  std::string url_;
};

TEST_F(CtlQueryTest, InstantQueryPrintsATable) {
  std::string out, err;
  ASSERT_EQ(RunCtl({"query", "--collector", url_, "--time", "1700000000", "node_load1"}, &out,
                   &err),
            0)
      << err;
  EXPECT_EQ(out,
            "SERIES                 VALUE  TIMESTAMP\n"
            "node_load1{agent=\"a\"}  0.5    1700000000\n"
            "node_load1{agent=\"b\"}  1.25   1700000000\n");
}

TEST_F(CtlQueryTest, InstantSubcommandAndJsonFormat) {
  std::string out, err;
  ASSERT_EQ(RunCtl({"query", "instant", "--collector", url_, "--time", "1700000000",
                    "--format", "json", "sum(node_load1)"},
                   &out, &err),
            0)
      << err;
  EXPECT_EQ(out,
            R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1.75"]}]}})"
            "\n");
}

TEST_F(CtlQueryTest, RangeQueryPrintsEveryPoint) {
  std::string out, err;
  ASSERT_EQ(RunCtl({"query", "range", "--collector", url_, "--start", "1699999970", "--end",
                    "2023-11-14T22:13:20Z", "--step", "30s", "max(node_load1)"},
                   &out, &err),
            0)
      << err;
  EXPECT_EQ(out,
            "SERIES  VALUE  TIMESTAMP\n"
            "{}      1.25   1699999970\n"
            "{}      1.25   1700000000\n");
}

TEST_F(CtlQueryTest, ErrorsShowTypeAndMessageAndFail) {
  std::string out, err;
  EXPECT_EQ(RunCtl({"query", "--collector", url_, "sum(node_load1"}, &out, &err), 1);
  EXPECT_EQ(err.rfind("bad_data: invalid parameter \"query\": 1:", 0), 0u) << err;
  EXPECT_EQ(out, "");
  EXPECT_EQ(RunCtl({"query", "range", "--collector", url_, "--start", "10", "--end", "5",
                    "up"},
                   &out, &err),
            1);
  EXPECT_EQ(err, "bad_data: invalid parameter \"end\": end timestamp must not be before start "
                 "time\n");
}

TEST_F(CtlQueryTest, UnreachableCollectorFails) {
  std::string out, err;
  EXPECT_EQ(RunCtl({"query", "--collector", "http://127.0.0.1:1", "up"}, &out, &err), 1);
  EXPECT_EQ(err.rfind("cannot reach http://127.0.0.1:1: ", 0), 0u) << err;
}

}  // namespace
}  // namespace vitals::testing
