#pragma once

// Building blocks for tests that run the real vitals programs: temporary
// directories (TempDir, from tests/support/temp_dir.h), free ports, child
// processes with captured output, HTTP GETs, polling with a deadline, config
// files and a reader for the Prometheus text format. Every test gets its own
// directory and ports, so tests run in parallel. Nothing here is thread-safe
// unless it says so.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/temp_dir.h"  // TempDir

namespace vitals::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
// released). Another process can take it in between; the chance is small.
int FreeTcpPort();

// Writes `contents` to `path`, replacing the file. Aborts the test binary on
// I/O errors (a broken test environment, not a finding).
void WriteFile(const std::string& path, std::string_view contents);
// The whole file, or "" if it cannot be read.
std::string ReadFile(const std::string& path);

// A child process started with posix_spawn. stdout and stderr go to files;
// stdin is /dev/null unless a file is given. The destructor SIGKILLs a child
// that is still running and reaps it.
class Process {
 public:
  // Starts argv[0] (a path, not searched in $PATH) with the current
  // environment; output goes to `<output_prefix>.stdout` and `.stderr`.
  // Returns nullptr and sets *error when the process cannot be started.
  static std::unique_ptr<Process> Start(const std::vector<std::string>& argv,
                                        const std::string& output_prefix, std::string* error,
                                        const std::string& stdin_path = "");
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // Sends `sig`; does nothing once the child has been reaped.
  void Kill(int sig);
  // Blocks until the child exits. Returns its status as a shell reports it:
  // the exit code, or 128 + the signal number that ended it.
  int Wait();
  // As Wait(), but gives up after `timeout` and returns nullopt.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // True until the child has exited (reaps it when it has).
  bool IsRunning();

  std::string Stdout() const;
  std::string Stderr() const;
  // Stderr then stdout, for failure messages.
  std::string Output() const;

 private:
  Process(pid_t pid, std::string output_prefix);
  // Reaps the child if it has exited; with `block`, waits for it.
  void Reap(bool block);

  const pid_t pid_;
  const std::string output_prefix_;
  std::optional<int> status_;  // Set once reaped.
};

struct HttpResponse {
  int status = 0;  // 0 when no response arrived; see `error`.
  std::string body;
  std::string error;  // Transport error, "" when a response arrived.
};

// GET http://host:port/path with short timeouts. `path` is sent as given:
// encode query values with UrlEncode.
HttpResponse HttpGet(const std::string& host, int port, const std::string& path);

// Percent-encodes everything except unreserved characters (RFC 3986).
std::string UrlEncode(std::string_view text);

// Polls `cond` every 20ms until it returns true (true) or `deadline` has
// passed (false). `cond` is always tried at least once.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline);

// Milliseconds since the Unix epoch.
int64_t NowUnixMs();

// --- Configuration files -------------------------------------------------

struct CollectorConfig {
  int ingest_port = 0;
  int web_port = 0;
  std::string storage_path;
  std::string max_message_size = "16MiB";
  // CURVE: all three set turns it on.
  std::string curve_public_key_file;
  std::string curve_secret_key_file;
  std::string allowed_agents_dir;
  std::string log_level = "debug";
  // Appended verbatim: top-level keys the fields above do not cover
  // (rules:, actions:, control:, ...).
  std::string extra_yaml;

  std::string IngestEndpoint() const;  // tcp://127.0.0.1:<ingest_port>
};

// Writes a collector.yml for `config` to `path`.
void WriteCollectorConfig(const std::string& path, const CollectorConfig& config);

struct AgentConfig {
  std::string agent_id;
  std::string endpoint;  // The collector's ingest endpoint.
  std::string interval = "200ms";
  std::string ack_timeout = "1s";
  std::string max_retry_backoff = "500ms";
  std::map<std::string, std::string> labels;
  std::string proc_path;  // "" for the agent's default (/proc).
  std::string sys_path;   // "" for the agent's default (/sys).
  std::string spool_dir;  // "" for <directory of agent.yml>/<agent_id>-spool.
  // CURVE: all three set turns it on.
  std::string server_public_key_file;
  std::string curve_public_key_file;
  std::string curve_secret_key_file;
  std::string log_level = "debug";
  // Appended verbatim: top-level keys the fields above do not cover
  // (checks:, services:, modes:, ...).
  std::string extra_yaml;
};

// Writes an agent.yml for `config` to `path`.
void WriteAgentConfig(const std::string& path, const AgentConfig& config);

// Copies tests/fixtures/hostroot (a fake /proc and /sys) to `<dir>/hostroot`
// and returns that path; point AgentConfig::proc_path/sys_path into it.
std::string CopyHostRootFixture(const TempDir& dir);

// --- The programs under test ---------------------------------------------

// A vitals-collector on free ports with storage in its TempDir. Start() may be
// called again after the process died, to restart on the same ports and data.
class TestCollector {
 public:
  // Picks free ports and `<dir>/<name>-data` for storage; adjust config()
  // before Start(). `name` keeps the files of several collectors apart.
  explicit TestCollector(const TempDir& dir, std::string name = "collector");

  CollectorConfig& config() { return config_; }
  const CollectorConfig& config() const { return config_; }
  const std::string& config_path() const { return config_path_; }

  // Writes the config, starts the process and waits until /-/ready answers
  // 200. False (with the reason in *error) if it exits or is not ready in time.
  bool Start(std::string* error);
  Process* process() { return process_.get(); }

  HttpResponse Get(const std::string& path) const;
  // The body of /metrics, "" if it could not be fetched.
  std::string Metrics() const;
  // MetricValue() of `series` in /metrics.
  std::optional<double> Metric(std::string_view series) const;
  // The body of /federate?match[]=<selector>, "" unless it answered 200.
  std::string Federate(std::string_view selector) const;
  // Captured output of the current process, "" if none.
  std::string Output() const;

 private:
  const TempDir& dir_;
  const std::string name_;
  const std::string config_path_;
  CollectorConfig config_;
  std::unique_ptr<Process> process_;
};

// Starts `binary --config <config_path>`; output goes to `<output_prefix>.*`.
std::unique_ptr<Process> StartProgram(const std::string& binary, const std::string& config_path,
                                      const std::string& output_prefix, std::string* error);

// Paths of the programs under test (baked in by CMake).
std::string CollectorBinary();
std::string AgentBinary();
std::string CtlBinary();

// --- Prometheus text exposition -----------------------------------------

// One sample line of the Prometheus text format.
struct ExpositionSample {
  std::string line;  // As it appeared, without the newline.
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

// Every sample line of `text`; comment, blank and unparseable lines are skipped.
std::vector<ExpositionSample> ParseExposition(std::string_view text);

// The first sample whose name equals the name in `series` and whose labels
// include every label in it: `up`, `node_load1{agent="a"}`. Label values in
// `series` use the exposition format's escaping.
std::optional<ExpositionSample> FindSample(std::string_view text, std::string_view series);

// The value of FindSample(text, series), e.g.
//   MetricValue(text, "vitals_ingest_rejected_total{reason=\"malformed\"}")
std::optional<double> MetricValue(std::string_view text, std::string_view series);

}  // namespace vitals::testing
