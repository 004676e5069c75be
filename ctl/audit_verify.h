#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "ctl/api_client.h"

// vitalsctl audit verify: checks the actions layer's hash-chained audit log
// (actions/audit_log.h) outside the collector that wrote it, online over
// /api/v1/audit or offline in its database directory.
namespace vitals::ctl {

// A head of the audit log recorded earlier: the chain must still pass
// through it (see actions::AuditChainVerifier::ExpectHead).
struct AuditHead {
  uint64_t seq = 0;  // 0: none.
  std::string hash;
};

// Parses "<seq>:<64 lowercase hex digits>"; InvalidArgument otherwise.
Result<AuditHead> ParseAuditHead(const std::string& text);

// Fetches every entry from `client`'s /api/v1/audit, 1000 at a time, and
// checks the chain as it arrives (actions::AuditChainVerifier): it must pass
// through `expect` when given, else reach the head the collector announced
// on the first page. Prints "audit log OK: N entries, head <hash>" or the
// problem (`output` "json": the verification as JSON). Returns the exit
// status: 0 intact, 1 broken or when the collector failed to answer.
int VerifyAuditOnline(const ApiClient& client, const AuditHead& expect, const std::string& output);

// The same for an actions database directory (the collector's
// <storage.path>/actions), read directly: the collector must not hold it.
int VerifyAuditDb(const std::string& dir, const AuditHead& expect, const std::string& output);

}  // namespace vitals::ctl
