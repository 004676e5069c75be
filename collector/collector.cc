#include "collector/collector.h"

#include "actions/actions_config.h"

#include "common/log.h"
#include "common/units.h"
#include "common/version.h"
#include "rules/promql/parser.h"

namespace vitals::collector {

Result<std::unique_ptr<Collector>> Collector::Start(const CollectorConfig& config,
                                                    const Clock& clock) {
  std::unique_ptr<Collector> c(new Collector());
  c->registry_ = std::make_shared<prometheus::Registry>();
  c->metrics_ = std::make_unique<CollectorMetrics>(*c->registry_);

  storage::Options store_options;
  store_options.path = config.storage.path;
  const CollectorConfig::Storage& st = config.storage;
  store_options.retention = st.retention;
  store_options.out_of_order_window = st.out_of_order_window;
  store_options.partition_duration = st.partition_duration;
  store_options.limits.max_series_per_tenant = st.max_series_per_agent;
  store_options.limits.tenant_label = "agent";
  store_options.limits.max_series_per_metric = st.max_series_per_metric;
  store_options.limits.max_label_count = static_cast<uint32_t>(st.max_label_count);
  store_options.limits.max_label_name_length = static_cast<uint32_t>(st.max_label_name_length);
  store_options.limits.max_label_value_length = static_cast<uint32_t>(st.max_label_value_length);
  auto store = storage::Store::Open(store_options);
  if (!store.ok()) return store.status().WithContext("storage");
  c->store_ = std::move(store).value();

  promql::EngineOptions engine_options;
  engine_options.lookback_delta = config.query.lookback_delta;
  engine_options.max_samples = static_cast<uint64_t>(config.query.max_samples);
  engine_options.timeout = config.query.timeout;
  c->engine_ = std::make_unique<promql::Engine>(engine_options, clock);
  c->config_ = config;

  rules::ManagerOptions rule_options;
  rule_options.evaluation_interval = config.rules.evaluation_interval;
  rule_options.resend_delay = config.rules.resend_delay;
  for (const auto& [name, value] : config.rules.external_labels) {
    rule_options.external_labels.push_back(Label{name, value});
  }
  rule_options.external_url = config.rules.external_url;
  rule_options.state_file = config.rules.state_file;
  rule_options.expand_template = rules::MakeTemplateExpander(
      rule_options.external_labels, rule_options.external_url,
      [store = c->store_.get(), engine = c->engine_.get()](
          std::string_view query, int64_t ts) -> Result<promql::Vector> {
        ASSIGN_OR_RETURN(auto expr, promql::ParseExpr(query));
        ASSIGN_OR_RETURN(auto result, engine->InstantQuery(*store, *expr, ts));
        if (auto* v = std::get_if<promql::Vector>(&result.value)) return std::move(*v);
        if (auto* s = std::get_if<promql::Scalar>(&result.value)) {
          return promql::Vector{Sample{{}, ts, s->v}};
        }
        return Status::InvalidArgument("query must return a vector or a scalar");
      });
  rules::AlertmanagerNotifierOptions am;
  for (const auto& a : config.alerting.alertmanagers) {
    rules::AlertmanagerEndpoint e;
    e.url = a.url;
    e.timeout = a.timeout;
    e.bearer_token_file = a.bearer_token_file;
    e.basic_auth_username = a.basic_auth_username;
    e.basic_auth_password_file = a.basic_auth_password_file;
    am.alertmanagers.push_back(std::move(e));
  }
  am.external_labels = rule_options.external_labels;
  am.external_url = rule_options.external_url;
  am.queue_capacity = static_cast<size_t>(config.alerting.queue_capacity);
  am.max_batch_size = static_cast<size_t>(config.alerting.max_batch_size);
  am.max_retries = static_cast<int>(config.alerting.max_retries);
  if (!am.alertmanagers.empty()) {
    auto notifier = rules::AlertmanagerNotifier::Create(am, *c->registry_);
    if (!notifier.ok()) return notifier.status().WithContext("alerting");
    c->notifier_ = std::move(notifier).value();
  }
  // Alerts go through the actions layer, which forwards those outside
  // maintenance windows to Alertmanager.
  actions::ActionsOptions actions_options;
  if (!config.actions.file.empty()) {
    auto loaded = actions::LoadActionsConfig(ResolvePath(config, config.actions.file));
    if (!loaded.ok()) return loaded.status().WithContext("actions");
    actions_options.config = std::move(loaded).value();
  }
  // A config built in code (not read from a file) may leave it empty.
  actions_options.db_dir =
      config.actions.db_dir.empty() ? config.storage.path + "/actions" : config.actions.db_dir;
  actions_options.notifier = c->notifier_.get();
  actions_options.on_modes_changed = [c = c.get()] {
    if (IngestServer* ingest = c->ingest_for_modes_.load()) ingest->NotifyModesChanged();
  };
  auto actions = actions::ActionsEngine::Open(std::move(actions_options), *c->store_, *c->engine_,
                                              clock, *c->registry_);
  if (!actions.ok()) return actions.status().WithContext("actions");
  c->actions_ = std::move(actions).value();
  std::vector<rules::AlertSink*> sinks = {c->actions_.get()};
  auto manager = rules::RuleManager::Create(rule_options, *c->store_, *c->engine_, clock,
                                            *c->registry_, sinks);
  if (!manager.ok()) return manager.status().WithContext("rules");
  c->rules_ = std::move(manager).value();
  ASSIGN_OR_RETURN(auto rule_files, ExpandRuleFiles(config));
  if (Status st = c->rules_->Load(rule_files); !st.ok()) return st.WithContext("rules");
  c->rules_api_ = std::make_unique<RulesApi>(*c->rules_, [c = c.get()] { return c->ReloadRules(); });

  WebOptions web_options;
  web_options.admin_api = config.web.enable_admin_api;
  web_options.snapshot_dir = config.storage.path + "/snapshots";
  web_options.federate_lookback = config.query.lookback_delta;
  web_options.api.storage_retention = FormatDuration(config.storage.retention);
  web_options.api.flags = {
      {"query.lookback-delta", FormatDuration(config.query.lookback_delta)},
      {"query.max-samples", std::to_string(config.query.max_samples)},
      {"query.timeout", FormatDuration(config.query.timeout)},
      {"storage.tsdb.path", config.storage.path},
      {"storage.tsdb.retention.time", FormatDuration(config.storage.retention)},
      {"web.enable-admin-api", config.web.enable_admin_api ? "true" : "false"},
      {"web.listen-address", config.web.listen},
  };
  web_options.rules = c->rules_api_.get();
  ControlApiOptions control_options;
  control_options.token_file = ResolvePath(config, config.control.token_file);
  control_options.open_reads = config.control.open_reads;
  c->control_api_ = std::make_unique<ControlApi>(*c->actions_, control_options, *c->registry_, clock);
  web_options.control = c->control_api_.get();
  RemoteWriteOptions remote_write_options;
  remote_write_options.on_stored = [rules = c->rules_.get()](std::span<const SeriesSamples> series) {
    rules->OnIngest(series);
  };
  c->remote_write_ =
      std::make_unique<RemoteWriteReceiver>(remote_write_options, *c->store_, *c->metrics_, clock);
  web_options.remote_write = c->remote_write_.get();
  RETURN_IF_ERROR(ParseHostPort(config.web.listen, &web_options.host, &web_options.port));
  auto web = WebServer::Start(web_options, *c->store_, *c->engine_, *c->registry_, clock,
                              [ready = &c->ready_] { return ready->load(); });
  if (!web.ok()) return web.status().WithContext("web");
  c->web_ = std::move(web).value();

  IngestOptions ingest_options;
  ingest_options.listen = config.ingest.listen;
  ingest_options.max_message_size = config.ingest.max_message_size;
  ingest_options.curve_public_key = config.ingest.curve.public_key;
  ingest_options.curve_secret_key = config.ingest.curve.secret_key;
  ingest_options.allowed_agents_dir = config.ingest.curve.allowed_agents_dir;
  ingest_options.on_stored = [rules = c->rules_.get()](std::span<const SeriesSamples> series) {
    rules->OnIngest(series);
  };
  ingest_options.modes_for = [actions = c->actions_.get()](const std::vector<std::string>& services) {
    return ModesForAgent(actions->Modes(), services);
  };
  auto ingest = IngestServer::Start(ingest_options, *c->store_, *c->metrics_, clock);
  if (!ingest.ok()) return ingest.status().WithContext("ingest");
  c->ingest_ = std::move(ingest).value();
  c->ingest_for_modes_ = c->ingest_.get();

  c->rules_->Start();
  c->ready_ = true;
  LOG_INFO << "collector " << kVersion << " (" << kRevision << ") ready; storage at "
           << config.storage.path;
  return c;
}

Collector::~Collector() { Stop(); }

wire::Modes ModesForAgent(const actions::ModesSnapshot& snapshot,
                          const std::vector<std::string>& services) {
  wire::Modes out;
  out.set_generation(snapshot.generation);
  for (const std::string& s : services) out.add_services(s);
  for (const actions::ModeState& m : snapshot.modes) {
    if (std::find(services.begin(), services.end(), m.key.service) == services.end()) continue;
    wire::ServiceMode* w = out.add_modes();
    w->set_service(m.key.service);
    w->set_module(m.key.module);
    w->set_mode(std::string(actions::ModeName(m.mode)));
    w->set_source(std::string(actions::ModeSourceName(m.source)));
    w->set_reason(m.reason);
    w->set_since_ms(m.since_ms);
    w->set_eta_ms(m.eta_ms);
    w->set_incident_id(m.incident_id);
  }
  return out;
}

Status Collector::ReloadRules() {
  CollectorConfig config = config_;
  if (!config_.config_file.empty()) {
    auto reread = LoadCollectorConfig(config_.config_file);
    if (!reread.ok()) {
      LOG_ERROR << "reload: " << reread.status().message();
      return reread.status();
    }
    config = std::move(reread).value();
  }
  // Both files are read and checked before either is applied.
  actions::ActionsConfig actions_config;
  if (!config.actions.file.empty()) {
    auto loaded = actions::LoadActionsConfig(ResolvePath(config, config.actions.file));
    if (!loaded.ok()) {
      LOG_ERROR << "reload: keeping the running rules and actions: " << loaded.status().message();
      return loaded.status();
    }
    actions_config = std::move(loaded).value();
  }
  auto files = ExpandRuleFiles(config);
  Status st = files.ok() ? rules_->Load(*files) : files.status();
  if (!st.ok()) {
    LOG_ERROR << "reload: keeping the running rules: " << st.message();
    return st;
  }
  if (Status a = actions_->Reload(std::move(actions_config)); !a.ok()) {
    LOG_ERROR << "reload: keeping the running actions: " << a.message();
    return a;
  }
  LOG_INFO << "reload: " << files->size() << " rule files loaded";
  return Status::Ok();
}

void Collector::Stop() {
  ready_ = false;
  ingest_for_modes_ = nullptr;
  if (ingest_) ingest_->Stop();
  if (web_) web_->Stop();
  if (rules_) rules_->Stop();
  if (actions_) actions_->Stop();
  // Resolved alerts of the last evaluation still get out, briefly.
  if (notifier_) notifier_->Stop(std::chrono::seconds(5));
  ingest_.reset();
  web_.reset();
  remote_write_.reset();
  rules_api_.reset();
  control_api_.reset();
  rules_.reset();
  actions_.reset();
  notifier_.reset();
  engine_.reset();
  store_.reset();
}

}  // namespace vitals::collector
