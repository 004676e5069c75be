#include "rules/manager.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include "common/log.h"
#include "rules/promql/printer.h"

namespace vitals::rules {

namespace {

using Millis = std::chrono::milliseconds;

// The metric names an expression reads; `any` when a selector has no
// metric name (it may read anything).
void CollectMetricNames(const promql::Expr& e, std::set<std::string, std::less<>>* names,
                        bool* any) {
  using promql::NodeKind;
  switch (e.kind()) {
    case NodeKind::kVectorSelector: {
      const auto& vs = e.As<promql::VectorSelector>();
      if (vs.name.empty()) {
        *any = true;
      } else {
        names->insert(vs.name);
      }
      return;
    }
    case NodeKind::kMatrixSelector:
      return CollectMetricNames(*e.As<promql::MatrixSelector>().vector_selector, names, any);
    case NodeKind::kSubquery: return CollectMetricNames(*e.As<promql::SubqueryExpr>().expr, names, any);
    case NodeKind::kParen: return CollectMetricNames(*e.As<promql::ParenExpr>().expr, names, any);
    case NodeKind::kUnary: return CollectMetricNames(*e.As<promql::UnaryExpr>().expr, names, any);
    case NodeKind::kBinary:
      CollectMetricNames(*e.As<promql::BinaryExpr>().lhs, names, any);
      return CollectMetricNames(*e.As<promql::BinaryExpr>().rhs, names, any);
    case NodeKind::kAggregate: {
      const auto& a = e.As<promql::AggregateExpr>();
      if (a.param) CollectMetricNames(*a.param, names, any);
      return CollectMetricNames(*a.expr, names, any);
    }
    case NodeKind::kCall:
      for (const auto& arg : e.As<promql::Call>().args) CollectMetricNames(*arg, names, any);
      return;
    case NodeKind::kNumberLiteral:
    case NodeKind::kStringLiteral: return;
  }
}

// Identifies a rule across reloads and restarts, as Prometheus matches rules
// when it copies state: group, name and labels.
std::string RuleKey(const RuleGroupDesc& group, const RuleDesc& rule) {
  std::string key = group.file + ";" + group.name + ";" + rule.name();
  for (const auto& [name, value] : rule.labels) key += ";" + name + "=" + value;
  return key;
}

promql::Vector AsVector(promql::QueryResult result, int64_t ts) {
  if (auto* v = std::get_if<promql::Vector>(&result.value)) return std::move(*v);
  if (auto* s = std::get_if<promql::Scalar>(&result.value)) return {Sample{{}, ts, s->v}};
  return {};
}

nlohmann::json LabelsJson(const Labels& labels);

// What the state file keeps of an alert (not its value: it is recomputed).
nlohmann::json AlertJson(const Alert& a) {
  return {{"labels", LabelsJson(a.labels)},
          {"annotations", LabelsJson(a.annotations)},
          {"state", AlertStateName(a.state)},
          {"active_at_ms", a.active_at_ms},
          {"fired_at_ms", a.fired_at_ms},
          {"resolved_at_ms", a.resolved_at_ms},
          {"last_sent_ms", a.last_sent_ms},
          {"valid_until_ms", a.valid_until_ms}};
}

nlohmann::json LabelsJson(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const Label& l : labels) j[l.name] = l.value;
  return j;
}

Labels JsonLabels(const nlohmann::json& j) {
  Labels labels;
  for (auto it = j.begin(); it != j.end(); ++it) labels.push_back(Label{it.key(), it.value()});
  std::sort(labels.begin(), labels.end());
  return labels;
}

AlertState ParseState(const std::string& s) {
  if (s == "firing") return AlertState::kFiring;
  if (s == "pending") return AlertState::kPending;
  return AlertState::kInactive;
}

}  // namespace

