#include "agent/checks/tcp_check.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <optional>

#include "agent/checks/check_common.h"

namespace vitals::agent {

using Steady = std::chrono::steady_clock;

Status SplitHostPort(const std::string& address, std::string* host, uint16_t* port) {
  std::string_view port_text;
  if (address.starts_with('[')) {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Status::InvalidArgument("expected [ipv6-address]:port, got \"" + address + "\"");
    }
    *host = address.substr(1, close - 1);
    port_text = std::string_view(address).substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) {
      return Status::InvalidArgument("expected host:port (an IPv6 address in brackets), got \"" +
                                     address + "\"");
    }
    *host = address.substr(0, colon);
    port_text = std::string_view(address).substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (host->empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      value == 0 || value > 65535) {
    return Status::InvalidArgument("expected host:port with a port in 1..65535, got \"" + address +
                                   "\"");
  }
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

namespace {

// The same help text as the database checks, which share this metric.
// How much of the reply is kept while looking for `expect`.
constexpr size_t kMaxReplyBytes = 64 * 1024;

// A short, printable excerpt of what the peer sent, for messages.
std::string Excerpt(std::string_view data) {
  std::string out;
  for (char c : data.substr(0, 60)) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      out += '?';
    else
      out += c;
  }
  if (data.size() > 60) out += "...";
  return out;
}

class TcpCheck final : public Check {
 public:
  explicit TcpCheck(TcpCheckOptions options)
      : options_(std::move(options)),
        target_(options_.host.find(':') != std::string::npos
                    ? "[" + options_.host + "]:" + std::to_string(options_.port)
                    : options_.host + ":" + std::to_string(options_.port)) {}

  CheckOutcome Run(Steady::time_point deadline_point) override {
    RunDeadline deadline(deadline_point);
    CheckOutcome outcome;
    outcome.status = CheckStatus::kCritical;
    Result<std::vector<SocketAddress>> resolved = Resolve(options_.host, options_.port, deadline);
    if (!resolved.ok()) {
      outcome.message = resolved.status().message();
      return outcome;
    }
    UniqueFd fd;
    std::string error;
    for (const SocketAddress& ep : *resolved) {
      const auto started = Steady::now();
      Result<UniqueFd> connected = ConnectTo(ep, deadline);
      if (!connected.ok()) {
        error = connected.status().message();
        if (deadline.Expired()) break;
        continue;
      }
      fd = std::move(connected).value();
      outcome.samples.Add(kConnectDurationDesc, {},
                          std::chrono::duration<double>(Steady::now() - started).count());
      break;
    }
    if (!fd.valid()) {
      outcome.message = "connect to " + target_ + ": " + error;
      return outcome;
    }
    if (options_.send) {
      if (Status sent = SendAll(fd.get(), *options_.send, deadline); !sent.ok()) {
        outcome.message = "send to " + target_ + ": " + sent.message();
        return outcome;
      }
    }
    if (options_.expect) {
      if (auto expect_error = ReadUntilExpected(fd.get(), deadline)) {
        outcome.message = target_ + ": " + *expect_error;
        return outcome;
      }
    }
    outcome.status = CheckStatus::kOk;
    return outcome;
  }

 private:
  // Reads until `expect` is seen; a message saying why not otherwise.
  std::optional<std::string> ReadUntilExpected(int fd, const RunDeadline& deadline) {
    const std::string& expect = *options_.expect;
    const std::string quoted = "\"" + Excerpt(expect) + "\"";
    std::string reply;
    char buf[4096];
    while (reply.find(expect) == std::string::npos) {
      if (reply.size() >= kMaxReplyBytes) {
        return quoted + " not found in the first " + std::to_string(kMaxReplyBytes) +
               " bytes of the reply";
      }
      if (Status ready = WaitFor(fd, POLLIN, deadline); !ready.ok()) {
        return ready.message() + " waiting for " + quoted + " (received \"" + Excerpt(reply) +
               "\")";
      }
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return "receive: " + ErrnoMessage(errno);
      }
      if (n == 0) {
        return "connection closed before " + quoted + " was received (received \"" +
               Excerpt(reply) + "\")";
      }
      reply.append(buf, static_cast<size_t>(n));
    }
    return std::nullopt;
  }

  const TcpCheckOptions options_;
  const std::string target_;  // host:port for messages.
};

}  // namespace

std::unique_ptr<Check> NewTcpCheck(TcpCheckOptions options) {
  return std::make_unique<TcpCheck>(std::move(options));
}

Result<std::unique_ptr<Check>> CreateTcpCheck(const CheckSpec& spec, ConfigMap& fields) {
  TcpCheckOptions options;
  std::string address;
  RETURN_IF_ERROR(fields.ReadString("address", &address, Presence::kRequired));
  Status split = SplitHostPort(address, &options.host, &options.port);
  if (!split.ok()) return fields.Error("address", split.message());
  std::string send, expect;
  RETURN_IF_ERROR(fields.ReadString("send", &send));
  RETURN_IF_ERROR(fields.ReadString("expect", &expect));
  if (fields.Has("send")) options.send = send;
  if (fields.Has("expect")) {
    if (expect.empty()) return fields.Error("expect", "must not be empty");
    options.expect = expect;
  }
  return NewTcpCheck(std::move(options));
}

}  // namespace vitals::agent
