// Engine behaviour the Prometheus test scripts do not cover: query limits,
// timeouts, cancellation, range-query argument checks and error classes.

#include "rules/promql/engine.h"

#include <algorithm>
#include <atomic>

#include <gtest/gtest.h>

#include "rules/promql/evaluator.h"
#include "rules/promql/functions.h"
#include "rules/promql/parser.h"
#include "tests/support/scratch_store.h"
#include "tests/support/temp_dir.h"

namespace vitals::promql {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

// A clock that jumps one minute every time it is read: any query with a
// timeout runs out of time at its first check.
class RunawayClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::milliseconds(kT0 + 60'000 * calls_.fetch_add(1)));
  }

 private:
  mutable std::atomic<int64_t> calls_{0};
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenScratchStore(dir_.File("db"));
    std::vector<Sample> samples;
    for (int series = 0; series < 10; ++series) {
      for (int i = 0; i < 20; ++i) {
        samples.push_back(Sample{{{"__name__", "x"}, {"i", std::to_string(series)}},
                                 kT0 + i * 15'000, static_cast<double>(i)});
      }
    }
    ASSERT_TRUE(store_->Append(samples, {}).ok());
  }
  void TearDown() override { store_.reset(); }

  Result<QueryResult> Instant(const Engine& engine, const std::string& query, int64_t t,
                              const QueryOptions& options = {}) {
    auto expr = ParseExpr(query);
    EXPECT_TRUE(expr.ok()) << expr.status().ToString();
    return engine.InstantQuery(*store_, **expr, t, options);
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(EngineTest, TooManySamplesIsAnExecutionError) {
  EngineOptions options;
  options.max_samples = 50;
  Engine engine(options);
  auto r = Instant(engine, "sum(x)", kT0 + 300'000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();  // 10 samples in memory at once.
  r = Instant(engine, "sum(count_over_time(x[5m]))", kT0 + 300'000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(r.status().message(),
            "query processing would load too many samples into memory in query execution");
  EXPECT_EQ(ErrorTypeOf(r.status()), "execution");
}

TEST_F(EngineTest, QueryThatRunsOutOfTimeTimesOut) {
  RunawayClock clock;
  EngineOptions options;
  options.timeout = std::chrono::seconds(30);
  Engine engine(options, clock);
  auto r = Instant(engine, "sum(x)", kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "query timed out in query execution");
  EXPECT_EQ(ErrorTypeOf(r.status()), "timeout");
}

TEST_F(EngineTest, CancelledQueryStops) {
  std::atomic<bool> cancel{true};
  Engine engine;
  QueryOptions options;
  options.cancel = &cancel;
  auto r = Instant(engine, "x", kT0, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "query was canceled in query execution");
  EXPECT_EQ(ErrorTypeOf(r.status()), "canceled");
}

TEST_F(EngineTest, RangeQueryRefusesMatricesAndBadSteps) {
  Engine engine;
  auto matrix = ParseExpr("x[5m]");
  auto r = engine.RangeQuery(*store_, **matrix, kT0, kT0 + 60'000, std::chrono::seconds(15));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "invalid expression type \"range vector\" for range query, must be Scalar or instant "
            "Vector");
  EXPECT_EQ(ErrorTypeOf(r.status()), "bad_data");
  auto vec = ParseExpr("x");
  EXPECT_FALSE(engine.RangeQuery(*store_, **vec, kT0, kT0 - 1, std::chrono::seconds(15)).ok());
  EXPECT_FALSE(engine.RangeQuery(*store_, **vec, kT0, kT0, std::chrono::seconds(0)).ok());
}

TEST_F(EngineTest, RangeQueryGivesOnePointPerStepSortedByLabels) {
  Engine engine;
  auto expr = ParseExpr("x{i=~\"[12]\"} * 2");
  auto r = engine.RangeQuery(*store_, **expr, kT0, kT0 + 60'000, std::chrono::seconds(30));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(FormatSeries(m[0].metric), "{i=\"1\"}");
  EXPECT_EQ(m[0].points, (std::vector<Point>{{kT0, 0}, {kT0 + 30'000, 4}, {kT0 + 60'000, 8}}));
}

TEST_F(EngineTest, DuplicateLabelsetsAfterDroppingTheNameAreAnError) {
  ASSERT_TRUE(store_->Append({Sample{{{"__name__", "y"}, {"i", "0"}}, kT0, 1}}, {}).ok());
  Engine engine;
  auto r = Instant(engine, "rate({__name__=~\"x|y\", i=\"0\"}[5m]) or abs({__name__=~\"x|y\"})",
                   kT0 + 60'000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "vector cannot contain metrics with the same labelset");
}

TEST_F(EngineTest, RangeArithmeticWithScalarMergesSeriesThatOnlyDifferedByNameWhenTheyDoNotOverlap) {
  // y{i="0"} has points after x{i="0"} ends (kT0 .. kT0+285s): where they do
  // not overlap, x + 1 and y + 1 are one series {i="0"}.
  std::vector<Sample> later;
  for (int i = 30; i < 40; ++i) {
    later.push_back(Sample{{{"__name__", "y"}, {"i", "0"}}, kT0 + i * 15'000, 100.0 + i});
  }
  ASSERT_TRUE(store_->Append(later, {}).ok());
  Engine engine;
  auto expr = ParseExpr("{__name__=~\"x|y\", i=\"0\"} + 1");
  // At kT0+240s only x (16), at kT0+600s only y (139 at kT0+585s; x's last
  // sample at kT0+285s is beyond the 5m lookback).
  auto r = engine.RangeQuery(*store_, **expr, kT0 + 240'000, kT0 + 600'000, std::chrono::seconds(360));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(FormatSeries(m[0].metric), "{i=\"0\"}");
  EXPECT_EQ(m[0].points, (std::vector<Point>{{kT0 + 240'000, 17}, {kT0 + 600'000, 140}}));
  // At kT0+480s both are present: the per-step path refuses that.
  auto overlapping = engine.RangeQuery(*store_, **expr, kT0, kT0 + 600'000, std::chrono::seconds(60));
  ASSERT_FALSE(overlapping.ok());
  EXPECT_EQ(overlapping.status().message(), "vector cannot contain metrics with the same labelset");
}

TEST_F(EngineTest, RangeComparisonWithScalarOnEitherSideKeepsTheVectorValue) {
  Engine engine;
  for (const char* query : {"x{i=\"3\"} >= 10", "10 <= x{i=\"3\"}"}) {
    auto expr = ParseExpr(query);
    auto r = engine.RangeQuery(*store_, **expr, kT0, kT0 + 285'000, std::chrono::seconds(75));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const auto& m = std::get<Matrix>(r->value);
    ASSERT_EQ(m.size(), 1u) << query;
    EXPECT_EQ(FormatSeries(m[0].metric), "x{i=\"3\"}");
    EXPECT_EQ(m[0].points, (std::vector<Point>{{kT0 + 150'000, 10}, {kT0 + 225'000, 15}})) << query;
  }
}

// Big enough (64 series x 400 points, 400 steps) for the evaluation to be
// shared between two threads: every series still gets its own results.
TEST_F(EngineTest, LargeRangeFunctionEvaluationGivesEverySeriesItsOwnResult) {
  std::vector<Sample> samples;
  for (int series = 0; series < 64; ++series) {
    for (int i = 0; i < 400; ++i) {
      samples.push_back(Sample{{{"__name__", "big"}, {"s", std::to_string(series)}},
                               kT0 + i * 15'000, static_cast<double>(series)});
    }
  }
  ASSERT_TRUE(store_->Append(samples, {}).ok());
  Engine engine;
  auto expr = ParseExpr("sum_over_time(big[1m])");
  auto r = engine.RangeQuery(*store_, **expr, kT0 + 60'000, kT0 + 5'985'000, std::chrono::seconds(15));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 64u);
  for (const Series& s : m) {
    const double v = std::stod(std::string(GetLabel(s.metric, "s")));
    ASSERT_EQ(s.points.size(), 396u) << FormatSeries(s.metric);
    for (const Point& p : s.points) ASSERT_EQ(p.v, 5 * v) << FormatSeries(s.metric) << " @ " << p.t;
  }
  // An error in either thread is the query's error.
  auto bad = ParseExpr("holt_winters(big[1m], 2, 0.5)");
  auto failed = engine.RangeQuery(*store_, **bad, kT0 + 60'000, kT0 + 5'985'000, std::chrono::seconds(15));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "invalid smoothing factor. Expected: 0 < sf < 1, got: 2.000000");
}

// The evaluator's "no implementation" error is an invariant guard: every
// function the parser accepts is implemented, as an instant or a range function.
TEST(EngineFunctionsTest, EveryParserFunctionHasAnImplementation) {
  for (const Function& f : AllFunctions()) {
    bool takes_matrix = std::find(f.arg_types.begin(), f.arg_types.end(), ValueType::kMatrix) !=
                        f.arg_types.end();
    if (takes_matrix) {
      EXPECT_NE(internal::FindRangeFunction(f.name), nullptr) << f.name;
    } else {
      EXPECT_NE(internal::FindInstantFunction(f.name), nullptr) << f.name;
    }
  }
}

}  // namespace
}  // namespace vitals::promql
