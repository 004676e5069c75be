#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

// Bearer tokens for the control API (docs/control-api.md), kept in a file
// operators edit; vitalsctl reads the same format.
namespace vitals::collector {

// One bearer token a token file accepts, and the name the audit log records
// for whoever presents it ("user:<name>").
struct NamedToken {
  std::string name;
  std::string token;
};

// Parses a token file: each line that is neither empty nor starts with '#'
// (after trimming blanks) is "<name>:<token>" or a bare token, whose name is
// "operator". The first ':' separates name and token. InvalidArgument
// "<file_name>:<line>: ..." on an empty name or token, or a name with blanks.
Result<std::vector<NamedToken>> ParseTokenFile(std::string_view text, std::string_view file_name);

// The tokens of a token file, re-read when the file's modification time,
// size or inode changes, so tokens can be added and revoked without a
// restart. Thread-safe.
class TokenFile {
 public:
  explicit TokenFile(std::string path);
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;

  // The name of the token equal to `token`, or nullopt if no token is. Every
  // token of the file is compared, in time that depends neither on where
  // `token` differs nor on which one matched (SHA-256 digests compared with
  // sodium_memcmp). IOError if the file cannot be read, InvalidArgument if
  // it does not parse (ParseTokenFile); then nothing is accepted until the
  // file is fixed.
  Result<std::optional<std::string>> Authenticate(std::string_view token);

  const std::string& path() const { return path_; }

 private:
  struct Entry {
    std::string name;
    std::array<unsigned char, 32> digest;  // SHA-256 of the token.
  };
  // Re-reads the file if it changed. REQUIRES(mu_).
  Status Refresh();

  const std::string path_;
  std::mutex mu_;
  std::vector<Entry> entries_;  // GUARDED_BY(mu_)
  Status load_status_;          // GUARDED_BY(mu_) Outcome of the last read.
  // Identity of the file last read (mtime in ns, size, inode); GUARDED_BY(mu_).
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
  uint64_t inode_ = 0;
};

}  // namespace vitals::collector
