#include "agent/checks/exec_check.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "agent/checks/tcp_check.h"

extern char** environ;

namespace vitals::agent {
namespace {

using Steady = std::chrono::steady_clock;

const MetricDesc kPerfData{"vitals_check_perfdata", MetricType::kGauge,
                           "Performance data reported by an exec check's plugin, in base units "
                           "(see the uom label)."};

constexpr size_t kMaxOutputBytes = 64 * 1024;  // Per stream; the rest is read and dropped.
constexpr char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view FirstLine(std::string_view text) { return Trim(text.substr(0, text.find('\n'))); }

struct BaseUnit {
  double divisor;  // value / divisor is in base units; dividing keeps 40us exactly 40e-6.
  double multiplier;
  std::string name;
};

// How a Nagios UOM converts to base units.
BaseUnit ToBaseUnit(std::string_view uom) {
  if (uom.empty()) return {1, 1, ""};
  if (uom == "s") return {1, 1, "seconds"};
  if (uom == "ms") return {1e3, 1, "seconds"};
  if (uom == "us") return {1e6, 1, "seconds"};
  if (uom == "%") return {100, 1, "ratio"};
  if (uom == "B") return {1, 1, "bytes"};
  if (uom == "KB") return {1, 1024.0, "bytes"};
  if (uom == "MB") return {1, 1024.0 * 1024, "bytes"};
  if (uom == "GB") return {1, 1024.0 * 1024 * 1024, "bytes"};
  if (uom == "TB") return {1, 1024.0 * 1024 * 1024 * 1024, "bytes"};
  if (uom == "c") return {1, 1, "counter"};
  return {1, 1, std::string(uom)};
}

// Reads a label at the start of `*text`, quoted or not, and the "=" after it.
std::optional<std::string> ReadLabel(std::string_view* text) {
  std::string label;
  std::string_view s = *text;
  if (s.starts_with('\'')) {
    size_t i = 1;
    while (true) {
      if (i >= s.size()) return std::nullopt;
      if (s[i] == '\'') {
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          label += '\'';
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      label += s[i++];
    }
    s.remove_prefix(i);
    if (!s.starts_with('=')) return std::nullopt;
    s.remove_prefix(1);
  } else {
    size_t eq = s.find('=');
    size_t space = s.find_first_of(" \t\n");
    if (eq == std::string_view::npos || (space != std::string_view::npos && space < eq)) {
      *text = space == std::string_view::npos ? std::string_view() : s.substr(space);
      return std::nullopt;
    }
    label = std::string(s.substr(0, eq));
    s.remove_prefix(eq + 1);
  }
  *text = s;
  if (label.empty()) return std::nullopt;
  return label;
}

// Builds "NAME=value" strings: the agent's environment with `overrides` applied.
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

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Creates a pipe whose ends are both above 2, so that setting up the child's
// stdin, stdout and stderr cannot clobber them (the agent may run with some
// of 0-2 closed). Both ends are close-on-exec.
bool MakePipe(UniqueFd* read_end, UniqueFd* write_end, std::string* error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *error = "pipe: " + ErrnoMessage(errno);
    return false;
  }
  UniqueFd ends[2] = {UniqueFd(fds[0]), UniqueFd(fds[1])};
  for (UniqueFd& end : ends) {
    if (end.get() > 2) continue;
    UniqueFd moved(::fcntl(end.get(), F_DUPFD_CLOEXEC, 3));
    if (!moved.valid()) {
      *error = "fcntl: " + ErrnoMessage(errno);
      return false;
    }
    end = std::move(moved);
  }
  ::fcntl(ends[0].get(), F_SETFL, O_NONBLOCK);  // The agent's end; the child's stays blocking.
  *read_end = std::move(ends[0]);
  *write_end = std::move(ends[1]);
  return true;
}

// What became of one run of the program.
struct ProcessResult {
  bool timed_out = false;
  int wait_status = 0;
  std::string out;
  std::string err;
};

// Reads what is available from a non-blocking pipe into *buf (up to the cap).
// Returns false once the pipe reached end of file or failed.
bool ReadAvailable(int fd, std::string* buf) {
  char chunk[4096];
  while (true) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n > 0) {
      size_t keep = std::min(static_cast<size_t>(n),
                             kMaxOutputBytes - std::min(kMaxOutputBytes, buf->size()));
      buf->append(chunk, keep);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

class ExecCheck final : public Check {
 public:
  ExecCheck(std::string path, std::vector<std::string> argv, std::vector<std::string> envp)
      : path_(std::move(path)), argv_(std::move(argv)), envp_(std::move(envp)) {}

  CheckOutcome Run(Steady::time_point deadline_point) override {
    RunDeadline deadline(deadline_point);
    CheckOutcome outcome;
    std::string error;
    auto result = Execute(deadline, &error);
    if (!result) {
      outcome.status = CheckStatus::kUnknown;
      outcome.message = "run " + path_ + ": " + error;
      return outcome;
    }
    if (result->timed_out) {
      outcome.status = CheckStatus::kCritical;
      outcome.message = path_ + ": " + deadline.TimedOutMessage() + "; killed its process group";
      return outcome;
    }
    Interpret(*result, &outcome);
    return outcome;
  }

 private:
  // Starts the program and collects its output and exit status; nullopt with
  // *error set if it could not be started.
  std::optional<ProcessResult> Execute(const RunDeadline& deadline, std::string* error) {
    UniqueFd out_r, out_w, err_r, err_w;
    if (!MakePipe(&out_r, &out_w, error) || !MakePipe(&err_r, &err_w, error)) return std::nullopt;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Its own process group, so a timeout kills its children too; the agent
    // blocks signals on its threads and that mask must not be inherited.
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
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
    if (rc != 0) {
      *error = ErrnoMessage(rc);
      return std::nullopt;
    }
    out_w.Reset();
    err_w.Reset();
    return Collect(pid, std::move(out_r), std::move(err_r), deadline);
  }

  // Reads both pipes until the child exits or the deadline passes, then
  // reaps it (killing its process group first on timeout).
  static ProcessResult Collect(pid_t pid, UniqueFd out_r, UniqueFd err_r,
                               const RunDeadline& deadline) {
    ProcessResult result;
    // A pidfd becomes readable when the child exits; without one (kernels
    // before 5.3) the loop checks every 10ms instead.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    bool exited = false;
    while (!exited) {
      pollfd fds[3];
      nfds_t n = 0;
      if (out_r.valid()) fds[n++] = {out_r.get(), POLLIN, 0};
      if (err_r.valid()) fds[n++] = {err_r.get(), POLLIN, 0};
      if (pidfd.valid()) fds[n++] = {pidfd.get(), POLLIN, 0};
      int timeout = deadline.PollMillis();
      if (!pidfd.valid()) timeout = std::min(timeout, 10);
      int ready = ::poll(fds, n, timeout);
      if (ready < 0 && errno != EINTR) break;
      if (out_r.valid() && !ReadAvailable(out_r.get(), &result.out)) out_r.Reset();
      if (err_r.valid() && !ReadAvailable(err_r.get(), &result.err)) err_r.Reset();
      exited = ::waitpid(pid, &result.wait_status, WNOHANG) == pid;
      if (!exited && deadline.Expired()) break;
    }
    if (exited) {
      // Whatever the child wrote before exiting is in the pipes already.
      if (out_r.valid()) ReadAvailable(out_r.get(), &result.out);
      if (err_r.valid()) ReadAvailable(err_r.get(), &result.err);
      return result;
    }
    result.timed_out = true;
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &result.wait_status, 0) < 0 && errno == EINTR) {
    }
    return result;
  }

