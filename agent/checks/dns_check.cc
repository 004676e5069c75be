#include "agent/checks/dns_check.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <variant>

#include "agent/checks/tcp_check.h"

namespace vitals::agent {
namespace {

using Steady = std::chrono::steady_clock;

const MetricDesc kDnsDuration{"vitals_check_dns_duration_seconds", MetricType::kGauge,
                              "Time from sending the DNS query of the last run of a check to "
                              "receiving the answer, in seconds."};
const MetricDesc kDnsAnswers{"vitals_check_dns_answers", MetricType::kGauge,
                             "Number of records of the queried type in the last answer."};

constexpr uint16_t kDnsPort = 53;
constexpr size_t kMaxNameservers = 3;  // As glibc's MAXNS.

int Family(DnsRecordType type) { return type == DnsRecordType::kA ? AF_INET : AF_INET6; }
uint16_t QueryType(DnsRecordType type) { return type == DnsRecordType::kA ? ns_t_a : ns_t_aaaa; }
std::string TypeName(DnsRecordType type) { return type == DnsRecordType::kA ? "A" : "AAAA"; }

// The canonical text of an address of `family`, or nothing if `text` is not one.
std::optional<std::string> CanonicalAddress(int family, const std::string& text) {
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(family, text.c_str(), buf) != 1) return std::nullopt;
  char out[INET6_ADDRSTRLEN];
  return std::string(inet_ntop(family, buf, out, sizeof(out)));
}

struct Server {
  SocketAddress address;
  std::string text;  // For messages.
};

std::optional<Server> MakeServer(const std::string& host, uint16_t port) {
  auto address = ParseIpLiteral(host, port);
  if (!address) return std::nullopt;
  const bool v6 = address->addr.ss_family == AF_INET6;
  return Server{*address, (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port)};
}

// "10.0.0.53", "10.0.0.53:5353", "[fd00::53]:53" or "fd00::53".
Result<Server> ParseServer(const std::string& text) {
  if (auto bare = MakeServer(text, kDnsPort)) return *bare;
  std::string host;
  uint16_t port = 0;
  RETURN_IF_ERROR(SplitHostPort(text, &host, &port));
  if (auto server = MakeServer(host, port)) return *server;
  return Status::InvalidArgument("expected an IP address with an optional port, got \"" + text +
                                 "\"");
}

// The nameservers listed in a resolv.conf, at most three as glibc reads;
// 127.0.0.1 when there are none, as glibc assumes.
std::vector<Server> ReadNameservers(const std::string& path) {
  std::vector<Server> servers;
  std::ifstream in(path);
  std::string line;
  while (servers.size() < kMaxNameservers && std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, address;
    if (!(words >> keyword >> address) || keyword != "nameserver") continue;
    if (size_t scope = address.find('%'); scope != std::string::npos) address.resize(scope);
    if (auto server = MakeServer(address, kDnsPort)) servers.push_back(*server);
  }
  if (servers.empty()) servers.push_back(*MakeServer("127.0.0.1", kDnsPort));
  return servers;
}

// Checks a name's syntax as DNS encodes it: labels of 1..63 bytes, 253 in all.
Status ValidateName(const std::string& name) {
  std::string_view rest(name);
  if (rest.ends_with('.')) rest.remove_suffix(1);
  if (rest.empty() || rest.size() > 253) return Status::InvalidArgument("not a valid DNS name");
  while (!rest.empty()) {
    size_t dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63) {
      return Status::InvalidArgument("not a valid DNS name: labels must have 1 to 63 characters");
    }
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  return Status::Ok();
}

bool IsLocalhost(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.ends_with('.')) name.pop_back();
  return name == "localhost" || name.ends_with(".localhost");
}

