#include "ctl/query.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/api_json.h"
#include "collector/query_api.h"
#include "common/clock.h"
#include "common/labels.h"
#include "ctl/api_client.h"

namespace vitals::ctl {
namespace {

using nlohmann::json;

std::string Seconds(int64_t ms) {
  std::string out;
  collector::json::AppendTimestamp(&out, ms);
  return out;
}

// Fills in promtool's defaults for whatever of start, end and step is missing.
bool RangeDefaults(const QueryOptions& options, ApiParams* params) {
  const int64_t now = Clock::Real().NowMillis();
  int64_t end_ms = now, start_ms = now;
  auto parse = [](const std::string& text, const char* flag, int64_t* ms) {
    auto t = collector::ParseApiTime(text);
    if (!t.ok()) {
      std::fprintf(stderr, "invalid %s: %s\n", flag, t.status().message().c_str());
      return false;
    }
    *ms = *t;
    return true;
  };
  if (!options.end.empty() && !parse(options.end, "--end", &end_ms)) return false;
  start_ms = end_ms - 5 * 60 * 1000;
  if (!options.start.empty() && !parse(options.start, "--start", &start_ms)) return false;
  params->emplace_back("start", options.start.empty() ? Seconds(start_ms) : options.start);
  params->emplace_back("end", options.end.empty() ? Seconds(end_ms) : options.end);
  int64_t step_s = std::max<int64_t>((end_ms - start_ms) / 1000 / 250, 1);
  params->emplace_back("step", options.step.empty() ? std::to_string(step_s) : options.step);
  return true;
}

// "up{job=\"a\"}" for a "metric" object of the API.
std::string SeriesName(const json& metric) {
  Labels labels;
  for (const auto& [name, value] : metric.items()) {
    labels.push_back({name, value.is_string() ? value.get<std::string>() : value.dump()});
  }
  std::string name = FormatSeries(labels);
  return name.empty() ? "{}" : name;
}

// j[key], or null when j is not an object holding it.
const json& At(const json& j, const char* key) {
  static const json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

struct Row {
  std::string series, value, timestamp;
};

// A [<seconds>, "<value>"] pair of the API as a row.
Row PointRow(const std::string& series, const json& point) {
  if (!point.is_array() || point.size() != 2) return {series, point.dump(), ""};
  return {series, point[1].is_string() ? point[1].get<std::string>() : point[1].dump(),
          point[0].dump()};
}

std::vector<Row> Rows(const json& data) {
  std::vector<Row> rows;
  const std::string type = data.is_object() ? data.value("resultType", "") : "";
  const json& result = At(data, "result");
  if (type == "scalar" || type == "string") {
    rows.push_back(PointRow(type, result));
  } else if (type == "vector") {
    for (const json& sample : result) {
      rows.push_back(PointRow(SeriesName(At(sample, "metric")), At(sample, "value")));
    }
  } else if (type == "matrix") {
    for (const json& series : result) {
      const std::string name = SeriesName(At(series, "metric"));
      for (const json& point : At(series, "values")) rows.push_back(PointRow(name, point));
    }
  }
  return rows;
}

void PrintTable(const std::vector<Row>& rows) {
  size_t series_width = 6, value_width = 5;  // "SERIES", "VALUE"
  for (const Row& r : rows) {
    series_width = std::max(series_width, r.series.size());
    value_width = std::max(value_width, r.value.size());
  }
  auto print = [&](const std::string& a, const std::string& b, const std::string& c) {
    std::printf("%-*s  %-*s  %s\n", static_cast<int>(series_width), a.c_str(),
                static_cast<int>(value_width), b.c_str(), c.c_str());
  };
  print("SERIES", "VALUE", "TIMESTAMP");
  for (const Row& r : rows) print(r.series, r.value, r.timestamp);
}

}  // namespace

int Query(const QueryOptions& options) {
  ApiParams params{{"query", options.expr}};
  if (options.range) {
    if (!RangeDefaults(options, &params)) return 1;
  } else if (!options.time.empty()) {
    params.emplace_back("time", options.time);
  }
  ApiClientOptions client_options;
  client_options.collector_url = options.collector_url;
  ApiClient client(client_options);
  auto res = client.Call("POST", options.range ? "/api/v1/query_range" : "/api/v1/query", params);
  if (!res.ok()) {
    std::fprintf(stderr, "%s\n", res.status().message().c_str());
    return 1;
  }
  if (!res->success()) {
    if (options.format == "json") std::printf("%s\n", res->body.c_str());
    std::fprintf(stderr, "%s\n", res->error().c_str());
    return 1;
  }
  for (const json& w : At(res->json, "warnings")) {
    std::fprintf(stderr, "warning: %s\n", w.is_string() ? w.get<std::string>().c_str() : "");
  }
  if (options.format == "json") {
    std::printf("%s\n", res->body.c_str());
  } else {
    PrintTable(Rows(res->data()));
  }
  return 0;
}

}  // namespace vitals::ctl
