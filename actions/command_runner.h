#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/subprocess.h"

namespace vitals::actions {

// A command an action runs: a rollback command or an escalation hook.
struct CommandSpec {
  // --- What runs.

  // argv, run without a shell. argv[0] is a path, or a name looked up in
  // PATH (env's PATH if it sets one, else the collector's).
  std::vector<std::string> argv;
  // Merged into the collector's environment, replacing variables of the
  // same name: what the command needs to know, e.g. SERVICE, FROM_VERSION,
  // TO_VERSION. Names must be non-empty and contain no '='.
  std::map<std::string, std::string> env;
  // The directory it starts in; "" keeps the collector's.
  std::string working_dir;

  // --- Limits.

  // How long it may run. Then its whole process group gets SIGTERM...
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // ...and SIGKILL this much later if anything in the group is still alive.
  std::chrono::milliseconds kill_grace{std::chrono::seconds(5)};
  // Bytes kept of each of stdout and stderr; the rest is read and dropped.
  size_t max_output_bytes = 64 * 1024;
};

// How a command ended and what it wrote.
struct CommandResult {
  SubprocessResult process;
  // The budget it was given, for Describe.
  std::chrono::milliseconds timeout{0};

  // Exited with status 0 in time.
  bool succeeded() const { return process.succeeded(); }

  // One line for logs and audit records:
  //   "exit 0 after 1.3s"
  //   "exit 2 after 1.3s: <first line of output>"
  //   "killed by signal 9 after 250ms: <first line of output>"
  //   "timed out after 60s"
  // The first line is stdout's first non-blank line, else stderr's, with
  // control characters blanked and cut at 200 bytes.
  std::string Describe() const;
};

// Runs action commands to completion. An interface so the actions layer can
// be tested without starting processes; the real one is
// NewProcessCommandRunner. Implementations are thread-safe.
class CommandRunner {
 public:
  CommandRunner() = default;
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;
  virtual ~CommandRunner() = default;

  // Runs `spec` and returns how it ended; a command that ran and failed
  // (non-zero exit, signal, timeout) is an OK Result whose succeeded() is
  // false. Blocks until the command exits, and at most about timeout +
  // kill_grace. Errors, when the command could not be started, with
  // messages that begin "cannot run \"<argv[0]>\": ":
  //   InvalidArgument     empty argv, a malformed env name, timeout <= 0,
  //                       kill_grace < 0
  //   NotFound            the program (or working_dir) does not exist
  //   FailedPrecondition  the program is not an executable file
  //   IOError             starting it failed (no file descriptors, ...)
  virtual Result<CommandResult> Run(const CommandSpec& spec) = 0;
};

// The runner that starts each command as a child process in its own process
// group (common/subprocess.h).
std::unique_ptr<CommandRunner> NewProcessCommandRunner();

// Checks what Run checks before starting anything, so configuration can be
// rejected at load time; the same errors as Run apart from IOError.
Status ValidateCommand(const CommandSpec& spec);

}  // namespace vitals::actions
