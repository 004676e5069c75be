#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

extern char** environ;

namespace vitals {
namespace {

using Steady = std::chrono::steady_clock;

constexpr char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin";

// strerror(err) with a lower-case first letter: "permission denied".
std::string ErrnoText(int err) {
  std::string text = std::generic_category().message(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Creates a pipe whose ends are both above 2, so that setting up the child's
// stdin, stdout and stderr cannot clobber them (this process may run with
// some of 0-2 closed). Both ends are close-on-exec; the read end, ours, is
// non-blocking.
Status MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::IOError("pipe: " + ErrnoText(errno));
  Fd ends[2] = {Fd(fds[0]), Fd(fds[1])};
  for (Fd& end : ends) {
    if (end.get() > 2) continue;
    Fd moved(::fcntl(end.get(), F_DUPFD_CLOEXEC, 3));
    if (!moved.valid()) return Status::IOError("fcntl: " + ErrnoText(errno));
    end = std::move(moved);
  }
  ::fcntl(ends[0].get(), F_SETFL, O_NONBLOCK);
  *read_end = std::move(ends[0]);
  *write_end = std::move(ends[1]);
  return Status::Ok();
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// "NAME=value" strings: this process's environment with `overrides` applied.
std::vector<std::string> MergeEnvironment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string name(entry.substr(0, entry.find('=')));
    if (!overrides.contains(name)) out.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Milliseconds from now until `t`, rounded up, for poll(2); 0 once passed.
int PollMillis(Steady::time_point t) {
  auto left = t - Steady::now();
  if (left <= Steady::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

// One started child: its pipes, its exit, and the killing of its group.
class Child {
 public:
  Child(pid_t pid, Fd out, Fd err, size_t max_output_bytes, SubprocessResult* result)
      : pid_(pid),
        out_(std::move(out)),
        err_(std::move(err)),
        cap_(max_output_bytes),
        result_(*result),
        // Readable when the child exits; without one (kernels before 5.3)
        // the loops check every 10ms instead.
        pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {}

  // Reads output until the leader exits (true) or `until` passes (false).
  bool WaitForExit(Steady::time_point until) {
    while (true) {
      if (Reap()) {
        // Whatever it wrote before exiting is in the pipes already; output
        // from children it left behind is not waited for.
        ReadPipes();
        return true;
      }
      if (Steady::now() >= until) return false;
      PollOnce(until);
    }
  }

  // Ends the whole process group: SIGTERM, then SIGKILL once `grace` has
  // passed with anything in the group still alive; reaps the leader.
  void KillGroup(std::chrono::milliseconds grace) {
    if (grace > std::chrono::milliseconds::zero()) {
      ::kill(-pid_, SIGTERM);
      const auto until = Steady::now() + grace;
      if (WaitForExit(until) && WaitForGroupGone(until)) return;
    }
    ::kill(-pid_, SIGKILL);
    while (!reaped_) {
      int status = 0;
      pid_t rc = ::waitpid(pid_, &status, 0);
      if (rc == pid_) Record(status);
      if (rc < 0 && errno != EINTR) break;
    }
  }

 private:
  // Reaps the leader if it has exited. True once reaped.
  bool Reap() {
    int status = 0;
    if (!reaped_ && ::waitpid(pid_, &status, WNOHANG) == pid_) Record(status);
    return reaped_;
  }

  void Record(int status) {
    reaped_ = true;
    if (WIFSIGNALED(status)) {
      result_.signal = WTERMSIG(status);
      result_.exit_code = -1;
    } else {
      result_.exit_code = WEXITSTATUS(status);
    }
  }

  // After the leader is reaped: true once no process is left in its group.
  bool WaitForGroupGone(Steady::time_point until) {
    while (true) {
      if (::kill(-pid_, 0) != 0 && errno == ESRCH) return true;
      if (Steady::now() >= until) return false;
      PollOnce(std::min(until, Steady::now() + std::chrono::milliseconds(5)));
    }
  }

  // Waits for output or the leader's exit, at most until `until`, and reads.
  void PollOnce(Steady::time_point until) {
    pollfd fds[3];
    nfds_t n = 0;
    if (out_.valid()) fds[n++] = {out_.get(), POLLIN, 0};
    if (err_.valid()) fds[n++] = {err_.get(), POLLIN, 0};
    bool watch_exit = pidfd_.valid() && !reaped_;
    if (watch_exit) fds[n++] = {pidfd_.get(), POLLIN, 0};
    int timeout = PollMillis(until);
    if (!watch_exit) timeout = std::min(timeout, 10);
    ::poll(fds, n, timeout);  // EINTR and errors: the callers' loops retry.
    ReadPipes();
  }

  void ReadPipes() {
    Read(&out_, &result_.out, &result_.out_truncated);
    Read(&err_, &result_.err, &result_.err_truncated);
  }

  // Reads what is available from a non-blocking pipe into *buf (up to the
  // cap); closes the pipe at end of file or on error.
  void Read(Fd* fd, std::string* buf, bool* truncated) {
    if (!fd->valid()) return;
    char chunk[4096];
    while (true) {
      ssize_t n = ::read(fd->get(), chunk, sizeof(chunk));
      if (n > 0) {
        size_t room = cap_ - std::min(cap_, buf->size());
        size_t keep = std::min(static_cast<size_t>(n), room);
        buf->append(chunk, keep);
        if (keep < static_cast<size_t>(n)) *truncated = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (!(n < 0 && errno == EAGAIN)) fd->Reset();
      return;
    }
  }

  const pid_t pid_;
  Fd out_;
  Fd err_;
  const size_t cap_;
  SubprocessResult& result_;
  Fd pidfd_;
  bool reaped_ = false;
};

}  // namespace

Subprocess::Subprocess(std::string path, SubprocessOptions options, std::vector<std::string> envp)
    : path_(std::move(path)),
      argv_(std::move(options.argv)),
      envp_(std::move(envp)),
      working_dir_(std::move(options.working_dir)),
      kill_grace_(options.kill_grace),
      max_output_bytes_(options.max_output_bytes) {}

Result<Subprocess> Subprocess::Create(SubprocessOptions options) {
  if (options.argv.empty()) return Status::InvalidArgument("the command is empty");
  for (const auto& [name, value] : options.env) {
    if (name.empty() || name.find('=') != std::string::npos) {
      return Status::InvalidArgument("\"" + name + "\" is not a valid environment variable name");
    }
  }
  if (!options.working_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(options.working_dir, ec)) {
      return Status::NotFound("working directory \"" + options.working_dir +
                              "\" is not a directory");
    }
  }
  std::string search_path = kDefaultPath;
  if (auto it = options.env.find("PATH"); it != options.env.end()) {
    search_path = it->second;
  } else if (const char* path = std::getenv("PATH"); path != nullptr) {
    search_path = path;
  }
  ASSIGN_OR_RETURN(std::string program, ResolveExecutable(options.argv[0], search_path));
  std::vector<std::string> envp = MergeEnvironment(options.env);
  return Subprocess(std::move(program), std::move(options), std::move(envp));
}

Result<SubprocessResult> Subprocess::Run(Steady::time_point deadline) const {
  const auto start = Steady::now();
  Fd out_r, out_w, err_r, err_w;
  RETURN_IF_ERROR(MakePipe(&out_r, &out_w));
  RETURN_IF_ERROR(MakePipe(&err_r, &err_w));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (!working_dir_.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_dir_.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout kills its children too; this
  // process may block signals on its threads and that mask must not be
  // inherited.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attr, &signals);
  sigfillset(&signals);
  posix_spawnattr_setsigdefault(&attr, &signals);

  std::vector<std::string> argv = argv_, envp = envp_;
  std::vector<char*> c_argv = CStrings(argv), c_envp = CStrings(envp);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, path_.c_str(), &actions, &attr, c_argv.data(), c_envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::IOError(ErrnoText(rc));
  out_w.Reset();
  err_w.Reset();

  SubprocessResult result;
  Child child(pid, std::move(out_r), std::move(err_r), max_output_bytes_, &result);
  if (!child.WaitForExit(deadline)) {
    result.timed_out = true;
    child.KillGroup(kill_grace_);
  }
  result.duration = Steady::now() - start;
  return result;
}

Result<std::string> ResolveExecutable(const std::string& program, const std::string& search_path) {
  if (program.empty()) return Status::InvalidArgument("the program name is empty");
  if (program.find('/') != std::string::npos) {
    std::error_code ec;
    std::string path = std::filesystem::absolute(program, ec).lexically_normal().string();
    if (ec) path = program;
    if (::access(path.c_str(), F_OK) != 0) {
      return Status::NotFound("\"" + program + "\" does not exist");
    }
    if (!IsExecutableFile(path)) {
      return Status::FailedPrecondition("\"" + program + "\" is not an executable file");
    }
    return path;
  }
  std::string_view rest(search_path);
  while (true) {
    size_t colon = rest.find(':');
    // Built by appending: GCC 12 at -O3 warns (-Wrestrict, a false positive)
    // about `dir = "."` and `dir + "/" + program`.
    const std::string_view dir = rest.substr(0, colon);
    std::string candidate(dir.empty() ? std::string_view(".") : dir);
    candidate += '/';
    candidate += program;
    if (IsExecutableFile(candidate)) {
      std::error_code ec;
      std::string path = std::filesystem::absolute(candidate, ec).lexically_normal().string();
      return ec ? candidate : path;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return Status::NotFound("\"" + program + "\" not found in PATH (" + search_path + ")");
}

}  // namespace vitals
