#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace vitals::testing {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "harness: %s: %s\n", what.c_str(), std::strerror(errno));
  std::abort();
}

// YAML double-quoted scalar.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

// --- Ports, files, polling ---------------------------------------------------

int FreeTcpPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("bind 127.0.0.1:0");
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) Die("getsockname");
  close(fd);
  return ntohs(addr.sin_port);
}

void WriteFile(const std::string& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) Die("write " + path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- Process -----------------------------------------------------------------

std::unique_ptr<Process> Process::Start(const std::vector<std::string>& argv,
                                        const std::string& output_prefix, std::string* error,
                                        const std::string& stdin_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string in = stdin_path.empty() ? "/dev/null" : stdin_path;
  const std::string out = output_prefix + ".stdout";
  const std::string err = output_prefix + ".stderr";
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);

  // The child gets default signal dispositions and an empty mask, whatever
  // the test runner set up.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    *error = "posix_spawn " + argv[0] + ": " + std::strerror(rc);
    return nullptr;
  }
  return std::unique_ptr<Process>(new Process(pid, output_prefix));
}

Process::Process(pid_t pid, std::string output_prefix)
    : pid_(pid), output_prefix_(std::move(output_prefix)) {}

Process::~Process() {
  if (status_) return;
  kill(pid_, SIGKILL);
  Reap(/*block=*/true);
}

void Process::Kill(int sig) {
  if (!status_) kill(pid_, sig);
}

void Process::Reap(bool block) {
  if (status_) return;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) Die("waitpid " + std::to_string(pid_));
  if (r != pid_) return;
  if (WIFEXITED(status)) {
    status_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    status_ = 128 + WTERMSIG(status);
  }
}

int Process::Wait() {
  Reap(/*block=*/true);
  return *status_;
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  WaitFor([this] { return !IsRunning(); }, timeout);
  return status_;
}

bool Process::IsRunning() {
  Reap(/*block=*/false);
  return !status_.has_value();
}

std::string Process::Stdout() const { return ReadFile(output_prefix_ + ".stdout"); }
std::string Process::Stderr() const { return ReadFile(output_prefix_ + ".stderr"); }
std::string Process::Output() const {
  return "--- stderr of " + output_prefix_ + " ---\n" + Stderr() + "--- stdout ---\n" + Stdout();
}

// --- HTTP ----------------------------------------------------------------------

