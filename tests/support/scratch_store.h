#pragma once

// A storage::Store for tests that need one but do not test it. Header-only;
// the test links the storage library (directly or through what it tests).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "storage/store.h"

namespace vitals::testing {

// Options for a store in `path` that only a test uses: no fsync (durability
// is the storage tests' business), no background thread (a test calls
// Maintain() when it wants maintenance), retention 0, so that fixtures
// with old timestamps are kept, and no writing of the head on close (a
// fixture spanning years would fill a partition per day).
inline storage::Options ScratchStoreOptions(std::string path) {
  storage::Options options;
  options.path = std::move(path);
  options.sync_writes = false;
  options.background_maintenance = false;
  options.retention = std::chrono::milliseconds(0);
  options.persist_head_on_close = false;
  return options;
}

// Opens (or creates) the store with `options`. A store that cannot be opened
// is a broken test environment: prints the status and aborts the test binary.
inline std::unique_ptr<storage::Store> OpenScratchStore(const storage::Options& options) {
  auto store = storage::Store::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "OpenScratchStore(%s): %s\n", options.path.c_str(),
                 store.status().ToString().c_str());
    std::abort();
  }
  return std::move(store).value();
}

// OpenScratchStore(ScratchStoreOptions(path)).
inline std::unique_ptr<storage::Store> OpenScratchStore(const std::string& path) {
  return OpenScratchStore(ScratchStoreOptions(path));
}

}  // namespace vitals::testing
