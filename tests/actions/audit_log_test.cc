#include "actions/audit_log.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace vitals::actions {

// Edits the audit family behind the log's back, as someone with access to
// the database files could.
class ActionsDbTestPeer {
 public:
  static std::string Key(uint64_t seq) {
    std::string key(8, '\0');  // Big-endian, as the header documents.
    for (int i = 7; i >= 0; --i, seq >>= 8) key[i] = static_cast<char>(seq & 0xff);
    return key;
  }
  static std::string Get(ActionsDb& db, uint64_t seq) {
    std::string value;
    EXPECT_TRUE(db.db()->Get(rocksdb::ReadOptions(), db.audit_cf(), Key(seq), &value).ok());
    return value;
  }
  static void Put(ActionsDb& db, uint64_t seq, const std::string& value) {
    ASSERT_TRUE(db.db()->Put(rocksdb::WriteOptions(), db.audit_cf(), Key(seq), value).ok());
  }
  static void Delete(ActionsDb& db, uint64_t seq) {
    ASSERT_TRUE(db.db()->Delete(rocksdb::WriteOptions(), db.audit_cf(), Key(seq)).ok());
  }
};

namespace {

using nlohmann::json;
using Peer = ActionsDbTestPeer;

AuditRecord Record(std::string kind, std::string service, std::string message,
                   std::string incident_id = "") {
  return AuditRecord{"rules", std::move(kind),        std::move(service),
                     "",      std::move(incident_id), std::move(message)};
}

// "ok: <checked> checked, head <seq>" or "broken at <seq> after <checked> good: <problem>".
std::string VerdictLine(const AuditVerification& v) {
  const std::string checked = std::to_string(v.entries_checked);
  if (v.ok) return "ok: " + checked + " checked, head " + std::to_string(v.last_seq);
  return "broken at " + std::to_string(v.first_bad_seq) + " after " + checked +
         " good: " + v.problem;
}

// The stored value of an entry, in the documented format.
std::string Stored(const AuditEntry& e) { return AuditCanonicalForm(e) + "\n" + e.hash; }

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override {
    log_.reset();
    db_.reset();
  }

  void Reopen() {
    log_.reset();
    db_.reset();
    auto db = ActionsDb::Open(dir_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto log = AuditLog::Open(*db_, clock_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }

  // Appends `n` entries "message 1".."message n", one second apart.
  std::vector<AuditEntry> AppendN(int n) {
    std::vector<AuditEntry> out;
    for (int i = 1; i <= n; ++i) {
      Result<AuditEntry> e =
          log_->Append(Record("alert.firing", "shop", "message " + std::to_string(i)));
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      if (e.ok()) out.push_back(*e);
      clock_.Advance(std::chrono::seconds(1));
    }
    return out;
  }

  // The seqs of the entries List returns for `q`, as "1 2 3".
  std::string ListSeqs(const AuditQuery& q) {
    Result<std::vector<AuditEntry>> entries = log_->List(q);
    if (!entries.ok()) return entries.status().ToString();
    std::string seqs;
    for (const AuditEntry& e : *entries) seqs += (seqs.empty() ? "" : " ") + std::to_string(e.seq);
    return seqs;
  }

  AuditVerification Verify() {
    Result<AuditVerification> v = log_->Verify();
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : AuditVerification{};
  }

  // Verify()'s outcome as one line.
  std::string Verdict() { return VerdictLine(Verify()); }

  testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
  FakeClock clock_{1'700'000'000'000};
  std::unique_ptr<ActionsDb> db_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, AnEmptyLogStartsAtTheGenesisHash) {
  EXPECT_EQ(log_->last_seq(), 0u);
  EXPECT_EQ(log_->head_hash(), std::string(64, '0'));
  EXPECT_EQ(Verdict(), "ok: 0 checked, head 0");
}

TEST_F(AuditLogTest, AppendAssignsConsecutiveSeqsClockTimesAndChainsHashes) {
  std::vector<AuditEntry> e = AppendN(3);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].seq, 1u);
  EXPECT_EQ(e[2].seq, 3u);
  EXPECT_EQ(e[0].time_ms, 1'700'000'000'000);
  EXPECT_EQ(e[1].time_ms, 1'700'000'001'000);
  EXPECT_EQ(e[0].prev_hash, std::string(kAuditGenesisHash));
  EXPECT_EQ(e[1].prev_hash, e[0].hash);
  EXPECT_EQ(e[2].prev_hash, e[1].hash);
  EXPECT_EQ(e[2].hash, ComputeAuditHash(e[2]));
  EXPECT_EQ(log_->last_seq(), 3u);
  EXPECT_EQ(log_->head_hash(), e[2].hash);
}

