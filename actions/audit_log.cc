#include "actions/audit_log.h"

#include "common/units.h"
#include "storage/rocks_status.h"

#include <rocksdb/db.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <limits>

namespace vitals::actions {
namespace {

using storage::FromRocks;

using nlohmann::json;

constexpr size_t kHashHexLength = 64;

std::string Sha256Hex(std::string_view data) {
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) std::abort();  // libsodium cannot run at all here.
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, 2 * crypto_hash_sha256_BYTES);
}

// The hashed members: every field but `hash`.
json CanonicalObject(const AuditEntry& e) {
  return json{{"actor", e.actor},         {"details", e.details}, {"incident_id", e.incident_id},
              {"kind", e.kind},           {"message", e.message}, {"module", e.module},
              {"prev_hash", e.prev_hash}, {"seq", e.seq},         {"service", e.service},
              {"time_ms", e.time_ms}};
}

Status GetString(const json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) {
    return Status::InvalidArgument(std::string("audit entry: '") + name + "' must be a string");
  }
  *out = it->get<std::string>();
  return Status::Ok();
}

std::string SeqKey(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) key[i] = static_cast<char>(seq & 0xff);
  return key;
}

Result<uint64_t> SeqFromKey(const rocksdb::Slice& key) {
  if (key.size() != 8) {
    return Status::Corruption("a key of " + std::to_string(key.size()) + " bytes, not 8");
  }
  uint64_t seq = 0;
  for (size_t i = 0; i < 8; ++i) seq = (seq << 8) | static_cast<unsigned char>(key[i]);
  return seq;
}

std::string EncodeStored(const std::string& canonical, const std::string& hash) {
  return canonical + "\n" + hash;
}

// The entry in a stored value (see the storage note in the header).
Result<AuditEntry> DecodeStored(std::string_view value) {
  size_t newline = value.rfind('\n');
  if (newline == std::string_view::npos || value.size() - newline - 1 != kHashHexLength) {
    return Status::Corruption("no hash after the entry");
  }
  json j = json::parse(value.substr(0, newline), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("entry is not a JSON object");
  j["hash"] = std::string(value.substr(newline + 1));
  Result<AuditEntry> entry = AuditEntryFromJson(j);
  if (!entry.ok()) return Status::Corruption(entry.status().message());
  return entry;
}

// The entry under `it`, checked against its key. Corruption "entry N: ..."
// if it cannot be read or is stored under another entry's key.
Result<AuditEntry> ReadEntry(const rocksdb::Iterator& it) {
  ASSIGN_OR_RETURN(uint64_t seq, SeqFromKey(it.key()));
  const std::string at = "entry " + std::to_string(seq) + ": ";
  Result<AuditEntry> entry = DecodeStored(it.value().ToStringView());
  if (!entry.ok()) return Status::Corruption(at + "unreadable (" + entry.status().message() + ")");
  if (entry->seq != seq) {
    return Status::Corruption(at + "holds entry " + std::to_string(entry->seq) + " (reordered)");
  }
  return entry;
}

}  // namespace

std::string AuditCanonicalForm(const AuditEntry& entry) {
  return CanonicalObject(entry).dump(-1, ' ', /*ensure_ascii=*/false,
                                     json::error_handler_t::replace);
}

std::string ComputeAuditHash(const AuditEntry& entry) {
  return Sha256Hex(AuditCanonicalForm(entry));
}

// ---- Verification ----

AuditChainVerifier::AuditChainVerifier(uint64_t expect_first_seq, std::string expect_prev) {
  result_.last_seq = std::max<uint64_t>(expect_first_seq, 1) - 1;
  result_.head_hash = std::move(expect_prev);
}

bool AuditChainVerifier::Add(const AuditEntry& entry) {
  if (!result_.ok) return false;
  const uint64_t prev = result_.last_seq;
  const std::string at = "entry " + std::to_string(entry.seq) + ": ";
  const uint64_t bad_seq = entry.seq != 0 ? entry.seq : prev + 1;
  if (entry.seq > prev + 1) {
    Fail(bad_seq, at + "sequence gap after " + std::to_string(prev) + " (removed)");
  } else if (entry.seq <= prev) {
    Fail(bad_seq, at + "out of order after " + std::to_string(prev) + " (reordered or duplicated)");
  } else if (ComputeAuditHash(entry) != entry.hash) {
    Fail(bad_seq, at + "hash mismatch (edited)");
  } else if (entry.prev_hash != result_.head_hash) {
    Fail(bad_seq, prev == 0 ? at + "prev_hash is not the genesis hash (forged)"
                            : at + "prev_hash does not match entry " + std::to_string(prev) +
                                  " (reordered or removed)");
  } else if (entry.seq == expected_head_seq_ && entry.hash != expected_head_hash_) {
    Fail(bad_seq, at + "differs from the expected head (chain rewritten)");
  } else {
    result_.last_seq = entry.seq;
    result_.head_hash = entry.hash;
    ++result_.entries_checked;
  }
  return result_.ok;
}

