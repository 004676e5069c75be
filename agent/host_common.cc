#include "agent/host_common.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <system_error>

namespace vitals::agent::internal {
namespace {

// Inlined even in the agent's -Os build: it runs for every byte of every
// /proc file of every round.
[[gnu::always_inline]] inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

}  // namespace

MetricDesc Counter(std::string name, std::string help) {
  return MetricDesc{std::move(name), MetricType::kCounter, std::move(help)};
}

MetricDesc Gauge(std::string name, std::string help) {
  return MetricDesc{std::move(name), MetricType::kGauge, std::move(help)};
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

void SplitFields(std::string_view s, std::vector<std::string_view>* fields) {
  fields->clear();
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) fields->push_back(s.substr(start, i - start));
  }
}

std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> fields;
  SplitFields(s, &fields);
  return fields;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  lines.reserve(std::count(text.begin(), text.end(), '\n') + 1);
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

Status LineError(size_t line_index, std::string_view what, std::string_view line) {
  return Status::InvalidArgument("line " + std::to_string(line_index + 1) + ": " +
                                 std::string(what) + ": \"" + std::string(line) + "\"");
}

Result<double> ParseNumber(std::string_view s) {
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Status::InvalidArgument("not a number: \"" + std::string(s) + "\"");
  }
  return value;
}

namespace {

// Reads the file `name` relative to `dir_fd`; `path` names it in errors.
Result<std::string> ReadWholeFile(int dir_fd, const char* name, const std::string& path) {
  int fd = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = path + ": " + std::generic_category().message(err);
    return err == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
  }
  std::string contents;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::IOError(path + ": " + std::generic_category().message(err));
    }
    if (n == 0) break;
    contents.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return contents;
}

}  // namespace

Result<std::string> ReadFile(const std::string& path) {
  return ReadWholeFile(AT_FDCWD, path.c_str(), path);
}

Result<std::string> ReadFileAt(int dir_fd, const std::string& dir_path, const char* name) {
  return ReadWholeFile(dir_fd, name, dir_path + "/" + name);
}

Status ParseFile(const std::string& path, Status (*parse)(std::string_view, SampleSet*),
                 SampleSet* out) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  Status st = parse(text, out);
  return st.ok() ? st : st.WithContext(path);
}

Status KernelFile::Read(std::string* contents) {
  const bool reused = fd_ >= 0;
  if (!reused) RETURN_IF_ERROR(Open());
  int err = 0;
  Status status = ReadFromStart(contents, &err);
  // A sysfs attribute with no value now (duplex of a link that is down or
  // virtual) fails its read with EINVAL; the file itself is fine, and stays
  // open for the next round.
  if (status.ok() || err == EINVAL) return status;
  Close();
  if (!reused) return status;
  RETURN_IF_ERROR(Open());
  status = ReadFromStart(contents, &err);
  if (!status.ok() && err != EINVAL) Close();
  return status;
}

bool KernelFile::MountTableUnchanged() {
  if (fd_ < 0 || !on_procfs_) return false;
  struct pollfd p {fd_, POLLPRI, 0};
  // Each poll reports a change once: the file remembers the namespace's
  // event count it last reported.
  return ::poll(&p, 1, 0) >= 0 && (p.revents & (POLLPRI | POLLERR)) == 0;
}

Status KernelFile::Open() {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ >= 0) {
    struct statfs fs {};
    on_procfs_ = ::fstatfs(fd_, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
    return Status::Ok();
  }
  const int err = errno;
  std::string msg = path_ + ": " + std::generic_category().message(err);
  return err == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
}

void KernelFile::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status KernelFile::ReadFromStart(std::string* contents, int* err) const {
  // Most of these files are under a page; /proc/stat grows with the CPUs.
  if (contents->capacity() < 4096) contents->reserve(4096);
  contents->resize(contents->capacity());
  size_t size = 0;
  while (true) {
    if (size == contents->size()) contents->resize(2 * size);
    ssize_t n =
        ::pread(fd_, contents->data() + size, contents->size() - size, static_cast<off_t>(size));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = errno;
      contents->clear();
      return Status::IOError(path_ + ": " + std::generic_category().message(*err));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  contents->resize(size);
  return Status::Ok();
}

Status KernelDir::List(std::vector<std::string>* names) {
  size_t count = 0;
  if (dir_ == nullptr) {
    dir_ = ::opendir(path_.c_str());
    if (dir_ == nullptr) {
      const int err = errno;
      names->clear();
      std::string msg = path_ + ": " + std::generic_category().message(err);
      return err == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
    }
  } else {
    ::rewinddir(dir_);
  }
  while (true) {
    errno = 0;
    const struct dirent* entry = ::readdir(dir_);
    if (entry == nullptr) break;
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (count == names->size()) names->emplace_back();
    (*names)[count++].assign(name);
  }
  const int err = errno;
  names->resize(count);
  if (err != 0) {
    Close();
    names->clear();
    return Status::IOError(path_ + ": " + std::generic_category().message(err));
  }
  return Status::Ok();
}

bool KernelDir::IsDirectory(const std::string& name) const {
  struct stat st {};
  return dir_ != nullptr && ::fstatat(::dirfd(dir_), name.c_str(), &st, 0) == 0 &&
         S_ISDIR(st.st_mode);
}

void KernelDir::Close() {
  if (dir_ != nullptr) ::closedir(dir_);
  dir_ = nullptr;
}

Status ParseKernelFile(KernelFile& file, std::string* buffer,
                       Status (*parse)(std::string_view, SampleSet*), SampleSet* out) {
  RETURN_IF_ERROR(file.Read(buffer));
  Status st = parse(*buffer, out);
  return st.ok() ? st : st.WithContext(file.path());
}

}  // namespace vitals::agent::internal
