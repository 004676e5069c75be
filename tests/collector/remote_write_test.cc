#include "collector/remote_write.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <snappy.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/registry.h>

#include "common/selector.h"
#include "proto/prompb.pb.h"
#include "tests/support/scratch_store.h"
#include "tests/support/temp_dir.h"

namespace vitals::collector {
namespace {

constexpr int64_t kMinTime = INT64_MIN;
constexpr int64_t kMaxTime = INT64_MAX;

// A TimeSeries with `labels` (name, value pairs in the order given) and
// (timestamp, value) samples.
void AddSeries(prompb::WriteRequest* request,
               const std::vector<std::pair<std::string, std::string>>& labels,
               const std::vector<std::pair<int64_t, double>>& samples) {
  prompb::TimeSeries* ts = request->add_timeseries();
  for (const auto& [name, value] : labels) {
    prompb::Label* l = ts->add_labels();
    l->set_name(name);
    l->set_value(value);
  }
  for (const auto& [t, v] : samples) {
    prompb::Sample* s = ts->add_samples();
    s->set_timestamp(t);
    s->set_value(v);
  }
}

std::string Compress(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

std::string Encode(const prompb::WriteRequest& request) {
  return Compress(request.SerializeAsString());
}

// The headers Prometheus 2.42 sends.
RemoteWriteRequest FromPrometheus(const std::string& body) {
  return RemoteWriteRequest{.body = body,
                            .content_encoding = "snappy",
                            .content_type = "application/x-protobuf",
                            .version = "0.1.0"};
}

class RemoteWriteReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Options options = testing::ScratchStoreOptions(dir_.path());
    options.limits.max_label_count = 4;
    store_ = testing::OpenScratchStore(options);
    receiver_ = std::make_unique<RemoteWriteReceiver>(options_, *store_, metrics_, clock_);
  }

  void TearDown() override {
    receiver_.reset();
    store_.reset();
  }

  void Recreate(const RemoteWriteOptions& options) {
    options_ = options;
    receiver_ = std::make_unique<RemoteWriteReceiver>(options_, *store_, metrics_, clock_);
  }

  // Every stored sample as "series value @t" lines.
  std::string Dump() {
    auto matchers = ParseSeriesSelector("{__name__=~\".+\"}");
    EXPECT_TRUE(matchers.ok());
    auto set = store_->Select(*matchers, kMinTime, kMaxTime);
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    std::string out;
    while ((*set)->Next()) {
      auto it = (*set)->Samples();
      while (it->Next()) {
        out += FormatSeries((*set)->labels()) + " " + std::to_string(it->v()) + " @" +
               std::to_string(it->t()) + "\n";
      }
    }
    return out;
  }

  double Requests(int code) { return metrics_.RemoteWriteRequests(code).Value(); }
  double Rejected(storage::RejectReason reason) {
    return metrics_.samples_rejected[static_cast<size_t>(reason)]->Value();
  }

  testing::TempDir dir_;
  prometheus::Registry registry_;
  CollectorMetrics metrics_{registry_};
  FakeClock clock_;
  RemoteWriteOptions options_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<RemoteWriteReceiver> receiver_;
};

TEST_F(RemoteWriteReceiverTest, StoresSamplesAndMetadataAndAnswers204) {
  prompb::WriteRequest request;
  AddSeries(&request, {{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}},
            {{1000, 1}, {2000, 0}});
  AddSeries(&request, {{"__name__", "node_load1"}, {"instance", "a:9100"}}, {{1000, 0.25}});
  prompb::MetricMetadata* m = request.add_metadata();
  m->set_type(prompb::MetricMetadata::GAUGE);
  m->set_metric_family_name("node_load1");
  m->set_help("1m load average.");
  m->set_unit("");

  RemoteWriteResponse response = receiver_->Handle(FromPrometheus(Encode(request)));

  EXPECT_EQ(response.status, 204) << response.message;
  EXPECT_EQ(Dump(),
            "node_load1{instance=\"a:9100\"} 0.250000 @1000\n"
            "up{instance=\"a:9100\",job=\"node\"} 1.000000 @1000\n"
            "up{instance=\"a:9100\",job=\"node\"} 0.000000 @2000\n");
  auto desc = store_->GetMetadata("node_load1");
  ASSERT_TRUE(desc.has_value());
  EXPECT_EQ(desc->type, MetricType::kGauge);
  EXPECT_EQ(desc->help, "1m load average.");
  EXPECT_EQ(Requests(204), 1);
  EXPECT_EQ(metrics_.remote_write_samples.Value(), 3);
}

TEST_F(RemoteWriteReceiverTest, SortsLabelsAndDropsEmptyValues) {
  prompb::WriteRequest request;
  AddSeries(&request, {{"job", "node"}, {"empty", ""}, {"__name__", "up"}}, {{1000, 1}});
  EXPECT_EQ(receiver_->Handle(FromPrometheus(Encode(request))).status, 204);
  EXPECT_EQ(Dump(), "up{job=\"node\"} 1.000000 @1000\n");
}

TEST_F(RemoteWriteReceiverTest, AcceptsRequestsWithoutHeadersAsVersion1WithSnappy) {
  prompb::WriteRequest request;
  AddSeries(&request, {{"__name__", "up"}}, {{1000, 1}});
  std::string body = Encode(request);
  RemoteWriteRequest bare;
  bare.body = body;
  EXPECT_EQ(receiver_->Handle(bare).status, 204);
  EXPECT_EQ(Dump(), "up 1.000000 @1000\n");
}

TEST_F(RemoteWriteReceiverTest, RefusesABodyThatIsNotSnappyWith400) {
  RemoteWriteResponse response = receiver_->Handle(FromPrometheus("not snappy at all"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.message, "body is not snappy block-compressed");
  EXPECT_EQ(Requests(400), 1);
}

TEST_F(RemoteWriteReceiverTest, RefusesSnappyThatIsNotAWriteRequestWith400) {
  RemoteWriteResponse response =
      receiver_->Handle(FromPrometheus(Compress("\xff\xff\xff garbage")));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.message, "body is not a protobuf prometheus.WriteRequest");
}

TEST_F(RemoteWriteReceiverTest, RefusesInvalidLabelsWith400AndStoresNothingOfTheRequest) {
  prompb::WriteRequest request;
  AddSeries(&request, {{"__name__", "up"}}, {{1000, 1}});
  AddSeries(&request, {{"__name__", "up"}, {"bad-name", "x"}}, {{1000, 1}});
  RemoteWriteResponse response = receiver_->Handle(FromPrometheus(Encode(request)));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.message,
            "timeseries 1 up{bad-name=\"x\"}: invalid label name \"bad-name\"");
  EXPECT_EQ(Dump(), "");
}