struct RuleManager::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : last_duration(prometheus::BuildGauge()
                          .Name("vitals_rule_group_last_duration_seconds")
                          .Help("How long the last evaluation of the rule group took.")
                          .Register(registry)),
        interval(prometheus::BuildGauge()
                     .Name("vitals_rule_group_interval_seconds")
                     .Help("The interval of the rule group.")
                     .Register(registry)),
        last_evaluation(prometheus::BuildGauge()
                            .Name("vitals_rule_group_last_evaluation_timestamp_seconds")
                            .Help("When the rule group was last evaluated.")
                            .Register(registry)),
        rules(prometheus::BuildGauge()
                  .Name("vitals_rule_group_rules")
                  .Help("Rules in the rule group.")
                  .Register(registry)),
        iterations(prometheus::BuildCounter()
                       .Name("vitals_rule_group_iterations_total")
                       .Help("Evaluations of the rule group.")
                       .Register(registry)),
        missed(prometheus::BuildCounter()
                   .Name("vitals_rule_group_iterations_missed_total")
                   .Help("Evaluations skipped because the previous one ran too long.")
                   .Register(registry)),
        evaluations(prometheus::BuildCounter()
                        .Name("vitals_rule_evaluations_total")
                        .Help("Rule evaluations.")
                        .Register(registry)),
        failures(prometheus::BuildCounter()
                     .Name("vitals_rule_evaluation_failures_total")
                     .Help("Rule evaluations that failed.")
                     .Register(registry)),
        reload_ok(prometheus::BuildGauge()
                      .Name("vitals_rules_last_reload_successful")
                      .Help("1 if the last rule reload succeeded.")
                      .Register(registry)
                      .Add({})),
        reload_time(prometheus::BuildGauge()
                        .Name("vitals_rules_last_reload_success_timestamp_seconds")
                        .Help("When the rules were last loaded successfully.")
                        .Register(registry)
                        .Add({})) {}

  prometheus::Family<prometheus::Gauge>& last_duration;
  prometheus::Family<prometheus::Gauge>& interval;
  prometheus::Family<prometheus::Gauge>& last_evaluation;
  prometheus::Family<prometheus::Gauge>& rules;
  prometheus::Family<prometheus::Counter>& iterations;
  prometheus::Family<prometheus::Counter>& missed;
  prometheus::Family<prometheus::Counter>& evaluations;
  prometheus::Family<prometheus::Counter>& failures;
  prometheus::Gauge& reload_ok;
  prometheus::Gauge& reload_time;
};

// One rule of a group with its evaluation state.
struct RuleSlot {
  const RuleDesc* desc = nullptr;
  std::string key;
  std::unique_ptr<AlertingRule> alerting;  // Alerting rules only.
  std::set<Labels> previous_series;        // Written by the last evaluation.
  // A later rule of the group reads what this one writes, so its results
  // are stored before the next rule runs rather than with the group's.
  bool flush_after = false;
  std::string health = "unknown";
  std::string last_error;
  int64_t last_evaluation_ms = 0;
  double evaluation_seconds = 0;
};

struct RuleManager::Group {
  const RuleGroupDesc* desc = nullptr;
  std::string key;  // "file;name", the rule_group label.
  Millis interval{0};
  std::vector<RuleSlot> rules;
  std::set<std::string, std::less<>> reads_metrics;
  bool reads_any = false;

  // Per-group metrics, removed when the group goes away.
  prometheus::Gauge* last_duration = nullptr;
  prometheus::Gauge* interval_gauge = nullptr;
  prometheus::Gauge* last_evaluation = nullptr;
  prometheus::Gauge* rule_count = nullptr;
  prometheus::Counter* iterations = nullptr;
  prometheus::Counter* missed = nullptr;
  prometheus::Counter* evaluations = nullptr;
  prometheus::Counter* failures = nullptr;

  std::mutex mu;  // Guards `rules` state and the timings below.
  int64_t last_evaluation_ms = 0;
  double evaluation_seconds = 0;

  std::mutex wake_mu;
  std::condition_variable wake_cv;
  bool triggered = false;  // GUARDED_BY(wake_mu)
  bool stop = false;       // GUARDED_BY(wake_mu)
  std::thread thread;
};

RuleManager::RuleManager(const ManagerOptions& options, storage::Store& store,
                         const promql::Engine& engine, const Clock& clock,
                         prometheus::Registry& registry, std::vector<AlertSink*> sinks)
    : options_(options),
      store_(store),
      engine_(engine),
      clock_(clock),
      sinks_(std::move(sinks)),
      metrics_(std::make_unique<Metrics>(registry)) {
  metrics_->reload_ok.Set(1);
}

