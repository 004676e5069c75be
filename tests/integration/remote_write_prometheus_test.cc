// The remote_write receiver as a real Prometheus 2.42 (Debian's
// /usr/bin/prometheus) sends to it: Prometheus scrapes itself and forwards
// the samples and metadata to a receiver served on a port-0 httplib server in
// this process. Proves the wire format (snappy, prompb field numbers).

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "collector/remote_write.h"
#include "common/selector.h"
#include "tests/integration/harness.h"

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr auto kDeadline = 60s;

class RemoteWriteFromPrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kPrometheus, X_OK), 0)
        << kPrometheus << " is not installed (scripts/setup installs it)";
    storage::Options options;
    options.path = dir_.File("data");
    options.background_maintenance = false;
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    receiver_ = std::make_unique<collector::RemoteWriteReceiver>(
        collector::RemoteWriteOptions{}, *store_, metrics_, Clock::Real());
    collector::RegisterRemoteWriteRoute(server_, *receiver_);
    receiver_port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(receiver_port_, 0);
    server_thread_ = std::thread([this] { server_.listen_after_bind(); });
  }

  void TearDown() override {
    if (HasFailure() && prometheus_ != nullptr) std::cerr << prometheus_->Output();
    prometheus_.reset();  // SIGKILLs it.
    server_.stop();
    if (server_thread_.joinable()) server_thread_.join();
  }

  void StartPrometheus() {
    const int port = FreeTcpPort();
    std::ostringstream yml;
    yml << "global:\n"
        << "  scrape_interval: 1s\n"
        << "scrape_configs:\n"
        << "  - job_name: prometheus\n"
        << "    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << port << "']\n"
        << "remote_write:\n"
        << "  - url: http://127.0.0.1:" << receiver_port_ << "/api/v1/write\n"
        << "    queue_config:\n"
        << "      batch_send_deadline: 1s\n"
        << "      min_backoff: 100ms\n"
        << "      max_backoff: 1s\n"
        << "    metadata_config:\n"
        << "      send_interval: 1s\n";
    WriteFile(dir_.File("prometheus.yml"), yml.str());
    std::string error;
    prometheus_ = Process::Start({kPrometheus, "--config.file=" + dir_.File("prometheus.yml"),
                                  "--storage.tsdb.path=" + dir_.File("prometheus-data"),
                                  "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                                 dir_.File("prometheus"), &error);
    ASSERT_NE(prometheus_, nullptr) << error;
    prometheus_port_ = port;
  }

  // Samples stored for `selector`.
  size_t Stored(const std::string& selector) {
    auto matchers = ParseSeriesSelector(selector);
    EXPECT_TRUE(matchers.ok()) << matchers.status().ToString();
    auto set = store_->Select(*matchers, INT64_MIN, INT64_MAX);
    if (!set.ok()) return 0;
    size_t n = 0;
    while ((*set)->Next()) {
      auto it = (*set)->Samples();
      while (it->Next()) ++n;
    }
    return n;
  }

  TempDir dir_;
  prometheus::Registry registry_;
  collector::CollectorMetrics metrics_{registry_};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<collector::RemoteWriteReceiver> receiver_;
  httplib::Server server_;
  std::thread server_thread_;
  int receiver_port_ = 0;
  std::unique_ptr<Process> prometheus_;
  int prometheus_port_ = 0;
};

TEST_F(RemoteWriteFromPrometheusTest, ScrapedSamplesArriveWithTheirLabels) {
  ASSERT_NO_FATAL_FAILURE(StartPrometheus());
  const std::string up = "up{job=\"prometheus\",instance=\"127.0.0.1:" +
                         std::to_string(prometheus_port_) + "\"}";
  EXPECT_TRUE(WaitFor([&] { return Stored(up) >= 2; }, kDeadline))
      << "no samples of " << up << " arrived; requests answered 204: "
      << metrics_.RemoteWriteRequests(204).Value()
      << ", 400: " << metrics_.RemoteWriteRequests(400).Value();
  EXPECT_GT(Stored("{__name__=~\"prometheus_.+\",job=\"prometheus\"}"), 100u);
  EXPECT_EQ(metrics_.RemoteWriteRequests(400).Value(), 0);
  EXPECT_EQ(metrics_.RemoteWriteRequests(415).Value(), 0);
  EXPECT_GT(metrics_.remote_write_samples.Value(), 0);
}

TEST_F(RemoteWriteFromPrometheusTest, MetadataArrivesWithTypeAndHelp) {
  ASSERT_NO_FATAL_FAILURE(StartPrometheus());
  std::optional<MetricDesc> counter, gauge;
  EXPECT_TRUE(WaitFor(
      [&] {
        counter = store_->GetMetadata("prometheus_http_requests_total");
        gauge = store_->GetMetadata("prometheus_build_info");
        return counter.has_value() && gauge.has_value();
      },
      kDeadline))
      << "metadata never arrived";
  ASSERT_TRUE(counter.has_value() && gauge.has_value());
  EXPECT_EQ(counter->type, MetricType::kCounter);
  EXPECT_EQ(counter->help, "Counter of HTTP requests.");
  EXPECT_EQ(gauge->type, MetricType::kGauge);
  EXPECT_NE(gauge->help.find("prometheus was built"), std::string::npos) << gauge->help;
}

}  // namespace
}  // namespace vitals::testing
