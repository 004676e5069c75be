#include "actions/command_runner.h"

#include <cstdio>
#include <string_view>
#include <utility>

namespace vitals::actions {
namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxLineBytes = 200;

// "250ms", "60s", "1.3s".
std::string FormatElapsed(milliseconds d) {
  if (d < std::chrono::seconds(1)) return std::to_string(d.count()) + "ms";
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  char text[32];
  std::snprintf(text, sizeof(text), "%.1fs", static_cast<double>(d.count()) / 1000);
  return text;
}

// The first line of `text` that is not blank, trimmed, control characters
// blanked, cut at kMaxLineBytes.
std::string FirstLine(std::string_view text) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    std::string out(line.substr(0, kMaxLineBytes));
    for (char& c : out) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    }
    if (line.size() > kMaxLineBytes) out += "...";
    return out;
  }
  return "";
}

Status CheckLimits(const CommandSpec& spec) {
  if (spec.timeout <= milliseconds::zero()) return Status::InvalidArgument("timeout must be > 0");
  if (spec.kill_grace < milliseconds::zero()) {
    return Status::InvalidArgument("kill_grace must be >= 0");
  }
  return Status::Ok();
}

// The program as configured, for messages.
std::string CommandName(const CommandSpec& spec) {
  return "cannot run \"" + (spec.argv.empty() ? std::string() : spec.argv[0]) + "\"";
}

Result<Subprocess> Prepare(const CommandSpec& spec) {
  Status limits = CheckLimits(spec);
  if (!limits.ok()) return limits.WithContext(CommandName(spec));
  SubprocessOptions options;
  options.argv = spec.argv;
  options.env = spec.env;
  options.working_dir = spec.working_dir;
  options.kill_grace = spec.kill_grace;
  options.max_output_bytes = spec.max_output_bytes;
  Result<Subprocess> process = Subprocess::Create(std::move(options));
  if (!process.ok()) return process.status().WithContext(CommandName(spec));
  return process;
}

class ProcessCommandRunner final : public CommandRunner {
 public:
  Result<CommandResult> Run(const CommandSpec& spec) override {
    ASSIGN_OR_RETURN(Subprocess process, Prepare(spec));
    Result<SubprocessResult> run = process.Run(std::chrono::steady_clock::now() + spec.timeout);
    if (!run.ok()) return run.status().WithContext(CommandName(spec));
    return CommandResult{std::move(run).value(), spec.timeout};
  }
};

}  // namespace

std::string CommandResult::Describe() const {
  std::string text;
  const auto elapsed = std::chrono::duration_cast<milliseconds>(process.duration);
  if (process.timed_out) {
    text = "timed out after " + FormatElapsed(timeout);
  } else if (process.signal != 0) {
    text =
        "killed by signal " + std::to_string(process.signal) + " after " + FormatElapsed(elapsed);
  } else {
    text = "exit " + std::to_string(process.exit_code) + " after " + FormatElapsed(elapsed);
  }
  std::string line = FirstLine(process.out);
  if (line.empty()) line = FirstLine(process.err);
  if (!line.empty()) text += ": " + line;
  return text;
}

std::unique_ptr<CommandRunner> NewProcessCommandRunner() {
  return std::make_unique<ProcessCommandRunner>();
}

Status ValidateCommand(const CommandSpec& spec) { return Prepare(spec).status(); }

}  // namespace vitals::actions
