#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::agent {

enum class DnsRecordType { kA, kAaaa };

// What a `kind: dns` check does: ask a DNS server for the A or AAAA records
// of a name, over UDP, bounded by the deadline.
//
// The check talks to the DNS servers directly (it does not go through
// getaddrinfo), so it measures the DNS service itself: /etc/hosts and the
// search list do not apply and `name` is queried as given. The one exception
// is "localhost" (and names under it) when no `server` is configured: as RFC
// 6761 asks of resolvers, it answers 127.0.0.1 / ::1 without a query.
struct DnsCheckOptions {
  std::string name;  // The name to look up; `query_name` in configuration.
  DnsRecordType record_type = DnsRecordType::kA;
  // Addresses that must all be in the answer, in canonical text form
  // (inet_ntop); empty: any non-empty answer is OK.
  std::vector<std::string> expect;
  // The server to ask, as "address" or "address:port" ("[v6]:port"); empty:
  // the nameservers of `resolv_conf_path`, tried in order, each getting an
  // equal share of the time left.
  std::string server;
  std::string resolv_conf_path = "/etc/resolv.conf";
};

// Returns a check that is OK when the answer holds at least one record of the
// type (and every `expect` address), CRITICAL on NXDOMAIN, an error response,
// an empty or unexpected answer, or no answer by the deadline. Samples:
// vitals_check_dns_duration_seconds (absent for localhost), vitals_check_dns_answers.
// InvalidArgument for a malformed name or server.
Result<std::unique_ptr<Check>> NewDnsCheck(DnsCheckOptions options);

// Reads `query_name` (required; `name` is the check's own name), `record_type` (A or AAAA, default
// A), `expect` (a list of addresses of that family) and `server`. InvalidArgument naming file, line
// and key for a malformed name, type, address or server.
Result<std::unique_ptr<Check>> CreateDnsCheck(const CheckSpec& spec, ConfigMap& fields);

}  // namespace vitals::agent
