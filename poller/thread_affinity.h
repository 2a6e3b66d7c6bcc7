// Poller-thread set-up that differs by OS: pinning to CPUs
// (WatcherOptions::poller_cpus) and naming.
#ifndef GAIO_POLLER_THREAD_AFFINITY_H_
#define GAIO_POLLER_THREAD_AFFINITY_H_

#include <thread>

#include "absl/status/status.h"

namespace gaio::internal {

// OK when `cpu` exists and this process may run on it; InvalidArgument
// otherwise; Unimplemented where the OS cannot pin threads.
absl::Status CheckCpu(int cpu);

// Restricts `thread` to `cpu`. Returns CheckCpu's status or the errno-mapped
// status on failure.
absl::Status PinThread(std::thread& thread, int cpu);

// Names `thread` for debuggers and top (best effort; at most 15 characters
// are kept on Linux).
void SetThreadName(std::thread& thread, const char* name);

}  // namespace gaio::internal

#endif  // GAIO_POLLER_THREAD_AFFINITY_H_
