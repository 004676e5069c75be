// The Prometheus HTTP query API as Grafana and promtool use it: a real
// WebServer on port 0 over a real Store in a temporary directory, spoken to
// over HTTP, responses compared byte for byte with what Prometheus 2.42 sends.

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include "collector/web_server.h"
#include "common/version.h"
#include "rules/promql/engine.h"
#include "storage/store.h"
#include "tests/support/scratch_store.h"
#include "tests/support/temp_dir.h"

namespace vitals::collector {
namespace {

// Evaluation time of most queries: 1700000000 s (FakeClock's default).
constexpr int64_t kT0 = 1'700'000'000'000;

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
};

class QueryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenScratchStore(dir_.File("db"));
    AppendFixture();

    engine_ = std::make_unique<promql::Engine>(promql::EngineOptions{}, clock_);
    WebOptions web_options;
    web_options.port = 0;
    web_options.api.storage_retention = "15d";
    web_options.api.flags = {{"query.lookback-delta", "5m"}, {"query.timeout", "2m"}};
    auto web = WebServer::Start(web_options, *store_, *engine_, registry_, clock_,
                                [] { return true; });
    ASSERT_TRUE(web.ok()) << web.status().ToString();
    web_ = std::move(web).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", web_->port());
  }

  void TearDown() override {
    client_.reset();
    web_.reset();
    engine_.reset();
    store_.reset();
  }

  // up{agent="a",job="node"} = 1 and up{agent="b",job="node"} = 0 at
  // kT0-60s, kT0-30s and kT0; http_requests_total{agent="a"} rising by 30
  // every 30s up to kT0-60s, where it stops.
  void AppendFixture() {
    std::vector<Sample> samples;
    for (int64_t t : {kT0 - 60'000, kT0 - 30'000, kT0}) {
      samples.push_back({{{"__name__", "up"}, {"agent", "a"}, {"job", "node"}}, t, 1});
      samples.push_back({{{"__name__", "up"}, {"agent", "b"}, {"job", "node"}}, t, 0});
    }
    for (int i = 0; i < 5; ++i) {
      samples.push_back({{{"__name__", "http_requests_total"}, {"agent", "a"}},
                         kT0 - 180'000 + i * 30'000, 30.0 * i});
    }
    std::vector<MetricDesc> metadata = {
        {"up", MetricType::kGauge, "1 if the agent reported."},
        {"http_requests_total", MetricType::kCounter, "Requests <served> & \"counted\"."},
        {"mystery", MetricType::kUntyped, ""}};
    auto appended = store_->Append(samples, metadata);
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
    ASSERT_EQ(appended->appended, samples.size());
  }

  Reply Get(const std::string& path) {
    auto res = client_->Get(path.c_str());
    if (!res) return {0, "transport error: " + httplib::to_string(res.error()), ""};
    return {res->status, res->body, res->get_header_value("Content-Type")};
  }

  Reply Post(const std::string& path, const std::string& form) {
    auto res = client_->Post(path.c_str(), form, "application/x-www-form-urlencoded");
    if (!res) return {0, "transport error: " + httplib::to_string(res.error()), ""};
    return {res->status, res->body, res->get_header_value("Content-Type")};
  }

  // The body of a 200 response to GET `path`, or a description of the failure.
  std::string Ok(const std::string& path) {
    Reply r = Get(path);
    return r.status == 200 ? r.body : "HTTP " + std::to_string(r.status) + ": " + r.body;
  }

  static std::string Success(const std::string& data) {
    return R"({"status":"success","data":)" + data + "}";
  }
  static std::string Failure(const std::string& type, const std::string& message) {
    return R"({"status":"error","errorType":")" + type + R"(","error":)" +
           nlohmann::json(message).dump() + "}";
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  prometheus::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<promql::Engine> engine_;
  std::unique_ptr<WebServer> web_;
  std::unique_ptr<httplib::Client> client_;
};

// --- /api/v1/query -----------------------------------------------------------

