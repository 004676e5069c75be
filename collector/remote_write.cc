#include "collector/remote_write.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <httplib.h>
#include <snappy.h>

#include "proto/prompb.pb.h"

namespace vitals::collector {
namespace {

constexpr std::string_view kProtobufMediaType = "application/x-protobuf";
constexpr std::string_view kWriteRequestV1 = "prometheus.WriteRequest";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "" if the request is remote write 1.0 as far as its headers tell, else why
// not. Like Prometheus, a missing Content-Type or Content-Encoding means 1.0
// with snappy, for senders that predate the headers.
std::string UnsupportedReason(const RemoteWriteRequest& request) {
  std::string_view encoding = Trim(request.content_encoding);
  if (!encoding.empty() && !EqualsIgnoreCase(encoding, "snappy")) {
    return "Content-Encoding \"" + std::string(encoding) + "\" is not supported; only snappy is";
  }
  std::string_view type = Trim(request.content_type);
  if (!type.empty()) {
    std::string_view rest = type;
    size_t semi = rest.find(';');
    if (!EqualsIgnoreCase(Trim(rest.substr(0, semi)), kProtobufMediaType)) {
      return "Content-Type \"" + std::string(type) + "\" is not supported; expected " +
             std::string(kProtobufMediaType);
    }
    while (semi != std::string_view::npos) {
      rest.remove_prefix(semi + 1);
      semi = rest.find(';');
      std::string_view param = Trim(rest.substr(0, semi));
      size_t eq = param.find('=');
      if (eq == std::string_view::npos || Trim(param.substr(0, eq)) != "proto") continue;
      std::string_view proto = Trim(param.substr(eq + 1));
      if (proto != kWriteRequestV1) {
        return "protobuf message \"" + std::string(proto) +
               "\" is not supported; this receiver speaks remote write 1.0 (" +
               std::string(kWriteRequestV1) + ")";
      }
    }
  }
  std::string_view version = Trim(request.version);
  if (!version.empty() && !version.starts_with("0.") && !version.starts_with("1.")) {
    return "remote write version " + std::string(version) +
           " is not supported; this receiver speaks 1.0 (0.1.0)";
  }
  return "";
}

MetricType FromPrompb(prompb::MetricMetadata::MetricType type) {
  switch (type) {
    case prompb::MetricMetadata::COUNTER: return MetricType::kCounter;
    case prompb::MetricMetadata::GAUGE: return MetricType::kGauge;
    // Histograms, summaries and the OpenMetrics types have no MetricType of
    // their own yet; their series are stored all the same.
    default: return MetricType::kUntyped;
  }
}

}  // namespace

RemoteWriteReceiver::RemoteWriteReceiver(const RemoteWriteOptions& options,
                                         storage::Store& store, CollectorMetrics& metrics,
                                         const Clock& clock)
    : options_(options),
      max_body_bytes_(snappy::MaxCompressedLength(options.max_decompressed_bytes)),
      store_(store),
      metrics_(metrics),
      log_limiter_(clock) {}

RemoteWriteResponse RemoteWriteReceiver::Answer(int status, std::string message) {
  metrics_.RemoteWriteRequests(status).Increment();
  if (status != 204) {
    uint64_t suppressed = 0;
    if (log_limiter_.Allow("remote_write_" + std::to_string(status), &suppressed)) {
      LOG_WARN << "remote_write: answered " << status << ": " << message
               << (suppressed ? " (" + std::to_string(suppressed) + " similar suppressed)" : "");
    }
  }
  return RemoteWriteResponse{status, std::move(message)};
}

RemoteWriteResponse RemoteWriteReceiver::Decode(const RemoteWriteRequest& request,
                                                std::vector<Sample>* samples,
                                                std::vector<MetricDesc>* metadata) {
  if (std::string why = UnsupportedReason(request); !why.empty()) return {415, why};
  const std::string_view body = request.body;
  if (body.size() > max_body_bytes_) {
    return {413, "body of " + std::to_string(body.size()) + " bytes exceeds the limit"};
  }
  size_t length = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &length)) {
    return {400, "body is not snappy block-compressed"};
  }
  if (length > options_.max_decompressed_bytes) {
    return {413, "request decompresses to " + std::to_string(length) +
                     " bytes, more than the limit of " +
                     std::to_string(options_.max_decompressed_bytes)};
  }
  std::string decompressed(length, '\0');
  if (!snappy::RawUncompress(body.data(), body.size(), decompressed.data())) {
    return {400, "body is not snappy block-compressed"};
  }
  prompb::WriteRequest write;
  if (!write.ParseFromString(decompressed)) {
    return {400, "body is not a protobuf prometheus.WriteRequest"};
  }
  decompressed = std::string();  // Peak memory: the request once, not twice.

  size_t total = 0;
  for (const prompb::TimeSeries& ts : write.timeseries()) total += ts.samples_size();
  samples->reserve(total);
  uint64_t exemplars = 0, histograms = 0;
  for (int i = 0; i < write.timeseries_size(); ++i) {
    const prompb::TimeSeries& ts = write.timeseries(i);
    exemplars += static_cast<uint64_t>(ts.exemplars_size());
    histograms += static_cast<uint64_t>(ts.histograms_size());
    Labels labels;
    labels.reserve(static_cast<size_t>(ts.labels_size()));
    for (const prompb::Label& l : ts.labels()) labels.push_back(Label{l.name(), l.value()});
    if (Status valid = CanonicalizeAndValidate(&labels); !valid.ok()) {
      return {400, "timeseries " + std::to_string(i) + " " + FormatSeries(labels) + ": " +
                       valid.message()};
    }
    for (const prompb::Sample& s : ts.samples()) {
      samples->push_back(Sample{labels, s.timestamp(), s.value()});
    }
  }
  for (const prompb::MetricMetadata& m : write.metadata()) {
    if (!IsValidMetricName(m.metric_family_name())) {
      return {400, "metadata: invalid metric family name \"" + m.metric_family_name() + "\""};
    }
    metadata->push_back(MetricDesc{m.metric_family_name(), FromPrompb(m.type()), m.help()});
  }
  metrics_.remote_write_exemplars_ignored.Increment(static_cast<double>(exemplars));
  metrics_.remote_write_histograms_ignored.Increment(static_cast<double>(histograms));
  return {204, ""};
}

