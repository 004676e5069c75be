#include "rules/rules_test_runner.h"

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include <prometheus/registry.h>

#include "common/config.h"
#include "common/units.h"
#include "rules/manager.h"
#include "rules/promql/parser.h"
#include "rules/promql/printer.h"
#include "rules/promql/series_notation.h"

namespace vitals::rules {
namespace {

using Millis = std::chrono::milliseconds;

struct ExpectedAlert {
  Labels labels;
  Labels annotations;
};

struct AlertTest {
  Millis eval_time{0};
  std::string alertname;
  std::vector<ExpectedAlert> expected;
};

struct ExprTest {
  std::string expr;
  Millis eval_time{0};
  std::vector<Sample> expected;  // timestamp unused
};

struct TestCase {
  std::string name;
  Millis interval{std::chrono::minutes(1)};
  Labels external_labels;
  std::string external_url;
  std::vector<Sample> input;
  std::vector<AlertTest> alert_tests;
  std::vector<ExprTest> expr_tests;
};

struct TestFile {
  std::vector<std::string> rule_files;
  Millis evaluation_interval{std::chrono::minutes(1)};
  std::vector<TestCase> tests;
};

Labels MapToLabels(const std::map<std::string, std::string>& m) {
  Labels labels;
  for (const auto& [k, v] : m) labels.push_back(Label{k, v});
  Canonicalize(&labels);
  return labels;
}

Result<double> ParseValue(const std::string& text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "nan") return NAN;
  if (lower == "inf" || lower == "+inf") return INFINITY;
  if (lower == "-inf") return -INFINITY;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    return Status::InvalidArgument("not a number: \"" + text + "\"");
  }
  return v;
}

Status ReadTestCase(ConfigMap& m, Millis default_interval, TestCase* tc) {
  tc->interval = default_interval;
  RETURN_IF_ERROR(m.ReadString("name", &tc->name));
  RETURN_IF_ERROR(m.ReadDuration("interval", &tc->interval));
  std::map<std::string, std::string> external;
  RETURN_IF_ERROR(m.ReadStringMap("external_labels", &external));
  tc->external_labels = MapToLabels(external);
  RETURN_IF_ERROR(m.ReadString("external_url", &tc->external_url));

  ASSIGN_OR_RETURN(auto series_list, m.ReadMapList("input_series"));
  for (ConfigMap& s : series_list) {
    std::string series, values;
    RETURN_IF_ERROR(s.ReadString("series", &series, Presence::kRequired));
    RETURN_IF_ERROR(s.ReadString("values", &values));
    RETURN_IF_ERROR(s.CheckUnknownKeys());
    auto desc = promql::ParseSeriesDescription(series + " " + values);
    if (!desc.ok()) return s.Error("series", desc.status().message());
    for (size_t i = 0; i < desc->values.size(); ++i) {
      if (!desc->values[i]) continue;
      tc->input.push_back(Sample{desc->labels, static_cast<int64_t>(i) * tc->interval.count(),
                                 *desc->values[i]});
    }
  }

  ASSIGN_OR_RETURN(auto alert_tests, m.ReadMapList("alert_rule_test"));
  for (ConfigMap& a : alert_tests) {
    AlertTest t;
    RETURN_IF_ERROR(a.ReadDuration("eval_time", &t.eval_time));
    RETURN_IF_ERROR(a.ReadString("alertname", &t.alertname, Presence::kRequired));
    ASSIGN_OR_RETURN(auto exp, a.ReadMapList("exp_alerts"));
    for (ConfigMap& e : exp) {
      std::map<std::string, std::string> labels, annotations;
      RETURN_IF_ERROR(e.ReadStringMap("exp_labels", &labels));
      RETURN_IF_ERROR(e.ReadStringMap("exp_annotations", &annotations));
      RETURN_IF_ERROR(e.CheckUnknownKeys());
      labels["alertname"] = t.alertname;
      t.expected.push_back(ExpectedAlert{MapToLabels(labels), MapToLabels(annotations)});
    }
    RETURN_IF_ERROR(a.CheckUnknownKeys());
    tc->alert_tests.push_back(std::move(t));
  }

  ASSIGN_OR_RETURN(auto expr_tests, m.ReadMapList("promql_expr_test"));
  for (ConfigMap& x : expr_tests) {
    ExprTest t;
    RETURN_IF_ERROR(x.ReadString("expr", &t.expr, Presence::kRequired));
    RETURN_IF_ERROR(x.ReadDuration("eval_time", &t.eval_time));
    ASSIGN_OR_RETURN(auto samples, x.ReadMapList("exp_samples"));
    for (ConfigMap& s : samples) {
      std::string labels_text, value_text;
      RETURN_IF_ERROR(s.ReadString("labels", &labels_text));
      RETURN_IF_ERROR(s.ReadString("value", &value_text));
      RETURN_IF_ERROR(s.CheckUnknownKeys());
      Sample expected;
      if (!labels_text.empty()) {
        auto desc = promql::ParseSeriesDescription(labels_text);
        if (!desc.ok()) return s.Error("labels", desc.status().message());
        expected.labels = desc->labels;
      }
      auto value = ParseValue(value_text);
      if (!value.ok()) return s.Error("value", value.status().message());
      expected.value = *value;
      t.expected.push_back(std::move(expected));
    }
    RETURN_IF_ERROR(x.CheckUnknownKeys());
    tc->expr_tests.push_back(std::move(t));
  }
  return m.CheckUnknownKeys();
}

