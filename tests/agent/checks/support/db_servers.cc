#include "tests/agent/checks/support/db_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

namespace vitals::testing {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kStartTimeout = 30s;     // Until a server accepts connections.
constexpr auto kSetupTimeout = 60s;     // initdb, mariadbd --bootstrap.
constexpr auto kStopGracePeriod = 10s;  // Before SIGKILL.
constexpr int kStartAttempts = 3;       // A free port may be taken before the server binds it.

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "db_servers: %s: %s\n", what.c_str(), std::strerror(errno));
  std::abort();
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The end of a log, for failure messages.
std::string Tail(const std::string& text) {
  constexpr size_t kMaxBytes = 3000;
  return text.size() <= kMaxBytes ? text : "..." + text.substr(text.size() - kMaxBytes);
}

// Polls `ready` every 10ms until it returns true (true) or `timeout` passes.
bool PollUntil(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (ready()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// One line per server start, so slow start-ups show in test logs.
void ReportStartUp(std::string_view server, int port, SteadyClock::time_point begin) {
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - begin).count();
  std::fprintf(stderr, "db_servers: %.*s ready on 127.0.0.1:%d after %.2fs\n",
               static_cast<int>(server.size()), server.data(), port, seconds);
}

// The user a server process runs as.
struct Credentials {
  uid_t uid;
  gid_t gid;
};

}  // namespace

// A child process with stdout and stderr appended to a log file. The
// destructor stops it (SIGTERM) if it is still running.
class ChildProcess {
 public:
  struct Options {
    std::string log_path;
    std::string stdin_path = "/dev/null";
    std::string working_dir = "/";
    std::optional<Credentials> run_as;  // Unset: as the test itself.
  };