  void Interpret(const ProcessResult& result, CheckOutcome* outcome) const {
    PluginOutput output = SplitPluginOutput(result.out);
    std::string message = output.message;
    if (message.empty()) message = std::string(FirstLine(result.err));
    if (WIFSIGNALED(result.wait_status)) {
      outcome->status = CheckStatus::kUnknown;
      std::string reason =
          path_ + " killed by signal " + std::to_string(WTERMSIG(result.wait_status));
      outcome->message = message.empty() ? reason : reason + ": " + message;
    } else {
      const int code = WEXITSTATUS(result.wait_status);
      outcome->status =
          code >= 0 && code <= 3 ? static_cast<CheckStatus>(code) : CheckStatus::kUnknown;
      if (code > 3) {
        std::string reason = path_ + " exited with status " + std::to_string(code);
        outcome->message = message.empty() ? reason : reason + ": " + message;
      } else {
        outcome->message =
            message.empty() && code != 0 ? "exit status " + std::to_string(code) : message;
      }
    }
    for (const PerfDatum& datum : ParsePerfData(output.perfdata)) {
      outcome->samples.Add(kPerfData, {{"label", datum.label}, {"uom", datum.uom}}, datum.value);
    }
  }

  const std::string path_;               // Absolute path of the program.
  const std::vector<std::string> argv_;  // argv_[0] as configured.
  const std::vector<std::string> envp_;  // NAME=value, fixed at start-up.
};

}  // namespace

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
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
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

