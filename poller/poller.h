// Poller: the one platform seam between the watcher and the OS readiness API.
//
// A Poller owns one edge-triggered readiness set (epoll with EPOLLET on Linux,
// kqueue with EV_CLEAR on BSD/macOS) plus a wake-up channel. Each fd is added
// once, for read and write readiness together; no per-operation interest
// changes are ever made. Exactly one backend file implements this class; the
// build picks it (epoll_poller.cc or kqueue_poller.cc).
//
// Threads: Add/Remove/Wake may be called from any thread. Wait is called by
// one thread at a time (the poller thread, or the caller in caller-driven
// mode), concurrently with Add/Remove/Wake.
//
// Errors: every call returns a Status built by PosixError(); a Poller never
// throws or aborts.
#ifndef GAIO_POLLER_POLLER_H_
#define GAIO_POLLER_POLLER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gaio::internal {

// Readiness bits of a PollEvent.
enum PollFlag : uint32_t {
  kPollReadable = 1u << 0,  // data, EOF or a peer shutdown can be read
  kPollWritable = 1u << 1,  // a write would make progress
  kPollHangup = 1u << 2,    // the peer shut down its writing side, or the connection is gone
  kPollError = 1u << 3,     // an error is pending on the fd (SO_ERROR)
};

struct PollEvent {
  int fd;
  uint32_t flags;  // PollFlag bits
  // With kPollError on a socket: the socket's pending error (SO_ERROR) when
  // the backend had to read it, and thereby clear it, to report the event
  // (libkqueue does). The syscall that would have reported this errno (the
  // next read; on TCP also the next write) then returns EOF, or fails with
  // EPIPE, instead. 0 when the backend left the error pending for that
  // syscall (epoll, a native kqueue). Only a socket's value means anything:
  // for other fds a backend may put a placeholder here (libkqueue: EIO).
  int error = 0;
};

class Poller {
 public:
  // Creates the readiness set and the wake-up channel. On failure returns the
  // errno-mapped status and creates nothing.
  static absl::StatusOr<std::unique_ptr<Poller>> Create();

  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  ~Poller();  // closes the backend's own fds; registered fds stay open

  // Registers `fd` for edge-triggered read and write readiness. Returns OK, or
  // the errno-mapped status (e.g. PermissionDenied for a regular file) and
  // leaves the set unchanged.
  absl::Status Add(int fd);

  // Deregisters `fd`. Returns OK or the errno-mapped status.
  absl::Status Remove(int fd);

  // Blocks until at least one event is ready, Wake() is called, or `timeout`
  // passes (absl::ZeroDuration() polls; absl::InfiniteDuration() waits
  // forever). Replaces the contents of `*events` with the ready events (the
  // vector's capacity is reused). Wake-ups are consumed, not listed as
  // events; `*woken` (when given) tells whether one was. An interrupted wait
  // (EINTR) returns OK with no events.
  absl::Status Wait(absl::Duration timeout, std::vector<PollEvent>* events,
                    bool* woken = nullptr);

  // Makes the current or next Wait() return. Thread-safe; wake-ups that arrive
  // while one is already pending are coalesced into it (no extra syscall).
  absl::Status Wake();

  // True when `fd` is one of the Poller's own fds, which callers must refuse
  // to register.
  bool OwnsFd(int fd) const;

 private:
  struct Native;  // backend-specific state (event buffer)
  Poller(int poll_fd, int wake_fd);

  const int poll_fd_;  // epoll or kqueue fd
  const int wake_fd_;  // eventfd; -1 where the backend wakes via EVFILT_USER
  std::atomic<bool> wake_pending_{false};
  std::unique_ptr<Native> native_;
};

}  // namespace gaio::internal

#endif  // GAIO_POLLER_POLLER_H_