RemoteWriteResponse RemoteWriteReceiver::RefuseTooLarge(const std::string& size) {
  return Answer(413, "body of " + size + " exceeds the limit of " +
                         std::to_string(max_body_bytes_) + " bytes");
}

RemoteWriteResponse RemoteWriteReceiver::Handle(const RemoteWriteRequest& request) {
  std::vector<Sample> samples;
  std::vector<MetricDesc> metadata;
  RemoteWriteResponse decoded = Decode(request, &samples, &metadata);
  if (decoded.status != 204) return Answer(decoded.status, std::move(decoded.message));
  if (samples.empty() && metadata.empty()) return Answer(204, "");

  SampleViews views(samples);
  auto stored = AppendCounted(store_, metrics_, views.series(), metadata);
  if (!stored.ok()) return Answer(500, "storage: " + stored.status().ToString());
  metrics_.remote_write_samples.Increment(static_cast<double>(stored->appended));
  if (stored->rejected_total() > 0) {
    uint64_t suppressed = 0;
    if (log_limiter_.Allow("remote_write_storage_rejected", &suppressed)) {
      LOG_WARN << "remote_write: storage refused " << stored->rejected_total() << " of "
               << samples.size() << " samples, first " << stored->first_rejection
               << (suppressed ? " (" + std::to_string(suppressed) + " similar suppressed)" : "");
    }
  }
  if (options_.on_stored) options_.on_stored(views.series());
  return Answer(204, "");
}

void RegisterRemoteWriteRoute(httplib::Server& server, RemoteWriteReceiver& receiver,
                              const std::string& path) {
  server.Post(path, [&receiver](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& content_reader) {
    const uint64_t limit = receiver.max_body_bytes();
    auto refuse = [&](const std::string& size) {
      RemoteWriteResponse answer = receiver.RefuseTooLarge(size);
      res.status = answer.status;
      res.set_header("Connection", "close");  // The rest of the body was not read.
      res.set_content(answer.message + "\n", "text/plain");
    };
    const std::string content_length = req.get_header_value("Content-Length");
    if (!content_length.empty() && std::strtoull(content_length.c_str(), nullptr, 10) > limit) {
      refuse(content_length + " bytes");
      return;
    }
    std::string body;
    bool over = false;
    content_reader([&](const char* data, size_t length) {
      if (body.size() + length > limit) {
        over = true;
        return false;
      }
      body.append(data, length);
      return true;
    });
    if (over) {
      refuse("more than " + std::to_string(limit) + " bytes");
      return;
    }
    RemoteWriteResponse answer = receiver.Handle(RemoteWriteRequest{
        .body = body,
        .content_encoding = req.get_header_value("Content-Encoding"),
        .content_type = req.get_header_value("Content-Type"),
        .version = req.get_header_value("X-Prometheus-Remote-Write-Version"),
    });
    res.status = answer.status;
    if (answer.status != 204) res.set_content(answer.message + "\n", "text/plain");
  });
}

}  // namespace vitals::collector
