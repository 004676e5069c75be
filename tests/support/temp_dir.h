#pragma once

// A scratch directory for tests, shared by the unit tests and the
// integration harness. Header-only: no library to link.

#include <stdlib.h>  // mkdtemp

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace vitals::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction. Set VITALS_KEEP_TEST_DIRS=1 to keep it for a post-mortem.
// Failing to create it or write into it aborts the test binary: that is a
// broken test environment, not a finding. Not thread-safe.
class TempDir {
 public:
  TempDir() {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string templ =
        std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") + "/vitals-test.XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) Die("mkdtemp " + templ);
    path_ = std::move(templ);
  }
  ~TempDir() {
    const char* keep = std::getenv("VITALS_KEEP_TEST_DIRS");
    if (keep != nullptr && std::string_view(keep) == "1") {
      std::fprintf(stderr, "TempDir: keeping %s\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name; creates nothing.
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }
  // Writes `contents` to File(name), replacing the file, and returns its path.
  std::string WriteFile(std::string_view name, std::string_view contents) const {
    const std::string file = File(name);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) Die("write " + file);
    return file;
  }

 private:
  [[noreturn]] static void Die(const std::string& what) {
    std::fprintf(stderr, "TempDir: %s: %s\n", what.c_str(), std::strerror(errno));
    std::abort();
  }

  std::string path_;
};

}  // namespace vitals::testing
