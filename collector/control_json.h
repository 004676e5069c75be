#pragma once

// The control API's JSON for the actions engine's values (modes, overrides,
// maintenance windows, incidents, versions, audit verification). Times are
// given twice: RFC 3339 in UTC (null for 0, "never"/"unknown") and as
// milliseconds since the epoch under the same name with `_ms`. docs/api.md
// documents every field.

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "actions/engine.h"

namespace vitals::collector {

// Objects keep the order members are added in, so answers read
// service, module, mode, ... rather than alphabetically.
using Json = nlohmann::ordered_json;

// RFC 3339 in UTC, or null for 0.
Json JsonTime(int64_t ms);

Json ModeStateJson(const actions::ModeState& m);
Json UpcomingJson(const actions::UpcomingMaintenance& u);
Json OverrideJson(const actions::Override& o);
// null when there is no occurrence.
Json OccurrenceJson(const std::optional<actions::Occurrence>& o);
// The stored form of a window, its times spelled out, and its active and
// next occurrence as of `now_ms`.
Json WindowJson(const actions::MaintenanceWindow& w, int64_t now_ms);
// With the whole timeline, or only its length.
Json IncidentJson(const actions::Incident& inc, bool with_timeline);
Json VersionsJson(const actions::ServiceVersions& v);
Json VerificationJson(const actions::AuditVerification& v);

}  // namespace vitals::collector