HttpResponse HttpGet(const std::string& host, int port, const std::string& path) {
  httplib::Client client(host, port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(10));
  client.set_url_encode(false);
  HttpResponse response;
  httplib::Result result = client.Get(path.c_str());
  if (!result) {
    response.error = httplib::to_string(result.error());
    return response;
  }
  response.status = result->status;
  response.body = result->body;
  return response;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// --- Configuration files ------------------------------------------------------

std::string CollectorConfig::IngestEndpoint() const {
  return "tcp://127.0.0.1:" + std::to_string(ingest_port);
}

void WriteCollectorConfig(const std::string& path, const CollectorConfig& config) {
  std::ostringstream yml;
  yml << "ingest:\n"
      << "  listen: " << config.IngestEndpoint() << "\n"
      << "  max_message_size: " << config.max_message_size << "\n";
  if (!config.curve_public_key_file.empty()) {
    yml << "  curve:\n"
        << "    public_key_file: " << Quote(config.curve_public_key_file) << "\n"
        << "    secret_key_file: " << Quote(config.curve_secret_key_file) << "\n"
        << "    allowed_agents_dir: " << Quote(config.allowed_agents_dir) << "\n";
  }
  yml << "web:\n"
      << "  listen: 127.0.0.1:" << config.web_port << "\n"
      << "storage:\n"
      << "  path: " << Quote(config.storage_path) << "\n"
      << "log:\n"
      << "  level: " << config.log_level << "\n"
      << config.extra_yaml;
  WriteFile(path, yml.str());
}

void WriteAgentConfig(const std::string& path, const AgentConfig& config) {
  std::ostringstream yml;
  yml << "agent_id: " << Quote(config.agent_id) << "\n";
  if (!config.labels.empty()) {
    yml << "labels:\n";
    for (const auto& [name, value] : config.labels) {
      yml << "  " << name << ": " << Quote(value) << "\n";
    }
  }
  yml << "interval: " << config.interval << "\n"
      << "collector:\n"
      << "  endpoint: " << config.endpoint << "\n"
      << "  ack_timeout: " << config.ack_timeout << "\n"
      << "  max_retry_backoff: " << config.max_retry_backoff << "\n";
  if (!config.server_public_key_file.empty()) {
    yml << "  server_public_key_file: " << Quote(config.server_public_key_file) << "\n"
        << "curve:\n"
        << "  public_key_file: " << Quote(config.curve_public_key_file) << "\n"
        << "  secret_key_file: " << Quote(config.curve_secret_key_file) << "\n";
  }
  std::string spool_dir = config.spool_dir;
  if (spool_dir.empty()) {
    spool_dir = std::filesystem::path(path).parent_path() / (config.agent_id + "-spool");
  }
  yml << "spool:\n"
      << "  dir: " << Quote(spool_dir) << "\n";
  if (!config.proc_path.empty() || !config.sys_path.empty()) {
    yml << "host:\n";
    if (!config.proc_path.empty()) yml << "  proc_path: " << Quote(config.proc_path) << "\n";
    if (!config.sys_path.empty()) yml << "  sys_path: " << Quote(config.sys_path) << "\n";
  }
  yml << "log:\n"
      << "  level: " << config.log_level << "\n"
      << config.extra_yaml;
  WriteFile(path, yml.str());
}

std::string CopyHostRootFixture(const TempDir& dir) {
  const std::string to = dir.File("hostroot");
  std::error_code ec;
  std::filesystem::copy(VITALS_FIXTURES_DIR "/hostroot", to,
                        std::filesystem::copy_options::recursive, ec);
  if (ec) {
    errno = ec.value();
    Die("copy " VITALS_FIXTURES_DIR "/hostroot to " + to);
  }
  return to;
}

// --- Programs -----------------------------------------------------------------

std::string CollectorBinary() { return VITALS_COLLECTOR_BIN; }
std::string AgentBinary() { return VITALS_AGENT_BIN; }
std::string CtlBinary() { return VITALS_CTL_BIN; }

std::unique_ptr<Process> StartProgram(const std::string& binary, const std::string& config_path,
                                      const std::string& output_prefix, std::string* error) {
  return Process::Start({binary, "--config", config_path}, output_prefix, error);
}

TestCollector::TestCollector(const TempDir& dir, std::string name)
    : dir_(dir), name_(std::move(name)), config_path_(dir.File(name_ + ".yml")) {
  config_.ingest_port = FreeTcpPort();
  config_.web_port = FreeTcpPort();
  config_.storage_path = dir.File(name_ + "-data");
}

bool TestCollector::Start(std::string* error) {
  WriteCollectorConfig(config_path_, config_);
  process_ = StartProgram(CollectorBinary(), config_path_, dir_.File(name_), error);
  if (process_ == nullptr) return false;
  bool exited = false;
  bool ready = WaitFor(
      [&] {
        if (!process_->IsRunning()) {
          exited = true;
          return true;
        }
        return Get("/-/ready").status == 200;
      },
      std::chrono::seconds(60));
  if (exited) {
    *error = "vitals-collector exited with status " + std::to_string(process_->Wait()) +
             " during start-up\n" + process_->Output();
    return false;
  }
  if (!ready) {
    *error = "vitals-collector not ready on port " + std::to_string(config_.web_port) +
             " within 60s\n" + process_->Output();
    return false;
  }
  return true;
}

HttpResponse TestCollector::Get(const std::string& path) const {
  return HttpGet("127.0.0.1", config_.web_port, path);
}

std::string TestCollector::Metrics() const {
  HttpResponse r = Get("/metrics");
  return r.status == 200 ? r.body : "";
}

std::optional<double> TestCollector::Metric(std::string_view series) const {
  return MetricValue(Metrics(), series);
}

std::string TestCollector::Federate(std::string_view selector) const {
  HttpResponse r = Get("/federate?match[]=" + UrlEncode(selector));
  return r.status == 200 ? r.body : "";
}

std::string TestCollector::Output() const { return process_ == nullptr ? "" : process_->Output(); }

// --- Prometheus text exposition -----------------------------------------------

namespace {

bool IsNameStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

// Parses `name{label="value",...}` at the start of `s`. On success advances
// `s` past it.
bool ParseSeriesRef(std::string_view& s, std::string* name,
                    std::map<std::string, std::string>* labels) {
  size_t i = 0;
  if (i >= s.size() || !IsNameStart(s[i])) return false;
  while (i < s.size() && IsNameChar(s[i])) ++i;
  *name = std::string(s.substr(0, i));
  if (i < s.size() && s[i] == '{') {
    ++i;
    while (true) {
      while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
      if (i >= s.size()) return false;
      if (s[i] == '}') {
        ++i;
        break;
      }
      size_t start = i;
      while (i < s.size() && IsNameChar(s[i])) ++i;
      std::string label(s.substr(start, i - start));
      if (label.empty() || i + 1 >= s.size() || s[i] != '=' || s[i + 1] != '"') return false;
      i += 2;
      std::string value;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) {
          ++i;
          value += s[i] == 'n' ? '\n' : s[i];
        } else {
          value += s[i];
        }
        ++i;
      }
      if (i >= s.size()) return false;
      ++i;  // closing quote
      (*labels)[label] = value;
    }
  }
  s.remove_prefix(i);
  return true;
}

