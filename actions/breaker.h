#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "actions/actions_config.h"

namespace vitals::actions {

// The life of one automatic mode (one route's mode action for one service
// or module), as a circuit breaker:
//
//   closed --alert fires--> open (mode on) --all alerts resolved for
//   recover_after x backoff^trips--> probation (mode off) --probation
//   passes--> closed
//                 ^                               |
//                 +------ an alert fires again ---+  (trips + 1)
//
// While open, a resolution that came from vanished data (`no_data`) counts
// as recovery only under on_no_data: lift. Times are Unix ms taken from the
// alerts where they carry one, so two collectors seeing the same alerts
// agree. A plain value type; the owner serialises access.
struct Breaker {
  enum class State { kClosed, kOpen, kProbation };

  State state = State::kClosed;
  std::set<std::string> firing;    // Alerts (by label set) firing behind the mode.
  int64_t opened_ms = 0;           // When the mode last went on.
  int64_t resolved_ms = 0;         // When the last alert resolved; 0 while one fires.
  bool no_data = false;            // That resolution was vanished data.
  int64_t probation_until_ms = 0;  // kProbation: when it closes.
  int trips = 0;                   // Re-trips during probation since last closed.
  std::string reason;              // From the alert that opened it.
  std::string incident_id;

  // True when the mode is on.
  bool active() const { return state == State::kOpen; }

  // An alert behind this mode started firing at `at_ms`. Returns true if the
  // mode went on (from closed or probation).
  bool Fire(const std::string& alert, int64_t at_ms);
  // An alert behind this mode resolved at `at_ms`; `no_data` when the data
  // it read is gone.
  void Resolve(const std::string& alert, int64_t at_ms, bool no_data);
  // Data for a no-data hold is back and healthy at `at_ms`: the hold turns
  // into a normal recovery from then.
  void DataBack(int64_t at_ms);
  // Moves along the timers. Returns true if the mode went off or the
  // breaker closed.
  bool Advance(int64_t now_ms, const ModeAction& action, NoDataPolicy policy);
  // How long all alerts must stay resolved before the mode lifts, after
  // `trips` re-trips.
  static std::chrono::milliseconds RecoverWait(const ModeAction& action, int trips);
  // When the mode is expected to lift (0 if unknown, e.g. alerts still fire).
  int64_t EtaMillis(const ModeAction& action, NoDataPolicy policy) const;
  // Waiting for data under a hold/escalate policy.
  bool HeldForNoData(NoDataPolicy policy) const {
    return state == State::kOpen && firing.empty() && no_data && policy != NoDataPolicy::kLift;
  }
};

std::string_view BreakerStateName(Breaker::State state);
nlohmann::json BreakerToJson(const Breaker& b);
Breaker BreakerFromJson(const nlohmann::json& j);

}  // namespace vitals::actions
