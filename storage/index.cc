#include "storage/index.h"

#include <algorithm>
#include <mutex>
#include <set>

#include "storage/encoding.h"

namespace vitals::storage {
namespace {

std::vector<uint64_t> Intersect(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  std::vector<uint64_t> out;
  out.reserve(std::min(a.size(), b.size()));
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<uint64_t> Subtract(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  std::vector<uint64_t> out;
  out.reserve(a.size());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// Union of several sorted lists.
std::vector<uint64_t> Union(const std::vector<const std::vector<uint64_t>*>& lists) {
  if (lists.empty()) return {};
  if (lists.size() == 1) return *lists[0];
  std::vector<uint64_t> out;
  size_t total = 0;
  for (const auto* l : lists) total += l->size();
  out.reserve(total);
  for (const auto* l : lists) out.insert(out.end(), l->begin(), l->end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

void SeriesIndex::KeyTable::Insert(MemSeries* series, uint64_t hash) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].series != nullptr) i = (i + 1) & mask;
  slots_[i] = Slot{hash, series};
  ++size_;
}

void SeriesIndex::KeyTable::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(std::max<size_t>(16, old.size() * 2), Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.series == nullptr) continue;
    size_t i = slot.hash & mask;
    while (slots_[i].series != nullptr) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

MemSeries* SeriesIndex::FindById(uint64_t id) const {
  if (id == 0 || id > series_.size()) return nullptr;
  return series_[id - 1].get();
}

MemSeries* SeriesIndex::Add(std::unique_ptr<MemSeries> series, const Labels& labels) {
  MemSeries* raw = series.get();
  std::unique_lock lock(mu_);
  if (series_.size() < raw->id) series_.resize(raw->id);
  series_[raw->id - 1] = std::move(series);
  by_key_.Insert(raw, HashKey(raw->key));
  for (const Label& l : labels) {
    auto& by_value = postings_[l.name];
    auto it = by_value.find(l.value);
    if (it == by_value.end()) it = by_value.emplace(l.value, Postings{}).first;
    Postings& ids = it->second;
    // Ids usually arrive in increasing order; keep the list sorted regardless.
    if (ids.empty() || ids.back() < raw->id) {
      ids.push_back(raw->id);
    } else {
      ids.insert(std::lower_bound(ids.begin(), ids.end(), raw->id), raw->id);
    }
  }
  next_id_ = std::max(next_id_, raw->id + 1);
  return raw;
}

uint64_t SeriesIndex::CountWithLabel(std::string_view name, std::string_view value) const {
  auto it = postings_.find(name);
  if (it == postings_.end()) return 0;
  auto vit = it->second.find(value);
  return vit == it->second.end() ? 0 : vit->second.size();
}

SeriesIndex::Postings SeriesIndex::SelectIds(const std::vector<Matcher>& matchers) const {
  // Matchers that reject "" select series carrying a matching value; those
  // that accept "" can only remove series (the ones whose value they reject).
  std::vector<Postings> positive;
  std::vector<Postings> negative;
  for (const Matcher& m : matchers) {
    auto it = postings_.find(m.name());
    bool matches_empty = m.Matches("");
    if (!matches_empty && m.type() == MatchType::kEqual) {
      if (it == postings_.end()) return {};
      auto vit = it->second.find(m.value());
      if (vit == it->second.end()) return {};
      positive.push_back(vit->second);
      continue;
    }
    std::vector<const Postings*> lists;
    if (it != postings_.end()) {
      for (const auto& [value, ids] : it->second) {
        if (m.Matches(value) != matches_empty) lists.push_back(&ids);
      }
    }
    if (matches_empty) {
      negative.push_back(Union(lists));
    } else {
      if (lists.empty()) return {};
      positive.push_back(Union(lists));
    }
  }
  Postings result;
  if (positive.empty()) {
    result.reserve(series_.size());
    for (const auto& s : series_) {
      if (s) result.push_back(s->id);
    }
  } else {
    std::sort(positive.begin(), positive.end(),
              [](const Postings& a, const Postings& b) { return a.size() < b.size(); });
    result = std::move(positive[0]);
    for (size_t i = 1; i < positive.size() && !result.empty(); ++i) {
      result = Intersect(result, positive[i]);
    }
  }
  for (const Postings& n : negative) {
    if (result.empty()) break;
    result = Subtract(result, n);
  }
  return result;
}

std::vector<const MemSeries*> SeriesIndex::Select(const std::vector<Matcher>& matchers) const {
  std::shared_lock lock(mu_);
  Postings ids = SelectIds(matchers);
  std::vector<const MemSeries*> out;
  out.reserve(ids.size());
  for (uint64_t id : ids) out.push_back(series_[id - 1].get());
  std::sort(out.begin(), out.end(), [](const MemSeries* a, const MemSeries* b) {
    return CompareSeriesKeys(a->key, b->key) < 0;
  });
  return out;
}

std::vector<std::string> SeriesIndex::LabelNames(const std::vector<Matcher>& matchers) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> names;
  if (matchers.empty()) {
    for (const auto& [name, values] : postings_) names.push_back(name);
    return names;
  }
  std::set<std::string> seen;
  Labels labels;
  for (uint64_t id : SelectIds(matchers)) {
    LabelsFromSeriesKey(series_[id - 1]->key, &labels);
    for (const Label& l : labels) seen.insert(l.name);
  }
  return {seen.begin(), seen.end()};
}

std::vector<std::string> SeriesIndex::LabelValues(const std::string& name,
                                                  const std::vector<Matcher>& matchers) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> values;
  auto it = postings_.find(name);
  if (it == postings_.end()) return values;
  if (matchers.empty()) {
    for (const auto& [value, ids] : it->second) values.push_back(value);
    return values;
  }
  Postings selected = SelectIds(matchers);
  for (const auto& [value, ids] : it->second) {
    if (!Intersect(selected, ids).empty()) values.push_back(value);
  }
  return values;
}

uint64_t SeriesIndex::size() const {
  std::shared_lock lock(mu_);
  return by_key_.size();
}

uint64_t SeriesIndex::metric_names() const {
  std::shared_lock lock(mu_);
  auto it = postings_.find(kMetricNameLabel);
  return it == postings_.end() ? 0 : it->second.size();
}

namespace {

std::vector<std::pair<std::string, uint64_t>> TopN(
    std::vector<std::pair<std::string, uint64_t>> all, size_t n) {
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (all.size() > n) all.resize(n);
  return all;
}

}  // namespace

std::vector<std::pair<std::string, uint64_t>> SeriesIndex::TopMetrics(size_t n) const {
  std::shared_lock lock(mu_);
  std::vector<std::pair<std::string, uint64_t>> all;
  auto it = postings_.find(kMetricNameLabel);
  if (it != postings_.end()) {
    for (const auto& [value, ids] : it->second) all.emplace_back(value, ids.size());
  }
  return TopN(std::move(all), n);
}

std::vector<std::pair<std::string, uint64_t>> SeriesIndex::TopLabelNames(size_t n) const {
  std::shared_lock lock(mu_);
  std::vector<std::pair<std::string, uint64_t>> all;
  for (const auto& [name, values] : postings_) all.emplace_back(name, values.size());
  return TopN(std::move(all), n);
}

uint64_t SeriesIndex::MemoryBytes() const {
  std::shared_lock lock(mu_);
  uint64_t bytes = series_.capacity() * sizeof(void*);
  for (const auto& s : series_) {
    if (s) bytes += sizeof(MemSeries) + s->key.capacity();
  }
  bytes += by_key_.MemoryBytes();
  for (const auto& [name, values] : postings_) {
    for (const auto& [value, ids] : values) {
      bytes += value.capacity() + sizeof(Postings) + 64 + ids.capacity() * sizeof(uint64_t);
    }
  }
  return bytes;
}

}  // namespace vitals::storage
