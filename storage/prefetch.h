#pragma once

// Software prefetch hints for the write path's batch loops, which touch a few
// cache lines per series (index slot, series, key, head chunk) scattered over
// the heap and hide the misses by asking for them some series ahead.

namespace vitals::storage {

// Asks for the cache line holding `p`, to read. Never faults; any pointer,
// even a stale one, is fine. __builtin_prefetch alone has no side effect for
// GCC, which then finds a function made only of prefetches pure and drops
// calls to it; the empty volatile asm keeps them.
inline void Prefetch(const void* p) {
  __builtin_prefetch(p, /*rw=*/0);
  asm volatile("");
}

// The same, for a line about to be written.
inline void PrefetchForWrite(const void* p) {
  __builtin_prefetch(p, /*rw=*/1);
  asm volatile("");
}

}  // namespace vitals::storage
