#include "agent/service_versions.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "agent/mode_enforcer.h"

namespace vitals::agent {
namespace {

constexpr size_t kMaxVersionBytes = 128;
constexpr std::streamsize kMaxFileBytes = 4096;  // The first line is all we need.

Result<std::string> ReadVersionFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
  std::string text(kMaxFileBytes, '\0');
  in.read(text.data(), kMaxFileBytes);
  text.resize(static_cast<size_t>(in.gcount()));
  auto version = ParseVersionLine(text);
  if (!version.ok()) return version.status().WithContext(path);
  return version;
}

}  // namespace

const MetricDesc kServiceBuildInfoDesc{
    "vitals_build_info", MetricType::kGauge,
    "The version of a service running on this host, from the agent's services config."};

Result<std::string> ParseVersionLine(std::string_view text) {
  std::string_view line = text.substr(0, text.find('\n'));
  const size_t first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return Status::InvalidArgument("the first line is empty");
  line = line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
  if (line.size() > kMaxVersionBytes) {
    return Status::InvalidArgument("the first line is longer than " +
                                   std::to_string(kMaxVersionBytes) + " bytes");
  }
  for (char c : line) {
    if (c < 0x20 || c > 0x7e) {
      return Status::InvalidArgument("the first line is not printable ASCII");
    }
  }
  return std::string(line);
}

Result<std::unique_ptr<ServiceVersions>> ServiceVersions::Create(ServiceVersionsOptions options,
                                                                 const Clock& clock) {
  std::vector<Source> sources;
  for (const ServiceConfig& service : options.services) {
    if (service.version_file.empty() && service.version_command.empty()) continue;
    Source source;
    source.service = service.name;
    source.file = service.version_file;
    if (!service.version_command.empty()) {
      SubprocessOptions command;
      command.argv = service.version_command;
      auto created = Subprocess::Create(std::move(command));
      if (!created.ok()) {
        return created.status().WithContext("service " + service.name + ": version_command");
      }
      source.command = std::move(created).value();
    }
    sources.push_back(std::move(source));
  }
  return std::unique_ptr<ServiceVersions>(
      new ServiceVersions(std::move(options), clock, std::move(sources)));
}

ServiceVersions::ServiceVersions(ServiceVersionsOptions options, const Clock& clock,
                                 std::vector<Source> sources)
    : options_(std::move(options)),
      clock_(clock),
      sources_(std::move(sources)),
      log_limiter_(clock, options_.log_interval) {}

ServiceVersions::~ServiceVersions() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ServiceVersions::Collect(SampleSet* set) {
  bool any_command = false;
  for (const Source& source : sources_) {
    if (source.command) {
      any_command = true;
      continue;
    }
    auto version = ReadVersionFile(source.file);
    if (!version.ok()) {
      LogFailure(source.service, version.status());
      continue;
    }
    set->Add(kServiceBuildInfoDesc, {{"service", source.service}, {"version", *version}}, 1);
  }
  if (!any_command) return;
  {
    std::lock_guard lock(mu_);
    for (const auto& [service, version] : command_versions_) {
      set->Add(kServiceBuildInfoDesc, {{"service", service}, {"version", version}}, 1);
    }
    if (!running_) run_requested_ = true;
    if (!worker_.joinable()) worker_ = std::thread([this] { RunCommands(); });
  }
  cv_.notify_all();
}

void ServiceVersions::WaitForCommands() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || (!running_ && !run_requested_); });
}

void ServiceVersions::RunCommands() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || run_requested_; });
    if (stopping_) break;
    run_requested_ = false;
    running_ = true;
    lock.unlock();
    std::map<std::string, std::string> found;
    for (const Source& source : sources_) {
      if (!source.command) continue;
      auto version = RunCommand(source);
      if (version.ok()) {
        found[source.service] = *version;
      } else {
        LogFailure(source.service, version.status());
      }
    }
    lock.lock();
    command_versions_ = std::move(found);
    running_ = false;
    cv_.notify_all();
  }
  running_ = false;
  cv_.notify_all();
}

Result<std::string> ServiceVersions::RunCommand(const Source& source) {
  const std::string& name = source.command->argv()[0];
  auto result = source.command->Run(std::chrono::steady_clock::now() + options_.command_timeout);
  if (!result.ok()) return result.status().WithContext(name);
  if (!result->succeeded()) {
    return Status::Unavailable(name + ": " + DescribeFailedRun(*result, options_.command_timeout));
  }
  auto version = ParseVersionLine(result->out);
  if (!version.ok()) return version.status().WithContext(name + ": standard output");
  return version;
}

void ServiceVersions::LogFailure(const std::string& service, const Status& status) {
  uint64_t suppressed = 0;
  if (!log_limiter_.Allow(service, &suppressed)) return;
  LOG_WARN << "service " << service
           << ": version unknown, so vitals_build_info is not sent: " << status.message()
           << (suppressed > 0 ? " (" + std::to_string(suppressed) + " similar suppressed)" : "");
}

}  // namespace vitals::agent
