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
  uint32_t Intern(const std::string& s) {
    auto [it, inserted] = index_.emplace(s, static_cast<uint32_t>(batch_->strings_size()));
    if (inserted) batch_->add_strings(s);
    return it->second;
  }

 private:
  wire::Batch* batch_;
  std::unordered_map<std::string, uint32_t> index_;
};

}  // namespace

void EncodeSamples(const SampleSet& set, wire::Batch* batch) {
  StringTable strings(batch);
  std::map<Labels, wire::Series*> series_by_labels;
  for (const Sample& s : set.samples()) {
    wire::Series*& series = series_by_labels[s.labels];
    if (series == nullptr) {
      series = batch->add_series();
      for (const Label& l : s.labels) {
        series->add_label_refs(strings.Intern(l.name));
        series->add_label_refs(strings.Intern(l.value));
      }
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
