#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace vitals::actions {

// The actions layer's own metrics (docs/metrics.md), declared once.
struct ActionsMetrics {
  explicit ActionsMetrics(prometheus::Registry& registry);

  // 1 for the mode each known service/module is in, 0 for the other modes.
  prometheus::Family<prometheus::Gauge>& service_mode;
  prometheus::Family<prometheus::Counter>& mode_changes;   // {service,module}
  prometheus::Family<prometheus::Counter>& actions;        // {action,result}
  prometheus::Family<prometheus::Counter>& rollbacks;      // {service,result}
  prometheus::Counter& alerts_received;
  prometheus::Counter& alerts_suppressed;
  prometheus::Gauge& incidents_open;
  prometheus::Gauge& modes_generation;
  prometheus::Gauge& audit_last_sequence;
};

}  // namespace vitals::actions
