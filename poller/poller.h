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
//
// Events are hints: one may arrive for an fd that has since been removed, or
// removed and added again under the same number; callers look the fd up and
// treat a stale event as a spurious edge (at most one needless syscall).
#ifndef GAIO_POLLER_POLLER_H_
#define GAIO_POLLER_POLLER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "poller/fd_io.h"

namespace gaio::internal {

// Readiness bits of a PollEvent.
enum PollFlag : uint32_t {
  kPollReadable = 1u << 0,  // data, EOF or a peer shutdown can be read
  kPollWritable = 1u << 1,  // a write would make progress
  kPollHangup = 1u << 2,    // the peer shut down its writing side, or the connection is gone
  kPollError = 1u << 3,     // an error is pending on the fd (SO_ERROR)
  kPollUrgent = 1u << 4,    // urgent (TCP out-of-band) data arrived; also readable
};

struct PollEvent {
  int fd;
  uint32_t flags;  // PollFlag bits
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

  // The Poller's own fds, which callers must refuse to register.
  std::vector<int> OwnFds() const;

  // The reads and writes the watcher makes on registered fds:
  // ReadSome/RecvSome (`unix_stream`) and WriteSome of fd_io.h. They go
  // through the backend so that one whose emulation changes what a syscall
  // reports can put it right (kqueue_poller.cc under libkqueue); the others
  // forward.
  IoResult Read(int fd, bool unix_stream, char* buf, size_t len);
  IoResult Write(int fd, bool is_socket, const char* buf, size_t len);
  IoResult WriteV(int fd, bool is_socket, absl::Span<const absl::Span<const char>> bufs,
                  size_t skip);  // WriteVec
  // A registered socket's pending error (TakeSocketError), e.g. the outcome
  // of a connect: 0 when there is none.
  int SocketError(int fd);

  // Backend-specific state (event buffer, bookkeeping); opaque outside the
  // backend's file.
  struct Native;

 private:
  Poller(int poll_fd, int wake_fd);

  const int poll_fd_;  // epoll or kqueue fd
  const int wake_fd_;  // eventfd; -1 where the backend wakes via EVFILT_USER
  std::atomic<bool> wake_pending_{false};
  std::unique_ptr<Native> native_;
};

}  // namespace gaio::internal

#endif  // GAIO_POLLER_POLLER_H_
