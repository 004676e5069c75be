#include "common/wire.h"

#include <map>
#include <unordered_map>

#include "common/version.h"

namespace vitals::wirecodec {

wire::Envelope NewEnvelope() {
  wire::Envelope env;
  env.set_protocol_major(kProtocolMajor);
  env.set_protocol_minor(kProtocolMinor);
  return env;
}

wire::MetricType ToWire(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return wire::METRIC_TYPE_COUNTER;
    case MetricType::kGauge: return wire::METRIC_TYPE_GAUGE;
    case MetricType::kUntyped: return wire::METRIC_TYPE_UNTYPED;
  }
  return wire::METRIC_TYPE_UNTYPED;
}

MetricType FromWire(wire::MetricType type) {
  switch (type) {
    case wire::METRIC_TYPE_COUNTER: return MetricType::kCounter;
    case wire::METRIC_TYPE_GAUGE: return MetricType::kGauge;
    default: return MetricType::kUntyped;
  }
}

namespace {

// Assigns each distinct string one index in batch->strings.
class StringTable {
 public:
  explicit StringTable(wire::Batch* batch) : batch_(batch) {
    for (int i = 0; i < batch->strings_size(); ++i) index_.emplace(batch->strings(i), i);
  }
  uint32_t Intern(std::string_view s) {
    if (auto it = index_.find(s); it != index_.end()) return it->second;
    const auto index = static_cast<uint32_t>(batch_->strings_size());
    batch_->add_strings(std::string(s));
    index_.emplace(batch_->strings(static_cast<int>(index)), index);
    return index;
  }

 private:
  wire::Batch* batch_;
  // Views into batch_->strings, which the batch keeps alive and in place
  // (RepeatedPtrField never moves its elements).
  std::unordered_map<std::string_view, uint32_t> index_;
};

}  // namespace

void EncodeSamples(const SampleSet& set, wire::Batch* batch) {
  StringTable strings(batch);
  // Series by their label references: equal label sets intern to equal refs.
  std::map<std::vector<uint32_t>, wire::Series*> series_by_refs;
  std::vector<uint32_t> refs;
  for (const Sample& s : set.samples()) {
    refs.clear();
    for (const Label& l : s.labels) {
      refs.push_back(strings.Intern(l.name));
      refs.push_back(strings.Intern(l.value));
    }
    wire::Series*& series = series_by_refs[refs];
    if (series == nullptr) {
      series = batch->add_series();
      series->mutable_label_refs()->Add(refs.begin(), refs.end());
    }
    series->add_timestamps_ms(s.timestamp_ms);
    series->add_values(s.value);
  }
  for (const auto& [name, desc] : set.metadata()) {
    wire::MetricMetadata* m = batch->add_metadata();
    m->set_name(desc.name);
    m->set_type(ToWire(desc.type));
    m->set_help(desc.help);
  }
}

Result<DecodedBatch> DecodeBatch(const wire::Batch& batch, const Labels& agent_labels) {
  DecodedBatch out;
  const int num_strings = batch.strings_size();
  for (int i = 0; i < batch.series_size(); ++i) {
    const wire::Series& series = batch.series(i);
    const std::string where = "series " + std::to_string(i);
    if (series.label_refs_size() % 2 != 0) {
      return Status::InvalidArgument(where + ": odd number of label references");
    }
    if (series.timestamps_ms_size() != series.values_size()) {
      return Status::InvalidArgument(where + ": " + std::to_string(series.timestamps_ms_size()) +
                                     " timestamps but " + std::to_string(series.values_size()) +
                                     " values");
    }
    Labels labels;
    labels.reserve(series.label_refs_size() / 2 + agent_labels.size());
    for (int k = 0; k < series.label_refs_size(); k += 2) {
      uint32_t name_ref = series.label_refs(k);
      uint32_t value_ref = series.label_refs(k + 1);
      if (name_ref >= static_cast<uint32_t>(num_strings) ||
          value_ref >= static_cast<uint32_t>(num_strings)) {
        return Status::InvalidArgument(where + ": label reference out of range");
      }
      labels.push_back(Label{batch.strings(name_ref), batch.strings(value_ref)});
    }
    Status valid = ValidateSeriesLabels(labels);
    if (!valid.ok()) return valid.WithContext(where);
    for (const Label& l : agent_labels) SetLabel(&labels, l.name, l.value);
    Canonicalize(&labels);
    for (int k = 0; k < series.timestamps_ms_size(); ++k) {
      out.samples.push_back(Sample{labels, series.timestamps_ms(k), series.values(k)});
    }
  }
  for (const wire::MetricMetadata& m : batch.metadata()) {
    if (!IsValidMetricName(m.name())) {
      return Status::InvalidArgument("metadata: invalid metric name \"" + m.name() + "\"");
    }
    out.metadata.push_back(MetricDesc{m.name(), FromWire(m.type()), m.help()});
  }
  return out;
}

}  // namespace vitals::wirecodec