Result<std::unique_ptr<RuleManager>> RuleManager::Create(const ManagerOptions& options,
                                                         storage::Store& store,
                                                         const promql::Engine& engine,
                                                         const Clock& clock,
                                                         prometheus::Registry& registry,
                                                         std::vector<AlertSink*> sinks) {
  if (options.evaluation_interval.count() <= 0) {
    return Status::InvalidArgument("rules: evaluation_interval must be positive");
  }
  std::unique_ptr<RuleManager> m(
      new RuleManager(options, store, engine, clock, registry, std::move(sinks)));
  RETURN_IF_ERROR(m->LoadState());
  return m;
}

RuleManager::~RuleManager() { Stop(); }

Status RuleManager::Load(const std::vector<std::string>& paths) {
  std::vector<RuleFile> files;
  for (const std::string& path : paths) {
    auto file = LoadRuleFile(path);
    if (!file.ok()) {
      std::lock_guard lock(mu_);
      last_reload_error_ = file.status().message();
      last_reload_ok_ = false;
      metrics_->reload_ok.Set(0);
      return file.status();
    }
    files.push_back(std::move(*file));
  }
  return LoadParsed(std::move(files));
}

Status RuleManager::LoadParsed(std::vector<RuleFile> files) {
  std::unique_lock lock(mu_);
  const bool was_running = running_;
  if (was_running) StopThreadsLocked();

  // State of the current rules, to carry over.
  std::map<std::string, std::map<Labels, Alert>> carried = std::move(restored_);
  restored_.clear();
  for (auto& g : groups_) {
    std::lock_guard glock(g->mu);
    for (RuleSlot& r : g->rules) {
      if (r.alerting) carried[r.key] = r.alerting->alerts();
    }
    metrics_->last_duration.Remove(g->last_duration);
    metrics_->interval.Remove(g->interval_gauge);
    metrics_->last_evaluation.Remove(g->last_evaluation);
    metrics_->rules.Remove(g->rule_count);
    metrics_->iterations.Remove(g->iterations);
    metrics_->missed.Remove(g->missed);
    metrics_->evaluations.Remove(g->evaluations);
    metrics_->failures.Remove(g->failures);
  }
  groups_.clear();
  files_ = std::move(files);

  for (const RuleFile& file : files_) {
    for (const RuleGroupDesc& gd : file.groups) {
      auto g = std::make_unique<Group>();
      g->desc = &gd;
      g->key = gd.file + ";" + gd.name;
      g->interval = gd.interval.count() > 0 ? gd.interval : options_.evaluation_interval;
      for (const RuleDesc& rd : gd.rules) {
        RuleSlot slot;
        slot.desc = &rd;
        slot.key = RuleKey(gd, rd);
        if (rd.is_alert()) {
          slot.alerting = std::make_unique<AlertingRule>(rd, options_.resolved_retention);
          if (auto it = carried.find(slot.key); it != carried.end()) {
            slot.alerting->Restore(std::move(it->second));
            carried.erase(it);
          }
        }
        CollectMetricNames(*rd.parsed, &g->reads_metrics, &g->reads_any);
        g->rules.push_back(std::move(slot));
      }
      for (size_t i = 0; i < g->rules.size(); ++i) {
        const RuleDesc& rd = *g->rules[i].desc;
        for (size_t j = i + 1; j < g->rules.size() && !g->rules[i].flush_after; ++j) {
          std::set<std::string, std::less<>> names;
          bool any = false;
          CollectMetricNames(*g->rules[j].desc->parsed, &names, &any);
          g->rules[i].flush_after =
              any || (rd.is_alert() ? names.contains("ALERTS") || names.contains("ALERTS_FOR_STATE")
                                    : names.contains(rd.record));
        }
      }
      const prometheus::Labels labels{{"rule_group", g->key}};
      g->last_duration = &metrics_->last_duration.Add(labels);
      g->interval_gauge = &metrics_->interval.Add(labels);
      g->interval_gauge->Set(std::chrono::duration<double>(g->interval).count());
      g->last_evaluation = &metrics_->last_evaluation.Add(labels);
      g->rule_count = &metrics_->rules.Add(labels);
      g->rule_count->Set(static_cast<double>(g->rules.size()));
      g->iterations = &metrics_->iterations.Add(labels);
      g->missed = &metrics_->missed.Add(labels);
      g->evaluations = &metrics_->evaluations.Add(labels);
      g->failures = &metrics_->failures.Add(labels);
      groups_.push_back(std::move(g));
    }
  }
  last_reload_error_.clear();
  last_reload_ok_ = true;
  metrics_->reload_ok.Set(1);
  metrics_->reload_time.Set(static_cast<double>(clock_.NowMillis()) / 1000);
  state_dirty_ = true;
  if (Status st = SaveStateLocked(); !st.ok()) {
    LOG_WARN << "rules: saving alert state: " << st.ToString();
  }
  if (was_running) StartThreadsLocked();
  return Status::Ok();
}

