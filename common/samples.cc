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
  NoteMetadata(desc);
}

void SampleSet::Add(const MetricDesc& desc, std::initializer_list<LabelRef> labels, double value) {
  AddFromRefs(desc, std::span<const LabelRef>(labels.begin(), labels.size()), value,
              default_timestamp_ms_);
}

void SampleSet::Add(const MetricDesc& desc, std::initializer_list<LabelRef> labels, double value,
                    int64_t timestamp_ms) {
  AddFromRefs(desc, std::span<const LabelRef>(labels.begin(), labels.size()), value, timestamp_ms);
}

void SampleSet::AddFromRefs(const MetricDesc& desc, std::span<const LabelRef> labels, double value,
                            int64_t timestamp_ms) {
  Labels own;
  own.reserve(labels.size() + 1);
  own.push_back(Label{std::string(kMetricNameLabel), desc.name});
  for (const LabelRef& l : labels) {
    if (!l.value.empty()) own.push_back(Label{std::string(l.name), std::string(l.value)});
  }
  Canonicalize(&own);
  samples_.push_back(Sample{std::move(own), timestamp_ms, value});
  NoteMetadata(desc);
}

void SampleSet::NoteMetadata(const MetricDesc& desc) {
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
