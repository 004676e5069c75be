#include "actions/breaker.h"

#include <algorithm>
#include <cmath>

namespace vitals::actions {

bool Breaker::Fire(const std::string& alert, int64_t at_ms) {
  firing.insert(alert);
  resolved_ms = 0;
  no_data = false;
  switch (state) {
    case State::kOpen:
      return false;
    case State::kProbation:
      ++trips;
      break;
    case State::kClosed:
      trips = 0;
      break;
  }
  state = State::kOpen;
  opened_ms = at_ms;
  probation_until_ms = 0;
  return true;
}

void Breaker::Resolve(const std::string& alert, int64_t at_ms, bool vanished) {
  if (firing.erase(alert) == 0) return;
  if (firing.empty()) {
    resolved_ms = at_ms;
    no_data = vanished;
  }
}

void Breaker::DataBack(int64_t at_ms) {
  if (state != State::kOpen || !firing.empty() || !no_data) return;
  no_data = false;
  resolved_ms = at_ms;
}

std::chrono::milliseconds Breaker::RecoverWait(const ModeAction& action, int trips) {
  double wait = static_cast<double>(action.recover_after.count()) *
                std::pow(action.backoff_factor, std::min(trips, 60));
  double cap = static_cast<double>(action.max_recover_after.count());
  return std::chrono::milliseconds(static_cast<int64_t>(std::min(wait, cap)));
}

bool Breaker::Advance(int64_t now_ms, const ModeAction& action, NoDataPolicy policy) {
  if (state == State::kOpen && firing.empty() && resolved_ms > 0 && !HeldForNoData(policy)) {
    if (now_ms - resolved_ms >= RecoverWait(action, trips).count()) {
      state = State::kProbation;
      probation_until_ms = now_ms + action.probation.count();
      return true;
    }
  }
  if (state == State::kProbation && now_ms >= probation_until_ms) {
    state = State::kClosed;
    trips = 0;
    return true;
  }
  return false;
}

int64_t Breaker::EtaMillis(const ModeAction& action, NoDataPolicy policy) const {
  if (state != State::kOpen || !firing.empty() || resolved_ms == 0 || HeldForNoData(policy)) {
    return 0;
  }
  return resolved_ms + RecoverWait(action, trips).count();
}

std::string_view BreakerStateName(Breaker::State state) {
  switch (state) {
    case Breaker::State::kClosed:
      return "closed";
    case Breaker::State::kOpen:
      return "open";
    case Breaker::State::kProbation:
      return "probation";
  }
  return "closed";
}

nlohmann::json BreakerToJson(const Breaker& b) {
  return {{"state", BreakerStateName(b.state)}, {"firing", b.firing},
          {"opened_ms", b.opened_ms},           {"resolved_ms", b.resolved_ms},
          {"no_data", b.no_data},               {"probation_until_ms", b.probation_until_ms},
          {"trips", b.trips},                   {"reason", b.reason},
          {"incident_id", b.incident_id}};
}

Breaker BreakerFromJson(const nlohmann::json& j) {
  Breaker b;
  std::string state = j.value("state", "closed");
  b.state = state == "open"        ? Breaker::State::kOpen
            : state == "probation" ? Breaker::State::kProbation
                                   : Breaker::State::kClosed;
  b.firing = j.value("firing", std::set<std::string>{});
  b.opened_ms = j.value("opened_ms", int64_t{0});
  b.resolved_ms = j.value("resolved_ms", int64_t{0});
  b.no_data = j.value("no_data", false);
  b.probation_until_ms = j.value("probation_until_ms", int64_t{0});
  b.trips = j.value("trips", 0);
  b.reason = j.value("reason", "");
  b.incident_id = j.value("incident_id", "");
  return b;
}

}  // namespace vitals::actions