void AuditChainVerifier::Fail(uint64_t seq, std::string problem) {
  if (!result_.ok) return;
  result_.ok = false;
  result_.first_bad_seq = seq;
  result_.problem = std::move(problem);
}

void AuditChainVerifier::ExpectHead(uint64_t seq, std::string hash) {
  expected_head_seq_ = seq;
  expected_head_hash_ = std::move(hash);
}

const AuditVerification& AuditChainVerifier::Finish() {
  const uint64_t end = result_.last_seq;
  if (end < expected_head_seq_) {
    Fail(end + 1, "entry " + std::to_string(end + 1) + ": missing, the chain ends at " +
                      std::to_string(end) + " before the expected head " +
                      std::to_string(expected_head_seq_) + " (newest removed)");
  }
  return result_;
}

AuditVerification VerifyChain(const std::vector<AuditEntry>& entries, uint64_t expect_first_seq,
                              std::string expect_prev) {
  AuditChainVerifier verifier(expect_first_seq, std::move(expect_prev));
  for (const AuditEntry& entry : entries) {
    if (!verifier.Add(entry)) break;
  }
  return verifier.Finish();
}

// ---- JSON ----

json AuditEntryToJson(const AuditEntry& entry) {
  json j = CanonicalObject(entry);
  j["time"] = FormatRfc3339Millis(entry.time_ms);
  j["hash"] = entry.hash;
  return j;
}

Result<AuditEntry> AuditEntryFromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("audit entry: not a JSON object");
  AuditEntry e;
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_integer() ||
      (!seq->is_number_unsigned() && seq->get<int64_t>() < 0)) {
    return Status::InvalidArgument("audit entry: 'seq' must be a non-negative integer");
  }
  e.seq = seq->get<uint64_t>();
  auto time_ms = j.find("time_ms");
  if (time_ms == j.end() || !time_ms->is_number_integer() ||
      (time_ms->is_number_unsigned() &&
       time_ms->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
    return Status::InvalidArgument("audit entry: 'time_ms' must be an integer");
  }
  e.time_ms = time_ms->get<int64_t>();
  RETURN_IF_ERROR(GetString(j, "actor", &e.actor));
  RETURN_IF_ERROR(GetString(j, "kind", &e.kind));
  RETURN_IF_ERROR(GetString(j, "service", &e.service));
  RETURN_IF_ERROR(GetString(j, "module", &e.module));
  RETURN_IF_ERROR(GetString(j, "incident_id", &e.incident_id));
  RETURN_IF_ERROR(GetString(j, "message", &e.message));
  RETURN_IF_ERROR(GetString(j, "prev_hash", &e.prev_hash));
  RETURN_IF_ERROR(GetString(j, "hash", &e.hash));
  auto details = j.find("details");
  if (details == j.end() || !details->is_object()) {
    return Status::InvalidArgument("audit entry: 'details' must be an object");
  }
  e.details = *details;
  return e;
}

// ---- AuditLog ----

Result<std::unique_ptr<AuditLog>> AuditLog::Open(ActionsDb& db, const Clock& clock) {
  const std::string where = "audit log in " + db.dir();
  if (!db.ClaimAudit()) return Status::FailedPrecondition(where + ": already open");
  // From here the claim is ours; every early return must give it back.
  std::unique_ptr<rocksdb::Iterator> it(
      db.db()->NewIterator(rocksdb::ReadOptions(), db.audit_cf()));
  it->SeekToLast();
  Status status = FromRocks(it->status(), where);
  uint64_t last_seq = 0;
  std::string head(kAuditGenesisHash);
  if (status.ok() && it->Valid()) {
    Result<AuditEntry> last = ReadEntry(*it);
    if (!last.ok()) {
      status = Status::Corruption(where + ": the last " + last.status().message() +
                                  "; the chain cannot continue until it is repaired");
    } else {
      last_seq = last->seq;
      head = last->hash;
    }
  }
  if (!status.ok()) {
    db.ReleaseAudit();
    return status;
  }
  return std::unique_ptr<AuditLog>(new AuditLog(db, clock, last_seq, std::move(head)));
}

