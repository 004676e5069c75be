#include "agent/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <set>
#include <string_view>

#include "agent/crc32c.h"
#include "common/log.h"

namespace vitals::agent {
namespace {

constexpr char kSegmentSuffix[] = ".seg";
constexpr char kIdFile[] = "spool_id";
// The earlier format: a file per batch, and the newest batch that left the
// spool renamed to last_seq to keep the numbering.
constexpr char kBatchFileSuffix[] = ".batch";
constexpr char kLastSeqFile[] = "last_seq";
constexpr size_t kCachedBatches = 8;

// A record, all integers little-endian:
//   magic u32 | crc32c u32 of what follows | type u8 | seq u64 | size u32 | payload
// The magic lets a scan find the next record after a damaged one; the
// checksum covers the size, so a damaged size is caught too.
constexpr uint32_t kMagic = 0x4C505356;  // "VSPL" in the file.
constexpr size_t kHeaderSize = 21;
constexpr size_t kChecksummedFrom = 8;

enum class RecordType : uint8_t {
  kBatch = 1,  // payload: the encoded wire::Batch numbered seq.
  kAck = 2,    // no payload: batch seq (of the same segment) left the spool.
};

struct Record {
  RecordType type;
  uint64_t seq;
  uint64_t offset;  // Of the payload in the file.
  uint32_t size;    // Of the payload.
};

void PutLittleEndian(char* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>(value >> (8 * i));
}

uint64_t GetLittleEndian(const char* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return value;
}

std::string EncodeHeader(RecordType type, uint64_t seq, std::string_view payload) {
  std::string header(kHeaderSize, '\0');
  PutLittleEndian(&header[0], kMagic, 4);
  header[8] = static_cast<char>(type);
  PutLittleEndian(&header[9], seq, 8);
  PutLittleEndian(&header[17], payload.size(), 4);
  const uint32_t crc = Crc32c(payload, Crc32c(std::string_view(header).substr(kChecksummedFrom)));
  PutLittleEndian(&header[4], crc, 4);
  return header;
}

// The record at `pos` of a segment's bytes, if it is whole and intact.
std::optional<Record> ParseRecord(std::string_view data, size_t pos) {
  if (data.size() - pos < kHeaderSize) return std::nullopt;
  const char* h = data.data() + pos;
  if (GetLittleEndian(h, 4) != kMagic) return std::nullopt;
  const auto type = static_cast<RecordType>(h[8]);
  const uint64_t seq = GetLittleEndian(h + 9, 8);
  const auto size = static_cast<uint32_t>(GetLittleEndian(h + 17, 4));
  if (data.size() - pos - kHeaderSize < size) return std::nullopt;
  const uint32_t crc =
      Crc32c(data.substr(pos + kChecksummedFrom, kHeaderSize - kChecksummedFrom + size));
  if (crc != GetLittleEndian(h + 4, 4)) return std::nullopt;
  if (type != RecordType::kBatch && !(type == RecordType::kAck && size == 0)) return std::nullopt;
  return Record{type, seq, pos + kHeaderSize, size};
}

// The intact records of a segment file, and where it is damaged.
struct SegmentScan {
  std::vector<Record> records;
  uint64_t file_size = 0;
  // End of the last intact record; past it the file holds no intact record
  // (a record being written, or one a crash cut short: a torn tail).
  uint64_t intact_end = 0;
  uint32_t damaged = 0;  // Damaged stretches followed by intact records.
};

SegmentScan ScanSegment(std::string_view data) {
  static const std::string magic = EncodeHeader(RecordType::kAck, 0, {}).substr(0, 4);
  SegmentScan scan;
  scan.file_size = data.size();
  size_t pos = 0;
  while (pos < data.size()) {
    if (std::optional<Record> record = ParseRecord(data, pos)) {
      scan.records.push_back(*record);
      pos = record->offset + record->size;
      scan.intact_end = pos;
      continue;
    }
    // Damaged: go on at the next intact record, if there is one.
    size_t next = pos;
    while ((next = data.find(magic, next + 1)) != std::string_view::npos &&
           !ParseRecord(data, next)) {
    }
    if (next == std::string_view::npos) break;
    ++scan.damaged;
    pos = next;
  }
  return scan;
}

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

// NotFound if `path` does not exist.
Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? Status::NotFound(path + " does not exist") : Errno("open " + path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status status = Errno("stat " + path);
    ::close(fd);
    return status;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd, data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status status = Errno("read " + path);
      ::close(fd);
      return status;
    }
    if (n == 0) break;  // Shrunk meanwhile.
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  ::close(fd);
  return data;
}

// Writes `first` then `second` at `offset`, retrying short writes.
Status WriteAt(int fd, uint64_t offset, std::string_view first, std::string_view second) {
  iovec parts[2] = {{const_cast<char*>(first.data()), first.size()},
                    {const_cast<char*>(second.data()), second.size()}};
  int done = 0;  // Parts written whole.
  while (done < 2) {
    const ssize_t n = ::pwritev(fd, parts + done, 2 - done, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write");
    if (n == 0 && parts[done].iov_len + (done == 0 ? parts[1].iov_len : 0) > 0) {
      return Status::IOError("write: no progress");
    }
    offset += static_cast<uint64_t>(n);
    auto left = static_cast<size_t>(n);
    while (done < 2 && left >= parts[done].iov_len) left -= parts[done++].iov_len;
    if (done < 2) {
      parts[done].iov_base = static_cast<char*>(parts[done].iov_base) + left;
      parts[done].iov_len -= left;
    }
  }
  return Status::Ok();
}

Status WriteFileAtomically(int dir_fd, const std::string& path, const std::string& data,
                           bool sync) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open " + tmp);
  Status status = WriteAt(fd, 0, data, {});
  if (status.ok() && sync && ::fsync(fd) != 0) status = Errno("fsync " + tmp);
  ::close(fd);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) status = Errno("rename " + tmp);
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status.WithContext(path);
  }
  if (sync && ::fsync(dir_fd) != 0) return Errno("fsync directory of " + path);
  return Status::Ok();
}

