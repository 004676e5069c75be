#pragma once

namespace vitals {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread it
// creates afterwards. Call first thing in main, before any thread starts.
void BlockTerminationSignals();

// Waits until SIGINT or SIGTERM arrives and returns its number; SIGHUP is
// consumed and ignored. REQUIRES: BlockTerminationSignals() was called.
int WaitForTerminationSignal();

// Waits until SIGINT, SIGTERM or SIGHUP arrives and returns its number.
// REQUIRES: BlockTerminationSignals() was called.
int WaitForSignal();

}  // namespace vitals
