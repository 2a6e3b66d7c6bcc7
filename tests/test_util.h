// Helpers shared by the watcher tests: fd pairs, bounded collection of
// completions, and blocking peer-side I/O with deadlines.
#ifndef GAIO_TESTS_TEST_UTIL_H_
#define GAIO_TESTS_TEST_UTIL_H_

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "watcher/watcher.h"

namespace gaio::testing {

#define GAIO_ASSERT_OK(expr)                               \
  do {                                                     \
    const absl::Status gaio_status_ = (expr);              \
    ASSERT_TRUE(gaio_status_.ok()) << gaio_status_;        \
  } while (0)

#define GAIO_EXPECT_OK(expr)                               \
  do {                                                     \
    const absl::Status gaio_status_ = (expr);              \
    EXPECT_TRUE(gaio_status_.ok()) << gaio_status_;        \
  } while (0)

// How long a test waits for completions that must come. Generous: a missing
// completion fails the test after this, instead of hanging CI.
inline constexpr absl::Duration kPatience = absl::Seconds(20);

// Two connected stream sockets. `watched` goes to the Watcher, `peer` stays
// with the test (blocking mode).
struct FdPair {
  int watched = -1;
  int peer = -1;
};
absl::StatusOr<FdPair> UnixPair();  // AF_UNIX socketpair
absl::StatusOr<FdPair> TcpPair();   // TCP over 127.0.0.1, TCP_NODELAY

// A completion copied out of the batch (swap bytes included), so it outlives
// the next wait_io() call.
struct Completion {
  OpType op;
  int fd;
  void* ctx;
  size_t size;
  bool is_swap_buffer;
  absl::Status status;
  std::string data;  // reads: the bytes read
  int accepted_fd = -1;
};
Completion Copy(const OpResult& r);

// Calls wait_io() until `n` completions have arrived or `patience` passed.
// Returns what arrived (the caller asserts the count). Stops early if
// wait_io() fails, storing that status in *error when given.
std::vector<Completion> Collect(Watcher& w, size_t n, absl::Duration patience = kPatience,
                                absl::Status* error = nullptr);

// Blocking peer-side helpers bounded by `patience`.
absl::Status WriteAll(int fd, absl::string_view data, absl::Duration patience = kPatience);
absl::StatusOr<std::string> ReadExactly(int fd, size_t n, absl::Duration patience = kPatience);

// `n` bytes of a deterministic pattern that depends on `seed`.
std::string Pattern(size_t n, unsigned seed = 1);

// Number of open fds of this process (entries in /proc/self/fd).
int CountOpenFds();

// CountOpenFds() as a baseline for a leak check: taken after a first Watcher
// of the process was created and destroyed (done here, once), so that fds a
// backend opens on first use and keeps for the life of the process
// (libkqueue: an epoll fd and an eventfd) are not counted as a leak of the
// Watcher under test. Same on every backend.
int FdBaseline();

// True when `fd` is open in this process.
bool FdIsOpen(int fd);

}  // namespace gaio::testing

#endif  // GAIO_TESTS_TEST_UTIL_H_
