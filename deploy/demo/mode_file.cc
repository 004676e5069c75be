#include "deploy/demo/mode_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/log.h"

namespace vitals::demo {
namespace {

constexpr std::array<std::pair<Mode, std::string_view>, 4> kModeNames = {{
    {Mode::kNormal, "normal"},
    {Mode::kDegraded, "degraded"},
    {Mode::kReadOnly, "read_only"},
    {Mode::kMaintenance, "maintenance"},
}};

// Copies the string field `key` of `object` to *out; absent or null leaves it.
Status ReadString(const nlohmann::json& object, const char* key, std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_string())
    return Status::InvalidArgument(std::string("\"") + key + "\" is not a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

// `is_module`: the state of a module, where any mode but normal means "off".
Result<ModeState> ParseModeState(const nlohmann::json& object, const std::string& where,
                                 bool is_module) {
  if (!object.is_object()) return Status::InvalidArgument(where + " is not an object");
  ModeState state;
  std::string mode;
  RETURN_IF_ERROR(ReadString(object, "mode", &mode).WithContext(where));
  const std::optional<Mode> parsed = ParseModeName(mode);
  if (!parsed && !(is_module && !mode.empty())) {
    return Status::InvalidArgument(where + ": unknown mode \"" + mode + "\"");
  }
  state.mode = parsed.value_or(Mode::kDegraded);
  RETURN_IF_ERROR(ReadString(object, "reason", &state.reason).WithContext(where));
  RETURN_IF_ERROR(ReadString(object, "since", &state.since).WithContext(where));
  RETURN_IF_ERROR(ReadString(object, "incident_id", &state.incident_id).WithContext(where));
  RETURN_IF_ERROR(ReadString(object, "source", &state.source).WithContext(where));
  std::string eta;
  RETURN_IF_ERROR(ReadString(object, "eta", &eta).WithContext(where));
  if (!eta.empty()) state.eta = std::move(eta);
  return state;
}

// Parses `digits` decimal digits at text[*pos], advancing *pos.
bool ReadDigits(std::string_view text, size_t* pos, int digits, int* out) {
  if (*pos + digits > text.size()) return false;
  int value = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *pos += digits;
  *out = value;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || (text[*pos] != c && !(c == 'T' && text[*pos] == 't'))) return false;
  ++*pos;
  return true;
}

}  // namespace

std::string_view ModeName(Mode mode) {
  for (const auto& [m, name] : kModeNames) {
    if (m == mode) return name;
  }
  std::abort();  // Every enumerator is in kModeNames.
}

std::optional<Mode> ParseModeName(std::string_view name) {
  for (const auto& [m, mode_name] : kModeNames) {
    if (mode_name == name) return m;
  }
  return std::nullopt;
}

bool ServiceMode::ModuleLimited(std::string_view module) const {
  auto it = modules.find(std::string(module));
  return it != modules.end() && it->second.mode != Mode::kNormal;
}

Result<ServiceMode> ParseServiceMode(std::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("not valid JSON");
  ServiceMode result;
  result.known = true;
  ASSIGN_OR_RETURN(result.service, ParseModeState(doc, "the document", /*is_module=*/false));
  if (auto it = doc.find("modules"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return Status::InvalidArgument("\"modules\" is not an object");
    for (const auto& [name, module] : it->items()) {
      ASSIGN_OR_RETURN(result.modules[name],
                       ParseModeState(module, "module \"" + name + "\"", /*is_module=*/true));
    }
  }
  if (auto it = doc.find("generation"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer())
      return Status::InvalidArgument("\"generation\" is not an integer");
    result.generation = it->get<int64_t>();
  }
  return result;
}

Result<int64_t> ParseRfc3339Millis(std::string_view text) {
  const Status bad =
      Status::InvalidArgument("not an RFC 3339 timestamp: \"" + std::string(text) + "\"");
  std::tm tm{};
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(text, &pos, 4, &year) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day) || !Expect(text, &pos, 'T') ||
      !ReadDigits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &second)) {
    return bad;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return bad;
  }
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int scale = 100;
    const size_t first = pos;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
    }
    if (pos == first) return bad;
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    int oh, om;
    if (!ReadDigits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &om)) {
      return bad;
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return bad;
  }
  if (pos != text.size()) return bad;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t seconds = static_cast<int64_t>(timegm(&tm)) - offset_minutes * 60;
  return seconds * 1000 + millis;
}

bool ModeFileReader::FileVersion::operator==(const FileVersion& other) const {
  return inode == other.inode && size == other.size && mtime.tv_sec == other.mtime.tv_sec &&
         mtime.tv_nsec == other.mtime.tv_nsec;
}

ModeFileReader::ModeFileReader(std::string path) : path_(std::move(path)) {}

ServiceMode ModeFileReader::Current() {
  std::lock_guard lock(mu_);
  // Stat and read through one descriptor: the agent may rename a new version
  // into place in between, and the version recorded must be the one read.
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      if (current_.known) LOG_INFO << "mode file " << path_ << " removed: serving normally";
      current_ = ServiceMode();
      seen_.reset();
      logged_problem_.clear();
    } else {
      LogProblemOnce(std::string("cannot open: ") + std::strerror(errno));
    }
    return current_;
  }
  struct stat st {};
  std::string text;
  bool read_ok = fstat(fd, &st) == 0;
  const FileVersion version{st.st_ino, st.st_size, st.st_mtim};
  if (read_ok && seen_ == version) {
    close(fd);
    return current_;
  }
  char buffer[4096];
  ssize_t n;
  while (read_ok && (n = read(fd, buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno != EINTR) read_ok = false;
    if (n > 0) text.append(buffer, static_cast<size_t>(n));
  }
  const int read_errno = errno;
  close(fd);
  if (!read_ok) {
    LogProblemOnce(std::string("cannot read: ") + std::strerror(read_errno));
    return current_;
  }
  seen_ = version;
  Result<ServiceMode> parsed = ParseServiceMode(text);
  if (!parsed.ok()) {
    LogProblemOnce(parsed.status().message());
    return current_;
  }
  const bool changed = !current_.known || current_.generation != parsed->generation;
  current_ = std::move(parsed).value();
  logged_problem_.clear();
  if (changed) {
    LOG_INFO << "mode " << ModeName(current_.service.mode) << " (generation " << current_.generation
             << ", " << current_.modules.size() << " limited modules) from " << path_;
  }
  return current_;
}

void ModeFileReader::LogProblemOnce(const std::string& problem) {
  if (problem == logged_problem_) return;
  logged_problem_ = problem;
  LOG_WARN << "mode file " << path_ << ": " << problem << "; keeping mode "
           << ModeName(current_.service.mode);
}

}  // namespace vitals::demo
