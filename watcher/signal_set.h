// SignalSet: delivered POSIX signals as bytes on a pipe, for an event loop.
//
//   absl::StatusOr<std::unique_ptr<gaio::SignalSet>> set = gaio::SignalSet::Create({SIGINT,
//   SIGTERM}); int fd = (*set)->TakeReadFd();                 // hand it to the Watcher:
//   watcher.read(ctx, fd, absl::MakeSpan(buf));    // each byte read is one signal's number
//
// While a SignalSet exists, each of its signals has a handler (sigaction,
// SA_RESTART) that writes the signal's number, one byte, to the set's pipe
// and does nothing else. So a signal becomes a readable fd: it works with
// either Watcher mode, on epoll and kqueue, in any thread's signal delivery,
// with no signal mask to manage. The coroutine layer wraps it
// (coro/signals.h).
//
// Delivery. Every signal delivered to the process is one byte, in delivery
// order, including those delivered before anyone reads (they wait in the
// pipe). The pipe holds at least 4096 bytes (Linux: 64 KiB); signals that
// arrive while it is full are dropped, as the kernel coalesces a pending
// standard signal. Byte values are signal numbers (all below 256).
//
// Ownership. The set owns the handlers and the pipe's write end. The read
// end (non-blocking, close-on-exec) belongs to the set until TakeReadFd()
// hands it over; the taker closes it (e.g. the Watcher, from its first
// request on). Destroying the set restores each signal's previous action,
// waits for a handler running on another thread to finish, and closes the
// write end: a reader then sees end of file once the bytes before are read.
//
// Errors. Create(): InvalidArgument for an empty list, a number outside
// 1..NSIG-1, SIGKILL or SIGSTOP; AlreadyExists when another SignalSet holds
// one of the signals (one set per signal in a process); the errno status of
// pipe2() or sigaction() (nothing is left installed on failure).
//
// Threads. Create() and the destructor may run on any thread (they
// serialise on a process-wide mutex). The handler is async-signal-safe (one write(2), lock-free
// atomics, errno preserved).
//
// What else is async-signal-safe in the library, i.e. may be called from a
// signal handler of your own: coro::EventLoop::stop(). Nothing of Watcher is
// (post() and every request take a mutex); use a SignalSet instead.
#ifndef GAIO_WATCHER_SIGNAL_SET_H_
#define GAIO_WATCHER_SIGNAL_SET_H_

#include <initializer_list>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace gaio {

class SignalSet {
 public:
  static absl::StatusOr<std::unique_ptr<SignalSet>> Create(absl::Span<const int> signals);
  static absl::StatusOr<std::unique_ptr<SignalSet>> Create(std::initializer_list<int> signals) {
    return Create(absl::Span<const int>(signals.begin(), signals.size()));
  }

  SignalSet(const SignalSet&) = delete;
  SignalSet& operator=(const SignalSet&) = delete;
  ~SignalSet();

  // The read end; -1 once taken. Ownership passes to the caller.
  int TakeReadFd();
  const std::vector<int>& signals() const { return signals_; }

 private:
  SignalSet(std::vector<int> signals, int read_fd, int write_fd)
      : signals_(std::move(signals)), read_fd_(read_fd), write_fd_(write_fd) {}
  std::vector<int> signals_;
  int read_fd_;
  int write_fd_;
};

}  // namespace gaio

#endif  // GAIO_WATCHER_SIGNAL_SET_H_