std::optional<double> ParseDouble(const std::string& token) {
  if (token.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(token.c_str(), &end);
  if (end != token.c_str() + token.size()) return std::nullopt;
  return v;
}

std::optional<ExpositionSample> ParseSampleLine(std::string_view line) {
  ExpositionSample sample;
  sample.line = std::string(line);
  std::string_view rest = line;
  if (!ParseSeriesRef(rest, &sample.name, &sample.labels)) return std::nullopt;
  std::istringstream tokens{std::string(rest)};
  std::string value_token;
  std::string timestamp_token;
  tokens >> value_token >> timestamp_token;
  std::optional<double> value = ParseDouble(value_token);
  if (!value) return std::nullopt;
  sample.value = *value;
  if (!timestamp_token.empty()) {
    char* end = nullptr;
    long long ts = std::strtoll(timestamp_token.c_str(), &end, 10);
    if (*end != '\0') return std::nullopt;
    sample.timestamp_ms = ts;
  }
  return sample;
}

}  // namespace

std::vector<ExpositionSample> ParseExposition(std::string_view text) {
  std::vector<ExpositionSample> samples;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line[0] == '#') continue;
    if (std::optional<ExpositionSample> s = ParseSampleLine(line)) samples.push_back(*s);
  }
  return samples;
}

std::optional<ExpositionSample> FindSample(std::string_view text, std::string_view series) {
  std::string name;
  std::map<std::string, std::string> want;
  std::string_view query = series;
  if (!ParseSeriesRef(query, &name, &want) || !query.empty()) {
    std::fprintf(stderr, "harness: bad series reference: %.*s\n", static_cast<int>(series.size()),
                 series.data());
    std::abort();
  }
  for (ExpositionSample& sample : ParseExposition(text)) {
    if (sample.name != name) continue;
    bool match = true;
    for (const auto& [label, value] : want) {
      auto it = sample.labels.find(label);
      if (it == sample.labels.end() || it->second != value) {
        match = false;
        break;
      }
    }
    if (match) return std::move(sample);
  }
  return std::nullopt;
}

std::optional<double> MetricValue(std::string_view text, std::string_view series) {
  std::optional<ExpositionSample> sample = FindSample(text, series);
  if (!sample) return std::nullopt;
  return sample->value;
}

}  // namespace vitals::testing
