#include "actions/actions_db.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "common/log.h"
#include "storage/rocks_status.h"

namespace vitals::actions {
namespace {

using storage::FromRocks;

constexpr char kAuditCf[] = "audit";
constexpr char kStateCf[] = "state";

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

rocksdb::WriteOptions SyncedWrite() {
  rocksdb::WriteOptions options;
  options.sync = true;  // An acknowledged action must survive kill -9 and power loss.
  return options;
}

}  // namespace

void ActionsDb::StateBatch::Put(std::string_view key, std::string_view value) {
  ops_.push_back(Op{std::string(key), std::string(value)});
}

void ActionsDb::StateBatch::Delete(std::string_view key) {
  ops_.push_back(Op{std::string(key), std::nullopt});
}

Result<std::unique_ptr<ActionsDb>> ActionsDb::Open(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("actions database directory is empty");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create actions database " + dir + ": " + ec.message());

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 1;  // A small, rarely written database.
  db_options.keep_log_file_num = 4;

  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(db_options, dir, &names).ok()) names.clear();  // New.
  for (const char* required : {rocksdb::kDefaultColumnFamilyName.c_str(), kAuditCf, kStateCf}) {
    if (std::find(names.begin(), names.end(), required) == names.end()) names.push_back(required);
  }
  // RocksDB must open every family present; unknown ones are closed below.
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names)
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw),
                            "opening actions database " + dir));
  std::unique_ptr<ActionsDb> db(new ActionsDb(dir, std::unique_ptr<rocksdb::DB>(raw)));
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      db->default_cf_ = handles[i];
    } else if (names[i] == kAuditCf) {
      db->audit_cf_ = handles[i];
    } else if (names[i] == kStateCf) {
      db->state_cf_ = handles[i];
    } else {
      LOG_WARN << "actions database " << dir << ": ignoring unknown column family " << names[i];
      raw->DestroyColumnFamilyHandle(handles[i]).PermitUncheckedError();
    }
  }
  return db;
}

ActionsDb::ActionsDb(std::string dir, std::unique_ptr<rocksdb::DB> db)
    : dir_(std::move(dir)), db_(std::move(db)) {}

ActionsDb::~ActionsDb() {
  if (audit_claimed_.load()) std::abort();  // An AuditLog would be left with a dangling db.
  for (auto* cf : {default_cf_, audit_cf_, state_cf_}) {
    if (cf != nullptr) db_->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

Status ActionsDb::Put(std::string_view key, std::string_view value) {
  return FromRocks(db_->Put(SyncedWrite(), state_cf_, ToSlice(key), ToSlice(value)),
                   "actions database " + dir_ + ": writing state");
}

Status ActionsDb::Delete(std::string_view key) {
  return FromRocks(db_->Delete(SyncedWrite(), state_cf_, ToSlice(key)),
                   "actions database " + dir_ + ": deleting state");
}

Status ActionsDb::Write(const StateBatch& batch) {
  if (batch.empty()) return Status::Ok();
  return Commit(batch, "", "");
}

Status ActionsDb::Commit(const StateBatch& state, std::string_view audit_key,
                         std::string_view audit_value) {
  rocksdb::WriteBatch batch;
  for (const StateBatch::Op& op : state.ops_) {
    rocksdb::Status s = op.value.has_value() ? batch.Put(state_cf_, op.key, *op.value)
                                             : batch.Delete(state_cf_, op.key);
    RETURN_IF_ERROR(FromRocks(s, "actions database " + dir_ + ": building batch"));
  }
  if (!audit_key.empty()) {
    RETURN_IF_ERROR(FromRocks(batch.Put(audit_cf_, ToSlice(audit_key), ToSlice(audit_value)),
                              "actions database " + dir_ + ": building batch"));
  }
  return FromRocks(db_->Write(SyncedWrite(), &batch), "actions database " + dir_ + ": writing");
}

Result<std::optional<std::string>> ActionsDb::Get(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), state_cf_, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "actions database " + dir_ + ": reading state"));
  return std::optional<std::string>(std::move(value));
}

Result<std::vector<std::pair<std::string, std::string>>> ActionsDb::Scan(
    std::string_view prefix) const {
  // The iterator reads from an implicit snapshot taken when it is created.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), state_cf_));
  std::vector<std::pair<std::string, std::string>> out;
  for (it->Seek(ToSlice(prefix)); it->Valid() && it->key().starts_with(ToSlice(prefix));
       it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "actions database " + dir_ + ": scanning state"));
  return out;
}

}  // namespace vitals::actions
