#pragma once

// Real database servers for the integration tests of the database checks:
// PostgreSQL, MariaDB and Redis as installed by scripts/setup (Debian
// packages), each instance on a free loopback port with its data in its own
// temporary directory, so tests run in parallel. When the tests run as root,
// PostgreSQL runs as the `postgres` system user (it refuses root) and MariaDB
// with --user=root. Destructors stop the server (a signal, then SIGKILL if it
// lingers) and delete its directory. Nothing here is thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/status.h"

namespace vitals::testing {

// A fresh directory (mode 0755) under $TMPDIR, or under /tmp when running as
// root so that a server running as another user can reach it; removed with
// its contents on destruction. Set VITALS_KEEP_TEST_DIRS=1 to keep it.
class ScratchDir {
 public:
  // `prefix` names the directory: /tmp/vitals-<prefix>-XXXXXX. Aborts the test
  // binary if it cannot be created (a broken test environment).
  explicit ScratchDir(std::string_view prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name; creates nothing.
  std::string File(std::string_view name) const;
  // Writes `contents` to File(name) and returns its path. Aborts on I/O errors.
  std::string WriteFile(std::string_view name, std::string_view contents) const;

 private:
  std::string path_;
};

class ChildProcess;  // A server process; defined in db_servers.cc.

// A PostgreSQL server (initdb, then postgres) with fsync off, TCP on
// 127.0.0.1 and its Unix socket in its directory. Clients on TCP authenticate
// with scram-sha-256 as user `postgres` with password().
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();  // Stop().
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Creates the cluster and starts the server; returns once it accepts
  // connections. False with the reason (and the server's log) in *error.
  bool Start(std::string* error);
  // Shuts the server down (fast mode: clients are disconnected) and waits for
  // it to exit, so that connections are refused afterwards. Idempotent.
  void Stop();
  // Stops the server if it runs and starts it again on the same port with the
  // same data; returns once it accepts connections. False with the reason in
  // *error, e.g. when another process took the port meanwhile.
  // REQUIRES: Start() succeeded.
  bool Restart(std::string* error);

  int port() const { return port_; }
  const std::string& password() const { return password_; }
  // A libpq connection string for user postgres over TCP, e.g.
  // "host=127.0.0.1 port=N user=postgres password=... dbname=postgres connect_timeout=5".
  std::string Dsn() const { return DsnWithPassword(password_); }
  std::string DsnWithPassword(std::string_view password) const;
  const ScratchDir& dir() const { return dir_; }
  // The server's output so far, for failure messages.
  std::string Log() const;

 private:
  ScratchDir dir_;
  bool AcceptsConnections() const;

  std::string password_ = "pg-test-secret";
  int port_ = 0;
  // Starts postgres on a port; set by Start().
  std::function<std::unique_ptr<ChildProcess>(int port, std::string* error)> start_process_;
  std::unique_ptr<ChildProcess> process_;
};

// A MariaDB server on 127.0.0.1 and a Unix socket in its directory, with a
// user `vitals` (password()) allowed everything from anywhere. The system
// tables are bootstrapped without the help tables and the sys schema, which
// checks do not need and which take most of mariadb-install-db's time.
class MariaDbServer {
 public:
  MariaDbServer();
  ~MariaDbServer();  // Stop().
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  // Bootstraps the data directory and starts mariadbd; returns once user
  // vitals can log in. False with the reason (and the log) in *error.
  bool Start(std::string* error);
  // SIGTERM, then waits for the server to exit. Idempotent.
  void Stop();

  int port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& socket_path() const { return socket_path_; }
  // mysql://vitals:<password>@127.0.0.1:<port>/mysql
  std::string Url() const { return UrlWithPassword(password_); }
  std::string UrlWithPassword(std::string_view password) const;
  const ScratchDir& dir() const { return dir_; }
  std::string Log() const;

 private:
  ScratchDir dir_;
  std::string user_ = "vitals";
  std::string password_ = "maria-test-secret";
  std::string socket_path_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// A Redis server on 127.0.0.1 and a Unix socket in its directory, without
// persistence.
class RedisServer {
 public:
  struct Options {
    std::string password;  // If set, --requirepass: AUTH <password>.
    // If set, an ACL user with every permission: AUTH <acl_user> <acl_password>.
    std::string acl_user;
    std::string acl_password;
  };

  RedisServer();
  ~RedisServer();  // Stop().
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server; returns once it answers. False with the reason (and
  // the log) in *error.
  bool Start(std::string* error) { return Start(Options(), error); }
  bool Start(const Options& options, std::string* error);
  // SIGTERM, then waits for the server to exit. Idempotent.
  void Stop();

  int port() const { return port_; }
  std::string address() const;  // 127.0.0.1:<port>
  const std::string& socket_path() const { return socket_path_; }
  const ScratchDir& dir() const { return dir_; }
  std::string Log() const;

 private:
  ScratchDir dir_;
  std::string socket_path_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// A TCP listener on 127.0.0.1 that never accepts: the kernel completes the
// handshake, so clients connect, and then nothing ever answers them. Stands in
// for a hung server to prove that a check is cut off at its deadline.
class HungTcpListener {
 public:
  HungTcpListener();  // Aborts the test binary if it cannot listen.
  ~HungTcpListener();
  HungTcpListener(const HungTcpListener&) = delete;
  HungTcpListener& operator=(const HungTcpListener&) = delete;

  int port() const { return port_; }
  std::string address() const;  // 127.0.0.1:<port>

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

// --- Running checks ---------------------------------------------------------

// The first entry of `checks:` in `yaml`, read as agent.yml would be.
Result<ConfigMap> FirstCheckEntry(const std::string& yaml);

// What Run returned and how long it took.
struct TimedOutcome {
  agent::CheckOutcome outcome;
  std::chrono::milliseconds elapsed{0};
};

// How much later than its deadline a check that was cut off may return in
// these tests. The cut-off itself is exact; the slack is for a CI machine
// running many test processes on two cores, where a woken thread can wait
// hundreds of milliseconds for a CPU. A check that ignored its deadline would
// wait for the hung server for good and still fail.
inline constexpr std::chrono::milliseconds kCutOffSlack{1000};

// Runs `check` once with a deadline `timeout` from now.
TimedOutcome RunCheck(agent::Check& check, std::chrono::milliseconds timeout);

}  // namespace vitals::testing