TEST_F(QueryApiTest, InstantQuerySumsTwoSeries) {
  EXPECT_EQ(Ok("/api/v1/query?query=sum(up)&time=1700000000"),
            Success(R"({"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1"]}]})"));
}

TEST_F(QueryApiTest, InstantQueryReturnsSeriesWithLabels) {
  EXPECT_EQ(
      Ok("/api/v1/query?query=up%7Bagent%3D%22b%22%7D&time=1700000000"),
      Success(R"({"resultType":"vector","result":[{"metric":{"__name__":"up","agent":"b","job":"node"},"value":[1700000000,"0"]}]})"));
}

TEST_F(QueryApiTest, InstantQueryTimeDefaultsToNow) {
  clock_.SetMillis(kT0 + 1'781);
  EXPECT_EQ(Ok("/api/v1/query?query=count(up)"),
            Success(R"({"resultType":"vector","result":[{"metric":{},"value":[1700000001.781,"2"]}]})"));
}

TEST_F(QueryApiTest, InstantQueryAcceptsRfc3339Time) {
  // 2023-11-14T22:13:20Z is 1700000000.
  EXPECT_EQ(Ok("/api/v1/query?query=sum(up)&time=2023-11-14T23:13:20.000%2B01:00"),
            Success(R"({"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1"]}]})"));
}

TEST_F(QueryApiTest, ScalarResultUsesGoNumberForTime) {
  EXPECT_EQ(Ok("/api/v1/query?query=1%2B1&time=1700000000.78"),
            Success(R"({"resultType":"scalar","result":[1700000000.78,"2"]})"));
}

TEST_F(QueryApiTest, StringResultIsEscapedLikeGo) {
  EXPECT_EQ(Ok("/api/v1/query?query=%22a%3Cb%22&time=1700000000"),
            Success(R"({"resultType":"string","result":[1700000000,"a\u003cb"]})"));
}

TEST_F(QueryApiTest, RangeSelectorGivesMatrixWithThreeDecimalTimestamps) {
  EXPECT_EQ(
      Ok("/api/v1/query?query=up%7Bagent%3D%22a%22%7D%5B45s%5D&time=1700000000.01"),
      Success(R"({"resultType":"matrix","result":[{"metric":{"__name__":"up","agent":"a","job":"node"},"values":[[1699999970,"1"],[1700000000,"1"]]}]})"));
}

TEST_F(QueryApiTest, PostFormWorksLikeGet) {
  Reply r = Post("/api/v1/query", "query=sum%28up%29&time=1700000000");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            Success(R"({"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1"]}]})"));
}

TEST_F(QueryApiTest, PostBodyWinsOverUrlQuery) {
  Reply r = Post("/api/v1/query?query=nonsense(", "query=count(up)&time=1700000000");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("value":[1700000000,"2"])"), std::string::npos) << r.body;
}

TEST_F(QueryApiTest, EvaluationErrorIsExecution422) {
  Reply r = Get(
      "/api/v1/query?time=1700000000&query=" +
      httplib::detail::encode_query_param(R"(label_replace(up, "agent", "x", "", ""))"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.body, Failure("execution", "vector cannot contain metrics with the same labelset"));
}

TEST_F(QueryApiTest, MissingQueryIsBadData) {
  Reply r = Get("/api/v1/query");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, Failure("bad_data",
                            "invalid parameter \"query\": 1:1: parse error: no expression found "
                            "in input"));
}

TEST_F(QueryApiTest, ParseErrorNamesTheQueryParameter) {
  Reply r = Get("/api/v1/query?query=sum(up)%20%2B");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Failure("bad_data",
                            "invalid parameter \"query\": 1:10: parse error: unexpected end of "
                            "input"));
}

TEST_F(QueryApiTest, BadTimeIsBadData) {
  Reply r = Get("/api/v1/query?query=up&time=yesterday");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Failure("bad_data",
                            "invalid parameter \"time\": Invalid time value for 'time': cannot "
                            "parse \"yesterday\" to a valid timestamp"));
}