// `name` without `suffix` as a number, if it is one.
std::optional<uint64_t> NumberedName(std::string_view name, std::string_view suffix) {
  if (!name.ends_with(suffix)) return std::nullopt;
  name.remove_suffix(suffix.size());
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return number;
}

// The files of a spool directory, by kind.
struct Listing {
  std::set<uint64_t> segments;               // First seqs.
  std::map<uint64_t, uint64_t> batch_files;  // Earlier format: seq -> size.
  bool has_last_seq_file = false;            // Earlier format.
  std::vector<std::string> temporary_files;  // Of a write that did not finish.
};

Result<Listing> List(const std::string& dir) {
  Listing listing;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp")) {
      listing.temporary_files.push_back(entry.path().string());
    } else if (auto first = NumberedName(name, kSegmentSuffix)) {
      listing.segments.insert(*first);
    } else if (auto seq = NumberedName(name, kBatchFileSuffix)) {
      std::error_code size_ec;
      listing.batch_files[*seq] = entry.file_size(size_ec);
    } else if (name == kLastSeqFile) {
      listing.has_last_seq_file = true;
    }
  }
  if (ec == std::errc::no_such_file_or_directory) return Status::NotFound(dir + " does not exist");
  if (ec) return Status::IOError("cannot read spool directory " + dir + ": " + ec.message());
  return listing;
}

// The highest seq recorded in the earlier format's last_seq file, or 0.
uint64_t ReadLastSeqFile(const std::string& dir) {
  auto data = ReadWholeFile(dir + "/" + kLastSeqFile);
  wire::Batch newest_gone;
  if (!data.ok() || !newest_gone.ParseFromString(*data)) return 0;
  return newest_gone.seq();
}

std::string NumberedPath(const std::string& dir, uint64_t number, const char* suffix) {
  char name[48];
  std::snprintf(name, sizeof(name), "%020llu%s", static_cast<unsigned long long>(number), suffix);
  return dir + "/" + name;
}

}  // namespace

Spool::Spool(const SpoolOptions& options)
    : options_(options),
      segment_bytes_(
          std::max<uint64_t>(1, std::min(options.segment_bytes, options.max_bytes / 8))) {}