  // Starts argv[0] (a path, not searched in $PATH). nullptr with the reason in
  // *error if it cannot be started.
  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv,
                                             const Options& options, std::string* error) {
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const int log_fd =
        open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int stdin_fd = open(options.stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || stdin_fd < 0) {
      *error = "cannot open " + options.log_path + " or " + options.stdin_path + ": " +
               std::strerror(errno);
      if (log_fd >= 0) close(log_fd);
      if (stdin_fd >= 0) close(stdin_fd);
      return nullptr;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      // Only async-signal-safe calls from here to exec: the test may have threads.
      if (dup2(stdin_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) _exit(126);
      if (options.run_as && (setgroups(0, nullptr) != 0 || setgid(options.run_as->gid) != 0 ||
                             setuid(options.run_as->uid) != 0)) {
        _exit(126);
      }
      // Servers must not outlive a test binary that crashed. Set after setuid,
      // which clears it.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(126);
      if (chdir(options.working_dir.c_str()) != 0) _exit(126);
      execv(args[0], args.data());
      const char message[] = "db_servers: exec failed\n";
      [[maybe_unused]] ssize_t ignored = write(2, message, sizeof(message) - 1);
      _exit(127);
    }
    const int fork_errno = errno;
    close(log_fd);
    close(stdin_fd);
    if (pid < 0) {
      *error = std::string("fork: ") + std::strerror(fork_errno);
      return nullptr;
    }
    return std::make_unique<ChildProcess>(pid);
  }

  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ~ChildProcess() { Stop(SIGTERM); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool IsRunning() {
    Reap(/*block=*/false);
    return !status_;
  }

  // Waits up to `timeout` for the process to exit. Returns its exit code (128
  // + the signal that ended it), or nullopt if it is still running.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    PollUntil([this] { return !IsRunning(); }, timeout);
    return status_;
  }

  // Sends `sig` and waits for the process to exit; SIGKILL after
  // kStopGracePeriod. Does nothing once it has exited.
  void Stop(int sig) {
    if (!IsRunning()) return;
    kill(pid_, sig);
    if (Wait(kStopGracePeriod)) return;
    std::fprintf(stderr, "db_servers: pid %d ignored signal %d; killing it\n", pid_, sig);
    kill(pid_, SIGKILL);
    Reap(/*block=*/true);
  }

 private:
  void Reap(bool block) {
    if (status_) return;
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return;
    if (r < 0) Die("waitpid " + std::to_string(pid_));
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  const pid_t pid_;
  std::optional<int> status_;  // Set once reaped.
};

namespace {

ChildProcess::Options ProcessOptions(std::string log_path, std::string working_dir,
                                     std::optional<Credentials> run_as = std::nullopt) {
  ChildProcess::Options options;
  options.log_path = std::move(log_path);
  options.working_dir = std::move(working_dir);
  options.run_as = run_as;
  return options;
}

// Runs a setup program to completion. False with its output in *error unless
// it exits with 0 within kSetupTimeout.
bool RunToCompletion(const std::vector<std::string>& argv, const ChildProcess::Options& options,
                     std::string* error) {
  std::unique_ptr<ChildProcess> process = ChildProcess::Start(argv, options, error);
  if (!process) return false;
  const std::optional<int> status = process->Wait(kSetupTimeout);
  if (status == 0) return true;
  *error = argv[0] + (status ? " exited with " + std::to_string(*status) : " timed out") + ":\n" +
           Tail(ReadWholeFile(options.log_path));
  return false;
}

// Starts a server on a fresh free port until it is ready or fails for another
// reason than its port being taken. `start(port)` starts the process; `ready()`
// says whether it accepts connections; `log()` is its output so far.
bool StartOnFreePort(const std::function<std::unique_ptr<ChildProcess>(int, std::string*)>& start,
                     const std::function<bool()>& ready, const std::function<std::string()>& log,
                     int* port, std::unique_ptr<ChildProcess>* process, std::string* error) {
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    const size_t log_start = log().size();  // Earlier attempts' output is not this one's.
    *port = FreeLoopbackPort();
    *process = start(*port, error);
    if (!*process) return false;
    ChildProcess* p = process->get();
    const bool up = PollUntil([&] { return !p->IsRunning() || ready(); }, kStartTimeout);
    if (up && p->IsRunning()) return true;
    process->reset();
    const std::string output = log().substr(log_start);
    if (!up) {
      *error = "not ready after " + std::to_string(kStartTimeout.count()) + "s:\n" + Tail(output);
      return false;
    }
    const bool port_taken = output.find("already in use") != std::string::npos ||
                            output.find("could not bind") != std::string::npos;
    if (!port_taken || attempt == kStartAttempts) {
      *error = "exited during start-up:\n" + Tail(output);
      return false;
    }
  }
  return false;
}

// The newest installed PostgreSQL's bin directory, e.g.
// /usr/lib/postgresql/15/bin, or "".
std::string PostgresBinDir() {
  std::error_code ec;
  std::string best;
  int best_version = -1;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = entry.path().string() + "/bin";
    const int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version && access((bin + "/postgres").c_str(), X_OK) == 0) {
      best = bin;
      best_version = version;
    }
  }
  return best;
}

const char* const kMariaDbServer = "/usr/sbin/mariadbd";
const char* const kMariaDbSqlDir = "/usr/share/mysql";

// InnoDB settings that make a throw-away server start in a fraction of the
// default time: no syncing, no doublewrite buffer, a small redo log, and no
// native AIO (io_uring is often not allowed in containers).
const std::vector<std::string> kFastInnoDb = {
    "--innodb-flush-method=nosync", "--innodb-doublewrite=0", "--innodb-log-file-size=4M",
    "--innodb-buffer-pool-size=16M", "--innodb-use-native-aio=0"};

