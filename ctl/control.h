#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace CLI {
class App;
}

// vitalsctl mode|maintenance|rollback|incidents|audit: the actions layer's
// control API of a running collector (docs/control-api.md).
namespace vitals::ctl {

// Flags every control command takes.
struct ControlFlags {
  // Base URL of the collector's web server.
  std::string collector_url = "http://127.0.0.1:9740";
  // A token file (a line "<name>:<token>" or a bare token; the first one is
  // used). "" = $VITALS_TOKEN_FILE; neither = no token (reads only).
  std::string token_file;
  // "table" for people (aligned columns, local times), "json" for scripts
  // (the API's answer as is).
  std::string output = "table";
};

// The token `flags` name, "" when neither --token-file nor
// $VITALS_TOKEN_FILE is set. IOError or InvalidArgument when the file cannot
// be read or holds no token.
Result<std::string> ReadClientToken(const ControlFlags& flags);

// An instant as people read it: RFC 3339 in the local time zone with its
// offset ("2026-11-22T03:00:00+01:00"); "-" for 0.
std::string LocalTime(int64_t ms);

// The IANA name of the local time zone ($TZ, /etc/localtime's link target or
// /etc/timezone); "UTC" when none can be found.
std::string LocalTimeZoneName();

// The control commands: registers their subcommands and flags on a CLI11
// app, and after parsing runs the one given. Not thread-safe.
class ControlCommands {
 public:
  // Adds mode, maintenance, rollback, incidents and audit to `app`, which
  // must outlive this object.
  explicit ControlCommands(CLI::App& app);
  ~ControlCommands();
  ControlCommands(const ControlCommands&) = delete;
  ControlCommands& operator=(const ControlCommands&) = delete;

  // After `app` parsed the command line: runs the control command given and
  // returns its exit status (0 success; 1 when the collector cannot be
  // reached, answers an error, or an argument is wrong). nullopt when the
  // command line names none of them.
  std::optional<int> Run() const;

 private:
  struct Commands;  // The subcommands and the values their flags parse into.
  std::unique_ptr<Commands> commands_;
};

}  // namespace vitals::ctl
