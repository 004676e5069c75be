#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "actions/actions_db.h"
#include "common/clock.h"
#include "common/status.h"

namespace vitals::actions {

// What happened, as the code that did it reports it.
struct AuditRecord {
  // Who: "rules", "actions", "maintenance", "user:<token name>", "api:<remote addr>".
  std::string actor;
  // What, dotted: "alert.firing", "alert.resolved", "mode.changed", "action.started",
  // "action.succeeded", "action.failed", "rollback.started", "maintenance.scheduled",
  // "override.set", "auth.refused", "incident.opened", "incident.note".
  std::string kind;
  std::string service;      // "" when not about one service.
  std::string module;       // "" when about the whole service.
  std::string incident_id;  // "" when not part of an incident.
  std::string message;      // One human-readable line.
  // Anything else worth keeping; always an object.
  nlohmann::json details = nlohmann::json::object();
};

// One entry of the log: a record and its place in the chain.
struct AuditEntry : AuditRecord {
  uint64_t seq = 0;       // 1, 2, 3, ... with no gaps.
  int64_t time_ms = 0;    // When it was appended (Unix ms, from the injected clock).
  std::string prev_hash;  // `hash` of entry seq-1; kAuditGenesisHash for entry 1.
  std::string hash;       // ComputeAuditHash(*this).
};

// The prev_hash of the first entry: 64 '0's.
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The canonical form of an entry, the exact bytes its hash covers: a JSON
// object with these ten members and no others, keys in byte order, no
// whitespace outside strings, UTF-8 unescaped (only '"', '\\' and control
// characters are escaped; \b \f \n \r \t short, others as \u00xx), integers
// in decimal:
//   {"actor":"rules","details":{},"incident_id":"","kind":"alert.firing",
//    "message":"...","module":"","prev_hash":"00..00","seq":1,
//    "service":"shop","time_ms":1700000000000}
// `details` nests the same way (members sorted at every level). This is
// nlohmann::json::dump() of the object, and Python's
//   json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
// gives the same bytes for every entry whose details hold no floating-point
// numbers. Doubles are printed as nlohmann prints them, which Python does not
// always match (1e15 is 1e+15 here, 1000000000000000.0 there; a few values
// keep a 17th digit here): a script should reuse the number text the HTTP
// API sent, which is already canonical, instead of printing parsed doubles.
// Bytes that are not valid UTF-8 are replaced by U+FFFD when an entry is
// appended, so stored entries always have a canonical form.
std::string AuditCanonicalForm(const AuditEntry& entry);
// The lowercase hex SHA-256 of AuditCanonicalForm(entry); entry.hash is ignored.
std::string ComputeAuditHash(const AuditEntry& entry);

// The outcome of checking a chain.
struct AuditVerification {
  bool ok = true;
  uint64_t entries_checked = 0;  // Entries found good, before the first bad one.
  uint64_t first_bad_seq = 0;    // Seq of the entry where the chain breaks; 0 if ok.
  // "" if ok, else one line such as
  //   "entry 7: hash mismatch (edited)"
  //   "entry 8: sequence gap after 6 (removed)"
  //   "entry 9: prev_hash does not match entry 8 (reordered or removed)"
  std::string problem;
  // The last good entry: the head of the chain if ok. When no entry was
  // good, the seq before the first expected one and the expected prev_hash.
  uint64_t last_seq = 0;
  std::string head_hash;
};

// Checks entries one at a time, so a log too long for memory (or fetched
// page by page over HTTP) can be verified as it streams. Each entry must
// carry the next seq, hash to its own `hash`, and name the previous entry's
// hash as its prev_hash; with ExpectHead, the chain must also reach a head
// recorded earlier. Stops at the first break. Not thread-safe.
class AuditChainVerifier {
 public:
  // Expects entry `expect_first_seq` first, chained to `expect_prev` (the
  // hash of entry expect_first_seq-1, or the genesis hash for entry 1).
  explicit AuditChainVerifier(uint64_t expect_first_seq = 1,
                              std::string expect_prev = std::string(kAuditGenesisHash));
  // Requires the chain to pass through entry `seq` with hash `hash`, a
  // head recorded earlier (by the log itself, a scrape, an operator): this
  // is what reveals newest entries removed or the chain rewritten.
  void ExpectHead(uint64_t seq, std::string hash);
  // Checks the next entry. False if this or an earlier entry broke the
  // chain; entries after a break are ignored.
  bool Add(const AuditEntry& entry);
  // Records a break found outside the chain, e.g. an unreadable stored
  // entry. Ignored if the chain is already broken.
  void Fail(uint64_t seq, std::string problem);
  // Call after the last entry: a chain that ended before the expected head
  // is broken there. Returns result().
  const AuditVerification& Finish();
  const AuditVerification& result() const { return result_; }