std::string RuleManager::last_reload_error() const {
  std::lock_guard lock(mu_);
  return last_reload_error_;
}

void RuleManager::Start() {
  std::lock_guard lock(mu_);
  if (running_) return;
  StartThreadsLocked();
}

void RuleManager::Stop() {
  std::lock_guard lock(mu_);
  if (!running_) return;
  StopThreadsLocked();
  if (Status st = SaveStateLocked(); !st.ok()) {
    LOG_WARN << "rules: saving alert state: " << st.ToString();
  }
}

void RuleManager::StartThreadsLocked() {
  running_ = true;
  {
    std::lock_guard triggers(triggers_mu_);
    for (auto& g : groups_) {
      if (g->desc->trigger == EvalTrigger::kOnIngest) on_ingest_groups_.push_back(g.get());
    }
  }
  for (auto& g : groups_) {
    {
      std::lock_guard wl(g->wake_mu);
      g->stop = false;
    }
    g->thread = std::thread([this, group = g.get()] { RunGroup(group); });
  }
}

void RuleManager::StopThreadsLocked() {
  {
    std::lock_guard triggers(triggers_mu_);
    on_ingest_groups_.clear();
  }
  for (auto& g : groups_) {
    {
      std::lock_guard wl(g->wake_mu);
      g->stop = true;
    }
    g->wake_cv.notify_all();
  }
  // The threads take mu_ for each evaluation: release it while joining.
  mu_.unlock();
  for (auto& g : groups_) {
    if (g->thread.joinable()) g->thread.join();
  }
  mu_.lock();
  running_ = false;
}

void RuleManager::RunGroup(Group* g) {
  using SteadyClock = std::chrono::steady_clock;
  // Spread groups over their interval so they do not all run at once, the
  // way Prometheus offsets groups by a hash of their name.
  const auto interval = g->interval;
  auto next = SteadyClock::now() +
              Millis(static_cast<int64_t>(std::hash<std::string>{}(g->key) %
                                          static_cast<uint64_t>(interval.count())));
  if (g->desc->trigger == EvalTrigger::kOnIngest) next = SteadyClock::now();
  for (;;) {
    {
      std::unique_lock wl(g->wake_mu);
      g->wake_cv.wait_until(wl, next, [g] { return g->stop || g->triggered; });
      if (g->stop) return;
      g->triggered = false;
    }
    {
      std::lock_guard lock(mu_);
      // Strictly later than the last evaluation: two evaluations in one
      // millisecond would write conflicting ALERTS samples and could hide a
      // resolution from the notifiers.
      int64_t ts = std::max(clock_.NowMillis(), g->last_evaluation_ms + 1);
      EvaluateGroup(*g, ts);
      if (state_dirty_) {
        if (Status st = SaveStateLocked(); !st.ok()) {
          LOG_WARN << "rules: saving alert state: " << st.ToString();
        }
      }
    }
    auto now = SteadyClock::now();
    if (now >= next) {
      auto behind = (now - next) / interval;
      if (behind > 0) g->missed->Increment(static_cast<double>(behind));
      next += interval * (behind + 1);
    }
  }
}

void RuleManager::OnIngest(std::span<const SeriesSamples> series) {
  std::lock_guard triggers(triggers_mu_);
  if (on_ingest_groups_.empty()) return;
  // Distinct metric names of the batch; the views point into `series`.
  std::unordered_set<std::string_view> names;
  for (const SeriesSamples& s : series) {
    for (const LabelRef& l : s.labels) {
      if (l.name == kMetricNameLabel) {
        names.insert(l.value);
        break;
      }
    }
  }
  for (Group* g : on_ingest_groups_) {
    bool reads = g->reads_any;
    for (auto it = names.begin(); !reads && it != names.end(); ++it) {
      reads = g->reads_metrics.contains(*it);
    }
    if (!reads) continue;
    {
      std::lock_guard wl(g->wake_mu);
      g->triggered = true;
    }
    g->wake_cv.notify_one();
  }
}