TEST_F(QueryApiTest, BadTimeoutIsBadData) {
  Reply r = Get("/api/v1/query?query=up&timeout=soon");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Failure("bad_data",
                            "invalid parameter \"timeout\": cannot parse \"soon\" to a valid "
                            "duration"));
}

// --- /api/v1/query_range -----------------------------------------------------

TEST_F(QueryApiTest, RangeQueryStepsFromStartToEnd) {
  EXPECT_EQ(
      Ok("/api/v1/query_range?query=sum(up)&start=1699999940&end=1700000000&step=30"),
      Success(R"({"resultType":"matrix","result":[{"metric":{},"values":[[1699999940,"1"],[1699999970,"1"],[1700000000,"1"]]}]})"));
}

TEST_F(QueryApiTest, RangeQueryAcceptsPrometheusDurationStepAndPost) {
  Reply r = Post("/api/v1/query_range",
                 "query=count(up)&start=1699999970&end=2023-11-14T22:13:20Z&step=30s");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            Success(R"({"resultType":"matrix","result":[{"metric":{},"values":[[1699999970,"2"],[1700000000,"2"]]}]})"));
}

TEST_F(QueryApiTest, RangeQueryOfRangeVectorIsRefused) {
  Reply r = Get("/api/v1/query_range?query=up%5B5m%5D&start=1&end=2&step=1");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Failure("bad_data",
                            "invalid expression type \"range vector\" for range query, must be "
                            "Scalar or instant Vector"));
}

TEST_F(QueryApiTest, RangeQueryParseErrorIsNotWrapped) {
  Reply r = Get("/api/v1/query_range?query=sum(&start=1&end=2&step=1");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.find("invalid parameter"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("error":"1:5: parse error: )"), std::string::npos) << r.body;
}

TEST_F(QueryApiTest, RangeQueryRequiresStart) {
  EXPECT_EQ(Get("/api/v1/query_range?query=up&end=2&step=1").body,
            Failure("bad_data",
                    "invalid parameter \"start\": cannot parse \"\" to a valid timestamp"));
}

TEST_F(QueryApiTest, RangeQueryEndBeforeStartIsRefused) {
  Reply r = Get("/api/v1/query_range?query=up&start=10&end=9&step=1");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Failure("bad_data",
                            "invalid parameter \"end\": end timestamp must not be before start "
                            "time"));
}

TEST_F(QueryApiTest, RangeQueryStepMustBePositive) {
  EXPECT_EQ(Get("/api/v1/query_range?query=up&start=1&end=2&step=0").body,
            Failure("bad_data",
                    "invalid parameter \"step\": zero or negative query resolution step widths "
                    "are not accepted. Try a positive integer"));
  EXPECT_EQ(Get("/api/v1/query_range?query=up&start=1&end=2&step=-1s").body,
            Failure("bad_data", "invalid parameter \"step\": cannot parse \"-1s\" to a valid "
                                "duration"));
}

TEST_F(QueryApiTest, RangeQueryLimitsPointsPerSeries) {
  const std::string message =
      "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
      "resolution (?step=XX)";
  Reply r = Get("/api/v1/query_range?query=up&start=0&end=11001&step=1");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Failure("bad_data", message));
  // Exactly 11,000 steps (11,001 points) is still accepted, as in Prometheus.
  EXPECT_EQ(Get("/api/v1/query_range?query=1&start=0&end=11000&step=1").status, 200);
}

// --- /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values -------------

TEST_F(QueryApiTest, SeriesListsMatchingSeriesOnce) {
  EXPECT_EQ(
      Ok("/api/v1/series?match[]=up&match[]=%7Bagent%3D%22a%22%7D"),
      Success(R"([{"__name__":"http_requests_total","agent":"a"},)"
              R"({"__name__":"up","agent":"a","job":"node"},)"
              R"({"__name__":"up","agent":"b","job":"node"}])"));
}

