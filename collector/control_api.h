#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "actions/engine.h"
#include "collector/bearer_tokens.h"
#include "collector/query_api.h"
#include "common/clock.h"
#include "common/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace vitals::collector {

struct ControlApiOptions {
  // File of bearer tokens (ParseTokenFile) that may change things. "" turns
  // every mutating endpoint off: they answer 403.
  std::string token_file;
  // Serve the GET endpoints without a token. When false, reads need a token
  // too (and are refused with 403 when no token_file is set).
  bool open_reads = true;
  // The longest a ?watch=1 request of GET /api/v1/modes waits; a longer
  // `timeout` parameter is cut to this.
  std::chrono::milliseconds max_watch{std::chrono::minutes(5)};
  // Page size of GET /api/v1/audit when `limit` is absent, and its cap.
  size_t audit_default_limit = 100;
  size_t audit_max_limit = 1000;
};

// The control API of the actions layer (docs/control-api.md): modes and
// manual overrides, maintenance windows, rollbacks, incidents and the audit
// log, as JSON in Prometheus's envelope ({"status":"success","data":...} or
// {"status":"error","errorType":...,"error":...}).
//
// Every POST and DELETE needs "Authorization: Bearer <token>" with a token
// of options.token_file; its name becomes the actor ("user:<name>") of the
// audit entries the change writes. A missing or wrong token is answered 401
// with "WWW-Authenticate: Bearer", counted and audited; a mutating request
// while no token file is configured, 403. Engine errors map to HTTP as:
// InvalidArgument 400 bad_data, NotFound 404 not_found, FailedPrecondition
// 409 conflict, anything else 500 internal.
//
// Metrics: vitals_control_requests_total{endpoint,code} and
// vitals_control_unauthorized_total.
//
// Thread-safe: requests are served concurrently on the server's threads. The
// engine, registry and clock must outlive the API, and the API the server.
class ControlApi {
 public:
  ControlApi(actions::ActionsEngine& engine, ControlApiOptions options,
             prometheus::Registry& registry, const Clock& clock);
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;

  // Adds the /api/v1/{modes,maintenance,rollback,incidents,audit} routes.
  // REQUIRES: called once, before `server` starts listening.
  void Register(httplib::Server& server);

  // Makes running and future ?watch=1 requests answer at once, so stopping
  // the server does not wait for them. For shutdown; cannot be undone.
  void CancelWatches() { cancelled_ = true; }

 private:
  struct Call;      // One request: its parameters, path arguments and actor.
  struct Endpoint;  // A route: method, pattern, metric label, handler.
  using Handler = ApiResponse (ControlApi::*)(const Call&);

  // Authenticates, parses and answers one request to `endpoint`; counts it.
  void Serve(const Endpoint& endpoint, const httplib::Request& req, httplib::Response& res);

  ApiResponse GetModes(const Call& call);
  ApiResponse SetMode(const Call& call);
  ApiResponse ClearMode(const Call& call);
  ApiResponse ListMaintenance(const Call& call);
  ApiResponse ScheduleMaintenance(const Call& call);
  ApiResponse ExtendMaintenance(const Call& call);
  ApiResponse CancelMaintenance(const Call& call);
  ApiResponse Rollback(const Call& call);
  ApiResponse RollbackStatus(const Call& call);
  ApiResponse ListIncidents(const Call& call);
  ApiResponse GetIncident(const Call& call);
  ApiResponse AddIncidentNote(const Call& call);
  ApiResponse ListAudit(const Call& call);
  ApiResponse VerifyAudit(const Call& call);

  actions::ActionsEngine& engine_;
  const ControlApiOptions options_;
  const Clock& clock_;
  std::unique_ptr<TokenFile> tokens_;  // Null when no token_file is set.
  std::atomic<bool> cancelled_{false};

  prometheus::Family<prometheus::Counter>& requests_;  // {endpoint,code}
  prometheus::Counter& unauthorized_;
};

}  // namespace vitals::collector
