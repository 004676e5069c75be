#include "agent/host_statvfs.h"

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <system_error>
#include <utility>

namespace vitals::agent {

struct StatvfsWorker::Shared {
  mutable std::mutex mu;
  // Signalled when a call is posted or done, and when a thread must stop.
  std::condition_variable cv;
  std::set<std::string, std::less<>> hung;  // GUARDED_BY(mu)
};

// What the owner and one worker thread exchange; one call at a time, since
// the owner waits for each. All fields GUARDED_BY(Shared::mu).
struct StatvfsWorker::Mailbox {
  std::string path;
  bool posted = false;  // A call on `path` waits to be run.
  bool done = false;    // The call returned; `result` and `st` hold its outcome.
  int result = -1;
  struct statvfs st {};
  bool abandoned = false;  // The owner stopped waiting: exit after the call.
  bool stop = false;       // The owner is being destroyed: exit now.
};

void StatvfsWorker::Run(std::shared_ptr<Shared> shared, std::shared_ptr<Mailbox> box,
                        StatvfsFunction statvfs_fn) {
  pthread_setname_np(pthread_self(), "vitals-statvfs");  // For top -H and the benchmarks.
  std::unique_lock lock(shared->mu);
  while (true) {
    shared->cv.wait(lock, [&] { return box->stop || box->posted; });
    if (box->stop) return;
    box->posted = false;
    const std::string path = box->path;
    lock.unlock();
    struct statvfs st {};
    int result = statvfs_fn(path.c_str(), &st);
    lock.lock();
    box->st = st;
    box->result = result;
    box->done = true;
    if (box->abandoned) {
      // The owner reported the path as hung and will not post it again
      // until it is off this list; it has started another thread.
      shared->hung.erase(path);
      return;
    }
    shared->cv.notify_all();
  }
}

StatvfsWorker::StatvfsWorker(Options options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {}

StatvfsWorker::~StatvfsWorker() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(shared_->mu);
    mailbox_->stop = true;
  }
  shared_->cv.notify_all();
  thread_.join();
}

bool StatvfsWorker::StartThread() {
  auto mailbox = std::make_shared<Mailbox>();
  try {
    thread_ = std::thread(Run, shared_, mailbox, options_.statvfs_fn);
  } catch (const std::system_error&) {
    return false;  // Out of threads; the caller reports the mount as failed.
  }
  mailbox_ = std::move(mailbox);
  return true;
}

StatvfsWorker::Outcome StatvfsWorker::Stat(const std::string& path, struct statvfs* st) {
  std::unique_lock lock(shared_->mu);
  if (shared_->hung.contains(path)) return Outcome::kHung;
  if (mailbox_ == nullptr && !StartThread()) return Outcome::kFailed;
  mailbox_->path = path;
  mailbox_->posted = true;
  mailbox_->done = false;
  shared_->cv.notify_all();
  if (!shared_->cv.wait_for(lock, options_.timeout, [&] { return mailbox_->done; })) {
    // The thread keeps the call and clears the mark when it returns.
    shared_->hung.insert(path);
    mailbox_->abandoned = true;
    thread_.detach();
    mailbox_.reset();
    return Outcome::kTimedOut;
  }
  if (mailbox_->result != 0) return Outcome::kFailed;
  *st = mailbox_->st;
  return Outcome::kOk;
}

bool StatvfsWorker::IsHung(const std::string& path) const {
  std::lock_guard lock(shared_->mu);
  return shared_->hung.contains(path);
}

}  // namespace vitals::agent