void RuleManager::EvaluateAll(int64_t ts) {
  std::lock_guard lock(mu_);
  for (auto& g : groups_) EvaluateGroup(*g, ts);
  if (state_dirty_) {
    if (Status st = SaveStateLocked(); !st.ok()) {
      LOG_WARN << "rules: saving alert state: " << st.ToString();
    }
  }
}

void RuleManager::EvaluateGroup(Group& g, int64_t ts) {
  std::lock_guard glock(g.mu);
  const auto started = std::chrono::steady_clock::now();
  std::vector<Sample> writes;
  TemplateExpander expand = options_.expand_template;
  if (!expand) {
    expand = [](std::string_view, std::string_view text, const Labels&, double, int64_t) {
      return std::string(text);
    };
  }
  for (RuleSlot& r : g.rules) {
    const auto rule_started = std::chrono::steady_clock::now();
    g.evaluations->Increment();
    std::vector<Sample> produced;
    vitals::Status error;
    auto result = engine_.InstantQuery(store_, *r.desc->parsed, ts);
    if (!result.ok()) {
      error = result.status();
    } else {
      promql::Vector vec = AsVector(std::move(*result), ts);
      if (r.alerting) {
        AlertState before = r.alerting->State();
        size_t count_before = r.alerting->alerts().size();
        auto samples = r.alerting->Update(vec, ts, expand, g.desc->limit);
        if (samples.ok()) {
          produced = std::move(*samples);
        } else {
          error = samples.status();
        }
        if (r.alerting->State() != before || r.alerting->alerts().size() != count_before) {
          state_dirty_ = true;
        }
      } else {
        std::set<Labels> seen;
        for (Sample& s : vec) {
          s.labels = RecordingLabels(*r.desc, s.labels);
          s.timestamp_ms = ts;
          if (!seen.insert(s.labels).second) {
            error = vitals::Status::FailedPrecondition(
                "vector contains metrics with the same labelset after applying rule labels");
            break;
          }
        }
        if (error.ok() && g.desc->limit > 0 && vec.size() > g.desc->limit) {
          error = vitals::Status::FailedPrecondition(
              "exceeded limit of " + std::to_string(g.desc->limit) + " with " +
              std::to_string(vec.size()) + " series");
        }
        if (error.ok()) produced = std::move(vec);
      }
    }
    if (!error.ok()) {
      g.failures->Increment();
      r.health = "err";
      r.last_error = error.message();
      LOG_WARN << "rules: evaluating " << r.desc->name() << " in group " << g.key << ": "
               << error.message();
    } else {
      r.health = "ok";
      r.last_error.clear();
    }
    // Series written last time and not now end with a staleness marker.
    std::set<Labels> current;
    for (const Sample& s : produced) current.insert(s.labels);
    for (const Labels& gone : r.previous_series) {
      if (!current.contains(gone)) writes.push_back(Sample{gone, ts, StaleMarker()});
    }
    r.previous_series = std::move(current);
    for (Sample& s : produced) writes.push_back(std::move(s));
    if (r.flush_after) FlushWrites(g, &writes);
    r.last_evaluation_ms = ts;
    r.evaluation_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - rule_started).count();

    if (r.alerting) {
      std::vector<Alert> due = r.alerting->TakeDue(ts, options_.resend_delay, g.interval);
      if (!due.empty()) {
        state_dirty_ = true;
        for (Alert& a : due) {
          for (const Label& l : options_.external_labels) {
            if (GetLabel(a.labels, l.name).empty()) SetLabel(&a.labels, l.name, l.value);
          }
        }
        for (AlertSink* sink : sinks_) sink->Send(r.desc->expr, due);
      }
    }
  }
  FlushWrites(g, &writes);
  g.last_evaluation_ms = ts;
  g.evaluation_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  g.iterations->Increment();
  g.last_duration->Set(g.evaluation_seconds);
  g.last_evaluation->Set(static_cast<double>(ts) / 1000);
}

void RuleManager::FlushWrites(const Group& g, std::vector<Sample>* writes) {
  if (writes->empty()) return;
  auto appended = store_.Append(*writes, {});
  if (!appended.ok()) {
    LOG_WARN << "rules: writing results of group " << g.key << ": "
             << appended.status().ToString();
  }
  writes->clear();
}