TEST_F(QueryApiTest, SeriesHonoursTimeRange) {
  // http_requests_total stopped at kT0-60s.
  EXPECT_EQ(Ok("/api/v1/series?match[]=%7Bagent%3D%22a%22%7D&start=1699999990&end=1700000000"),
            Success(R"([{"__name__":"up","agent":"a","job":"node"}])"));
}

TEST_F(QueryApiTest, SeriesByPost) {
  Reply r = Post("/api/v1/series", "match%5B%5D=up%7Bagent%3D%22b%22%7D");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, Success(R"([{"__name__":"up","agent":"b","job":"node"}])"));
}

TEST_F(QueryApiTest, SeriesRequiresMatch) {
  Reply r = Get("/api/v1/series");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Failure("bad_data", "no match[] parameter provided"));
}

TEST_F(QueryApiTest, SeriesRefusesBadSelector) {
  Reply r = Get("/api/v1/series?match[]=up%7B");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.rfind(R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"match[]\": 1:)", 0),
            0u)
      << r.body;
}

TEST_F(QueryApiTest, SeriesWithNoMatchIsEmptyList) {
  EXPECT_EQ(Ok("/api/v1/series?match[]=nothing_here"), Success("[]"));
}

TEST_F(QueryApiTest, LabelNamesOfAllSeries) {
  EXPECT_EQ(Ok("/api/v1/labels"), Success(R"(["__name__","agent","job"])"));
}

TEST_F(QueryApiTest, LabelNamesOfMatchingSeries) {
  EXPECT_EQ(Ok("/api/v1/labels?match[]=http_requests_total&start=1&end=1800000000"),
            Success(R"(["__name__","agent"])"));
  Reply r = Post("/api/v1/labels", "match%5B%5D=http_requests_total");
  EXPECT_EQ(r.body, Success(R"(["__name__","agent"])"));
}

TEST_F(QueryApiTest, LabelValues) {
  EXPECT_EQ(Ok("/api/v1/label/agent/values"), Success(R"(["a","b"])"));
  EXPECT_EQ(Ok("/api/v1/label/__name__/values"), Success(R"(["http_requests_total","up"])"));
  EXPECT_EQ(Ok("/api/v1/label/job/values?match[]=http_requests_total"), Success("[]"));
  EXPECT_EQ(Ok("/api/v1/label/nope/values"), Success("[]"));
}

TEST_F(QueryApiTest, LabelEndpointsKeepToSeriesWithSamplesBetweenStartAndEnd) {
  // http_requests_total has samples from kT0-180s to kT0-60s, up from kT0-60s on.
  EXPECT_EQ(Ok("/api/v1/labels?start=1699999820&end=1699999850"), Success(R"(["__name__","agent"])"));
  EXPECT_EQ(Ok("/api/v1/label/__name__/values?start=1699999820&end=1699999850"),
            Success(R"(["http_requests_total"])"));
  EXPECT_EQ(Ok("/api/v1/label/__name__/values?start=1699999970&end=1700000000"),
            Success(R"(["up"])"));
  EXPECT_EQ(Ok("/api/v1/label/job/values?start=2023-11-14T22:13:20Z&end=2023-11-14T22:13:21Z"),
            Success(R"(["node"])"));
  EXPECT_EQ(Ok("/api/v1/labels?start=1600000000&end=1600000001"), Success("[]"));
}

TEST_F(QueryApiTest, LabelValuesRefusesInvalidName) {
  Reply r = Get("/api/v1/label/foo-bar/values");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Failure("bad_data", "invalid label name: \"foo-bar\""));
}

TEST_F(QueryApiTest, LabelEndpointsRefuseBadMatchWithoutWrapping) {
  Reply r = Get("/api/v1/labels?match[]=%7B%7D");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.rfind(R"({"status":"error","errorType":"bad_data","error":"1:)", 0), 0u)
      << r.body;
}