// A standard query with recursion desired. REQUIRES: ValidateName(name).ok().
std::string BuildQuery(uint16_t id, const std::string& name, uint16_t qtype) {
  std::string q;
  auto put16 = [&q](uint16_t v) {
    q += static_cast<char>(v >> 8);
    q += static_cast<char>(v & 0xff);
  };
  put16(id);
  put16(0x0100);  // RD.
  put16(1);       // QDCOUNT.
  put16(0);
  put16(0);
  put16(0);
  std::string_view rest(name);
  if (rest.ends_with('.')) rest.remove_suffix(1);
  while (!rest.empty()) {
    size_t dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    q += static_cast<char>(label.size());
    q += label;
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  q += '\0';
  put16(qtype);
  put16(ns_c_in);
  return q;
}

// A response from one server.
struct Answer {
  int rcode = 0;
  bool truncated = false;
  std::vector<std::string> addresses;
  double seconds = 0;
};

// Sends the query to `server` and waits for the matching response until
// `deadline`; an error message otherwise.
std::variant<Answer, std::string> Query(const Server& server, const std::string& query, uint16_t id,
                                        DnsRecordType type, const RunDeadline& deadline) {
  const SocketAddress& to = server.address;
  UniqueFd fd(::socket(to.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoMessage(errno);
  // A connected UDP socket only receives from the server and reports an ICMP
  // port unreachable as ECONNREFUSED.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0) {
    return ErrnoMessage(errno);
  }
  const auto sent = Steady::now();
  if (::send(fd.get(), query.data(), query.size(), 0) < 0) return ErrnoMessage(errno);
  unsigned char buf[4096];
  while (true) {
    pollfd p{fd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, deadline.PollMillis());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoMessage(errno);
    if (n == 0) return deadline.TimedOutMessage();
    ssize_t len = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (len < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return ErrnoMessage(errno);
    }
    ns_msg msg;
    if (ns_initparse(buf, static_cast<int>(len), &msg) != 0 || ns_msg_id(msg) != id ||
        !ns_msg_getflag(msg, ns_f_qr)) {
      continue;  // Not the answer to this query (late, spoofed or garbage).
    }
    Answer answer;
    answer.seconds = std::chrono::duration<double>(Steady::now() - sent).count();
    answer.rcode = ns_msg_getflag(msg, ns_f_rcode);
    answer.truncated = ns_msg_getflag(msg, ns_f_tc) != 0;
    const size_t want_len = type == DnsRecordType::kA ? sizeof(in_addr) : sizeof(in6_addr);
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
      ns_rr rr;
      if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) break;
      if (ns_rr_type(rr) != QueryType(type) || ns_rr_class(rr) != ns_c_in ||
          ns_rr_rdlen(rr) != want_len) {
        continue;  // CNAMEs on the way, and anything else.
      }
      char text[INET6_ADDRSTRLEN];
      answer.addresses.emplace_back(inet_ntop(Family(type), ns_rr_rdata(rr), text, sizeof(text)));
    }
    return answer;
  }
}

std::string RcodeName(int rcode) {
  switch (rcode) {
    case ns_r_formerr:
      return "FORMERR";
    case ns_r_servfail:
      return "SERVFAIL";
    case ns_r_nxdomain:
      return "NXDOMAIN";
    case ns_r_notimpl:
      return "NOTIMP";
    case ns_r_refused:
      return "REFUSED";
    default:
      return "RCODE " + std::to_string(rcode);
  }
}

std::string JoinAddresses(const std::vector<std::string>& addresses) {
  std::string out;
  for (size_t i = 0; i < addresses.size() && i < 8; ++i) {
    if (i > 0) out += ", ";
    out += addresses[i];
  }
  if (addresses.size() > 8) out += ", ...";
  return out;
}

class DnsCheck final : public Check {
 public:
  explicit DnsCheck(DnsCheckOptions options, std::optional<Server> server)
      : options_(std::move(options)),
        server_(std::move(server)),
        question_(TypeName(options_.record_type) + " " + options_.name),
        rng_(std::random_device{}()) {}

  CheckOutcome Run(Steady::time_point deadline_point) override {
    RunDeadline deadline(deadline_point);
    if (!server_ && IsLocalhost(options_.name)) {
      Answer answer;
      answer.addresses.push_back(options_.record_type == DnsRecordType::kA ? "127.0.0.1" : "::1");
      return Evaluate(answer);
    }
    const std::vector<Server> servers =
        server_ ? std::vector<Server>{*server_} : ReadNameservers(options_.resolv_conf_path);
    const auto id = static_cast<uint16_t>(rng_());
    const std::string query = BuildQuery(id, options_.name, QueryType(options_.record_type));
    std::string error;
    for (size_t i = 0; i < servers.size(); ++i) {
      // Each server left gets an equal share of the time left.
      const auto share =
          (deadline.deadline() - Steady::now()) / static_cast<int>(servers.size() - i);
      RunDeadline server_deadline(Steady::now() + share);
      auto result = Query(servers[i], query, id, options_.record_type, server_deadline);
      if (auto* answer = std::get_if<Answer>(&result)) {
        // NOERROR and NXDOMAIN are definitive; other codes mean "ask the next one".
        if (answer->rcode == ns_r_noerror || answer->rcode == ns_r_nxdomain ||
            i + 1 == servers.size()) {
          return Evaluate(*answer, servers[i].text);
        }
        error = servers[i].text + " answered " + RcodeName(answer->rcode);
      } else {
        error = servers[i].text + ": " + std::get<std::string>(result);
      }
      if (deadline.Expired()) break;
    }
    CheckOutcome outcome;
    outcome.status = CheckStatus::kCritical;
    outcome.message = question_ + ": " + error;
    return outcome;
  }

