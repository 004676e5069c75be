#include "agent/checks/redis_check.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/checks/check_common.h"
#include "agent/checks/secret.h"
#include "agent/checks/shared_library.h"
#include "agent/checks/tcp_check.h"

namespace vitals::agent {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// The hiredis functions the check uses, loaded with the first redis check.
// clang-format off
#define VITALS_HIREDIS_FUNCTIONS(F)                                                   \
  F(freeReplyObject) F(redisCommandArgv) F(redisConnectUnixWithTimeout)             \
  F(redisConnectWithTimeout) F(redisFree) F(redisSetTimeout)
// clang-format on

VITALS_LIBRARY_API(HiredisApi, VITALS_HIREDIS_FUNCTIONS);

// Loads hiredis on the first call; later calls return the same outcome.
Result<const HiredisApi*> LoadHiredis() { return LoadLibraryOnce<HiredisApi>(kHiredisSoname); }

// REQUIRES: LoadHiredis succeeded, which CreateRedisCheck makes sure of
// before any of the code below runs.
const HiredisApi& Redis() { return **LoadHiredis(); }

const MetricDesc kRedisRole{"vitals_check_redis_role", MetricType::kGauge,
                            "Replication role reported by INFO replication, in the role label; "
                            "always 1."};

struct RedisContextDeleter {
  void operator()(redisContext* context) const { Redis().redisFree(context); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const { Redis().freeReplyObject(reply); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// The time left as a hiredis timeout, or nullopt once it is up. Never zero,
// which hiredis and the socket options would take as "no timeout".
std::optional<timeval> TimeLeft(const RunDeadline& deadline) {
  const auto left =
      std::chrono::ceil<std::chrono::microseconds>(deadline.deadline() - SteadyClock::now());
  if (left <= 0us) return std::nullopt;
  return timeval{static_cast<time_t>(left.count() / 1'000'000),
                 static_cast<suseconds_t>(left.count() % 1'000'000)};
}

// Whether hiredis failed because its connect or socket timeout ran out.
bool IsTimeout(const redisContext* context, const RunDeadline& deadline) {
  const int e = errno;
  return deadline.Expired() ||
         (context->err == REDIS_ERR_IO && (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT));
}

// A reply for a one-line message: its text, quoted unless it is an error.
std::string Describe(const redisReply* reply) {
  switch (reply->type) {
    case REDIS_REPLY_ERROR:
      return std::string(reply->str, reply->len);
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_STRING:
      return "\"" + std::string(reply->str, std::min<size_t>(reply->len, 80)) + "\"";
    case REDIS_REPLY_INTEGER:
      return std::to_string(reply->integer);
    case REDIS_REPLY_NIL:
      return "nil";
    default:
      return "an array";
  }
}

// The value of `role:` in an INFO replication reply, or "".
std::string RoleFromInfo(std::string_view info) {
  constexpr std::string_view kKey = "role:";
  size_t pos = info.starts_with(kKey) ? 0 : info.find("\nrole:");
  if (pos == std::string_view::npos) return "";
  pos = info.find(':', pos) + 1;
  const size_t end = std::min(info.find_first_of("\r\n", pos), info.size());
  return std::string(info.substr(pos, end - pos));
}

class RedisCheck final : public Check {
 public:
  struct Options {
    std::string host;  // Empty when unix_socket is set.
    uint16_t port = 0;
    std::string unix_socket;  // Empty for TCP.
    std::optional<std::string> password;
    std::string username;     // Empty for plain AUTH <password>.
    std::string expect_role;  // "", "master" or "slave".
  };

  explicit RedisCheck(Options options) : options_(std::move(options)) {}

  CheckOutcome Run(SteadyClock::time_point run_deadline) override {
    const auto start = SteadyClock::now();
    const RunDeadline deadline(run_deadline);
    CheckOutcome outcome;
    outcome.status = CheckStatus::kCritical;
    Result<RedisContextPtr> context = Connect(deadline);
    if (!context.ok()) {
      outcome.message = context.status().message();
      return outcome;
    }
    redisContext* const c = context->get();
    if (options_.password) {
      std::vector<std::string> auth = {"AUTH"};
      if (!options_.username.empty()) auth.push_back(options_.username);
      auth.push_back(*options_.password);
      Result<RedisReplyPtr> reply = Command(c, deadline, "authentication", auth);
      if (!reply.ok()) {
        outcome.message = reply.status().message();
        return outcome;
      }
      if ((*reply)->type == REDIS_REPLY_ERROR) {
        outcome.message = "authentication failed: " + Describe(reply->get());
        return outcome;
      }
    }
    outcome.samples.Add(kConnectDurationDesc, {}, Seconds(SteadyClock::now() - start));

    Result<RedisReplyPtr> pong = Command(c, deadline, "PING", {"PING"});
    if (!pong.ok()) {
      outcome.message = pong.status().message();
      return outcome;
    }
    const redisReply* p = pong->get();
    if (p->type != REDIS_REPLY_STATUS || std::string_view(p->str, p->len) != "PONG") {
      outcome.message =
          "PING: " + Describe(p) + (p->type == REDIS_REPLY_ERROR ? "" : ", expected PONG");
      return outcome;
    }
    if (!options_.expect_role.empty()) {
      outcome.message = CheckRole(c, deadline, &outcome.samples);
      if (!outcome.message.empty()) return outcome;
    }
    outcome.status = CheckStatus::kOk;
    return outcome;
  }

 private:
  std::string Where() const {
    if (!options_.unix_socket.empty()) return options_.unix_socket;
    const bool v6 = options_.host.find(':') != std::string::npos;
    return (v6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(options_.port);
  }

  Result<RedisContextPtr> Connect(const RunDeadline& deadline) const {
    const std::optional<timeval> left = TimeLeft(deadline);
    if (!left) return Status::Unavailable(TimedOutDuring(deadline, "connect"));
    RedisContextPtr context(
        options_.unix_socket.empty()
            ? Redis().redisConnectWithTimeout(options_.host.c_str(), options_.port, *left)
            : Redis().redisConnectUnixWithTimeout(options_.unix_socket.c_str(), *left));
    if (!context) return Status::Unavailable("connect to " + Where() + ": out of memory");
    if (context->err != 0) {
      if (IsTimeout(context.get(), deadline)) {
        return Status::Unavailable(TimedOutDuring(deadline, "connect"));
      }
      // Lower-cased like the tcp check's messages: "connection refused".
      std::string reason = context->errstr;
      if (!reason.empty()) {
        reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
      }
      return Status::Unavailable("connect to " + Where() + ": " + reason);
    }
    return context;
  }

  // Sends one command, waiting at most the time left. Returns the reply (an
  // error reply included), or the failure message naming `what`.
  static Result<RedisReplyPtr> Command(redisContext* c, const RunDeadline& deadline,
                                       std::string_view what,
                                       const std::vector<std::string>& args) {
    const std::optional<timeval> left = TimeLeft(deadline);
    if (!left) return Status::Unavailable(TimedOutDuring(deadline, what));
    if (Redis().redisSetTimeout(c, *left) != REDIS_OK) {
      return Status::Unavailable(std::string(what) + ": " + c->errstr);
    }
    std::vector<const char*> argv;
    std::vector<size_t> argv_len;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      argv_len.push_back(arg.size());
    }
    RedisReplyPtr reply(static_cast<redisReply*>(
        Redis().redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), argv_len.data())));
    if (!reply) {
      if (IsTimeout(c, deadline)) return Status::Unavailable(TimedOutDuring(deadline, what));
      return Status::Unavailable(std::string(what) + ": " + c->errstr);
    }
    return reply;
  }

  // Compares the role from INFO replication with expect_role and adds the
  // role sample. Returns "" when it matches, else why not.
  std::string CheckRole(redisContext* c, const RunDeadline& deadline, SampleSet* samples) const {
    Result<RedisReplyPtr> info = Command(c, deadline, "INFO replication", {"INFO", "replication"});
    if (!info.ok()) return info.status().message();
    const redisReply* r = info->get();
    if (r->type != REDIS_REPLY_STRING) return "INFO replication: " + Describe(r);
    const std::string role = RoleFromInfo(std::string_view(r->str, r->len));
    if (role.empty()) return "INFO replication: no role in the reply";
    samples->Add(kRedisRole, {{"role", role}}, 1);
    if (role == options_.expect_role) return "";
    const std::string expected = options_.expect_role == "slave" ? "replica" : options_.expect_role;
    return "role is \"" + role + "\", expected \"" + expected + "\"";
  }

  const Options options_;
};

}  // namespace

Result<std::unique_ptr<Check>> CreateRedisCheck(const CheckSpec& spec, ConfigMap& fields) {
  if (auto loaded = LoadHiredis(); !loaded.ok()) {
    return fields.Error("kind", "redis checks: " + loaded.status().message());
  }
  RedisCheck::Options options;
  std::string address;
  RETURN_IF_ERROR(fields.ReadString("address", &address));
  RETURN_IF_ERROR(fields.ReadString("unix_socket", &options.unix_socket));
  if (address.empty() == options.unix_socket.empty()) {
    return fields.Error(address.empty() ? "" : "unix_socket",
                        "give exactly one of address (host:port) and unix_socket");
  }
  if (!address.empty()) {
    Status split = SplitHostPort(address, &options.host, &options.port);
    if (!split.ok()) return fields.Error("address", split.message());
  }

  ASSIGN_OR_RETURN(options.password, ReadSecret(fields, "password"));
  RETURN_IF_ERROR(fields.ReadString("username", &options.username));
  if (!options.username.empty() && !options.password) {
    return fields.Error("username", "needs password_file or password_env");
  }

  std::string role;
  RETURN_IF_ERROR(fields.ReadString("expect_role", &role));
  if (role == "replica") role = "slave";  // INFO says slave, even in Redis 7.
  if (!role.empty() && role != "master" && role != "slave") {
    return fields.Error("expect_role", "must be master, replica or slave, not \"" + role + "\"");
  }
  options.expect_role = std::move(role);

  return std::unique_ptr<Check>(std::make_unique<RedisCheck>(std::move(options)));
}

}  // namespace vitals::agent