TEST_F(QueryApiTest, LabelEndpointsRefuseBadTime) {
  EXPECT_EQ(Get("/api/v1/labels?start=x").body,
            Failure("bad_data",
                    "invalid parameter \"start\": Invalid time value for 'start': cannot parse "
                    "\"x\" to a valid timestamp"));
}

// --- /api/v1/metadata ----------------------------------------------------------

TEST_F(QueryApiTest, MetadataOfAllMetrics) {
  EXPECT_EQ(
      Ok("/api/v1/metadata"),
      Success(R"({"http_requests_total":[{"type":"counter","help":"Requests \u003cserved\u003e \u0026 \"counted\".","unit":""}],)"
              R"("mystery":[{"type":"unknown","help":"","unit":""}],)"
              R"("up":[{"type":"gauge","help":"1 if the agent reported.","unit":""}]})"));
}

TEST_F(QueryApiTest, MetadataOfOneMetricAndLimit) {
  EXPECT_EQ(Ok("/api/v1/metadata?metric=up"),
            Success(R"({"up":[{"type":"gauge","help":"1 if the agent reported.","unit":""}]})"));
  EXPECT_EQ(Ok("/api/v1/metadata?limit=0"), Success("{}"));
  EXPECT_EQ(Ok("/api/v1/metadata?metric=absent"), Success("{}"));
  Reply r = Get("/api/v1/metadata?limit=two");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, Failure("bad_data", "limit must be a number"));
}

// --- format_query, query_exemplars, status ------------------------------------

TEST_F(QueryApiTest, FormatQueryPrintsCanonicalForm) {
  EXPECT_EQ(Ok("/api/v1/format_query?query=sum(rate(x%5B5m%5D))%20by%20(job)"),
            Success(R"json("sum by (job) (rate(x[5m]))")json"));
  Reply r = Post("/api/v1/format_query", "query=foo%7B");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.rfind(R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:)", 0),
            0u)
      << r.body;
}

TEST_F(QueryApiTest, QueryExemplarsIsEmpty) {
  EXPECT_EQ(Ok("/api/v1/query_exemplars?query=up&start=1&end=2"), Success("[]"));
  // A query without selectors has nothing to look up: 204, as Prometheus.
  EXPECT_EQ(Get("/api/v1/query_exemplars?query=1").status, 204);
  EXPECT_EQ(Get("/api/v1/query_exemplars?query=up&start=2&end=1").body,
            Failure("bad_data", "end timestamp must not be before start timestamp"));
}

TEST_F(QueryApiTest, BuildInfo) {
  EXPECT_EQ(Ok("/api/v1/status/buildinfo"),
            Success(std::string(R"({"version":")") + kVersion + R"(","revision":")" + kRevision +
                    R"(","branch":"","buildUser":"","buildDate":"","goVersion":""})"));
}

TEST_F(QueryApiTest, RuntimeInfoHasPrometheusFields) {
  auto body = nlohmann::json::parse(Ok("/api/v1/status/runtimeinfo"), nullptr, false);
  ASSERT_FALSE(body.is_discarded());
  EXPECT_EQ(body["status"], "success");
  const auto& data = body["data"];
  EXPECT_EQ(data["startTime"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(data["storageRetention"], "15d");
  EXPECT_EQ(data["reloadConfigSuccess"], true);
  for (const char* key : {"CWD", "lastConfigTime", "corruptionCount", "goroutineCount",
                          "GOMAXPROCS", "GOGC", "GODEBUG"}) {
    EXPECT_TRUE(data.contains(key)) << key;
  }
}

TEST_F(QueryApiTest, Flags) {
  EXPECT_EQ(Ok("/api/v1/status/flags"),
            Success(R"({"query.lookback-delta":"5m","query.timeout":"2m"})"));
}

TEST_F(QueryApiTest, UnknownApiPathIs404) { EXPECT_EQ(Get("/api/v1/nothing").status, 404); }

}  // namespace
}  // namespace vitals::collector
