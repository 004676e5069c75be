#pragma once

#include <sys/statvfs.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace vitals::agent {

// statvfs(3), or a stand-in with its contract: 0 and *buf filled in, or -1.
using StatvfsFunction = std::function<int(const char* path, struct statvfs* buf)>;

// Runs statvfs(3) on a persistent worker thread and waits for it at most a
// timeout, because statvfs on a mount whose server is gone (a hard NFS mount)
// can block forever. A path whose call timed out counts as hung: it is not
// called again until that call returns, which the abandoned thread notices by
// itself before it exits; the next call gets a fresh thread. So at most one
// thread per hung mount is left behind, and none once the calls return.
//
// Thread-compatible: call Stat from one thread at a time.
class StatvfsWorker {
 public:
  struct Options {
    // How long Stat waits for one call (node_exporter's mount_timeout).
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};
    // The call to run; tests inject one that blocks.
    StatvfsFunction statvfs_fn = ::statvfs;
  };

  enum class Outcome {
    kOk,        // *st holds the result.
    kFailed,    // statvfs returned an error.
    kTimedOut,  // No result within the timeout; the path is hung from now on.
    kHung,      // An earlier call on the path has not returned; not called again.
  };

  explicit StatvfsWorker(Options options);
  // Stops and joins the idle worker; threads left on hung calls finish alone.
  ~StatvfsWorker();

  StatvfsWorker(const StatvfsWorker&) = delete;
  StatvfsWorker& operator=(const StatvfsWorker&) = delete;

  // Runs statvfs(path) on the worker thread. REQUIRES: st != nullptr.
  Outcome Stat(const std::string& path, struct statvfs* st);

  // True while a timed-out call on `path` has not returned.
  bool IsHung(const std::string& path) const;

 private:
  struct Shared;
  struct Mailbox;

  // Starts a worker thread with an empty mailbox; false if the system has no
  // thread to spare. REQUIRES: shared_->mu held.
  bool StartThread();

  // A worker thread's loop: runs the calls posted to `box` until told to stop,
  // or until the call it was abandoned on returns.
  static void Run(std::shared_ptr<Shared> shared, std::shared_ptr<Mailbox> box,
                  StatvfsFunction statvfs_fn);

  const Options options_;
  const std::shared_ptr<Shared> shared_;  // Also held by every thread.
  std::shared_ptr<Mailbox> mailbox_;      // The current thread's; null until first used.
  std::thread thread_;                    // The current thread; not joinable until first used.
};

}  // namespace vitals::agent