 private:
  AuditVerification result_;
  uint64_t expected_head_seq_ = 0;  // 0: no head expected.
  std::string expected_head_hash_;
};

// Verifies `entries` (oldest first) as one stretch of a chain; see
// AuditChainVerifier. `vitalsctl audit verify` uses it on fetched entries.
AuditVerification VerifyChain(const std::vector<AuditEntry>& entries, uint64_t expect_first_seq = 1,
                              std::string expect_prev = std::string(kAuditGenesisHash));

// An entry as the HTTP API shows it: members seq, time (RFC 3339 UTC with
// milliseconds, rendered from time_ms and not hashed), time_ms, actor, kind,
// service, module, incident_id, message, details, prev_hash, hash.
nlohmann::json AuditEntryToJson(const AuditEntry& entry);
// The inverse. InvalidArgument naming the member if one is missing or of
// the wrong type; `time` is ignored (time_ms is the hashed field). A round
// trip keeps ComputeAuditHash unchanged.
Result<AuditEntry> AuditEntryFromJson(const nlohmann::json& json);

// Which entries List returns; every condition must hold.
struct AuditQuery {
  // Every member has an initializer so designated initializers may leave
  // any out without -Wmissing-field-initializers.
  uint64_t after_seq = 0;        // Only entries with a larger seq.
  size_t limit = 1000;           // At most this many; must be > 0.
  std::string service = "";      // Only this service; "" for all.
  std::string kind_prefix = "";  // Only kinds starting with this ("action." for every action).
  std::string incident_id = "";  // Only this incident; "" for all.
  int64_t since_ms = 0;          // Only entries appended at or after this time (Unix ms).
};

// An append-only, hash-chained log of what the actions layer and its users
// did, kept in the "audit" family of an ActionsDb.
//
// Each entry's hash covers its content, its seq and the previous entry's
// hash, so Verify() detects an entry edited, removed or moved in the middle
// of the log, and an entry inserted or forged without rewriting every entry
// after it. It does not prove:
//   - that the newest entries were not removed: a log cut after entry n is a
//     valid chain ending at n. Only a head (last_seq, head_hash) recorded
//     elsewhere earlier (exported, scraped, printed) reveals it; that is why
//     both are exported (see AuditChainVerifier::ExpectHead). Verify()
//     expects the head this log appended, so it catches a cut made while the
//     process runs, but not one made while it was stopped.
//   - that nobody with write access rewrote the whole chain from some entry
//     on: the hash has no secret. Again, an external copy of an old head
//     (entry n and its hash) reveals it.
//   - that time_ms is true: it is the collector's clock and may go backwards.
//
// Storage: key = seq as 8 bytes big-endian (iteration is in seq order);
// value = AuditCanonicalForm(entry), a '\n', then the 64-char hex hash.
//
// Thread-safe: appends are serialised (each is one synced write); List and
// Verify read consistent snapshots and run alongside appends.
class AuditLog {
 public:
  // Opens the log in `db`, continuing the chain after its last stored entry
  // (read from disk, so a restart continues where the log ends).
  // Corruption if the last entry cannot be read; FailedPrecondition if
  // another AuditLog is open on `db`.
  // REQUIRES: `db` and `clock` outlive the log.
  static Result<std::unique_ptr<AuditLog>> Open(ActionsDb& db, const Clock& clock);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends `record` as entry last_seq()+1, timed by the clock and chained
  // to head_hash(); with it, atomically, the changes in `state` (e.g. the
  // new mode a "mode.changed" entry reports). Returns the entry as stored.
  // InvalidArgument if actor or kind is empty or details is not an object;
  // IOError if the synced write fails, in which case nothing is written.
  Result<AuditEntry> Append(AuditRecord record,
                            const ActionsDb::StateBatch& state = ActionsDb::StateBatch());

  // Entries matching `q`, oldest first. Corruption if a stored entry cannot
  // be read (List does not check hashes; Verify does).
  Result<std::vector<AuditEntry>> List(const AuditQuery& q) const;

  // Checks the whole stored chain from entry 1, expecting the head this log
  // last appended or found at Open. A broken chain is a result (ok = false), not
  // an error; IOError only if the database cannot be read.
  Result<AuditVerification> Verify() const;

  // The newest entry's seq (0 for an empty log) and hash (the genesis hash
  // for an empty log).
  uint64_t last_seq() const;
  std::string head_hash() const;

 private:
  AuditLog(ActionsDb& db, const Clock& clock, uint64_t last_seq, std::string head_hash);

  ActionsDb& db_;
  const Clock& clock_;
  mutable std::mutex mu_;  // Serialises appends; guards the head.
  uint64_t last_seq_ = 0;  // GUARDED_BY(mu_)
  std::string head_hash_;  // GUARDED_BY(mu_)
};

}  // namespace vitals::actions