AuditLog::AuditLog(ActionsDb& db, const Clock& clock, uint64_t last_seq, std::string head_hash)
    : db_(db), clock_(clock), last_seq_(last_seq), head_hash_(std::move(head_hash)) {}

AuditLog::~AuditLog() { db_.ReleaseAudit(); }

Result<AuditEntry> AuditLog::Append(AuditRecord record, const ActionsDb::StateBatch& state) {
  if (record.actor.empty()) return Status::InvalidArgument("audit record without an actor");
  if (record.kind.empty()) return Status::InvalidArgument("audit record without a kind");
  if (record.details.is_null()) record.details = json::object();
  if (!record.details.is_object()) {
    return Status::InvalidArgument("audit record details must be a JSON object");
  }
  std::lock_guard lock(mu_);
  AuditEntry draft;
  static_cast<AuditRecord&>(draft) = std::move(record);
  draft.seq = last_seq_ + 1;
  draft.time_ms = clock_.NowMillis();
  draft.prev_hash = head_hash_;
  const std::string canonical = AuditCanonicalForm(draft);
  const std::string hash = Sha256Hex(canonical);
  const std::string stored = EncodeStored(canonical, hash);
  // Return what a reader will get back: the canonical form may have replaced
  // invalid UTF-8 or non-finite numbers.
  Result<AuditEntry> entry = DecodeStored(stored);
  if (!entry.ok()) {
    return Status::Internal("audit entry does not decode: " + entry.status().message());
  }
  RETURN_IF_ERROR(db_.Commit(state, SeqKey(entry->seq), stored));
  last_seq_ = entry->seq;
  head_hash_ = hash;
  return entry;
}

Result<std::vector<AuditEntry>> AuditLog::List(const AuditQuery& q) const {
  if (q.limit == 0) return Status::InvalidArgument("audit query limit must be positive");
  std::vector<AuditEntry> out;
  if (q.after_seq == std::numeric_limits<uint64_t>::max()) return out;
  const std::string where = "audit log in " + db_.dir();
  std::unique_ptr<rocksdb::Iterator> it(
      db_.db()->NewIterator(rocksdb::ReadOptions(), db_.audit_cf()));
  for (it->Seek(SeqKey(q.after_seq + 1)); it->Valid() && out.size() < q.limit; it->Next()) {
    Result<AuditEntry> entry = ReadEntry(*it);
    if (!entry.ok()) return Status::Corruption(where + ": " + entry.status().message());
    if (!q.service.empty() && entry->service != q.service) continue;
    if (!q.incident_id.empty() && entry->incident_id != q.incident_id) continue;
    if (!entry->kind.starts_with(q.kind_prefix)) continue;
    if (entry->time_ms < q.since_ms) continue;
    out.push_back(std::move(entry).value());
  }
  RETURN_IF_ERROR(FromRocks(it->status(), where));
  return out;
}

Result<AuditVerification> AuditLog::Verify() const {
  AuditChainVerifier verifier;
  {
    // Read before the iterator's snapshot, so every entry up to it is in it.
    std::lock_guard lock(mu_);
    verifier.ExpectHead(last_seq_, head_hash_);
  }
  std::unique_ptr<rocksdb::Iterator> it(
      db_.db()->NewIterator(rocksdb::ReadOptions(), db_.audit_cf()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Result<AuditEntry> entry = ReadEntry(*it);
    if (!entry.ok()) {
      Result<uint64_t> key_seq = SeqFromKey(it->key());
      verifier.Fail(key_seq.ok() ? *key_seq : verifier.result().last_seq + 1,
                    entry.status().message());
      break;
    }
    if (!verifier.Add(*entry)) break;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "audit log in " + db_.dir()));
  return verifier.Finish();
}

uint64_t AuditLog::last_seq() const {
  std::lock_guard lock(mu_);
  return last_seq_;
}

std::string AuditLog::head_hash() const {
  std::lock_guard lock(mu_);
  return head_hash_;
}

}  // namespace vitals::actions