Result<TestFile> ReadTestFile(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigMap m, ConfigMap::LoadFile(path));
  TestFile f;
  RETURN_IF_ERROR(m.ReadStringList("rule_files", &f.rule_files));
  RETURN_IF_ERROR(m.ReadDuration("evaluation_interval", &f.evaluation_interval));
  std::vector<std::string> order;
  RETURN_IF_ERROR(m.ReadStringList("group_eval_order", &order));
  ASSIGN_OR_RETURN(auto tests, m.ReadMapList("tests"));
  for (ConfigMap& t : tests) {
    TestCase tc;
    RETURN_IF_ERROR(ReadTestCase(t, f.evaluation_interval, &tc));
    f.tests.push_back(std::move(tc));
  }
  RETURN_IF_ERROR(m.CheckUnknownKeys());
  if (f.evaluation_interval.count() <= 0) {
    return m.Error("evaluation_interval", "must be positive");
  }
  return f;
}

// A fresh directory for one test's store, removed on destruction.
class ScratchStore {
 public:
  static Result<ScratchStore> Open() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "vitals-rules-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("cannot create " + tmpl);
    storage::Options o;
    o.path = tmpl + "/db";
    o.sync_writes = false;
    o.background_maintenance = false;
    o.retention = Millis(0);
    o.persist_head_on_close = false;  // Thrown away: nothing to keep.
    auto store = storage::Store::Open(o);
    if (!store.ok()) {
      std::filesystem::remove_all(tmpl);
      return store.status();
    }
    return ScratchStore(tmpl, std::move(*store));
  }
  ScratchStore(ScratchStore&&) = default;
  ~ScratchStore() {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  storage::Store& store() { return *store_; }

 private:
  ScratchStore(std::string dir, std::unique_ptr<storage::Store> store)
      : dir_(std::move(dir)), store_(std::move(store)) {}
  std::string dir_;
  std::unique_ptr<storage::Store> store_;
};

std::string FormatAlerts(std::vector<ExpectedAlert> alerts) {
  std::string out = "[\n";
  for (size_t i = 0; i < alerts.size(); ++i) {
    out += "            " + std::to_string(i) + ":\n";
    out += "              Labels:" + FormatSeries(alerts[i].labels) + "\n";
    out += "              Annotations:" + FormatSeries(alerts[i].annotations) + "\n";
  }
  return out + "            ]";
}

