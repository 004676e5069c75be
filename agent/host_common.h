#pragma once

#include <dirent.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/samples.h"
#include "common/status.h"

// Helpers shared by the host probe's parsers (host_probes.cc,
// host_kernel_stats.cc): splitting kernel text into lines and fields, numbers,
// reading /proc and /sys files. Internal to the agent.

namespace vitals::agent::internal {

MetricDesc Counter(std::string name, std::string help);
MetricDesc Gauge(std::string name, std::string help);

// `s` without leading and trailing whitespace.
std::string_view Trim(std::string_view s);

// Whitespace-separated fields, like Go's strings.Fields.
std::vector<std::string_view> Fields(std::string_view s);
// The same into *fields (cleared first), reusing its capacity: for loops over
// the lines of a file, which then allocate once instead of once per line.
void SplitFields(std::string_view s, std::vector<std::string_view>* fields);

// The lines of `text` without their '\n'; a final newline adds no empty line.
std::vector<std::string_view> Lines(std::string_view text);

// InvalidArgument "line <n>: <what>: "<line>"" for the 0-based `line_index`.
Status LineError(size_t line_index, std::string_view what, std::string_view line);

// The whole of `s` as a number; InvalidArgument otherwise.
Result<double> ParseNumber(std::string_view s);

// Runs `parse` into a scratch set and moves the samples into *out only if it
// succeeds, so a parser that fails halfway leaves *out unchanged.
template <typename Parse>
Status AllOrNothing(SampleSet* out, Parse parse) {
  SampleSet scratch(out->default_timestamp_ms());
  RETURN_IF_ERROR(parse(&scratch));
  out->Append(std::move(scratch));
  return Status::Ok();
}

// The whole file at `path`, read until EOF (/proc files report size 0).
// NotFound if it does not exist, IOError for other failures; both name `path`.
Result<std::string> ReadFile(const std::string& path);

// The same for the file `name` in the directory open as `dir_fd` (openat(2));
// errors name `dir_path`/`name`.
Result<std::string> ReadFileAt(int dir_fd, const std::string& dir_path, const char* name);

// Reads `path` and runs `parse` on it; errors name the file.
Status ParseFile(const std::string& path, Status (*parse)(std::string_view, SampleSet*),
                 SampleSet* out);

// A /proc or /sys file that the probe reads every round. It stays open
// between reads: procfs and sysfs generate a file's contents anew for each
// read from offset 0, so a pread(2) from 0 sees what a fresh open would, in
// one system call instead of three (open, read, close). A file that cannot be
// opened is tried again at the next Read; one whose read fails is closed, and
// if it had been open since an earlier Read, reopened and read once more at
// once (a sysfs file of a network interface that went away and came back
// fails with ENODEV until reopened); one whose read fails with EINVAL (a
// sysfs attribute without a value at the moment) stays open. Not for files that are replaced rather
// than rewritten: the kernel's never are, but an open copy would keep the
// old contents. Not thread-safe.
class KernelFile {
 public:
  explicit KernelFile(std::string path) : path_(std::move(path)) {}
  ~KernelFile() { Close(); }
  KernelFile(const KernelFile&) = delete;
  KernelFile& operator=(const KernelFile&) = delete;

  // Replaces *contents with the whole file (its buffer is reused).
  // NotFound if the file does not exist, IOError for other failures; both
  // name the path.
  Status Read(std::string* contents);

  // For a mount table (/proc/<pid>/mounts or mountinfo): true if the kernel
  // says no mount or unmount happened in its mount namespace since the last
  // Read or call of this, so the contents last read still hold. Procfs
  // signals such a change with POLLPRI on the open file (what systemd and
  // util-linux watch). False when the file is not open, or is not a procfs
  // file (a copy under a test's fake root can change without telling).
  bool MountTableUnchanged();

  const std::string& path() const { return path_; }

 private:
  Status Open();
  void Close();
  // On failure, *err is the errno of the failed read.
  Status ReadFromStart(std::string* contents, int* err) const;

  const std::string path_;
  int fd_ = -1;
  bool on_procfs_ = false;  // Of the open file.
};

// A /sys directory that the probe lists every round (network interfaces,
// clocksources). It stays open between rounds, like KernelFile: a listing
// rewinds it and reads the entries again, where a fresh listing would also
// open, stat and close it. Not for directories that are replaced; the
// kernel's never are. Not thread-safe.
class KernelDir {
 public:
  explicit KernelDir(std::string path) : path_(std::move(path)) {}
  ~KernelDir() { Close(); }
  KernelDir(const KernelDir&) = delete;
  KernelDir& operator=(const KernelDir&) = delete;

  // Replaces *names with the names of the entries, without "." and "..", in
  // the directory's order; the strings' buffers are reused. NotFound if the
  // directory does not exist, IOError for other failures; both name the path.
  Status List(std::vector<std::string>* names);

  // True if the entry `name` of the directory is a directory or a symbolic
  // link to one (as /sys/class/net's devices are). REQUIRES: List succeeded.
  bool IsDirectory(const std::string& name) const;

  const std::string& path() const { return path_; }

 private:
  void Close();

  const std::string path_;
  DIR* dir_ = nullptr;
};

// Reads `file` into *buffer and runs `parse` on it; errors name the file.
Status ParseKernelFile(KernelFile& file, std::string* buffer,
                       Status (*parse)(std::string_view, SampleSet*), SampleSet* out);

}  // namespace vitals::agent::internal
