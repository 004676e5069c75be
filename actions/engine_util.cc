#include <chrono>
#include <cstdio>
#include <ctime>

#include "actions/engine_internal.h"
#include "common/units.h"

namespace vitals::actions::internal {

uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string Summary(const rules::Alert& alert) {
  for (const char* name : {"summary", "description"}) {
    std::string_view text = GetLabel(alert.annotations, name);
    if (!text.empty()) return std::string(text);
  }
  return std::string(GetLabel(alert.labels, "alertname"));
}

std::string KeyName(const ModeKey& key) {
  return key.module.empty() ? key.service : key.service + "/" + key.module;
}

std::string FormatMs(int64_t ms) { return FormatDuration(std::chrono::milliseconds(ms)); }

std::string FormatTime(int64_t unix_ms) { return FormatRfc3339Millis(unix_ms); }

nlohmann::json LabelsToJson(const Labels& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

nlohmann::json AlertToJson(const rules::Alert& alert) {
  return {{"labels", LabelsToJson(alert.labels)},
          {"annotations", LabelsToJson(alert.annotations)},
          {"state", alert.resolved_at_ms ? "resolved" : rules::AlertStateName(alert.state)},
          {"value", alert.value},
          {"starts_at", alert.fired_at_ms ? FormatTime(alert.fired_at_ms) : ""},
          {"ends_at", alert.resolved_at_ms ? FormatTime(alert.resolved_at_ms) : ""}};
}

nlohmann::json ModeStateToJson(const ModeState& s) {
  return {{"service", s.key.service},
          {"module", s.key.module},
          {"mode", ModeName(s.mode)},
          {"source", ModeSourceName(s.source)},
          {"reason", s.reason},
          {"since", FormatTime(s.since_ms)},
          {"since_ms", s.since_ms},
          {"eta", s.eta_ms ? nlohmann::json(FormatTime(s.eta_ms)) : nlohmann::json(nullptr)},
          {"eta_ms", s.eta_ms},
          {"incident_id", s.incident_id}};
}

namespace {

void CollectSelectors(const promql::Expr& expr, std::vector<std::string>* out) {
  using promql::NodeKind;
  switch (expr.kind()) {
    case NodeKind::kVectorSelector: {
      const auto& vs = expr.As<promql::VectorSelector>();
      std::string text = "{";
      for (size_t i = 0; i < vs.matchers.size(); ++i) {
        if (i) text += ",";
        text += vs.matchers[i].ToString();
      }
      out->push_back(text + "}");
      return;
    }
    case NodeKind::kMatrixSelector:
      CollectSelectors(*expr.As<promql::MatrixSelector>().vector_selector, out);
      return;
    case NodeKind::kSubquery:
      CollectSelectors(*expr.As<promql::SubqueryExpr>().expr, out);
      return;
    case NodeKind::kParen:
      CollectSelectors(*expr.As<promql::ParenExpr>().expr, out);
      return;
    case NodeKind::kUnary:
      CollectSelectors(*expr.As<promql::UnaryExpr>().expr, out);
      return;
    case NodeKind::kBinary:
      CollectSelectors(*expr.As<promql::BinaryExpr>().lhs, out);
      CollectSelectors(*expr.As<promql::BinaryExpr>().rhs, out);
      return;
    case NodeKind::kAggregate:
      CollectSelectors(*expr.As<promql::AggregateExpr>().expr, out);
      return;
    case NodeKind::kCall:
      for (const auto& arg : expr.As<promql::Call>().args) CollectSelectors(*arg, out);
      return;
    default:
      return;
  }
}

}  // namespace

std::vector<std::string> SelectorsOf(const promql::Expr& expr) {
  std::vector<std::string> out;
  CollectSelectors(expr, &out);
  return out;
}

bool Compatible(const Labels& series, const Labels& alert_labels) {
  for (const Label& l : series) {
    if (l.name == "__name__" || l.name == "alertname") continue;
    for (const Label& a : alert_labels) {
      if (a.name == l.name && a.value != l.value) return false;
    }
  }
  return true;
}

}  // namespace vitals::actions::internal
