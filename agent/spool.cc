#include "agent/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/log.h"

namespace vitals::agent {
namespace {

constexpr char kSuffix[] = ".batch";
constexpr char kLastSeqFile[] = "last_seq";
constexpr char kIdFile[] = "spool_id";
constexpr size_t kCachedBatches = 8;

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

Result<std::unique_ptr<Spool>> Spool::Open(const SpoolOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("spool directory is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Status::IOError("cannot create spool directory " + options.dir + ": " + ec.message());
  std::unique_ptr<Spool> spool(new Spool(options));
  // Kept open to fsync the directory after each new batch file.
  spool->dir_fd_ = ::open(options.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (spool->dir_fd_ < 0) return Errno("open " + options.dir);
  RETURN_IF_ERROR(spool->Load());
  return spool;
}

Spool::~Spool() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

std::string Spool::PathOf(uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu", static_cast<unsigned long long>(seq));
  return options_.dir + "/" + name + kSuffix;
}

Status Spool::Load() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp")) {  // An Append that did not finish: never reported.
      std::filesystem::remove(entry.path(), ec);
      continue;
    }
    if (!name.ends_with(kSuffix)) continue;
    uint64_t seq = 0;
    auto [end, parse_ec] = std::from_chars(name.data(), name.data() + name.size(), seq);
    if (parse_ec != std::errc() || std::string_view(end) != kSuffix) continue;
    uint64_t size = entry.file_size(ec);
    sizes_[seq] = size;
    bytes_ += size;
    last_seq_ = std::max(last_seq_, seq);
  }
  if (ec) return Status::IOError("cannot read spool directory " + options_.dir + ": " + ec.message());
  // last_seq holds the newest batch that left the spool (see Remove).
  auto marker = ReadWholeFile(options_.dir + "/" + kLastSeqFile);
  wire::Batch newest_gone;
  if (marker.ok() && newest_gone.ParseFromString(*marker)) {
    last_seq_ = std::max(last_seq_, newest_gone.seq());
  }
  auto id = ReadWholeFile(options_.dir + "/" + kIdFile);
  if (id.ok()) std::from_chars(id->data(), id->data() + id->size(), id_);
  if (id_ == 0) {
    std::random_device rd;
    id_ = ((static_cast<uint64_t>(rd()) << 32) ^ rd()) | 1;
    RETURN_IF_ERROR(WriteFileAtomically(options_.dir + "/" + kIdFile, std::to_string(id_)));
  }
  if (!sizes_.empty()) {
    LOG_INFO << "spool " << options_.dir << ": " << sizes_.size() << " batches (" << bytes_
             << " bytes) waiting from a previous run";
  }
  return Status::Ok();
}

Status Spool::WriteFileAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open " + tmp);
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Errno("write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    written += static_cast<size_t>(n);
  }
  if (options_.sync && ::fsync(fd) != 0) {
    Status st = Errno("fsync " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = Errno("rename " + tmp);
    ::unlink(tmp.c_str());
    return st;
  }
  if (options_.sync && ::fsync(dir_fd_) != 0) return Errno("fsync " + options_.dir);
  return Status::Ok();
}

Result<uint64_t> Spool::Append(wire::Batch* batch) {
  const uint64_t seq = last_seq_ + 1;
  batch->set_seq(seq);
  std::string data = batch->SerializeAsString();
  while (!sizes_.empty() && bytes_ + data.size() > options_.max_bytes) {
    auto oldest = sizes_.begin();
    LOG_WARN << "spool full (" << bytes_ << " of " << options_.max_bytes
             << " bytes): dropping the oldest batch " << oldest->first;
    ++dropped_;
    RETURN_IF_ERROR(Remove(oldest->first));
  }
  RETURN_IF_ERROR(WriteFileAtomically(PathOf(seq), data));
  last_seq_ = seq;
  sizes_[seq] = data.size();
  bytes_ += data.size();
  recent_[seq] = std::move(data);
  if (recent_.size() > kCachedBatches) recent_.erase(recent_.begin());
  return seq;
}

Result<wire::Batch> Spool::Read(uint64_t seq) {
  ASSIGN_OR_RETURN(std::string data, ReadEncoded(seq));
  wire::Batch batch;
  if (!batch.ParseFromString(data)) return Status::Internal("spooled batch does not decode");
  return batch;
}

Result<std::string> Spool::ReadEncoded(uint64_t seq) {
  if (!sizes_.contains(seq)) return Status::NotFound("batch " + std::to_string(seq) + " is not spooled");
  if (auto cached = recent_.find(seq); cached != recent_.end()) return cached->second;
  std::ifstream in(PathOf(seq), std::ios::binary);
  if (!in) {
    // Out of file descriptors, permissions...: the batch may be fine, keep it.
    if (errno != ENOENT) return Errno("open " + PathOf(seq));
    ++corrupt_;
    RETURN_IF_ERROR(Remove(seq));
    return Status::Corruption("spooled batch " + std::to_string(seq) + " vanished");
  }
  std::stringstream data;
  data << in.rdbuf();
  wire::Batch batch;
  if (!batch.ParseFromString(data.str()) || batch.seq() != seq) {
    ++corrupt_;
    LOG_ERROR << "spool: batch file " << PathOf(seq) << " is unreadable; dropping it";
    RETURN_IF_ERROR(Remove(seq));
    return Status::Corruption("spooled batch " + std::to_string(seq) + " is unreadable");
  }
  return data.str();
}

Status Spool::Remove(uint64_t seq) {
  auto it = sizes_.find(seq);
  if (it == sizes_.end()) return Status::Ok();
  if (seq == last_seq_) {
    // The newest batch file becomes the record of the highest seq ever used,
    // so numbering never restarts. One rename, no fsync: if a crash undoes
    // it, the batch is simply spooled again and the collector recognises it.
    const std::string marker = options_.dir + "/" + kLastSeqFile;
    if (::rename(PathOf(seq).c_str(), marker.c_str()) != 0 && errno != ENOENT) {
      return Errno("rename " + PathOf(seq));
    }
  } else if (::unlink(PathOf(seq).c_str()) != 0 && errno != ENOENT) {
    return Errno("unlink " + PathOf(seq));
  }
  bytes_ -= it->second;
  sizes_.erase(it);
  recent_.erase(seq);
  return Status::Ok();
}

}  // namespace vitals::agent
