// Helpers for the gaio::coro tests: loops, bounded runs, fd pairs and
// blocking peer-side I/O with deadlines.
#ifndef GAIO_TESTS_CORO_CORO_TEST_UTIL_H_
#define GAIO_TESTS_CORO_CORO_TEST_UTIL_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coro/coro.h"

namespace gaio::coro::testing {

// How long a test lets a loop run before it calls stop() and fails: a hang
// becomes a failure instead of a CI timeout.
inline constexpr absl::Duration kPatience = absl::Seconds(20);

std::unique_ptr<EventLoop> NewLoop(int pollers = 0);

// Calls loop.stop() from another thread if the guarded scope lasts longer
// than `patience`; fired() tells whether it had to. (std::mutex, not
// absl::Notification: ThreadSanitizer cannot see Debian's Abseil.)
class Watchdog {
 public:
  explicit Watchdog(EventLoop& loop, absl::Duration patience = kPatience);
  ~Watchdog();
  bool fired() const { return fired_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

// loop.run(task) under a Watchdog; a fired watchdog fails the test.
template <class T>
Result<T> RunBounded(EventLoop& loop, Task<T> task, absl::Duration patience = kPatience);

// Connected stream sockets: `watched` for the loop, `peer` for the test
// (blocking).
struct FdPair {
  int watched = -1;
  int peer = -1;
};
FdPair UnixPair();
FdPair TcpPair();

absl::Status WriteAll(int fd, absl::string_view data, absl::Duration patience = kPatience);
absl::StatusOr<std::string> ReadExactly(int fd, size_t n, absl::Duration patience = kPatience);
// Bytes readable on fd right now without blocking (FIONREAD).
int Readable(int fd);
int CountOpenFds();
// The open fds with what each refers to ("3 -> socket:[123]"), one a line:
// for the message of a failed fd count.
std::string ListOpenFds();
// CountOpenFds() once a first loop has been made and destroyed: the baseline
// for "no fd leaked". A poller backend may open process-wide fds at its first
// use and keep them (libkqueue's close-detection epoll and its eventfd, made
// at the first kqueue() and never closed, docs/KQUEUE.md); counted after a
// first loop, they are in the baseline, and what a loop of ours leaks still
// shows (each loop would add its own).
int CountOpenFdsAfterFirstLoop();

}  // namespace gaio::coro::testing

#include "gtest/gtest.h"

namespace gaio::coro::testing {
template <class T>
Result<T> RunBounded(EventLoop& loop, Task<T> task, absl::Duration patience) {
  Watchdog dog(loop, patience);
  Result<T> r = loop.run(std::move(task));
  EXPECT_FALSE(dog.fired()) << "the loop had to be stopped after " << patience;
  return r;
}
}  // namespace gaio::coro::testing

#endif  // GAIO_TESTS_CORO_CORO_TEST_UTIL_H_