std::vector<GroupStatus> RuleManager::Groups() const {
  std::lock_guard lock(mu_);
  std::vector<GroupStatus> out;
  for (const auto& g : groups_) {
    std::lock_guard glock(g->mu);
    GroupStatus gs;
    gs.name = g->desc->name;
    gs.file = g->desc->file;
    gs.interval = g->interval;
    gs.limit = g->desc->limit;
    gs.last_evaluation_ms = g->last_evaluation_ms;
    gs.evaluation_seconds = g->evaluation_seconds;
    for (const RuleSlot& r : g->rules) {
      RuleStatus rs;
      rs.desc = r.desc;
      rs.health = r.health;
      rs.last_error = r.last_error;
      rs.last_evaluation_ms = r.last_evaluation_ms;
      rs.evaluation_seconds = r.evaluation_seconds;
      if (r.alerting) {
        rs.state = r.alerting->State();
        for (const auto& [labels, a] : r.alerting->alerts()) {
          if (a.state != AlertState::kInactive) rs.alerts.push_back(a);
        }
      }
      gs.rules.push_back(std::move(rs));
    }
    out.push_back(std::move(gs));
  }
  return out;
}

std::vector<Alert> RuleManager::ActiveAlerts() const {
  std::vector<Alert> out;
  for (const GroupStatus& g : Groups()) {
    for (const RuleStatus& r : g.rules) out.insert(out.end(), r.alerts.begin(), r.alerts.end());
  }
  return out;
}

vitals::Status RuleManager::SaveStateLocked() {
  state_dirty_ = false;
  if (options_.state_file.empty()) return vitals::Status::Ok();
  nlohmann::json rules = nlohmann::json::object();
  for (const auto& g : groups_) {
    std::lock_guard glock(g->mu);
    for (const RuleSlot& r : g->rules) {
      if (!r.alerting || r.alerting->alerts().empty()) continue;
      nlohmann::json alerts = nlohmann::json::array();
      for (const auto& [labels, a] : r.alerting->alerts()) alerts.push_back(AlertJson(a));
      rules[r.key] = std::move(alerts);
    }
  }
  // Alert state of rules not loaded right now stays in the file.
  for (const auto& [key, alerts] : restored_) {
    if (rules.contains(key)) continue;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [labels, a] : alerts) list.push_back(AlertJson(a));
    rules[key] = std::move(list);
  }
  const std::string text = nlohmann::json{{"version", 1}, {"rules", rules}}.dump();
  const std::string tmp = options_.state_file + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return vitals::Status::IOError("cannot write " + tmp);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), options_.state_file.c_str()) != 0) {
    return vitals::Status::IOError("cannot write " + options_.state_file);
  }
  return vitals::Status::Ok();
}

vitals::Status RuleManager::LoadState() {
  if (options_.state_file.empty()) return vitals::Status::Ok();
  std::ifstream in(options_.state_file);
  if (!in) return vitals::Status::Ok();  // First start.
  std::stringstream buf;
  buf << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1 ||
      !j.contains("rules") || !j["rules"].is_object()) {
    return vitals::Status::Corruption("alert state file " + options_.state_file +
                                      " is not valid; move it away to start without state");
  }
  std::lock_guard lock(mu_);
  try {
    for (auto it = j["rules"].begin(); it != j["rules"].end(); ++it) {
      std::map<Labels, Alert>& alerts = restored_[it.key()];
      for (const auto& a : it.value()) {
        Alert alert;
        alert.labels = JsonLabels(a.at("labels"));
        alert.annotations = JsonLabels(a.at("annotations"));
        alert.state = ParseState(a.at("state").get<std::string>());
        alert.active_at_ms = a.at("active_at_ms").get<int64_t>();
        alert.fired_at_ms = a.at("fired_at_ms").get<int64_t>();
        alert.resolved_at_ms = a.at("resolved_at_ms").get<int64_t>();
        alert.last_sent_ms = a.at("last_sent_ms").get<int64_t>();
        alert.valid_until_ms = a.at("valid_until_ms").get<int64_t>();
        alerts[alert.labels] = std::move(alert);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return vitals::Status::Corruption("alert state file " + options_.state_file + ": " +
                                      e.what());
  }
  return vitals::Status::Ok();
}

}  // namespace vitals::rules
