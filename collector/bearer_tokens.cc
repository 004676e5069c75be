#include "collector/bearer_tokens.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include <sodium.h>

#include "common/log.h"

namespace vitals::collector {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool HasBlank(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

std::array<unsigned char, 32> Sha256(std::string_view text) {
  std::array<unsigned char, 32> digest;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size());
  return digest;
}

}  // namespace

Result<std::vector<NamedToken>> ParseTokenFile(std::string_view text, std::string_view file_name) {
  std::vector<NamedToken> tokens;
  int line_number = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = Trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](std::string_view what) {
      return Status::InvalidArgument(std::string(file_name) + ":" + std::to_string(line_number) +
                                     ": " + std::string(what));
    };
    NamedToken t{"operator", std::string(line)};
    if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      t.name = std::string(Trim(line.substr(0, colon)));
      t.token = std::string(Trim(line.substr(colon + 1)));
      if (t.name.empty()) return fail("empty name before ':'");
    }
    if (t.token.empty()) return fail("empty token");
    if (HasBlank(t.name)) return fail("name contains blanks");
    if (HasBlank(t.token)) return fail("token contains blanks");
    tokens.push_back(std::move(t));
  }
  return tokens;
}

TokenFile::TokenFile(std::string path) : path_(std::move(path)) {
  // Thread-safe and idempotent. It fails only when the system has no source
  // of randomness, which SHA-256 and sodium_memcmp do not use.
  if (sodium_init() < 0) LOG_WARN << "control: libsodium found no randomness source";
}

Status TokenFile::Refresh() {
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) {
    entries_.clear();
    mtime_ns_ = -1;
    return load_status_ =
               Status::IOError("cannot read token file " + path_ + ": " + std::strerror(errno));
  }
  const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (mtime_ns == mtime_ns_ && st.st_size == size_ && st.st_ino == inode_) return load_status_;
  mtime_ns_ = mtime_ns;
  size_ = st.st_size;
  inode_ = st.st_ino;
  entries_.clear();
  std::ifstream in(path_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    mtime_ns_ = -1;
    return load_status_ = Status::IOError("cannot read token file " + path_);
  }
  auto tokens = ParseTokenFile(text.str(), path_);
  if (!tokens.ok()) return load_status_ = tokens.status();
  for (const NamedToken& t : *tokens) entries_.push_back(Entry{t.name, Sha256(t.token)});
  if ((st.st_mode & 077) != 0) {
    LOG_WARN << "control: token file " << path_ << " is accessible to other users (chmod 600 it)";
  }
  LOG_INFO << "control: loaded " << entries_.size() << " token(s) from " << path_;
  return load_status_ = Status::Ok();
}

Result<std::optional<std::string>> TokenFile::Authenticate(std::string_view token) {
  // Comparing fixed-size digests makes the time independent of the tokens'
  // lengths; visiting every entry makes it independent of which one matched.
  const std::array<unsigned char, 32> digest = Sha256(token);
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(Refresh());
  const Entry* match = nullptr;
  for (const Entry& e : entries_) {
    if (sodium_memcmp(e.digest.data(), digest.data(), digest.size()) == 0 && match == nullptr) {
      match = &e;
    }
  }
  if (match == nullptr || token.empty()) return std::optional<std::string>();
  return std::optional<std::string>(match->name);
}

}  // namespace vitals::collector
