#include "ctl/audit_verify.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "actions/actions_db.h"
#include "actions/audit_log.h"
#include "common/clock.h"

namespace vitals::ctl {
namespace {

using nlohmann::json;

// Prints a verification as promised by `vitalsctl audit verify`.
int ReportVerification(const actions::AuditVerification& v, const std::string& output) {
  if (output == "json") {
    json j = {{"ok", v.ok},
              {"entries_checked", v.entries_checked},
              {"first_bad_seq", v.first_bad_seq},
              {"problem", v.problem},
              {"last_seq", v.last_seq},
              {"head_hash", v.head_hash}};
    std::printf("%s\n", j.dump().c_str());
  } else if (v.ok) {
    std::printf("audit log OK: %llu entries, head %s\n",
                static_cast<unsigned long long>(v.entries_checked), v.head_hash.c_str());
  } else {
    std::printf("audit log BROKEN: %s\n", v.problem.c_str());
    if (v.last_seq != 0) {
      std::printf("intact up to entry %llu, hash %s\n", static_cast<unsigned long long>(v.last_seq),
                  v.head_hash.c_str());
    }
  }
  return v.ok ? 0 : 1;
}

}  // namespace

int VerifyAuditOnline(const ApiClient& client, const AuditHead& expect, const std::string& output) {
  actions::AuditChainVerifier verifier;
  uint64_t after = 0;
  bool first = true;
  for (;;) {
    auto reply =
        client.Call("GET", "/api/v1/audit", {{"after", std::to_string(after)}, {"limit", "1000"}});
    if (!reply.ok()) {
      std::fprintf(stderr, "%s\n", reply.status().message().c_str());
      return 1;
    }
    if (!reply->success()) {
      PrintApiError(*reply);
      return 1;
    }
    const json& data = reply->data();
    if (first) {
      const uint64_t announced = data.value("last_seq", uint64_t{0});
      if (expect.seq != 0) {
        verifier.ExpectHead(expect.seq, expect.hash);
      } else if (announced != 0) {
        verifier.ExpectHead(announced, data.value("head_hash", ""));
      }
      first = false;
    }
    const json& entries = data.value("entries", json::array());
    for (const json& e : entries) {
      auto entry = actions::AuditEntryFromJson(e);
      if (!entry.ok()) {
        verifier.Fail(after + 1, "entry after " + std::to_string(after) +
                                     ": unreadable: " + entry.status().message());
        break;
      }
      after = entry->seq;
      if (!verifier.Add(*entry)) break;
    }
    if (!verifier.result().ok || entries.empty() || !data.value("more", false)) break;
  }
  return ReportVerification(verifier.Finish(), output);
}

Result<AuditHead> ParseAuditHead(const std::string& text) {
  size_t colon = text.find(':');
  AuditHead head;
  if (colon != std::string::npos) {
    head.hash = text.substr(colon + 1);
    const std::string seq = text.substr(0, colon);
    char* end = nullptr;
    head.seq = std::strtoull(seq.c_str(), &end, 10);
    if (seq.empty() || *end != '\0') head.seq = 0;
  }
  const bool hex = head.hash.size() == 64 &&
                   std::all_of(head.hash.begin(), head.hash.end(), [](unsigned char c) {
                     return std::isdigit(c) || (c >= 'a' && c <= 'f');
                   });
  if (head.seq == 0 || !hex) {
    return Status::InvalidArgument(
        "--expect-head: expected <seq>:<64 lowercase hex digits>, got \"" + text + "\"");
  }
  return head;
}

int VerifyAuditDb(const std::string& dir, const AuditHead& expect, const std::string& output) {
  if (!std::filesystem::is_directory(dir)) {
    std::fprintf(stderr, "no actions database at %s\n", dir.c_str());
    return 1;
  }
  auto db = actions::ActionsDb::Open(dir);
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n(a running collector holds its database: stop it or verify a copy)\n",
                 db.status().message().c_str());
    return 1;
  }
  auto log = actions::AuditLog::Open(**db, Clock::Real());
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().message().c_str());
    return 1;
  }
  auto v = (*log)->Verify();
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", v.status().message().c_str());
    return 1;
  }
  actions::AuditVerification result = *v;
  if (result.ok && expect.seq != 0) {
    // The stored chain is intact; it must also still pass through `expect`.
    actions::AuditQuery q;
    q.after_seq = expect.seq - 1;
    q.limit = 1;
    auto entries = (*log)->List(q);
    if (!entries.ok()) {
      std::fprintf(stderr, "%s\n", entries.status().message().c_str());
      return 1;
    }
    if (entries->empty() || entries->front().seq != expect.seq) {
      result.ok = false;
      result.first_bad_seq = result.last_seq + 1;
      result.problem = "entry " + std::to_string(expect.seq) + ": missing, the chain ends at " +
                       std::to_string(result.last_seq) + " (newest removed)";
    } else if (entries->front().hash != expect.hash) {
      // The chain is intact, so the entry's prev_hash is its predecessor's hash.
      result.ok = false;
      result.first_bad_seq = expect.seq;
      result.entries_checked = expect.seq - 1;
      result.last_seq = expect.seq - 1;
      result.head_hash = entries->front().prev_hash;
      result.problem = "entry " + std::to_string(expect.seq) +
                       ": differs from the expected head (chain rewritten)";
    }
  }
  return ReportVerification(result, output);
}

}  // namespace vitals::ctl