std::vector<PerfDatum> ParsePerfData(std::string_view text) {
  std::vector<PerfDatum> out;
  std::set<std::string, std::less<>> seen;
  while (true) {
    size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    std::optional<std::string> label = ReadLabel(&text);
    size_t end = text.find_first_of(" \t\r\n");
    std::string_view item = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end);
    if (!label) continue;
    std::string_view value_text = item.substr(0, item.find(';'));
    double value = 0;
    auto [ptr, ec] =
        std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);
    if (ec != std::errc()) continue;  // Includes "U" (undetermined).
    BaseUnit unit = ToBaseUnit(value_text.substr(static_cast<size_t>(ptr - value_text.data())));
    if (!seen.insert(*label).second) continue;
    out.push_back(
        PerfDatum{std::move(*label), value / unit.divisor * unit.multiplier, std::move(unit.name)});
  }
  return out;
}

PluginOutput SplitPluginOutput(std::string_view output) {
  PluginOutput result;
  std::string_view first = output.substr(0, output.find('\n'));
  std::string_view rest =
      first.size() < output.size() ? output.substr(first.size() + 1) : std::string_view();
  size_t bar = first.find('|');
  result.message = std::string(Trim(first.substr(0, bar)));
  if (bar != std::string_view::npos) result.perfdata = std::string(first.substr(bar + 1));
  // Long text lines follow; the first "|" in them starts more performance
  // data, which runs to the end of the output.
  size_t long_bar = rest.find('|');
  if (long_bar != std::string_view::npos) {
    result.perfdata += " ";
    result.perfdata += rest.substr(long_bar + 1);
  }
  return result;
}

Result<std::unique_ptr<Check>> NewExecCheck(ExecCheckOptions options) {
  if (options.command.empty()) return Status::InvalidArgument("the command is empty");
  for (const auto& [name, value] : options.env) {
    if (name.empty() || name.find('=') != std::string::npos) {
      return Status::InvalidArgument("\"" + name + "\" is not a valid environment variable name");
    }
  }
  std::string search_path = kDefaultPath;
  if (auto it = options.env.find("PATH"); it != options.env.end()) {
    search_path = it->second;
  } else if (const char* path = std::getenv("PATH"); path != nullptr) {
    search_path = path;
  }
  ASSIGN_OR_RETURN(std::string program, ResolveExecutable(options.command[0], search_path));
  return std::unique_ptr<Check>(std::make_unique<ExecCheck>(
      std::move(program), std::move(options.command), MergeEnvironment(options.env)));
}

Result<std::unique_ptr<Check>> CreateExecCheck(const CheckSpec& spec, ConfigMap& fields) {
  ExecCheckOptions options;
  RETURN_IF_ERROR(fields.ReadStringList("command", &options.command, Presence::kRequired));
  if (options.command.empty() || options.command[0].empty()) {
    return fields.Error("command", "must name a program: [program, arg, ...]");
  }
  RETURN_IF_ERROR(fields.ReadStringMap("env", &options.env));
  for (const auto& [name, value] : options.env) {
    if (name.empty() || name.find('=') != std::string::npos) {
      return fields.Error("env", "\"" + name + "\" is not a valid environment variable name");
    }
  }
  auto check = NewExecCheck(std::move(options));
  if (!check.ok()) return fields.Error("command", "cannot execute: " + check.status().message());
  return check;
}

}  // namespace vitals::agent
