#include "actions/actions_metrics.h"

namespace vitals::actions {

ActionsMetrics::ActionsMetrics(prometheus::Registry& registry)
    : service_mode(prometheus::BuildGauge()
                       .Name("vitals_service_mode")
                       .Help("1 for the mode a service (module=\"\") or module is in, 0 for the others.")
                       .Register(registry)),
      mode_changes(prometheus::BuildCounter()
                       .Name("vitals_mode_changes_total")
                       .Help("Changes of the effective mode of a service or module.")
                       .Register(registry)),
      actions(prometheus::BuildCounter()
                  .Name("vitals_actions_total")
                  .Help("Actions taken on firing alerts, by action (mode, webhook, rollback) and result.")
                  .Register(registry)),
      rollbacks(prometheus::BuildCounter()
                    .Name("vitals_rollbacks_total")
                    .Help("Rollbacks by service and result (succeeded, failed, dry_run, refused).")
                    .Register(registry)),
      alerts_received(prometheus::BuildCounter()
                          .Name("vitals_actions_alert_transitions_total")
                          .Help("Alert transitions (firing, resolved) the actions layer received.")
                          .Register(registry)
                          .Add({})),
      alerts_suppressed(prometheus::BuildCounter()
                            .Name("vitals_actions_alerts_suppressed_total")
                            .Help("Alert transitions of services in a maintenance window: recorded, "
                                  "neither notified nor acted on.")
                            .Register(registry)
                            .Add({})),
      incidents_open(prometheus::BuildGauge()
                         .Name("vitals_incidents_open")
                         .Help("Incidents not yet closed.")
                         .Register(registry)
                         .Add({})),
      modes_generation(prometheus::BuildGauge()
                           .Name("vitals_modes_generation")
                           .Help("Grows by one with every change of any effective mode.")
                           .Register(registry)
                           .Add({})),
      audit_last_sequence(prometheus::BuildGauge()
                              .Name("vitals_audit_last_sequence")
                              .Help("Sequence number of the newest audit log entry; record it "
                                    "elsewhere to detect removal of the newest entries.")
                              .Register(registry)
                              .Add({})) {}

}  // namespace vitals::actions