std::string FormatSamples(const std::vector<Sample>& samples) {
  std::string out = "[";
  for (size_t i = 0; i < samples.size(); ++i) {
    if (i > 0) out += ", ";
    out += FormatSeries(samples[i].labels) + " " + promql::FormatNumber(samples[i].value);
  }
  return out + "]";
}

bool SameValue(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// Runs one test; appends failure descriptions to *errors.
Status RunTest(const TestCase& tc, const std::vector<std::string>& rule_paths,
               Millis evaluation_interval, std::vector<std::string>* errors) {
  ASSIGN_OR_RETURN(ScratchStore scratch, ScratchStore::Open());
  storage::Store& store = scratch.store();
  if (!tc.input.empty()) {
    std::vector<Sample> input = tc.input;
    std::stable_sort(input.begin(), input.end(),
                     [](const Sample& a, const Sample& b) { return a.timestamp_ms < b.timestamp_ms; });
    auto appended = store.Append(input, {});
    if (!appended.ok()) return appended.status();
  }

  promql::EngineOptions engine_options;
  engine_options.default_subquery_step = evaluation_interval;
  promql::Engine engine(engine_options);
  FakeClock clock(0);
  prometheus::Registry registry;
  ManagerOptions options;
  options.evaluation_interval = evaluation_interval;
  options.external_labels = tc.external_labels;
  options.external_url = tc.external_url;
  options.expand_template = MakeTemplateExpander(
      tc.external_labels, tc.external_url,
      [&](std::string_view query, int64_t ts) -> Result<promql::Vector> {
        ASSIGN_OR_RETURN(auto expr, promql::ParseExpr(query));
        ASSIGN_OR_RETURN(auto result, engine.InstantQuery(store, *expr, ts));
        if (auto* v = std::get_if<promql::Vector>(&result.value)) return std::move(*v);
        if (auto* s = std::get_if<promql::Scalar>(&result.value)) {
          return promql::Vector{Sample{{}, ts, s->v}};
        }
        return Status::InvalidArgument("query result is neither a vector nor a scalar");
      });
  ASSIGN_OR_RETURN(auto manager, RuleManager::Create(options, store, engine, clock, registry, {}));
  RETURN_IF_ERROR(manager->Load(rule_paths));

  // Alert checks by time, in order.
  std::map<int64_t, std::vector<const AlertTest*>> alert_checks;
  int64_t max_time = 0;
  for (const AlertTest& t : tc.alert_tests) {
    alert_checks[t.eval_time.count()].push_back(&t);
    max_time = std::max<int64_t>(max_time, t.eval_time.count());
  }
  for (const ExprTest& t : tc.expr_tests) max_time = std::max<int64_t>(max_time, t.eval_time.count());

  const int64_t step = evaluation_interval.count();
  const size_t errors_before = errors->size();
  auto next_check = alert_checks.begin();
  for (int64_t ts = 0; ts <= max_time; ts += step) {
    clock.SetMillis(ts);
    manager->EvaluateAll(ts);
    for (const GroupStatus& g : manager->Groups()) {
      for (const RuleStatus& r : g.rules) {
        if (r.health == "err") {
          errors->push_back("    rule: " + r.desc->name() + ", time: " +
                            FormatDuration(Millis(ts)) + ", err: " + r.last_error);
        }
      }
    }
    if (errors->size() > errors_before) return Status::Ok();
    // Alerts asked for at a time in [ts, ts + step) are compared with this evaluation.
    for (; next_check != alert_checks.end() && next_check->first < ts + step; ++next_check) {
      std::map<std::string, std::vector<ExpectedAlert>> firing;
      for (const Alert& a : manager->ActiveAlerts()) {
        if (a.state != AlertState::kFiring) continue;
        firing[std::string(GetLabel(a.labels, "alertname"))].push_back(
            ExpectedAlert{a.labels, a.annotations});
      }
      for (const AlertTest* t : next_check->second) {
        std::vector<ExpectedAlert> got = firing[t->alertname];
        std::vector<ExpectedAlert> exp = t->expected;
        auto order = [](const ExpectedAlert& a, const ExpectedAlert& b) {
          return std::tie(a.labels, a.annotations) < std::tie(b.labels, b.annotations);
        };
        std::sort(got.begin(), got.end(), order);
        std::sort(exp.begin(), exp.end(), order);
        bool same = got.size() == exp.size() &&
                    std::equal(got.begin(), got.end(), exp.begin(), [](const auto& a, const auto& b) {
                      return a.labels == b.labels && a.annotations == b.annotations;
                    });
        if (!same) {
          errors->push_back("    alertname: " + t->alertname + ", time: " +
                            FormatDuration(t->eval_time) + ", \n        exp:" + FormatAlerts(exp) +
                            ", \n        got:" + FormatAlerts(got));
        }
      }
    }
  }

  for (const ExprTest& t : tc.expr_tests) {
    auto expr = promql::ParseExpr(t.expr);
    if (!expr.ok()) {
      errors->push_back("    expr: \"" + t.expr + "\", time: " + FormatDuration(t.eval_time) +
                        ", err: " + expr.status().message());
      continue;
    }
    auto result = engine.InstantQuery(store, **expr, t.eval_time.count());
    if (!result.ok()) {
      errors->push_back("    expr: \"" + t.expr + "\", time: " + FormatDuration(t.eval_time) +
                        ", err: " + result.status().message());
      continue;
    }
    std::vector<Sample> got;
    if (auto* v = std::get_if<promql::Vector>(&result->value)) got = std::move(*v);
    if (auto* s = std::get_if<promql::Scalar>(&result->value)) got.push_back(Sample{{}, 0, s->v});
    std::vector<Sample> exp = t.expected;
    auto by_labels = [](const Sample& a, const Sample& b) { return a.labels < b.labels; };
    std::sort(got.begin(), got.end(), by_labels);
    std::sort(exp.begin(), exp.end(), by_labels);
    bool same = got.size() == exp.size() &&
                std::equal(got.begin(), got.end(), exp.begin(), [](const Sample& a, const Sample& b) {
                  return a.labels == b.labels && SameValue(a.value, b.value);
                });
    if (!same) {
      errors->push_back("    expr: \"" + t.expr + "\", time: " + FormatDuration(t.eval_time) +
                        ",\n        exp: " + FormatSamples(exp) + "\n        got: " +
                        FormatSamples(got));
    }
  }
  return Status::Ok();
}

bool RunFile(const std::string& path, std::ostream& out) {
  out << "Unit Testing:  " << path << "\n";
  auto file = ReadTestFile(path);
  if (!file.ok()) {
    out << "  FAILED:\n    " << file.status().message() << "\n\n";
    return false;
  }
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  std::vector<std::string> rule_paths;
  std::vector<std::string> errors;
  for (const std::string& name : file->rule_files) {
    std::filesystem::path p = name;
    if (p.is_relative()) p = base / p;
    // Checked once here so a broken rule file is reported once.
    auto rf = LoadRuleFile(p.string());
    if (!rf.ok()) {
      errors.push_back("    " + rf.status().message());
      continue;
    }
    rule_paths.push_back(p.string());
  }
  const bool rule_files_ok = errors.empty();
  for (const TestCase& tc : file->tests) {
    if (!rule_files_ok) break;
    Status st = RunTest(tc, rule_paths, file->evaluation_interval, &errors);
    if (!st.ok()) errors.push_back("    " + st.message());
  }
  if (errors.empty()) {
    out << "  SUCCESS\n\n";
    return true;
  }
  out << "  FAILED:\n";
  for (const std::string& e : errors) out << e << "\n";
  out << "\n";
  return false;
}

}  // namespace

bool RunRuleTestFiles(const std::vector<std::string>& files, std::ostream& out) {
  bool ok = true;
  for (const std::string& f : files) ok = RunFile(f, out) && ok;
  return ok;
}

}  // namespace vitals::rules
