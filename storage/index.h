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
#include "storage/encoding.h"
#include "storage/head.h"
#include "storage/prefetch.h"

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
  MemSeries* Find(std::string_view key) const { return Find(key, HashKey(key)); }
  MemSeries* Find(std::string_view key, uint64_t hash) const {
    return by_key_.Find(hash, [key](const MemSeries& s) { return s.key == key; });
  }
  static uint64_t HashKey(std::string_view key) { return HashSeriesKey(key); }
  // Hints for batch lookups, each a few lookups before the previous one: load
  // the hash slot, then the series it names, then the series' key into cache
  // ahead of Find. None waits for memory.
  void PrefetchSlot(uint64_t hash) const { by_key_.PrefetchSlot(hash); }
  void PrefetchSeries(uint64_t hash) const { by_key_.PrefetchSeries(hash); }
  void PrefetchKey(uint64_t hash) const { by_key_.PrefetchKey(hash); }
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
    // The first series with this hash for which equal(series) holds.
    template <typename Equal>
    MemSeries* Find(uint64_t hash, Equal equal) const {
      if (slots_.empty()) return nullptr;
      const size_t mask = slots_.size() - 1;
      for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const Slot& slot = slots_[i];
        if (slot.series == nullptr) return nullptr;
        if (slot.hash == hash && equal(*slot.series)) return slot.series;
      }
    }
    void Insert(MemSeries* series, uint64_t hash);
    void PrefetchSlot(uint64_t hash) const {
      if (!slots_.empty()) Prefetch(&slots_[hash & (slots_.size() - 1)]);
    }
    // The series' first 64 bytes (two cache lines unless it is aligned to
    // one): its key's pointer and the writer fields.
    void PrefetchSeries(uint64_t hash) const {
      if (const MemSeries* series = Probe(hash)) {
        Prefetch(series);
        Prefetch(reinterpret_cast<const char*>(series) + 63);
      }
    }
    // The key's bytes. Reads the series, so call it after PrefetchSeries.
    void PrefetchKey(uint64_t hash) const {
      const MemSeries* series = Probe(hash);
      if (series == nullptr) return;
      const std::string& key = series->key;
      for (size_t offset = 0; offset < key.size(); offset += 64) Prefetch(key.data() + offset);
      Prefetch(key.data() + key.size() - 1);
    }
    size_t size() const { return size_; }
    size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

   private:
    struct Slot {
      uint64_t hash = 0;
      MemSeries* series = nullptr;  // nullptr: empty.
    };
    // The first series among the few slots from `hash`'s with that hash
    // (usually the one Find returns), without comparing keys; or nullptr.
    const MemSeries* Probe(uint64_t hash) const {
      if (slots_.empty()) return nullptr;
      const size_t mask = slots_.size() - 1;
      for (size_t i = hash & mask, n = 0; n < 4; i = (i + 1) & mask, ++n) {
        const Slot& slot = slots_[i];
        if (slot.series == nullptr) return nullptr;
        if (slot.hash == hash) return slot.series;
      }
      return nullptr;
    }
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
