#pragma once

#include <string>
#include <vector>

#include "common/labels.h"
#include "common/samples.h"
#include "common/status.h"
#include "proto/vitals.pb.h"

// Conversions between in-memory samples and the wire schema of
// proto/vitals.proto, shared by the agent (encode) and the collector (decode).
namespace vitals::wirecodec {

// An Envelope with this build's protocol version filled in.
wire::Envelope NewEnvelope();

// Appends every sample of `set` and its metadata to `batch`, interning label
// strings once per batch and grouping samples of the same series.
void EncodeSamples(const SampleSet& set, wire::Batch* batch);

// A decoded batch. Its label strings and sample arrays are views into the
// wire::Batch and the agent labels it was decoded from, which must outlive it
// and stay unchanged. Movable, not copyable (the series point into `labels`).
struct DecodedBatch {
  DecodedBatch() = default;
  DecodedBatch(DecodedBatch&&) = default;
  DecodedBatch& operator=(DecodedBatch&&) = default;
  DecodedBatch(const DecodedBatch&) = delete;
  DecodedBatch& operator=(const DecodedBatch&) = delete;

  std::vector<LabelRef> labels;        // Every series' label set, back to back.
  std::vector<SeriesSamples> series;   // In batch order; labels canonical.
  std::vector<MetricDesc> metadata;
  size_t num_samples = 0;
};

// Decodes and validates `batch`. `agent_labels` (agent, instance and the
// agent's configured labels; canonical) are set on every series, replacing
// labels of the same name. InvalidArgument, naming the first problem, if a
// label reference is out of range, label pairs are odd, timestamps and values
// differ in length, or a label set is not valid Prometheus labels (the checks
// of ValidateSeriesLabels; the agent sends each series' labels sorted). Nothing
// is returned on error: a batch is accepted or rejected whole.
Result<DecodedBatch> DecodeBatch(const wire::Batch& batch, const Labels& agent_labels);

// Converts between MetricType and its wire form.
wire::MetricType ToWire(MetricType type);
MetricType FromWire(wire::MetricType type);

}  // namespace vitals::wirecodec
