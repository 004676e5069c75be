#include "common/samples.h"

#include <bit>

namespace vitals {

bool IsStaleMarker(double value) { return std::bit_cast<uint64_t>(value) == kStaleNaNBits; }
double StaleMarker() { return std::bit_cast<double>(kStaleNaNBits); }

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kUntyped: return "untyped";
  }
  return "untyped";
}

void SampleSet::Add(const MetricDesc& desc, Labels labels, double value) {
  Add(desc, std::move(labels), value, default_timestamp_ms_);
}

void SampleSet::Add(const MetricDesc& desc, Labels labels, double value, int64_t timestamp_ms) {
  labels.push_back(Label{std::string(kMetricNameLabel), desc.name});
  Canonicalize(&labels);
  samples_.push_back(Sample{std::move(labels), timestamp_ms, value});
  // Samples of one metric usually come one after another: the map is
  // searched only when the name changes.
  if (!has_last_metadata_ || desc.name != last_metadata_name_) {
    metadata_.try_emplace(desc.name, desc);
    last_metadata_name_ = desc.name;
    has_last_metadata_ = true;
  }
}

void SampleSet::Append(SampleSet&& other) {
  samples_.insert(samples_.end(), std::make_move_iterator(other.samples_.begin()),
                  std::make_move_iterator(other.samples_.end()));
  metadata_.merge(other.metadata_);
  other.samples_.clear();
  other.has_last_metadata_ = false;  // Its entry may have moved here.
}

SampleViews::SampleViews(const std::vector<Sample>& samples) {
  size_t total = 0;
  for (const Sample& s : samples) total += s.labels.size();
  labels_.reserve(total);  // Never reallocates below: the spans stay valid.
  series_.reserve(samples.size());
  for (const Sample& s : samples) {
    const size_t first = labels_.size();
    for (const Label& l : s.labels) labels_.push_back(LabelRef{l.name, l.value});
    series_.push_back(SeriesSamples{std::span<const LabelRef>(labels_).subspan(first, s.labels.size()),
                                    std::span<const int64_t>(&s.timestamp_ms, 1),
                                    std::span<const double>(&s.value, 1)});
  }
}

}  // namespace vitals
