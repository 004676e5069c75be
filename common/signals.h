#pragma once

namespace vitals {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread it
// creates afterwards. Call first thing in main, before any thread starts.
void BlockTerminationSignals();

// Waits until SIGINT or SIGTERM arrives and returns its number. SIGHUP is
// consumed and ignored (reload arrives with the rules issue).
// REQUIRES: BlockTerminationSignals() was called.
int WaitForTerminationSignal();

}  // namespace vitals