TEST_F(RemoteWriteReceiverTest, RefusesSeriesWithoutAMetricNameOrWithDuplicateLabels) {
  prompb::WriteRequest no_name;
  AddSeries(&no_name, {{"job", "node"}}, {{1000, 1}});
  EXPECT_EQ(receiver_->Handle(FromPrometheus(Encode(no_name))).message,
            "timeseries 0 {job=\"node\"}: series has no metric name");
  prompb::WriteRequest duplicate;
  AddSeries(&duplicate, {{"__name__", "up"}, {"job", "a"}, {"job", "b"}}, {{1000, 1}});
  EXPECT_EQ(receiver_->Handle(FromPrometheus(Encode(duplicate))).message,
            "timeseries 0 up{job=\"a\",job=\"b\"}: duplicate label name \"job\"");
  EXPECT_EQ(Requests(400), 2);
}

TEST_F(RemoteWriteReceiverTest, RefusesRequestsThatDecompressBeyondTheLimitWith413) {
  Recreate(RemoteWriteOptions{.max_decompressed_bytes = 1024, .on_stored = {}});
  prompb::WriteRequest request;
  AddSeries(&request, {{"__name__", "up"}, {"pad", std::string(2000, 'x')}}, {{1000, 1}});
  std::string body = Encode(request);
  ASSERT_LT(body.size(), receiver_->max_body_bytes());  // Small compressed, large inflated.
  RemoteWriteResponse response = receiver_->Handle(FromPrometheus(body));
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(Requests(413), 1);
  EXPECT_EQ(Dump(), "");
}

TEST_F(RemoteWriteReceiverTest, RefusesOtherEncodingsAndRemoteWrite2With415) {
  prompb::WriteRequest request;
  AddSeries(&request, {{"__name__", "up"}}, {{1000, 1}});
  std::string body = Encode(request);
  RemoteWriteRequest gzip = FromPrometheus(body);
  gzip.content_encoding = "gzip";
  EXPECT_EQ(receiver_->Handle(gzip).status, 415);
  RemoteWriteRequest json = FromPrometheus(body);
  json.content_type = "application/json";
  EXPECT_EQ(receiver_->Handle(json).status, 415);
  RemoteWriteRequest v2 = FromPrometheus(body);
  v2.content_type = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
  v2.version = "2.0.0";
  RemoteWriteResponse response = receiver_->Handle(v2);
  EXPECT_EQ(response.status, 415);
  EXPECT_EQ(response.message,
            "protobuf message \"io.prometheus.write.v2.Request\" is not supported; this "
            "receiver speaks remote write 1.0 (prometheus.WriteRequest)");
  RemoteWriteRequest v1_explicit = FromPrometheus(body);
  v1_explicit.content_type = "application/x-protobuf; proto=prometheus.WriteRequest";
  EXPECT_EQ(receiver_->Handle(v1_explicit).status, 204);
  EXPECT_EQ(Requests(415), 3);
}

