#include "rules/promql/engine.h"

namespace vitals::promql {

std::string_view ErrorTypeOf(const Status& status) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument: return "bad_data";
    case Status::Code::kDeadlineExceeded: return "timeout";
    case Status::Code::kCancelled: return "canceled";
    case Status::Code::kIOError:
    case Status::Code::kCorruption:
    case Status::Code::kInternal: return "internal";
    default: return "execution";
  }
}

Engine::Engine(EngineOptions options, const Clock& clock) : options_(options), clock_(clock) {}

Result<QueryResult> Engine::InstantQuery(const storage::Store&, const Expr&, int64_t,
                                         const QueryOptions&) const {
  return Status::Internal("engine under construction");
}

Result<QueryResult> Engine::RangeQuery(const storage::Store&, const Expr&, int64_t, int64_t,
                                       std::chrono::milliseconds, const QueryOptions&) const {
  return Status::Internal("engine under construction");
}

}  // namespace vitals::promql