std::string RedisServerBinary() {
  for (const char* path : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

}  // namespace

// --- ScratchDir -------------------------------------------------------------

ScratchDir::ScratchDir(std::string_view prefix) {
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string base = geteuid() != 0 && tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  std::string name = base + "/vitals-" + std::string(prefix) + "-XXXXXX";
  if (mkdtemp(name.data()) == nullptr) Die("mkdtemp " + name);
  if (chmod(name.c_str(), 0755) != 0) Die("chmod " + name);
  path_ = std::move(name);
}

ScratchDir::~ScratchDir() {
  const char* keep = std::getenv("VITALS_KEEP_TEST_DIRS");
  if (keep != nullptr && std::string_view(keep) == "1") return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScratchDir::File(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

std::string ScratchDir::WriteFile(std::string_view name, std::string_view contents) const {
  const std::string path = File(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) Die("write " + path);
  return path;
}

// --- PostgresServer -----------------------------------------------------------

PostgresServer::PostgresServer() : dir_("pg") {}

PostgresServer::~PostgresServer() { Stop(); }

std::string PostgresServer::DsnWithPassword(std::string_view password) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres password='" +
         std::string(password) + "' dbname=postgres connect_timeout=5";
}

std::string PostgresServer::Log() const {
  return ReadWholeFile(dir_.File("initdb.log")) + ReadWholeFile(dir_.File("postgres.log"));
}

bool PostgresServer::Start(std::string* error) {
  const auto begin = SteadyClock::now();
  const std::string bin = PostgresBinDir();
  if (bin.empty()) {
    *error = "PostgreSQL is not installed under /usr/lib/postgresql (scripts/setup installs it)";
    return false;
  }
  std::optional<Credentials> run_as;
  if (geteuid() == 0) {
    // postgres refuses to run as root.
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      *error = "running as root needs the postgres system user (from the postgresql package)";
      return false;
    }
    run_as = Credentials{user->pw_uid, user->pw_gid};
  }
  const std::string pwfile = dir_.WriteFile("pwfile", password_);
  if (run_as && (chown(dir_.path().c_str(), run_as->uid, run_as->gid) != 0 ||
                 chown(pwfile.c_str(), run_as->uid, run_as->gid) != 0)) {
    *error = "chown " + dir_.path() + ": " + std::strerror(errno);
    return false;
  }
  const std::string data = dir_.File("data");
  if (!RunToCompletion({bin + "/initdb", "--pgdata=" + data, "--username=postgres",
                        "--pwfile=" + pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
                        "--no-sync", "--encoding=UTF8", "--locale=C"},
                       ProcessOptions(dir_.File("initdb.log"), dir_.path(), run_as), error)) {
    return false;
  }
  // Kept for Restart(), which starts the same cluster again.
  start_process_ = [this, bin, data, run_as](int port, std::string* start_error) {
    return ChildProcess::Start(
        {bin + "/postgres", "-D", data, "-k", dir_.path(), "-h", "127.0.0.1", "-p",
         std::to_string(port), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
         "full_page_writes=off", "-c", "max_connections=30", "-c", "shared_buffers=16MB"},
        ProcessOptions(dir_.File("postgres.log"), dir_.path(), run_as), start_error);
  };
  auto ready = [this] { return AcceptsConnections(); };
  auto log = [this] { return Log(); };
  if (!StartOnFreePort(start_process_, ready, log, &port_, &process_, error)) return false;
  ReportStartUp("PostgreSQL", port_, begin);
  return true;
}

bool PostgresServer::Restart(std::string* error) {
  if (!start_process_) {
    *error = "Restart() before a successful Start()";
    return false;
  }
  Stop();
  const size_t log_start = Log().size();
  process_ = start_process_(port_, error);
  if (!process_) return false;
  ChildProcess* p = process_.get();
  if (PollUntil([&] { return !p->IsRunning() || AcceptsConnections(); }, kStartTimeout) &&
      p->IsRunning()) {
    return true;
  }
  process_.reset();
  *error =
      "restart on port " + std::to_string(port_) + " failed:\n" + Tail(Log().substr(log_start));
  return false;
}

// Asks through the Unix socket in our own directory: a server that took the
// port in the meantime cannot answer there, and postgres creates the socket
// only after binding its TCP port.
bool PostgresServer::AcceptsConnections() const {
  const std::string dsn =
      "host=" + dir_.path() + " port=" + std::to_string(port_) + " user=postgres dbname=postgres";
  return PQping(dsn.c_str()) == PQPING_OK;
}

void PostgresServer::Stop() {
  // SIGTERM would wait for clients to disconnect; SIGINT disconnects them.
  if (process_) process_->Stop(SIGINT);
}

// --- MariaDbServer ------------------------------------------------------------

MariaDbServer::MariaDbServer() : dir_("mariadb"), socket_path_(dir_.File("mysqld.sock")) {}

MariaDbServer::~MariaDbServer() { Stop(); }

std::string MariaDbServer::UrlWithPassword(std::string_view password) const {
  return "mysql://" + user_ + ":" + std::string(password) + "@127.0.0.1:" + std::to_string(port_) +
         "/mysql";
}

std::string MariaDbServer::Log() const {
  return ReadWholeFile(dir_.File("bootstrap.log")) + ReadWholeFile(dir_.File("mariadbd.log"));
}

bool MariaDbServer::Start(std::string* error) {
  const auto begin = SteadyClock::now();
  if (access(kMariaDbServer, X_OK) != 0) {
    *error =
        std::string(kMariaDbServer) + " is not installed (scripts/setup installs mariadb-server)";
    return false;
  }
  // What mariadb-install-db feeds to `mariadbd --bootstrap`, minus the help
  // tables, the GIS procedures and the sys schema; plus the test user. One
  // statement per line, as bootstrap mode requires.
  std::string sql =
      "create database if not exists mysql;\n"
      "use mysql;\n"
      "SET @auth_root_socket=NULL;\n";
  for (const char* file : {"mysql_system_tables.sql", "mysql_performance_tables.sql",
                           "mysql_system_tables_data.sql"}) {
    const std::string path = std::string(kMariaDbSqlDir) + "/" + file;
    const std::string content = ReadWholeFile(path);
    if (content.empty()) {
      *error = "cannot read " + path + " (scripts/setup installs mariadb-server)";
      return false;
    }
    sql += content + "\n";
  }
  sql += "FLUSH PRIVILEGES;\n";
  sql += "CREATE USER '" + user_ + "'@'%' IDENTIFIED BY '" + password_ + "';\n";
  sql += "GRANT ALL PRIVILEGES ON *.* TO '" + user_ + "'@'%';\n";
  const std::string sql_path = dir_.WriteFile("bootstrap.sql", sql);
  const std::string data = dir_.File("data");
  const std::string tmp = dir_.File("tmp");
  for (const std::string& path : {data, tmp}) {
    if (mkdir(path.c_str(), 0755) != 0) {
      *error = "mkdir " + path + ": " + std::strerror(errno);
      return false;
    }
  }
  // Temporary tables go to a private directory: in a shared /tmp, parallel
  // servers trip over each other's files. mariadbd refuses root unless told.
  std::vector<std::string> common_options = {"--tmpdir=" + tmp};
  if (geteuid() == 0) common_options.push_back("--user=root");
  common_options.insert(common_options.end(), kFastInnoDb.begin(), kFastInnoDb.end());

  std::vector<std::string> bootstrap = {kMariaDbServer,
                                        "--no-defaults",
                                        "--bootstrap",
                                        "--datadir=" + data,
                                        "--log-warnings=0",
                                        "--enforce-storage-engine=",
                                        "--max-allowed-packet=8M",
                                        "--net-buffer-length=16K"};
  bootstrap.insert(bootstrap.end(), common_options.begin(), common_options.end());
  ChildProcess::Options bootstrap_options = ProcessOptions(dir_.File("bootstrap.log"), dir_.path());
  bootstrap_options.stdin_path = sql_path;
  if (!RunToCompletion(bootstrap, bootstrap_options, error)) {
    return false;
  }

  auto start = [&](int port, std::string* start_error) {
    std::vector<std::string> argv = {kMariaDbServer,
                                     "--no-defaults",
                                     "--datadir=" + data,
                                     "--socket=" + socket_path_,
                                     "--port=" + std::to_string(port),
                                     "--bind-address=127.0.0.1",
                                     "--skip-name-resolve",
                                     "--pid-file=" + dir_.File("mariadbd.pid"),
                                     "--max-connections=50"};
    argv.insert(argv.end(), common_options.begin(), common_options.end());
    return ChildProcess::Start(argv, ProcessOptions(dir_.File("mariadbd.log"), dir_.path()),
                               start_error);
  };
  // Logs in through the Unix socket in our own directory: a server that took
  // the port in the meantime cannot answer there, and mariadbd creates the
  // socket only after binding its TCP port.
  auto ready = [this] {
    MYSQL* mysql = mysql_init(nullptr);
    if (mysql == nullptr) return false;
    const bool up = mysql_real_connect(mysql, nullptr, user_.c_str(), password_.c_str(), nullptr, 0,
                                       socket_path_.c_str(), 0) != nullptr;
    mysql_close(mysql);
    return up;
  };
  auto log = [this] { return Log(); };
  if (!StartOnFreePort(start, ready, log, &port_, &process_, error)) return false;
  ReportStartUp("MariaDB", port_, begin);
  return true;
}

void MariaDbServer::Stop() {
  if (process_) process_->Stop(SIGTERM);
}

// --- RedisServer --------------------------------------------------------------

RedisServer::RedisServer() : dir_("redis"), socket_path_(dir_.File("redis.sock")) {}

RedisServer::~RedisServer() { Stop(); }

std::string RedisServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::string RedisServer::Log() const { return ReadWholeFile(dir_.File("redis.log")); }

bool RedisServer::Start(const Options& options, std::string* error) {
  const auto begin = SteadyClock::now();
  const std::string binary = RedisServerBinary();
  if (binary.empty()) {
    *error = "redis-server is not installed (scripts/setup installs it)";
    return false;
  }
  auto start = [&](int port, std::string* start_error) {
    std::vector<std::string> argv = {binary,
                                     "--port",
                                     std::to_string(port),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--dir",
                                     dir_.path(),
                                     "--unixsocket",
                                     socket_path_,
                                     "--unixsocketperm",
                                     "700",
                                     "--daemonize",
                                     "no"};
    if (!options.password.empty()) argv.insert(argv.end(), {"--requirepass", options.password});
    if (!options.acl_user.empty()) {
      argv.insert(argv.end(), {"--user", options.acl_user, "on", ">" + options.acl_password, "~*",
                               "&*", "+@all"});
    }
    return ChildProcess::Start(argv, ProcessOptions(dir_.File("redis.log"), dir_.path()),
                               start_error);
  };
  // Any reply on the Unix socket in our own directory, NOAUTH included, means
  // this server is serving (it creates the socket after binding its port).
  auto ready = [this] {
    redisContext* c = redisConnectUnixWithTimeout(socket_path_.c_str(), timeval{1, 0});
    bool up = false;
    if (c != nullptr && c->err == 0) {
      void* reply = redisCommand(c, "PING");
      up = reply != nullptr;
      if (reply != nullptr) freeReplyObject(reply);
    }
    if (c != nullptr) redisFree(c);
    return up;
  };
  auto log = [this] { return Log(); };
  if (!StartOnFreePort(start, ready, log, &port_, &process_, error)) return false;
  ReportStartUp("Redis", port_, begin);
  return true;
}

void RedisServer::Stop() {
  if (process_) process_->Stop(SIGTERM);
}

// --- HungTcpListener ------------------------------------------------------------

HungTcpListener::HungTcpListener() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 64) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
}

HungTcpListener::~HungTcpListener() { close(fd_); }

std::string HungTcpListener::address() const { return "127.0.0.1:" + std::to_string(port_); }

// --- Free functions -------------------------------------------------------------

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("bind 127.0.0.1:0");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

Result<ConfigMap> FirstCheckEntry(const std::string& yaml) {
  ASSIGN_OR_RETURN(ConfigMap config, ConfigMap::LoadString(yaml, "agent.yml"));
  ASSIGN_OR_RETURN(std::vector<ConfigMap> checks,
                   config.ReadMapList("checks", Presence::kRequired));
  if (checks.empty()) return Status::InvalidArgument("agent.yml: no entry under checks:");
  return std::move(checks.front());
}

TimedOutcome RunCheck(agent::Check& check, std::chrono::milliseconds timeout) {
  const auto start = SteadyClock::now();
  TimedOutcome result;
  result.outcome = check.Run(start + timeout);
  result.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  return result;
}

}  // namespace vitals::testing