Result<std::unique_ptr<Spool>> Spool::Open(const SpoolOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("spool directory is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec)
    return Status::IOError("cannot create spool directory " + options.dir + ": " + ec.message());
  std::unique_ptr<Spool> spool(new Spool(options));
  // Kept open to fsync the directory when a segment is created.
  spool->dir_fd_ = ::open(options.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (spool->dir_fd_ < 0) return Errno("open " + options.dir);
  RETURN_IF_ERROR(spool->Load());
  return spool;
}

Spool::~Spool() {
  for (int fd : {dir_fd_, tail_fd_, other_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

std::string Spool::SegmentPath(uint64_t first_seq) const {
  return NumberedPath(options_.dir, first_seq, kSegmentSuffix);
}

std::string Spool::BatchFilePath(uint64_t seq) const {
  return NumberedPath(options_.dir, seq, kBatchFileSuffix);
}

Status Spool::LoadIdentity() {
  const std::string path = options_.dir + "/" + kIdFile;
  auto id = ReadWholeFile(path);
  if (id.ok()) std::from_chars(id->data(), id->data() + id->size(), id_);
  if (id_ != 0) return Status::Ok();
  std::random_device rd;
  id_ = ((static_cast<uint64_t>(rd()) << 32) ^ rd()) | 1;
  return WriteFileAtomically(dir_fd_, path, std::to_string(id_), options_.sync);
}

Status Spool::Load() {
  RETURN_IF_ERROR(LoadIdentity());
  ASSIGN_OR_RETURN(Listing listing, List(options_.dir));
  for (const std::string& path : listing.temporary_files) ::unlink(path.c_str());
  for (const auto& [seq, size] : listing.batch_files) {
    batches_[seq] = Location{0, 0, static_cast<uint32_t>(size)};
    bytes_ += size;
    last_seq_ = std::max(last_seq_, seq);
  }
  if (listing.has_last_seq_file) last_seq_ = std::max(last_seq_, ReadLastSeqFile(options_.dir));
  for (uint64_t first_seq : listing.segments) RETURN_IF_ERROR(LoadSegment(first_seq));

  // Segments with nothing waiting go, except the newest, whose name keeps
  // the numbering; if there is none, an empty one takes that role.
  for (auto it = segments_.begin(); it != segments_.end() && std::next(it) != segments_.end();) {
    const uint64_t first_seq = (it++)->first;
    if (segments_.at(first_seq).live == 0) DeleteSegment(first_seq);
  }
  if (segments_.empty()) {
    RETURN_IF_ERROR(StartSegment(last_seq_ + 1));
  } else {
    tail_fd_ = ::open(SegmentPath(TailSegment()).c_str(), O_RDWR | O_CLOEXEC);
    if (tail_fd_ < 0) return Errno("open " + SegmentPath(TailSegment()));
  }
  // The tail segment's name now keeps the numbering.
  if (listing.has_last_seq_file) ::unlink((options_.dir + "/" + kLastSeqFile).c_str());

  if (!batches_.empty()) {
    LOG_INFO << "spool " << options_.dir << ": " << batches_.size() << " batches (" << bytes_
             << " bytes on disk) waiting from a previous run"
             << (listing.batch_files.empty()
                     ? ""
                     : ", " + std::to_string(listing.batch_files.size()) + " in *.batch files");
  }
  return Status::Ok();
}

Status Spool::LoadSegment(uint64_t first_seq) {
  const std::string path = SegmentPath(first_seq);
  ASSIGN_OR_RETURN(std::string data, ReadWholeFile(path));
  const SegmentScan scan = ScanSegment(data);
  data = std::string();  // Up to a segment's size: not kept while indexing.
  Segment& segment = segments_[first_seq];
  segment.size = scan.intact_end;
  if (scan.intact_end < scan.file_size) {
    // A record that a crash cut short, never reported as spooled (or an
    // acknowledgement that was not written whole): cut it off so that the
    // next record follows an intact one.
    LOG_WARN << "spool: " << path << " ends in " << scan.file_size - scan.intact_end
             << " bytes of an unfinished record; cutting them off";
    if (::truncate(path.c_str(), static_cast<off_t>(scan.intact_end)) != 0) {
      return Errno("truncate " + path);
    }
    ++corrupt_;
  }
  if (scan.damaged > 0) {
    LOG_ERROR << "spool: " << path << " has " << scan.damaged
              << " damaged stretches; the batches in them are lost";
    corrupt_ += scan.damaged;
  }
  bytes_ += segment.size;
  last_seq_ = std::max(last_seq_, first_seq - 1);
  for (const Record& record : scan.records) {
    last_seq_ = std::max(last_seq_, record.seq);
    if (record.type == RecordType::kBatch) {
      if (record.seq < first_seq || batches_.contains(record.seq)) continue;  // Never written so.
      batches_[record.seq] = Location{first_seq, record.offset, record.size};
      ++segment.live;
    } else if (auto it = batches_.find(record.seq);
               it != batches_.end() && it->second.segment == first_seq) {
      batches_.erase(it);
      --segment.live;
    }
  }
  return Status::Ok();
}

Status Spool::StartSegment(uint64_t first_seq) {
  const std::string path = SegmentPath(first_seq);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create " + path);
  if (options_.sync && ::fsync(dir_fd_) != 0) {
    Status status = Errno("fsync " + options_.dir);
    ::close(fd);
    ::unlink(path.c_str());
    return status;
  }
  std::optional<uint64_t> previous;
  if (!segments_.empty()) {
    // The previous tail stays open as the other segment: the
    // acknowledgements of its last batches are about to come.
    previous = TailSegment();
    if (other_fd_ >= 0) ::close(other_fd_);
    other_segment_ = *previous;
    other_fd_ = tail_fd_;
  }
  segments_[first_seq] = Segment{};
  tail_fd_ = fd;
  if (previous && segments_.at(*previous).live == 0) DeleteSegment(*previous);
  return Status::Ok();
}

void Spool::DeleteSegment(uint64_t first_seq) {
  if (other_fd_ >= 0 && other_segment_ == first_seq) {
    ::close(other_fd_);
    other_fd_ = -1;
  }
  // No fsync: if a crash undoes this, its batches are sent again, and the
  // collectors recognise them.
  const std::string path = SegmentPath(first_seq);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    LOG_WARN << "spool: cannot delete " << path << ": " << std::strerror(errno);
  }
  auto it = segments_.find(first_seq);
  bytes_ -= it->second.size;
  segments_.erase(it);
}

Result<int> Spool::SegmentFd(uint64_t first_seq) {
  if (first_seq == TailSegment()) return tail_fd_;
  if (other_fd_ >= 0 && other_segment_ == first_seq) return other_fd_;
  if (other_fd_ >= 0) ::close(other_fd_);
  other_segment_ = first_seq;
  other_fd_ = ::open(SegmentPath(first_seq).c_str(), O_RDWR | O_CLOEXEC);
  if (other_fd_ < 0) return Errno("open " + SegmentPath(first_seq));
  return other_fd_;
}

Status Spool::AppendRecord(uint64_t first_seq, std::string_view header, std::string_view payload,
                           bool sync) {
  ASSIGN_OR_RETURN(int fd, SegmentFd(first_seq));
  Segment& segment = segments_.at(first_seq);
  Status status = WriteAt(fd, segment.size, header, payload);
  if (status.ok() && sync && ::fdatasync(fd) != 0) status = Errno("fdatasync");
  if (!status.ok()) {
    // Leave no partial record behind for the next one to follow.
    [[maybe_unused]] int ignored = ::ftruncate(fd, static_cast<off_t>(segment.size));
    return status.WithContext(SegmentPath(first_seq));
  }
  segment.size += header.size() + payload.size();
  bytes_ += header.size() + payload.size();
  return Status::Ok();
}

Status Spool::MakeRoom(uint64_t incoming) {
  while (bytes_ + incoming > options_.max_bytes) {
    if (!batches_.empty() && batches_.begin()->second.segment == 0) {
      LOG_WARN << "spool full (" << bytes_ << " of " << options_.max_bytes
               << " bytes): dropping the oldest batch " << batches_.begin()->first;
      ++dropped_;
      RETURN_IF_ERROR(Remove(batches_.begin()->first));
      continue;
    }
    const auto& [oldest, segment] = *segments_.begin();
    if (oldest == TailSegment()) {
      if (segment.size == 0) return Status::Ok();  // Nothing left: the batch goes in anyway.
      RETURN_IF_ERROR(StartSegment(last_seq_ + 1));
      continue;
    }
    if (segment.live > 0) {
      const uint64_t next_first = std::next(segments_.begin())->first;
      LOG_WARN << "spool full (" << bytes_ << " of " << options_.max_bytes << " bytes): dropping "
               << segment.live << " of the oldest batches, from " << oldest;
      dropped_ += segment.live;
      for (auto it = batches_.lower_bound(oldest);
           it != batches_.end() && it->first < next_first;) {
        if (it->second.segment != oldest) {
          ++it;
          continue;
        }
        recent_.erase(it->first);
        it = batches_.erase(it);
      }
    }
    DeleteSegment(oldest);
  }
  return Status::Ok();
}

Result<uint64_t> Spool::Append(wire::Batch* batch) {
  const uint64_t seq = last_seq_ + 1;
  batch->set_seq(seq);
  std::string data = batch->SerializeAsString();
  const std::string header = EncodeHeader(RecordType::kBatch, seq, data);
  RETURN_IF_ERROR(MakeRoom(header.size() + data.size()));
  if (segments_.at(TailSegment()).size >= segment_bytes_) RETURN_IF_ERROR(StartSegment(seq));
  const uint64_t tail = TailSegment();
  const uint64_t offset = segments_.at(tail).size + header.size();
  RETURN_IF_ERROR(AppendRecord(tail, header, data, options_.sync));
  last_seq_ = seq;
  batches_[seq] = Location{tail, offset, static_cast<uint32_t>(data.size())};
  ++segments_.at(tail).live;
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
  auto it = batches_.find(seq);
  if (it == batches_.end())
    return Status::NotFound("batch " + std::to_string(seq) + " is not spooled");
  if (auto cached = recent_.find(seq); cached != recent_.end()) return cached->second;
  const Location location = it->second;
  if (location.segment == 0) return ReadBatchFile(seq);
  ASSIGN_OR_RETURN(int fd, SegmentFd(location.segment));
  std::string record(kHeaderSize + location.size, '\0');
  const ssize_t n =
      ::pread(fd, record.data(), record.size(), static_cast<off_t>(location.offset - kHeaderSize));
  if (n < 0) return Errno("read " + SegmentPath(location.segment));
  record.resize(static_cast<size_t>(n));
  std::optional<Record> parsed = ParseRecord(record, 0);
  if (!parsed || parsed->type != RecordType::kBatch || parsed->seq != seq) {
    return DropCorrupt(seq, "is damaged in " + SegmentPath(location.segment));
  }
  record.erase(0, kHeaderSize);
  return record;
}

Result<std::string> Spool::ReadBatchFile(uint64_t seq) {
  auto data = ReadWholeFile(BatchFilePath(seq));
  // Out of file descriptors, permissions...: the batch may be fine, keep it.
  if (!data.ok() && data.status().code() != Status::Code::kNotFound) return data.status();
  if (!data.ok()) return DropCorrupt(seq, "vanished");
  wire::Batch batch;
  if (!batch.ParseFromString(*data) || batch.seq() != seq) {
    return DropCorrupt(seq, "in " + BatchFilePath(seq) + " is unreadable");
  }
  return data;
}

Result<std::string> Spool::DropCorrupt(uint64_t seq, const std::string& why) {
  ++corrupt_;
  const std::string message = "spooled batch " + std::to_string(seq) + " " + why;
  LOG_ERROR << "spool: " << message << "; dropping it";
  RETURN_IF_ERROR(Remove(seq));
  return Status::Corruption(message);
}

Status Spool::Remove(uint64_t seq) {
  auto it = batches_.find(seq);
  if (it == batches_.end()) return Status::Ok();
  const Location location = it->second;
  batches_.erase(it);
  recent_.erase(seq);
  if (location.segment == 0) {
    bytes_ -= location.size;
    if (::unlink(BatchFilePath(seq).c_str()) != 0 && errno != ENOENT) {
      return Errno("unlink " + BatchFilePath(seq));
    }
    return Status::Ok();
  }
  Segment& segment = segments_.at(location.segment);
  if (--segment.live == 0 && location.segment != TailSegment()) {
    DeleteSegment(location.segment);
    return Status::Ok();
  }
  // Not synced (see the class comment).
  return AppendRecord(location.segment, EncodeHeader(RecordType::kAck, seq, {}), {},
                      /*sync=*/false);
}

Result<SpoolContents> Spool::Inspect(const std::string& dir) {
  ASSIGN_OR_RETURN(Listing listing, List(dir));
  SpoolContents contents;
  std::set<uint64_t> waiting;
  uint64_t last_seq = listing.has_last_seq_file ? ReadLastSeqFile(dir) : 0;
  for (const auto& [seq, size] : listing.batch_files) {
    waiting.insert(seq);
    contents.bytes += size;
    last_seq = std::max(last_seq, seq);
  }
  for (uint64_t first_seq : listing.segments) {
    auto data = ReadWholeFile(NumberedPath(dir, first_seq, kSegmentSuffix));
    if (!data.ok() && data.status().code() == Status::Code::kNotFound) continue;  // Just deleted.
    if (!data.ok()) return data.status();
    contents.bytes += data->size();
    last_seq = std::max(last_seq, first_seq - 1);
    std::set<uint64_t> in_segment;
    for (const Record& record : ScanSegment(*data).records) {
      last_seq = std::max(last_seq, record.seq);
      if (record.type == RecordType::kBatch && record.seq >= first_seq) {
        in_segment.insert(record.seq);
      } else if (record.type == RecordType::kAck) {
        in_segment.erase(record.seq);
      }
    }
    waiting.insert(in_segment.begin(), in_segment.end());
  }
  contents.seqs.assign(waiting.begin(), waiting.end());
  contents.next_seq = last_seq + 1;
  return contents;
}

}  // namespace vitals::agent