TEST_F(AuditLogTest, CanonicalFormAndHashAreTheDocumentedBytes) {
  AuditEntry e;
  e.actor = "rules";
  e.kind = "alert.firing";
  e.service = "shop";
  e.incident_id = "inc-1";
  e.message = "HighErrorRate: \"checkout\" fails\tfor caf\xc3\xa9";
  e.details = json{{"labels", {{"severity", "page"}, {"alertname", "HighErrorRate"}}},
                   {"count", 3},
                   {"ok", false},
                   {"none", nullptr}};
  e.prev_hash = std::string(kAuditGenesisHash);
  e.seq = 1;
  e.time_ms = 1'700'000'000'000;
  EXPECT_EQ(
      AuditCanonicalForm(e),
      R"({"actor":"rules","details":{"count":3,"labels":{"alertname":"HighErrorRate",)"
      R"("severity":"page"},"none":null,"ok":false},"incident_id":"inc-1",)"
      R"("kind":"alert.firing","message":"HighErrorRate: \"checkout\" fails\tfor café",)"
      R"("module":"","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",)"
      R"("seq":1,"service":"shop","time_ms":1700000000000})");
  // Python: hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"),
  //                                   ensure_ascii=False).encode()).hexdigest()
  EXPECT_EQ(ComputeAuditHash(e),
            "f7d64aad800cfa27955c612d4baf3d38090403d8d6559e1d8db3317a2065cba5");
}

