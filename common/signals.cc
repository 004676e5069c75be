#include "common/signals.h"

#include <csignal>

namespace vitals {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int WaitForSignal() {
  sigset_t set = TerminationSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) return sig;
  }
}

int WaitForTerminationSignal() {
  while (true) {
    int sig = WaitForSignal();
    if (sig != SIGHUP) return sig;
  }
}

}  // namespace vitals
