#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "proto/vitals.pb.h"

namespace vitals::agent {

struct SpoolOptions {
  // Directory of the spool; created if missing. One agent per directory.
  std::string dir;
  // Upper bound of the batches' bytes on disk; when a new batch would pass
  // it, the oldest batches are dropped (and counted).
  uint64_t max_bytes = 256ull << 20;
  // fsync each batch file and the directory before Append returns. Only tests
  // of unrelated behaviour should turn this off.
  bool sync = true;
};

// The agent's on-disk queue of batches waiting for acknowledgement. Each batch
// is one file `<seq>.batch` written atomically (temporary file, fsync,
// rename), so a batch that Append reported is on disk and survives kill -9 and
// power loss. Sequence numbers grow across restarts: the newest batch file is
// kept as `last_seq` when it leaves the spool, so numbering resumes after it
// and a collector never mistakes a new batch for a resent old one.
//
// Not thread-safe: the agent's loop owns it.
class Spool {
 public:
  // Opens or creates the spool and indexes the batches already in it.
  // IOError if the directory cannot be created or read.
  static Result<std::unique_ptr<Spool>> Open(const SpoolOptions& options);

  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Numbers `batch` (sets its seq), writes it durably and returns the seq.
  // Drops the oldest batches first if the spool would exceed max_bytes.
  // IOError if the write fails (the batch is then not in the spool).
  Result<uint64_t> Append(wire::Batch* batch);

  // Reads back batch `seq`. NotFound if it is not (or no longer) spooled;
  // Corruption if its file is gone or cannot be decoded (it is then removed
  // from the spool); IOError if the file cannot be opened right now (it stays).
  Result<wire::Batch> Read(uint64_t seq);

  // The same, as the batch's encoded bytes (what the wire carries), without
  // decoding them when the batch was appended recently (it is then in memory).
  Result<std::string> ReadEncoded(uint64_t seq);

  // Removes batch `seq` once acknowledged. Removing an absent seq is OK.
  Status Remove(uint64_t seq);

  // Spooled sequence numbers with their sizes, oldest first.
  const std::map<uint64_t, uint64_t>& batches() const { return sizes_; }
  uint64_t bytes() const { return bytes_; }
  // Random, chosen when the spool directory was first used; with the agent id
  // it names this spool's sequence space.
  uint64_t id() const { return id_; }
  // Batches dropped because the spool was full, since Open.
  uint64_t dropped() const { return dropped_; }
  // Batches dropped because their file was unreadable, since Open.
  uint64_t corrupt() const { return corrupt_; }

 private:
  explicit Spool(const SpoolOptions& options) : options_(options) {}
  Status Load();
  std::string PathOf(uint64_t seq) const;
  Status WriteFileAtomically(const std::string& path, const std::string& data);

  const SpoolOptions options_;
  int dir_fd_ = -1;                     // The spool directory, for fsync.
  std::map<uint64_t, uint64_t> sizes_;  // seq -> file size.
  uint64_t bytes_ = 0;
  uint64_t id_ = 0;
  uint64_t last_seq_ = 0;            // Highest seq handed out, ever.
  uint64_t dropped_ = 0;
  uint64_t corrupt_ = 0;
  // The newest batches' bytes, so sending a batch just spooled does not read
  // it back from disk. At most kCachedBatches entries.
  std::map<uint64_t, std::string> recent_;
};

}  // namespace vitals::agent