TEST_F(RemoteWriteReceiverTest, StoresTheRestWhenStorageRefusesSomeSamples) {
  prompb::WriteRequest first;
  AddSeries(&first, {{"__name__", "up"}}, {{2000, 1}});
  ASSERT_EQ(receiver_->Handle(FromPrometheus(Encode(first))).status, 204);

  prompb::WriteRequest second;
  AddSeries(&second, {{"__name__", "up"}}, {{1000, 1}, {3000, 1}});  // 1000 is out of order.
  AddSeries(&second, {{"__name__", "wide"}, {"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}},
            {{1000, 1}});  // 5 labels, the limit is 4.
  RemoteWriteResponse response = receiver_->Handle(FromPrometheus(Encode(second)));

  EXPECT_EQ(response.status, 204) << response.message;
  EXPECT_EQ(Dump(), "up 1.000000 @2000\nup 1.000000 @3000\n");
  EXPECT_EQ(Rejected(storage::RejectReason::kOutOfOrder), 1);
  EXPECT_EQ(Rejected(storage::RejectReason::kLabelLimit), 1);
  EXPECT_EQ(metrics_.remote_write_samples.Value(), 2);
}

TEST_F(RemoteWriteReceiverTest, TreatsAResentRequestAsDuplicates) {
  prompb::WriteRequest request;
  AddSeries(&request, {{"__name__", "up"}}, {{1000, 1}, {2000, 1}});
  std::string body = Encode(request);
  ASSERT_EQ(receiver_->Handle(FromPrometheus(body)).status, 204);
  EXPECT_EQ(receiver_->Handle(FromPrometheus(body)).status, 204);
  EXPECT_EQ(metrics_.duplicate_samples.Value(), 2);
  EXPECT_EQ(Dump(), "up 1.000000 @1000\nup 1.000000 @2000\n");
}

TEST_F(RemoteWriteReceiverTest, CountsAndDropsExemplarsAndNativeHistograms) {
  prompb::WriteRequest request;
  AddSeries(&request, {{"__name__", "rpc_seconds"}}, {});
  request.mutable_timeseries(0)->add_histograms("\x08\x01");  // count_int: 1
  AddSeries(&request, {{"__name__", "rpc_total"}}, {{1000, 5}});
  request.mutable_timeseries(1)->add_exemplars("\x11\x00\x00\x00\x00\x00\x00\xf0\x3f");
  EXPECT_EQ(receiver_->Handle(FromPrometheus(Encode(request))).status, 204);
  EXPECT_EQ(metrics_.remote_write_histograms_ignored.Value(), 1);
  EXPECT_EQ(metrics_.remote_write_exemplars_ignored.Value(), 1);
  EXPECT_EQ(Dump(), "rpc_total 5.000000 @1000\n");
}

TEST_F(RemoteWriteReceiverTest, StoresMetadataSentWithoutSamples) {
  prompb::WriteRequest request;
  prompb::MetricMetadata* m = request.add_metadata();
  m->set_type(prompb::MetricMetadata::COUNTER);
  m->set_metric_family_name("http_requests_total");
  m->set_help("Requests.");
  EXPECT_EQ(receiver_->Handle(FromPrometheus(Encode(request))).status, 204);
  auto desc = store_->GetMetadata("http_requests_total");
  ASSERT_TRUE(desc.has_value());
  EXPECT_EQ(desc->type, MetricType::kCounter);
}

// The route as the web server registers it, on a real socket.
class RemoteWriteHttpTest : public RemoteWriteReceiverTest {
 protected:
  void SetUp() override {
    RemoteWriteReceiverTest::SetUp();
    Recreate(RemoteWriteOptions{.max_decompressed_bytes = 64 * 1024, .on_stored = {}});
    RegisterRemoteWriteRoute(server_, *receiver_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Connections queue on the bound socket until the accept loop runs.
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
    RemoteWriteReceiverTest::TearDown();
  }

  httplib::Result Post(const std::string& body, const std::string& content_type) {
    httplib::Client client("127.0.0.1", port_);
    httplib::Headers headers = {{"Content-Encoding", "snappy"},
                                {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
    return client.Post("/api/v1/write", headers, body, content_type);
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(RemoteWriteHttpTest, AnswersPostApiV1WriteWith204) {
  prompb::WriteRequest request;
  AddSeries(&request, {{"__name__", "up"}, {"job", "prometheus"}}, {{1000, 1}});
  auto res = Post(Encode(request), "application/x-protobuf");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(Dump(), "up{job=\"prometheus\"} 1.000000 @1000\n");
}

TEST_F(RemoteWriteHttpTest, AnswersBadRequestsWithTheReasonInTheBody) {
  auto res = Post("definitely not snappy", "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body, "body is not snappy block-compressed\n");
}

TEST_F(RemoteWriteHttpTest, RefusesABodyLargerThanTheLimitWithoutReadingIt) {
  std::string huge(receiver_->max_body_bytes() + 1, 'x');
  auto res = Post(huge, "application/x-protobuf");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(Requests(413), 1);
  // The server still serves the next request.
  prompb::WriteRequest request;
  AddSeries(&request, {{"__name__", "up"}}, {{1000, 1}});
  auto next = Post(Encode(request), "application/x-protobuf");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 204);
}

}  // namespace
}  // namespace vitals::collector
