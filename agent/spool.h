#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "proto/vitals.pb.h"

namespace vitals::agent {

struct SpoolOptions {
  // Behaviour.

  // Directory of the spool; created if missing. One agent per directory.
  std::string dir;
  // Upper bound of the spool's files on disk, bytes; when a new batch would
  // pass it, the oldest batches are dropped (and counted) a segment at a time.
  uint64_t max_bytes = 256ull << 20;
  // fdatasync each batch before Append returns. Only tests of unrelated
  // behaviour should turn this off.
  bool sync = true;

  // Performance.

  // A segment file takes batches until it holds this many bytes; the next
  // batch starts a new one. Disk space is freed a segment at a time, so the
  // spool may hold up to this much of acknowledged batches, and a full spool
  // drops up to a segment of its oldest batches at once. Capped at
  // max_bytes / 8 so that a small spool still drops in small steps.
  uint64_t segment_bytes = 4ull << 20;
};

// What a spool directory holds, as seen from outside the agent that owns it.
struct SpoolContents {
  std::vector<uint64_t> seqs;  // Batches not acknowledged yet, oldest first.
  uint64_t bytes = 0;          // The spool's files on disk.
  uint64_t next_seq = 1;       // The seq the next batch appended will get.
};

// The agent's on-disk queue of batches waiting for acknowledgement: an
// append-only log of segment files `<first seq>.seg`, each a sequence of
// checksummed records (a batch, or the acknowledgement of an earlier batch of
// the same segment). Append writes one record and fdatasyncs it, so a batch
// that Append reported survives kill -9 and power loss. Remove appends an
// acknowledgement record without syncing it: after a crash or power loss an
// acknowledged batch may be spooled, and sent, again, which is harmless since
// collectors drop duplicates by (agent, spool id, seq). A segment file is
// deleted when none of its batches is waiting any more, except the newest,
// whose name keeps the next seq: sequence numbers grow across restarts, also
// when the spool was emptied, and a collector never mistakes a new batch for
// a resent old one.
//
// Open scans the segments: a torn record at a segment's end (an Append or
// Remove cut short by a crash) is cut off; a damaged record in the middle is
// skipped up to the next good record. Both are counted in corrupt(). Batches
// of the earlier format, one `<seq>.batch` file each, are taken over and
// leave as they are acknowledged.
//
// Not thread-safe: the agent's loop owns it.
class Spool {
 public:
  // Where a spooled batch is.
  struct Location {
    uint64_t segment;  // First seq of its segment; 0 for a `<seq>.batch` file.
    uint64_t offset;   // Of the batch's bytes in the segment file.
    uint32_t size;     // Of the encoded batch, bytes.
  };

  // Opens or creates the spool and indexes the batches already in it,
  // repairing what a crash left (see above). IOError if the directory or a
  // segment cannot be created, read or repaired.
  static Result<std::unique_ptr<Spool>> Open(const SpoolOptions& options);

  // Reads what the spool at `dir` holds without changing anything, also
  // while an agent is appending to it (a record being written is not
  // counted yet). For tools and tests. NotFound if `dir` does not exist;
  // IOError if it cannot be read.
  static Result<SpoolContents> Inspect(const std::string& dir);

  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Numbers `batch` (sets its seq), writes it durably and returns the seq.
  // Drops the oldest batches first if the spool would exceed max_bytes.
  // IOError if the write fails (the batch is then not in the spool).
  Result<uint64_t> Append(wire::Batch* batch);

  // Reads back batch `seq`. NotFound if it is not (or no longer) spooled;
  // Corruption if it is gone or damaged on disk (it then leaves the spool);
  // IOError if it cannot be read right now (it stays).
  Result<wire::Batch> Read(uint64_t seq);

  // The same, as the batch's encoded bytes (what the wire carries), without
  // reading the disk when the batch was appended recently.
  Result<std::string> ReadEncoded(uint64_t seq);

  // Removes batch `seq` once acknowledged. Removing an absent seq is OK.
  // IOError if the acknowledgement could not be written; the batch has left
  // the spool all the same, and may be sent again after a restart.
  Status Remove(uint64_t seq);

  // Spooled batches, oldest first.
  const std::map<uint64_t, Location>& batches() const { return batches_; }
  // The spool's files on disk, bytes: what max_bytes bounds.
  uint64_t bytes() const { return bytes_; }
  // Random, chosen when the spool directory was first used; with the agent id
  // it names this spool's sequence space.
  uint64_t id() const { return id_; }
  // Batches dropped because the spool was full, since Open.
  uint64_t dropped() const { return dropped_; }
  // Unreadable batches and damaged stretches of segments dropped, since Open.
  uint64_t corrupt() const { return corrupt_; }

 private:
  struct Segment {
    uint64_t size = 0;  // Bytes of the file; records are appended here.
    uint32_t live = 0;  // Its batches still in batches_.
  };

  explicit Spool(const SpoolOptions& options);
  Status Load();
  Status LoadIdentity();
  Status LoadSegment(uint64_t first_seq);
  std::string SegmentPath(uint64_t first_seq) const;
  std::string BatchFilePath(uint64_t seq) const;
  uint64_t TailSegment() const { return segments_.rbegin()->first; }
  // Creates segment `first_seq` as the one appended to from now on.
  Status StartSegment(uint64_t first_seq);
  void DeleteSegment(uint64_t first_seq);
  // A descriptor of segment `first_seq`, open for reading and writing.
  Result<int> SegmentFd(uint64_t first_seq);
  // Writes a record at the end of segment `first_seq`; on failure cuts the
  // segment back to where it was.
  Status AppendRecord(uint64_t first_seq, std::string_view header, std::string_view payload,
                      bool sync);
  // Drops the oldest batches until `incoming` more bytes fit in max_bytes.
  Status MakeRoom(uint64_t incoming);
  Result<std::string> ReadBatchFile(uint64_t seq);
  Result<std::string> DropCorrupt(uint64_t seq, const std::string& why);

  const SpoolOptions options_;
  const uint64_t segment_bytes_;          // options_.segment_bytes, capped.
  int dir_fd_ = -1;                       // The spool directory, for fsync.
  std::map<uint64_t, Segment> segments_;  // By first seq; the last is the tail.
  int tail_fd_ = -1;                      // The tail segment's file.
  uint64_t other_segment_ = 0;            // The one other segment kept open...
  int other_fd_ = -1;                     // ...for reading and acknowledging.
  std::map<uint64_t, Location> batches_;
  uint64_t bytes_ = 0;
  uint64_t id_ = 0;
  uint64_t last_seq_ = 0;  // Highest seq handed out, ever.
  uint64_t dropped_ = 0;
  uint64_t corrupt_ = 0;
  // The newest batches' bytes, so sending a batch just spooled does not read
  // it back from disk. At most kCachedBatches entries.
  std::map<uint64_t, std::string> recent_;
};

}  // namespace vitals::agent
