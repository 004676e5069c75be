#include "common/wire.h"

#include <algorithm>
#include <span>
#include <vector>

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

// An open-addressing index of a batch's elements (its strings, its series) by
// hash: one array, no node per element, which matters in the agent, where
// each round encodes a few hundred series into a new batch. The elements
// themselves stay in the batch; the index holds their positions.
class BatchIndex {
 public:
  explicit BatchIndex(size_t expected) {
    size_t capacity = 16;
    while (capacity < 2 * expected) capacity *= 2;
    slots_.assign(capacity, Slot{});
  }

  // The position of the element with hash `hash` for which `equals(position)`
  // holds; otherwise `insert()`, which adds the element and returns its
  // position.
  template <typename Equals, typename Insert>
  uint32_t FindOrInsert(uint64_t hash, Equals equals, Insert insert) {
    const auto h = static_cast<uint32_t>(hash);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.position == kEmpty) {
        const uint32_t position = insert();
        slot = Slot{h, position};
        if (++size_ * 2 > slots_.size()) Grow();
        return position;
      }
      if (slot.hash == h && equals(slot.position)) return slot.position;
    }
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint32_t hash = 0;
    uint32_t position = kEmpty;
  };

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2, Slot{});
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.position == kEmpty) continue;
      size_t i = slot.hash & mask;
      while (slots_[i].position != kEmpty) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace

namespace {

uint64_t HashRefs(std::span<const uint32_t> refs) {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (uint32_t ref : refs) h = (h ^ ref) * 0xff51afd7ed558ccdull;
  return h ^ (h >> 32);
}

}  // namespace

void EncodeSamples(const SampleSet& set, wire::Batch* batch) {
  // Each distinct string once in batch->strings, labels as references to it.
  BatchIndex strings(set.size() + static_cast<size_t>(batch->strings_size()));
  const std::hash<std::string_view> hash_string;
  auto intern = [&](std::string_view s) {
    return strings.FindOrInsert(
        hash_string(s), [&](uint32_t i) { return batch->strings(static_cast<int>(i)) == s; },
        [&] {
          batch->add_strings()->assign(s.data(), s.size());
          return static_cast<uint32_t>(batch->strings_size() - 1);
        });
  };
  for (int i = 0; i < batch->strings_size(); ++i) {  // Strings already there.
    const std::string& s = batch->strings(i);
    strings.FindOrInsert(
        hash_string(s), [&](uint32_t j) { return batch->strings(static_cast<int>(j)) == s; },
        [i] { return static_cast<uint32_t>(i); });
  }
  // Samples of one series (equal label references) share one wire::Series.
  BatchIndex series(set.size());
  std::vector<uint32_t> refs;
  for (const Sample& s : set.samples()) {
    refs.clear();
    for (const Label& l : s.labels) {
      refs.push_back(intern(l.name));
      refs.push_back(intern(l.value));
    }
    const uint32_t position = series.FindOrInsert(
        HashRefs(refs),
        [&](uint32_t i) {
          const auto& have = batch->series(static_cast<int>(i)).label_refs();
          return std::equal(have.begin(), have.end(), refs.begin(), refs.end());
        },
        [&] {
          batch->add_series()->mutable_label_refs()->Add(refs.begin(), refs.end());
          return static_cast<uint32_t>(batch->series_size() - 1);
        });
    wire::Series* out = batch->mutable_series(static_cast<int>(position));
    out->add_timestamps_ms(s.timestamp_ms);
    out->add_values(s.value);
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
