#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/labels.h"
#include "common/selector.h"
#include "storage/head.h"

namespace vitals::storage {

// The in-memory series index: label set ↔ series id, and postings
// (label name → value → sorted series ids) for selection by matchers. The
// store builds it from the `series` column family at open.
//
// Thread safety: one writer (the store's write path, which it serialises)
// calls Find, Add and the counting methods; any number of readers call the
// const selection methods concurrently. Series are never removed while the
// index lives, so MemSeries pointers stay valid.
class SeriesIndex {
 public:
  SeriesIndex() = default;
  SeriesIndex(const SeriesIndex&) = delete;
  SeriesIndex& operator=(const SeriesIndex&) = delete;

  // --- writer ---
  // The series with this key, or nullptr.
  MemSeries* Find(std::string_view key) const { return by_key_.Find(key, HashKey(key)); }
  MemSeries* Find(std::string_view key, uint64_t hash) const { return by_key_.Find(key, hash); }
  static uint64_t HashKey(std::string_view key);
  // Hints for batch lookups: load the hash slot, then the series it names,
  // into cache ahead of Find.
  void PrefetchSlot(uint64_t hash) const { by_key_.PrefetchSlot(hash); }
  void PrefetchSeries(uint64_t hash) const { by_key_.PrefetchSeries(hash); }
  // The series with this id, or nullptr.
  MemSeries* FindById(uint64_t id) const;
  // Takes ownership of `series` and indexes it under `labels`.
  // REQUIRES: no series with the same key or id exists; labels match the key.
  MemSeries* Add(std::unique_ptr<MemSeries> series, const Labels& labels);
  // Series carrying label name=value.
  uint64_t CountWithLabel(std::string_view name, std::string_view value) const;
  uint64_t next_id() const { return next_id_; }
  // Calls fn(MemSeries&) for every series, in id order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const auto& s : series_) fn(*s);
  }

  // --- readers ---
  // Series matching all matchers, in label-set order. An empty list of
  // matchers selects everything.
  std::vector<const MemSeries*> Select(const std::vector<Matcher>& matchers) const;
  std::vector<std::string> LabelNames(const std::vector<Matcher>& matchers) const;
  std::vector<std::string> LabelValues(const std::string& name,
                                       const std::vector<Matcher>& matchers) const;
  uint64_t size() const;
  uint64_t metric_names() const;
  // (name, series) for the `n` metric names with most series, and
  // (label name, distinct values) for the `n` label names with most values.
  std::vector<std::pair<std::string, uint64_t>> TopMetrics(size_t n) const;
  std::vector<std::pair<std::string, uint64_t>> TopLabelNames(size_t n) const;
  // Approximate heap bytes of the index.
  uint64_t MemoryBytes() const;

 private:
  using Postings = std::vector<uint64_t>;  // Sorted series ids.
  // Ids of series matching all matchers (unsorted by labels). REQUIRES: mu_ held.
  Postings SelectIds(const std::vector<Matcher>& matchers) const;

  // Open-addressing hash table from series key to series: one probe usually
  // touches one cache line, where std::unordered_map chases a node per entry.
  class KeyTable {
   public:
    MemSeries* Find(std::string_view key, uint64_t hash) const;
    void Insert(MemSeries* series, uint64_t hash);
    void PrefetchSlot(uint64_t hash) const {
      if (!slots_.empty()) __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
    }
    void PrefetchSeries(uint64_t hash) const {
      if (slots_.empty()) return;
      const MemSeries* series = slots_[hash & (slots_.size() - 1)].series;
      if (series != nullptr) {
        __builtin_prefetch(series);
        __builtin_prefetch(series->key.data());
      }
    }
    size_t size() const { return size_; }
    size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

   private:
    struct Slot {
      uint64_t hash = 0;
      MemSeries* series = nullptr;  // nullptr: empty.
    };
    void Grow();
    std::vector<Slot> slots_;  // Size is a power of two, at most half full.
    size_t size_ = 0;
  };

  mutable std::shared_mutex mu_;  // Readers shared; Add exclusive.
  // Owned series by id - 1 (ids are dense from 1).
  std::vector<std::unique_ptr<MemSeries>> series_;                   // GUARDED_BY(mu_)
  KeyTable by_key_;                                                  // Writer only.
  std::map<std::string, std::map<std::string, Postings, std::less<>>, std::less<>>
      postings_;                                                     // GUARDED_BY(mu_)
  uint64_t next_id_ = 1;                                             // Writer only.
};

}  // namespace vitals::storage
