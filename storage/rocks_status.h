#pragma once

// RocksDB's status as a vitals::Status, for the code that keeps data in
// RocksDB (storage/, actions/). Header-only: vitals_common does not link RocksDB.

#include <string>
#include <string_view>

#include <rocksdb/status.h>

#include "common/status.h"

namespace vitals::storage {

// OK stays OK; otherwise "<what>: <rocksdb message>" as Corruption, IOError,
// InvalidArgument or (anything else) Internal.
inline Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsIOError()) return Status::IOError(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::Internal(msg);
}

}  // namespace vitals::storage