TEST_F(AuditLogTest, AppendRejectsARecordWithoutActorOrKindOrWithNonObjectDetails) {
  AuditRecord no_actor = Record("alert.firing", "shop", "m");
  no_actor.actor.clear();
  EXPECT_EQ(log_->Append(no_actor).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(log_->Append(Record("", "shop", "m")).status().code(), Status::Code::kInvalidArgument);
  AuditRecord array_details = Record("alert.firing", "shop", "m");
  array_details.details = json::array({1, 2});
  EXPECT_EQ(log_->Append(array_details).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(log_->last_seq(), 0u);
}

TEST_F(AuditLogTest, AppendReplacesInvalidUtf8AndTheEntryStillVerifies) {
  Result<AuditEntry> e = log_->Append(Record("incident.note", "shop", "bad \xff byte"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->message, "bad \xef\xbf\xbd byte");
  EXPECT_EQ(e->hash, ComputeAuditHash(*e));
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, AppendWritesStateChangesTogetherWithTheEntry) {
  ActionsDb::StateBatch state;
  state.Put("mode/shop", R"({"mode":"read_only"})");
  ASSERT_TRUE(log_->Append(Record("mode.changed", "shop", "shop is read-only"), state).ok());
  Reopen();
  EXPECT_EQ(db_->Get("mode/shop")->value_or(""), R"({"mode":"read_only"})");
  EXPECT_EQ(log_->last_seq(), 1u);
}

TEST_F(AuditLogTest, ListReturnsEntriesAfterASeqOldestFirstUpToTheLimit) {
  AppendN(5);
  EXPECT_EQ(ListSeqs({}), "1 2 3 4 5");
  EXPECT_EQ(ListSeqs({.after_seq = 2, .limit = 2}), "3 4");
  EXPECT_EQ(ListSeqs({.after_seq = 5}), "");
  EXPECT_EQ(log_->List({.limit = 0}).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(AuditLogTest, ListFiltersByServiceKindPrefixIncidentAndTime) {
  ASSERT_TRUE(log_->Append(Record("alert.firing", "shop", "a", "inc-1")).ok());  // 1
  clock_.Advance(std::chrono::minutes(1));
  ASSERT_TRUE(log_->Append(Record("action.started", "shop", "b", "inc-1")).ok());  // 2
  ASSERT_TRUE(log_->Append(Record("action.failed", "blog", "c", "inc-2")).ok());   // 3
  clock_.Advance(std::chrono::minutes(1));
  ASSERT_TRUE(log_->Append(Record("actions.other", "shop", "d")).ok());  // 4
  EXPECT_EQ(ListSeqs({.service = "shop"}), "1 2 4");
  EXPECT_EQ(ListSeqs({.kind_prefix = "action."}), "2 3");
  EXPECT_EQ(ListSeqs({.incident_id = "inc-1"}), "1 2");
  EXPECT_EQ(ListSeqs({.since_ms = 1'700'000'060'000}), "2 3 4");
  EXPECT_EQ(ListSeqs({.service = "shop", .kind_prefix = "action"}), "2 4");
}

TEST_F(AuditLogTest, ReopenContinuesTheChainFromTheStoredHead) {
  std::vector<AuditEntry> before = AppendN(3);
  Reopen();
  EXPECT_EQ(log_->last_seq(), 3u);
  EXPECT_EQ(log_->head_hash(), before[2].hash);
  Result<AuditEntry> next = log_->Append(Record("alert.resolved", "shop", "ok again"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, 4u);
  EXPECT_EQ(next->prev_hash, before[2].hash);
  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries_checked, 4u);
  EXPECT_EQ(v.last_seq, 4u);
  EXPECT_EQ(v.head_hash, next->hash);
}

TEST_F(AuditLogTest, ASecondLogOnTheSameDatabaseIsRefused) {
  Result<std::unique_ptr<AuditLog>> second = AuditLog::Open(*db_, clock_);
  EXPECT_EQ(second.status().code(), Status::Code::kFailedPrecondition);
}

TEST_F(AuditLogTest, ConcurrentAppendsFormAGapFreeValidChain) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto e =
            log_->Append(Record("action.started", "svc" + std::to_string(t), std::to_string(i)));
        EXPECT_TRUE(e.ok()) << e.status().ToString();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(Verdict(), "ok: 100 checked, head 100");
  std::string all;
  for (int seq = 1; seq <= kThreads * kPerThread; ++seq) {
    all += (seq == 1 ? "" : " ") + std::to_string(seq);
  }
  EXPECT_EQ(ListSeqs({}), all);
}

TEST_F(AuditLogTest, VerifyDetectsAMessageEditedInTheDatabase) {
  AppendN(5);
  std::string value = Peer::Get(*db_, 3);
  size_t at = value.find("message 3");
  ASSERT_NE(at, std::string::npos);
  value.replace(at, 9, "nothing happened");
  Peer::Put(*db_, 3, value);
  Reopen();
  EXPECT_EQ(Verdict(), "broken at 3 after 2 good: entry 3: hash mismatch (edited)");
}

TEST_F(AuditLogTest, VerifyDetectsARemovedMiddleEntry) {
  AppendN(5);
  Peer::Delete(*db_, 3);
  EXPECT_EQ(Verdict(), "broken at 4 after 2 good: entry 4: sequence gap after 2 (removed)");
}

TEST_F(AuditLogTest, VerifyDetectsTwoSwappedEntries) {
  AppendN(5);
  std::string third = Peer::Get(*db_, 3);
  Peer::Put(*db_, 3, Peer::Get(*db_, 4));
  Peer::Put(*db_, 4, third);
  EXPECT_EQ(Verdict(), "broken at 3 after 2 good: entry 3: holds entry 4 (reordered)");
}

TEST_F(AuditLogTest, VerifyDetectsSwappedEntriesRenumberedWithRecomputedHashes) {
  std::vector<AuditEntry> e = AppendN(5);
  AuditEntry new3 = e[3];  // Entry 4's content as entry 3, and the other way round.
  AuditEntry new4 = e[2];
  std::swap(new3.seq, new4.seq);
  new3.hash = ComputeAuditHash(new3);
  new4.hash = ComputeAuditHash(new4);
  Peer::Put(*db_, 3, Stored(new3));
  Peer::Put(*db_, 4, Stored(new4));
  EXPECT_EQ(
      Verdict(),
      "broken at 3 after 2 good: entry 3: prev_hash does not match entry 2 (reordered or removed)");
}

TEST_F(AuditLogTest, VerifyDetectsAForgedEntryWithItsOwnHashRecomputed) {
  std::vector<AuditEntry> e = AppendN(5);
  AuditEntry forged = e[2];
  forged.message = "operator approved the restart";
  forged.prev_hash = ComputeAuditHash(forged);  // Anything but entry 2's hash.
  forged.hash = ComputeAuditHash(forged);
  Peer::Put(*db_, 3, Stored(forged));
  Reopen();
  EXPECT_EQ(
      Verdict(),
      "broken at 3 after 2 good: entry 3: prev_hash does not match entry 2 (reordered or removed)");
}

TEST_F(AuditLogTest, VerifyDetectsNewestEntriesRemovedWhileTheLogIsOpen) {
  AppendN(5);
  Peer::Delete(*db_, 5);
  Peer::Delete(*db_, 4);
  EXPECT_EQ(Verdict(),
            "broken at 4 after 3 good: "
            "entry 4: missing, the chain ends at 3 before the expected head 5 (newest removed)");
}

TEST_F(AuditLogTest, VerifyDetectsAChainRewrittenWhileTheLogIsOpen) {
  std::vector<AuditEntry> e = AppendN(3);
  e[0].message = "nothing happened";
  for (size_t i = 0; i < e.size(); ++i) {  // A consistent chain, but not the one appended.
    if (i > 0) e[i].prev_hash = e[i - 1].hash;
    e[i].hash = ComputeAuditHash(e[i]);
    Peer::Put(*db_, e[i].seq, Stored(e[i]));
  }
  EXPECT_EQ(Verdict(),
            "broken at 3 after 2 good: "
            "entry 3: differs from the expected head (chain rewritten)");
}

TEST_F(AuditLogTest, ListAndVerifyReportAnUnreadableEntry) {
  AppendN(3);
  Peer::Put(*db_, 2, "{\"seq\":2}");
  Result<std::vector<AuditEntry>> listed = log_->List(AuditQuery());
  EXPECT_EQ(listed.status().code(), Status::Code::kCorruption);
  EXPECT_NE(listed.status().message().find("entry 2: unreadable"), std::string::npos)
      << listed.status().ToString();
  EXPECT_EQ(Verdict(), "broken at 2 after 1 good: entry 2: unreadable (no hash after the entry)");
}

TEST_F(AuditLogTest, ALogCutWhileClosedIsCaughtOnlyByAHeadRecordedElsewhere) {
  AppendN(5);
  const std::string recorded_head = log_->head_hash();
  Peer::Delete(*db_, 5);
  Reopen();
  EXPECT_EQ(Verdict(), "ok: 4 checked, head 4");
  Result<std::vector<AuditEntry>> fetched = log_->List({});
  ASSERT_TRUE(fetched.ok());
  AuditChainVerifier verifier;
  verifier.ExpectHead(5, recorded_head);
  for (const AuditEntry& e : *fetched) verifier.Add(e);
  EXPECT_EQ(VerdictLine(verifier.Finish()),
            "broken at 5 after 4 good: "
            "entry 5: missing, the chain ends at 4 before the expected head 5 (newest removed)");
}

TEST_F(AuditLogTest, OpenReportsAnUnreadableLastEntryAsCorruptionNamingTheDirectory) {
  AppendN(2);
  Peer::Put(*db_, 2, "garbage");
  log_.reset();
  Result<std::unique_ptr<AuditLog>> log = AuditLog::Open(*db_, clock_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Status::Code::kCorruption);
  EXPECT_NE(log.status().message().find(dir_), std::string::npos) << log.status().ToString();
}

TEST_F(AuditLogTest, EntryJsonHasSnakeCaseMembersAndAnRfc3339Time) {
  AuditRecord r = Record("override.set", "shop", "forced normal");
  r.actor = "user:alice";
  r.module = "checkout";
  r.details = json{{"mode", "normal"}};
  Result<AuditEntry> e = log_->Append(r);
  ASSERT_TRUE(e.ok());
  json j = AuditEntryToJson(*e);
  j.erase("hash");
  EXPECT_EQ(
      j.dump(),
      R"({"actor":"user:alice","details":{"mode":"normal"},"incident_id":"",)"
      R"("kind":"override.set","message":"forced normal","module":"checkout",)"
      R"("prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",)"
      R"("seq":1,"service":"shop","time":"2023-11-14T22:13:20.000Z","time_ms":1700000000000})");
}

TEST_F(AuditLogTest, VerifyChainAcceptsJsonRoundTrippedEntries) {
  AuditRecord r = Record("action.succeeded", "shop", "restarted caf\xc3\xa9 \xe2\x9c\x93");
  r.details = json{{"ratio", 0.1}, {"big", 1e20}, {"list", {1, "two", nullptr}}, {"n", -7}};
  ASSERT_TRUE(log_->Append(r).ok());
  AppendN(3);
  Result<std::vector<AuditEntry>> stored = log_->List(AuditQuery{});
  ASSERT_TRUE(stored.ok());
  std::vector<AuditEntry> fetched;
  for (const AuditEntry& e : *stored) {
    Result<AuditEntry> back = AuditEntryFromJson(json::parse(AuditEntryToJson(e).dump()));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    fetched.push_back(*back);
  }
  EXPECT_EQ(VerdictLine(VerifyChain(fetched)), "ok: 4 checked, head 4");
  EXPECT_EQ(VerifyChain(fetched).head_hash, log_->head_hash());
  // A page from the middle verifies against the hash of the entry before it.
  std::vector<AuditEntry> tail(fetched.begin() + 2, fetched.end());
  EXPECT_EQ(VerdictLine(VerifyChain(tail, 3, fetched[1].hash)), "ok: 2 checked, head 4");
}

TEST_F(AuditLogTest, VerifyChainDetectsAnEditInFetchedJson) {
  std::vector<AuditEntry> e = AppendN(3);
  json j = AuditEntryToJson(e[1]);
  j["service"] = "blog";
  Result<AuditEntry> edited = AuditEntryFromJson(j);
  ASSERT_TRUE(edited.ok());
  e[1] = *edited;
  EXPECT_EQ(VerdictLine(VerifyChain(e)),
            "broken at 2 after 1 good: entry 2: hash mismatch (edited)");
}

TEST_F(AuditLogTest, EntryFromJsonNamesAMissingOrMistypedMember) {
  const json good = AuditEntryToJson(AppendN(1)[0]);
  json no_kind = good;
  no_kind.erase("kind");
  EXPECT_EQ(AuditEntryFromJson(no_kind).status().ToString(),
            "InvalidArgument: audit entry: 'kind' must be a string");
  json string_seq = good;
  string_seq["seq"] = "1";
  EXPECT_EQ(AuditEntryFromJson(string_seq).status().ToString(),
            "InvalidArgument: audit entry: 'seq' must be a non-negative integer");
}

}  // namespace
}  // namespace vitals::actions
