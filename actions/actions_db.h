#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace vitals::actions {

class AuditLog;

// The actions layer's persistent store: one RocksDB database in a directory
// with two column families,
//   state  key -> value, for the layer's own state (modes, maintenance
//          windows, incidents, restore points; callers store JSON strings)
//   audit  the hash-chained audit log, written only through AuditLog
// Every write is synced (WriteOptions::sync): once a call returns OK the
// change survives kill -9 and power loss. Thread-safe.
class ActionsDb {
 public:
  // Several state changes applied together or not at all, by Write() or
  // together with an audit entry by AuditLog::Append(). Not thread-safe.
  class StateBatch {
   public:
    void Put(std::string_view key, std::string_view value);
    void Delete(std::string_view key);
    bool empty() const { return ops_.empty(); }

   private:
    friend class ActionsDb;
    struct Op {
      std::string key;
      std::optional<std::string> value;  // nullopt deletes the key.
    };
    std::vector<Op> ops_;
  };

  // Opens the database in `dir`, creating the directory and the database if
  // missing. IOError if the directory cannot be created or written (another
  // process holding it included), Corruption if the files are damaged; the
  // message names `dir` in both cases. InvalidArgument if `dir` is empty.
  static Result<std::unique_ptr<ActionsDb>> Open(const std::string& dir);
  // REQUIRES: no AuditLog opened on this database is still alive.
  ~ActionsDb();
  ActionsDb(const ActionsDb&) = delete;
  ActionsDb& operator=(const ActionsDb&) = delete;

  const std::string& dir() const { return dir_; }

  // Sets `key` to `value` in the state family. IOError if the write fails.
  Status Put(std::string_view key, std::string_view value);
  // Removes `key` from the state family; OK if it was not there.
  Status Delete(std::string_view key);
  // Applies every change in `batch` atomically; OK for an empty batch.
  Status Write(const StateBatch& batch);
  // The value of `key`, nullopt if absent. IOError/Corruption on read errors.
  Result<std::optional<std::string>> Get(std::string_view key) const;
  // Every key starting with `prefix` ("" for all) and its value, in byte
  // order of the keys. The result is a consistent view of one moment.
  Result<std::vector<std::pair<std::string, std::string>>> Scan(std::string_view prefix) const;

 private:
  // What AuditLog needs and nobody else should touch: the audit family and
  // one write path that puts an audit entry and state changes in one batch.
  friend class AuditLog;
  friend class ActionsDbTestPeer;  // Tests tamper with the audit family through it.

  ActionsDb(std::string dir, std::unique_ptr<rocksdb::DB> db);
  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* audit_cf() const { return audit_cf_; }
  // Writes `state` and, unless `audit_key` is empty, audit_key -> audit_value
  // in the audit family, in one synced batch.
  Status Commit(const StateBatch& state, std::string_view audit_key, std::string_view audit_value);
  // Claims the audit family for one AuditLog; false if another holds it.
  bool ClaimAudit() { return !audit_claimed_.exchange(true); }
  void ReleaseAudit() { audit_claimed_.store(false); }

  const std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  // Owned; destroyed before db_ closes.
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* audit_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* state_cf_ = nullptr;
  // True while an AuditLog is open: two would each count sequence numbers
  // and overwrite each other's entries.
  std::atomic<bool> audit_claimed_{false};
};

}  // namespace vitals::actions
