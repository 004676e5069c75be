// Binds the template language to alerting rules.

#include "rules/alerting_rule.h"
#include "rules/template.h"

namespace vitals::rules {

TemplateExpander MakeTemplateExpander(Labels external_labels, std::string external_url,
                                      RuleQueryFunc query) {
  return [external_labels = std::move(external_labels), external_url = std::move(external_url),
          query = std::move(query)](std::string_view rule_name, std::string_view text,
                                    const Labels& labels, double value, int64_t ts_ms) {
    // Most label and annotation values are plain text: skip the parser.
    if (text.find("{{") == std::string_view::npos) return std::string(text);
    TemplateData data;
    data.labels = labels;
    data.value = value;
    data.external_labels = external_labels;
    data.external_url = external_url;
    data.time_ms = ts_ms;
    if (query) {
      data.query = [&query, ts_ms](std::string_view q) { return query(q, ts_ms); };
    }
    return ExpandAlertTemplate(rule_name, text, data);
  };
}

}  // namespace vitals::rules
