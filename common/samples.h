#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/labels.h"

namespace vitals {

// Prometheus's staleness marker: a NaN with this exact bit pattern means "this
// series ended here", unlike an ordinary NaN value.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;
bool IsStaleMarker(double value);
double StaleMarker();

enum class MetricType { kUntyped, kCounter, kGauge };

// "counter", "gauge" or "untyped", as in the text exposition format.
std::string_view MetricTypeName(MetricType type);

// What a metric name means: its type and help text.
struct MetricDesc {
  std::string name;
  MetricType type = MetricType::kUntyped;
  std::string help;
};

struct Sample {
  Labels labels;  // Canonical, including __name__.
  int64_t timestamp_ms = 0;
  double value = 0;
};

// The samples of one series by reference, as the ingest paths hand them to
// storage without copying a label set per sample: the label strings and the
// two arrays belong to the caller (a decoded wire batch, a vector of Sample)
// and must outlive every use of this view.
struct SeriesSamples {
  std::span<const LabelRef> labels;  // Canonical, including __name__.
  std::span<const int64_t> timestamps_ms;
  std::span<const double> values;    // As many as timestamps_ms.
};

// One SeriesSamples per element of `samples`, for callers that hold Samples.
// Views into `samples`, which must outlive this and stay unchanged. Not
// copyable: the views point into its own buffers.
class SampleViews {
 public:
  explicit SampleViews(const std::vector<Sample>& samples);
  SampleViews(const SampleViews&) = delete;
  SampleViews& operator=(const SampleViews&) = delete;

  std::span<const SeriesSamples> series() const { return series_; }

 private:
  std::vector<LabelRef> labels_;
  std::vector<SeriesSamples> series_;
};

// The samples of one collection round plus the metadata of each metric name.
// Not thread-safe.
class SampleSet {
 public:
  // Samples added without an explicit timestamp get `default_timestamp_ms`.
  explicit SampleSet(int64_t default_timestamp_ms = 0) : default_timestamp_ms_(default_timestamp_ms) {}

  // Adds one sample of `desc`. `labels` excludes __name__ and may be in any
  // order; empty values are dropped as Prometheus does.
  void Add(const MetricDesc& desc, Labels labels, double value);
  void Add(const MetricDesc& desc, Labels labels, double value, int64_t timestamp_ms);
  // The same from label references, copied once into the sample's own label
  // set: what a braced list of labels, Add(desc, {{"cpu", cpu}}, v), calls.
  void Add(const MetricDesc& desc, std::initializer_list<LabelRef> labels, double value);
  void Add(const MetricDesc& desc, std::initializer_list<LabelRef> labels, double value,
           int64_t timestamp_ms);
  void AddFromRefs(const MetricDesc& desc, std::span<const LabelRef> labels, double value,
                   int64_t timestamp_ms);

  // Makes room for `samples` samples in all, e.g. as many as the previous
  // round of the same source had.
  void Reserve(size_t samples) { samples_.reserve(samples); }

  // Moves everything from `other` into this set.
  void Append(SampleSet&& other);

  const std::vector<Sample>& samples() const { return samples_; }
  const std::map<std::string, MetricDesc>& metadata() const { return metadata_; }
  int64_t default_timestamp_ms() const { return default_timestamp_ms_; }
  size_t size() const { return samples_.size(); }
  bool empty() const { return samples_.empty(); }

 private:
  int64_t default_timestamp_ms_;
  // Puts `desc` in metadata_ unless it holds its name already.
  void NoteMetadata(const MetricDesc& desc);

  std::vector<Sample> samples_;
  std::map<std::string, MetricDesc> metadata_;  // By metric name.
  // The metric name Add last put in metadata_, if has_last_metadata_.
  std::string last_metadata_name_;
  bool has_last_metadata_ = false;
};

}  // namespace vitals
