#include "poller/thread_affinity.h"

#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "poller/posix_error.h"

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#endif

namespace gaio::internal {

#ifdef __linux__

absl::Status CheckCpu(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) {
    return absl::InvalidArgumentError(absl::StrCat("cpu ", cpu, " is out of range"));
  }
  // The process's mask (its main thread's), not the calling thread's: a
  // caller that pinned itself elsewhere may still start pollers on `cpu`.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(getpid(), sizeof(allowed), &allowed) != 0) {
    return PosixError(errno, "sched_getaffinity");
  }
  if (!CPU_ISSET(cpu, &allowed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpu ", cpu, " is not available to this process"));
  }
  return absl::OkStatus();
}

absl::Status PinThread(std::thread& thread, int cpu) {
  if (absl::Status s = CheckCpu(cpu); !s.ok()) return s;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int err = pthread_setaffinity_np(thread.native_handle(), sizeof(set), &set); err != 0) {
    return PosixError(err, "pthread_setaffinity_np");
  }
  return absl::OkStatus();
}

void SetThreadName(std::thread& thread, const std::string& name) {
  // Linux keeps at most 15 characters and refuses (ERANGE) a longer name.
  pthread_setname_np(thread.native_handle(), name.substr(0, 15).c_str());
}

#else  // no portable affinity API (macOS, most BSDs through this interface)

absl::Status CheckCpu(int cpu) {
  return absl::UnimplementedError(
      absl::StrCat("thread pinning is not supported on this platform (cpu ", cpu, ")"));
}

absl::Status PinThread(std::thread&, int cpu) { return CheckCpu(cpu); }

void SetThreadName(std::thread&, const std::string&) {}  // macOS names only the calling thread

#endif

}  // namespace gaio::internal
