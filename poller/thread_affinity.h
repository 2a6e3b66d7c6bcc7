// Poller-thread set-up that differs by OS: pinning to CPUs
// (WatcherOptions::poller_cpus) and naming.
#ifndef GAIO_POLLER_THREAD_AFFINITY_H_
#define GAIO_POLLER_THREAD_AFFINITY_H_

#include <string>
#include <thread>

#include "absl/status/status.h"

namespace gaio::internal {

// OK when `cpu` exists and this process may run on it (the process's CPU
// mask, whatever the calling thread's own); InvalidArgument otherwise;
// Unimplemented where the OS cannot pin threads.
absl::Status CheckCpu(int cpu);

// Restricts `thread` to `cpu`. Returns CheckCpu's status or the errno-mapped
// status on failure.
absl::Status PinThread(std::thread& thread, int cpu);

// Names `thread` for debuggers and top (best effort). Linux keeps the first
// 15 characters of `name`.
void SetThreadName(std::thread& thread, const std::string& name);

}  // namespace gaio::internal

#endif  // GAIO_POLLER_THREAD_AFFINITY_H_