 private:
  CheckOutcome Evaluate(const Answer& answer, const std::string& server = "") {
    CheckOutcome outcome;
    outcome.status = CheckStatus::kCritical;
    const std::string from = server.empty() ? question_ : question_ + " from " + server;
    if (answer.rcode != ns_r_noerror) {
      outcome.message = from + ": " + RcodeName(answer.rcode);
      return outcome;
    }
    if (!server.empty()) outcome.samples.Add(kDnsDuration, {}, answer.seconds);
    outcome.samples.Add(kDnsAnswers, {}, static_cast<double>(answer.addresses.size()));
    if (answer.addresses.empty()) {
      outcome.message = from + ": no " + TypeName(options_.record_type) + " records" +
                        (answer.truncated ? " (answer truncated)" : "");
      return outcome;
    }
    for (const std::string& want : options_.expect) {
      if (std::find(answer.addresses.begin(), answer.addresses.end(), want) ==
          answer.addresses.end()) {
        outcome.message =
            from + ": answer " + JoinAddresses(answer.addresses) + " does not include " + want;
        return outcome;
      }
    }
    outcome.status = CheckStatus::kOk;
    outcome.message = JoinAddresses(answer.addresses);
    return outcome;
  }

  const DnsCheckOptions options_;
  const std::optional<Server> server_;  // Parsed options_.server.
  const std::string question_;          // "A example.com", for messages.
  std::minstd_rand rng_;                // Query ids; Run is never concurrent.
};

}  // namespace

Result<std::unique_ptr<Check>> NewDnsCheck(DnsCheckOptions options) {
  RETURN_IF_ERROR(ValidateName(options.name));
  std::optional<Server> server;
  if (!options.server.empty()) {
    ASSIGN_OR_RETURN(server, ParseServer(options.server));
  }
  return std::unique_ptr<Check>(std::make_unique<DnsCheck>(std::move(options), std::move(server)));
}

Result<std::unique_ptr<Check>> CreateDnsCheck(const CheckSpec& spec, ConfigMap& fields) {
  DnsCheckOptions options;
  // `name` is the check's own name, so the name to look up is `query_name`.
  RETURN_IF_ERROR(fields.ReadString("query_name", &options.name, Presence::kRequired));
  if (Status st = ValidateName(options.name); !st.ok()) {
    return fields.Error("query_name", st.message());
  }
  std::string type = "A";
  RETURN_IF_ERROR(fields.ReadString("record_type", &type));
  if (type == "A") {
    options.record_type = DnsRecordType::kA;
  } else if (type == "AAAA") {
    options.record_type = DnsRecordType::kAaaa;
  } else {
    return fields.Error("record_type", "expected A or AAAA, got \"" + type + "\"");
  }
  std::vector<std::string> expect;
  RETURN_IF_ERROR(fields.ReadStringList("expect", &expect));
  for (const std::string& address : expect) {
    auto canonical = CanonicalAddress(Family(options.record_type), address);
    if (!canonical) {
      return fields.Error("expect", "\"" + address + "\" is not an IPv" +
                                        (options.record_type == DnsRecordType::kA ? "4" : "6") +
                                        " address");
    }
    options.expect.push_back(*canonical);
  }
  RETURN_IF_ERROR(fields.ReadString("server", &options.server));
  if (!options.server.empty()) {
    if (auto parsed = ParseServer(options.server); !parsed.ok()) {
      return fields.Error("server", parsed.status().message());
    }
  }
  return NewDnsCheck(std::move(options));
}

}  // namespace vitals::agent
