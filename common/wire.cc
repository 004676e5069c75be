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
  const auto num_strings = static_cast<uint32_t>(batch.strings_size());
  // Strings are interned, so each is validated once per batch, the first
  // time it is used as a label name, a metric name or a value.
  enum : uint8_t {
    kNameChecked = 1, kNameValid = 2, kMetricChecked = 4, kMetricValid = 8,
    kValueChecked = 16, kValueValid = 32,
  };
  std::vector<uint8_t> verdicts(num_strings, 0);
  auto valid = [&](uint32_t ref, uint8_t checked, uint8_t ok, bool (*check)(std::string_view)) {
    uint8_t& v = verdicts[ref];
    if (!(v & checked)) v |= checked | (check(batch.strings(static_cast<int>(ref))) ? ok : 0);
    return (v & ok) != 0;
  };

  size_t total_labels = 0;
  for (const wire::Series& series : batch.series()) {
    total_labels += static_cast<size_t>(series.label_refs_size()) / 2 + agent_labels.size();
  }
  out.labels.reserve(total_labels);  // Never reallocates below: the spans stay valid.
  out.series.reserve(static_cast<size_t>(batch.series_size()));
  std::vector<std::pair<uint32_t, uint32_t>> own;  // (name ref, value ref)
  for (int i = 0; i < batch.series_size(); ++i) {
    const wire::Series& series = batch.series(i);
    auto fail = [i](const std::string& what) {
      return Status::InvalidArgument("series " + std::to_string(i) + ": " + what);
    };
    if (series.label_refs_size() % 2 != 0) return fail("odd number of label references");
    if (series.timestamps_ms_size() != series.values_size()) {
      return fail(std::to_string(series.timestamps_ms_size()) + " timestamps but " +
                  std::to_string(series.values_size()) + " values");
    }
    own.clear();
    int metric_name = -1;
    for (int k = 0; k < series.label_refs_size(); k += 2) {
      const uint32_t name_ref = series.label_refs(k);
      const uint32_t value_ref = series.label_refs(k + 1);
      if (name_ref >= num_strings || value_ref >= num_strings) {
        return fail("label reference out of range");
      }
      if (metric_name < 0 && batch.strings(static_cast<int>(name_ref)) == kMetricNameLabel) {
        metric_name = static_cast<int>(own.size());
      }
      own.emplace_back(name_ref, value_ref);
    }
    // The checks, order and messages of ValidateSeriesLabels.
    auto str = [&](uint32_t ref) -> const std::string& { return batch.strings(static_cast<int>(ref)); };
    if (metric_name < 0 || str(own[static_cast<size_t>(metric_name)].second).empty()) {
      return fail("series has no metric name");
    }
    if (uint32_t ref = own[static_cast<size_t>(metric_name)].second;
        !valid(ref, kMetricChecked, kMetricValid, IsValidMetricName)) {
      return fail("invalid metric name \"" + str(ref) + "\"");
    }
    for (size_t k = 0; k < own.size(); ++k) {
      const std::string& name = str(own[k].first);
      if (static_cast<int>(k) != metric_name &&
          !valid(own[k].first, kNameChecked, kNameValid, IsValidLabelName)) {
        return fail("invalid label name \"" + name + "\"");
      }
      if (k > 0 && str(own[k - 1].first) >= name) {
        return fail(str(own[k - 1].first) == name ? "duplicate label name \"" + name + "\""
                                                   : "labels not sorted by name");
      }
      if (!valid(own[k].second, kValueChecked, kValueValid, IsValidUtf8)) {
        return fail("label \"" + name + "\" has a value that is not UTF-8");
      }
    }
    // Merge with the agent's labels (sorted), which win over labels of the
    // same name; empty values mean "absent".
    const size_t first = out.labels.size();
    auto add = [&](std::string_view name, std::string_view value) {
      if (!value.empty()) out.labels.push_back(LabelRef{name, value});
    };
    size_t a = 0;
    for (const auto& [name_ref, value_ref] : own) {
      const std::string& name = str(name_ref);
      for (; a < agent_labels.size() && agent_labels[a].name < name; ++a) {
        add(agent_labels[a].name, agent_labels[a].value);
      }
      if (a < agent_labels.size() && agent_labels[a].name == name) continue;
      add(name, str(value_ref));
    }
    for (; a < agent_labels.size(); ++a) add(agent_labels[a].name, agent_labels[a].value);
    const auto n = static_cast<size_t>(series.timestamps_ms_size());
    out.series.push_back(SeriesSamples{
        std::span<const LabelRef>(out.labels).subspan(first, out.labels.size() - first),
        std::span<const int64_t>(series.timestamps_ms().data(), n),
        std::span<const double>(series.values().data(), n)});
    out.num_samples += n;
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
