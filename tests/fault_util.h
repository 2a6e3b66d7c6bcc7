// Helpers for the fault-injection tests: the three engine modes, peer-side
// fault injection (resets), socket queue sizes, poller-thread lookup and
// bounded waiting.
#ifndef GAIO_TESTS_FAULT_UTIL_H_
#define GAIO_TESTS_FAULT_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "poller/posix_error.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio::testing {

// The engine modes the parameterized suites run in:
//   0 kCallerDriven: num_pollers 0, wait_io() does the I/O;
//   1 kThreads1: one poller thread, default options (wait_io() polls while
//     it waits, the thread takes over when the caller stays away);
//   2 kThreads2: two poller threads, each always polling its own set;
//   3 kThreads1Handoff: one poller thread with a 50 us poller_takeover, so
//     that the set changes hands between the thread and the caller all the
//     time.
enum Mode : int { kCallerDriven = 0, kThreads1 = 1, kThreads2 = 2, kThreads1Handoff = 3 };
inline constexpr int kAllModes[] = {kCallerDriven, kThreads1, kThreads2, kThreads1Handoff};

// "CallerDriven", "Threads1", "Threads2", "Threads1Handoff": test-name suffix.
std::string ModeName(int mode);

// The options of `mode` (defaults otherwise); poller threads it starts.
WatcherOptions ModeOptions(int mode);
int ModePollers(int mode);

// A Watcher in `mode`; aborts the test binary if it cannot be built (nothing
// can be tested without one).
Watcher MakeWatcher(int mode, size_t swap_buffer_size = 64 * 1024);

// The kind of connected pair a test runs over.
enum class PairKind { kUnix, kTcp };
std::string PairKindName(PairKind kind);
absl::StatusOr<FdPair> MakePair(PairKind kind);

// Closes `fd` with SO_LINGER {on, 0}: a TCP peer gets a RST instead of a FIN.
void ResetClose(int fd);

// Bytes waiting to be read on `fd` (FIONREAD), -1 on error.
int InQueue(int fd);
// Bytes written on a TCP socket and not yet acknowledged by the peer
// (SIOCOUTQ), -1 on error.
int OutQueue(int fd);

// Polls `done` every millisecond until it returns true (true) or `patience`
// passes (false).
bool WaitFor(const std::function<bool()>& done, absl::Duration patience = kPatience);

// Thread ids of this process whose name (/proc/self/task/*/comm) starts with
// `prefix`.
std::vector<pid_t> ThreadsNamed(absl::string_view prefix);

// The status a failed read/write completes with, for comparisons (code,
// message and errno payload).
inline absl::Status ReadError(int err) { return internal::PosixError(err, "read"); }
inline absl::Status WriteError(int err) { return internal::PosixError(err, "write"); }

}  // namespace gaio::testing

#endif  // GAIO_TESTS_FAULT_UTIL_H_
