#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace vitals {

// What to run and how. Shared by the agent's exec checks and the collector's
// action commands.
struct SubprocessOptions {
  // --- What runs.

  // argv, run without a shell. argv[0] is a path (made absolute against the
  // current directory), or a name looked up in PATH (env's PATH if it sets
  // one, else this process's) when it has no slash. The program keeps
  // argv[0] as given.
  std::vector<std::string> argv;
  // Added to, or replacing entries of, this process's environment (read once,
  // in Subprocess::Create). Names must be non-empty and contain no '='.
  std::map<std::string, std::string> env;
  // The directory the program starts in; "" keeps this process's.
  std::string working_dir;

  // --- Limits.

  // After a timeout the process group gets SIGTERM, then SIGKILL this much
  // later if anything in it is still alive. 0 sends SIGKILL at once.
  std::chrono::milliseconds kill_grace{0};
  // Bytes kept of each of stdout and stderr; the rest is read and dropped.
  size_t max_output_bytes = 64 * 1024;
};

// How one run of a program ended and what it wrote.
struct SubprocessResult {
  // True when the deadline passed first and the process group was killed;
  // exit_code and signal then describe how the leader died of that.
  bool timed_out = false;
  // Its exit status when it exited; -1 when a signal ended it.
  int exit_code = -1;
  // The signal that ended it; 0 when it exited.
  int signal = 0;
  std::string out;  // stdout, at most max_output_bytes.
  std::string err;  // stderr, at most max_output_bytes.
  bool out_truncated = false;
  bool err_truncated = false;
  // From start to the leader being reaped.
  std::chrono::steady_clock::duration duration{0};

  // Exited with status 0 before the deadline.
  bool succeeded() const { return !timed_out && signal == 0 && exit_code == 0; }
};

// A program ready to run: its path resolved and its environment built once,
// so a missing program is reported when it is configured, not when it is
// first needed. Each Run starts a fresh process in its own process group,
// with stdin from /dev/null, stdout and stderr captured through pipes, the
// default signal dispositions and an empty signal mask, and no other file
// descriptors. Run may be called from several threads at once.
class Subprocess {
 public:
  // InvalidArgument for an empty argv or a malformed environment name;
  // NotFound when the program does not exist (or is not in PATH);
  // FailedPrecondition when it is not an executable file. Messages name the
  // program as configured, e.g. "\"backup.sh\" not found in PATH (/usr/bin)".
  static Result<Subprocess> Create(SubprocessOptions options);

  // Runs the program until it exits or `deadline` passes. On timeout the
  // whole process group is killed (SIGTERM, then SIGKILL after kill_grace),
  // and Run returns by deadline + kill_grace plus scheduling slack. Output
  // still arriving after the leader exited (from a background child) is not
  // waited for. IOError when the process could not be started (the program
  // vanished since Create, no file descriptors left, ...), with a message
  // such as "permission denied".
  Result<SubprocessResult> Run(std::chrono::steady_clock::time_point deadline) const;

  // The absolute path Create resolved argv[0] to.
  const std::string& path() const { return path_; }
  const std::vector<std::string>& argv() const { return argv_; }

 private:
  Subprocess(std::string path, SubprocessOptions options, std::vector<std::string> envp);

  std::string path_;               // Absolute path of the program.
  std::vector<std::string> argv_;  // argv_[0] as configured.
  std::vector<std::string> envp_;  // NAME=value, fixed at Create.
  std::string working_dir_;
  std::chrono::milliseconds kill_grace_;
  size_t max_output_bytes_;
};

// Finds `program` as execvp would: as given if it has a slash (made absolute
// against the current directory), else in the colon-separated `search_path`.
// NotFound / FailedPrecondition with a message for operators otherwise.
Result<std::string> ResolveExecutable(const std::string& program, const std::string& search_path);

}  // namespace vitals
