// BSD/macOS backend of Poller: one kqueue with EVFILT_READ and EVFILT_WRITE
// per fd (EV_CLEAR, i.e. edge-triggered) and an EVFILT_USER event for
// wake-ups, so the backend owns no fd besides the kqueue itself. On Linux the
// same file builds against libkqueue (--config=kqueue, docs/KQUEUE.md).
//
// Where kqueue and epoll differ, this file makes kqueue behave like the
// contract in poller.h (which epoll_poller.cc defines in practice):
//  - kqueue accepts regular files and directories (always "ready"); epoll
//    refuses them with EPERM, and so does Add() here.
//  - EV_ADD on an existing registration silently modifies it; epoll says
//    EEXIST. Add() keeps its own record of registered fds to say the same.
//  - Only macOS reports urgent (out-of-band) data, with EV_OOBAND. Elsewhere
//    Read() notices a read that stopped at the urgent mark and the next
//    Wait() reports kPollUrgent then.
// The blocks under LIBKQUEUE work around that emulation's differences from
// kqueue (docs/KQUEUE.md); they compile only against it.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "poller/fd_io.h"
#include "poller/poller.h"
#include "poller/posix_error.h"

namespace gaio::internal {
namespace {

constexpr int kMaxEvents = 256;

// The one EVFILT_USER event. User-event idents are their own namespace, so 0
// cannot collide with a registered fd.
constexpr uintptr_t kWakeIdent = 0;

// Longest single wait. libkqueue turns the timespec into int milliseconds,
// and callers loop on a short return anyway; epoll_poller.cc caps the same.
constexpr absl::Duration kMaxWait = absl::Seconds(1'000'000);

// Both filters of `fd` with `flags`, each with EV_RECEIPT so that kevent()
// reports a status per filter instead of stopping at the first error and
// never collects pending events in the same call. Write before read: kqueue
// does not care, but libkqueue keeps one epoll registration per fd and the
// second filter's update keeps only the first one's EPOLLIN/EPOLLOUT bit, so
// the read filter must come last for EPOLLRDHUP to stay. Without it, a peer
// shutdown that arrives with data is reported as plain readability: no
// EV_EOF, and no later edge for the EOF.
// `generation` goes into udata: Wait() tells by it whether an event is for
// the registration that is current under that fd number.
void SetPair(struct kevent (&changes)[2], int fd, uint16_t flags, uint32_t generation = 0) {
  const auto ident = static_cast<uintptr_t>(fd);
  void* const udata = reinterpret_cast<void*>(static_cast<uintptr_t>(generation));
  EV_SET(&changes[0], ident, EVFILT_WRITE, flags | EV_RECEIPT, 0, 0, udata);
  EV_SET(&changes[1], ident, EVFILT_READ, flags | EV_RECEIPT, 0, 0, udata);
}

// Applies a two-entry changelist made by SetPair. Returns -1 with errno set
// when the call itself failed, else 0 with the per-filter errno (0 = done) in
// err[0] (read) and err[1] (write).
int ApplyPair(int kq, const struct kevent (&changes)[2], int (&err)[2]) {
  struct kevent receipts[2];
  // Zero timeout: with exactly one receipt slot per change there is no room
  // left to collect events, and no implementation may block on this call.
  const timespec zero{0, 0};
  int n;
  do {
    n = kevent(kq, changes, 2, receipts, 2, &zero);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  err[0] = err[1] = EIO;  // a receipt that never came back is a failure
  for (int i = 0; i < n; ++i) {
    if (!(receipts[i].flags & EV_ERROR)) continue;
    err[receipts[i].filter == EVFILT_READ ? 0 : 1] = static_cast<int>(receipts[i].data);
  }
  return 0;
}

uint32_t ToFlags(const struct kevent& ev) {
  uint32_t flags = ev.filter == EVFILT_READ ? kPollReadable : kPollWritable;
  // EV_EOF: the peer shut down its writing side (read filter) or the
  // connection can take no more data (write filter). fflags then carries the
  // socket's pending error, if any.
  if (ev.flags & EV_EOF) {
    flags |= kPollHangup;
    if (ev.fflags != 0) flags |= kPollError;
  }
  // Not expected without a changelist; let the caller's next syscall find
  // out what is wrong with the fd.
  if (ev.flags & EV_ERROR) flags |= kPollError | kPollReadable | kPollWritable;
#ifdef EV_OOBAND
  if (ev.filter == EVFILT_READ && (ev.flags & EV_OOBAND)) flags |= kPollUrgent;
#endif
  return flags;
}

#ifdef LIBKQUEUE
// For a socket error libkqueue took from `fd` to report an event (see
// Poller::Native::taken): true when this read's EOF (`write` false), or this
// write's EPIPE (`write` true), stands where the kernel would have reported
// `error`. A read costs nothing, a write one getsockopt(2).
bool TakenErrorWasDue(int fd, int error, bool write) {
  // EPIPE is pending only on a TCP socket reset after the peer's FIN
  // (tcp_reset() in CLOSE_WAIT): its reads return EOF before the error, its
  // writes fail with EPIPE either way. Nothing to put back.
  if (error == EPIPE) return false;
  // Reads report a pending error before EOF: unix_stream_read_generic()
  // always, tcp_recvmsg() unless a FIN came first (then an error, other
  // than EPIPE, is put back one syscall early: the connection failed all
  // the same).
  if (!write) return true;
  // tcp_sendmsg() reports it before EPIPE; unix_stream_sendmsg() fails with
  // EPIPE and leaves it for the next read.
  int protocol = 0;
  socklen_t len = sizeof(protocol);
  return ::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0 &&
         protocol == IPPROTO_TCP;
}
#endif

}  // namespace

struct Poller::Native {
  struct kevent events[kMaxEvents];

  // What the backend knows of one fd number.
  struct FdRecord {
    bool registered = false;  // Add() succeeded, Remove() not yet called
    bool is_socket = false;   // as of the last Add()
    bool stream_socket = false;
    uint32_t generation = 0;  // counts Add() calls; the current one is in its kevents' udata
#ifdef LIBKQUEUE
    // A socket error libkqueue took (it fills an EV_EOF's fflags by reading
    // SO_ERROR, which on Linux clears it), so that the socket's next read
    // says EOF and its next write EPIPE instead. Read()/Write() report it
    // in their place (TakenErrorWasDue), once. Recorded only for the
    // current registration of a socket; Remove() forgets it.
    int taken = 0;
#endif
  };

  // Add() and Remove() hold mu across their kevent() call so that the
  // records and the kernel's registrations change together. Wait() never
  // holds it across kevent().
  std::mutex mu;
  std::vector<FdRecord> fds;  // by fd number

#ifndef EV_OOBAND
  // Registered stream sockets whose read stopped at an urgent mark (see
  // Poller::Read), for the next Wait() to report urgent and readable.
  // `marks_pending` says the vector is not empty, so that Wait() takes mu
  // only then.
  std::vector<int> at_mark;
  std::atomic<bool> marks_pending{false};
#endif

  const FdRecord* Find(int fd) const {
    if (fd < 0 || static_cast<size_t>(fd) >= fds.size()) return nullptr;
    return &fds[static_cast<size_t>(fd)];
  }
  bool IsRegistered(int fd) const {
    const FdRecord* r = Find(fd);
    return r != nullptr && r->registered;
  }
#ifdef LIBKQUEUE
  int PeekError(int fd) {
    std::lock_guard<std::mutex> lock(mu);
    const FdRecord* r = Find(fd);
    return r != nullptr ? r->taken : 0;
  }
#endif
  // The error taken from `fd`, if any, now forgotten.
  int TakeError(int fd) {
#ifdef LIBKQUEUE
    std::lock_guard<std::mutex> lock(mu);
    if (Find(fd) == nullptr) return 0;
    return std::exchange(fds[static_cast<size_t>(fd)].taken, 0);
#else
    (void)fd;
    return 0;
#endif
  }
#ifndef EV_OOBAND
  // After a short read of `fd`: true when it stopped at an urgent mark, with
  // bytes possibly queued behind it; the next Wait() then reports `fd`.
  // Costs a registered stream socket one sockatmark(3) (an ioctl).
  bool NoteIfAtMark(int fd) {
    {
      std::lock_guard<std::mutex> lock(mu);
      const FdRecord* r = Find(fd);
      if (r == nullptr || !r->registered || !r->stream_socket) return false;
    }
    if (::sockatmark(fd) != 1) return false;
    std::lock_guard<std::mutex> lock(mu);
    at_mark.push_back(fd);
    marks_pending.store(true, std::memory_order_seq_cst);
    return true;
  }
#endif
};

absl::StatusOr<std::unique_ptr<Poller>> Poller::Create() {
  int kq = kqueue();
  if (kq < 0) return PosixError(errno, "kqueue");
  // As epoll_create1(EPOLL_CLOEXEC) does; not every system has a kqueue
  // call that takes the flag (macOS has none).
  if (::fcntl(kq, F_SETFD, FD_CLOEXEC) != 0) {
    absl::Status status = PosixError(errno, "fcntl(F_SETFD)");
    ::close(kq);
    return status;
  }
  struct kevent ev;
  EV_SET(&ev, kWakeIdent, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0);
  if (kevent(kq, &ev, 1, nullptr, 0, nullptr) != 0) {
    absl::Status status = PosixError(errno, "kevent(ADD EVFILT_USER)");
    ::close(kq);
    return status;
  }
  return std::unique_ptr<Poller>(new Poller(kq, -1));
}

Poller::Poller(int poll_fd, int wake_fd)
    : poll_fd_(poll_fd), wake_fd_(wake_fd), native_(std::make_unique<Native>()) {}

#ifdef LIBKQUEUE
// libkqueue frees a closed kqueue (its epoll fd, eventfds, pipe) in a helper
// thread, some time after close(). Recent versions export this, undeclared,
// to wait for that; weak, so that older ones still link.
extern "C" void libkqueue_drain_pending_close(void) __attribute__((weak));
#endif

Poller::~Poller() {
  ::close(poll_fd_);  // also drops the user event and every registration
#ifdef LIBKQUEUE
  // The contract is that the backend's fds are closed when this returns.
  if (libkqueue_drain_pending_close != nullptr) libkqueue_drain_pending_close();
#endif
}

absl::Status Poller::Add(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError(errno, "fstat");
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return PosixError(EPERM, "kevent(ADD)");
  const bool is_socket = S_ISSOCK(st.st_mode);
  int type = 0;
  socklen_t type_len = sizeof(type);
  const bool stream_socket =
      is_socket && ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && type == SOCK_STREAM;
  std::lock_guard<std::mutex> lock(native_->mu);
  if (native_->IsRegistered(fd)) return PosixError(EEXIST, "kevent(ADD)");
  const auto slot = static_cast<size_t>(fd);
  if (slot >= native_->fds.size()) native_->fds.resize(slot + 1);
  Native::FdRecord& record = native_->fds[slot];
  struct kevent changes[2];
  SetPair(changes, fd, EV_ADD | EV_CLEAR, ++record.generation);
  int err[2];
  if (ApplyPair(poll_fd_, changes, err) != 0) return PosixError(errno, "kevent(ADD)");
  // A pipe end whose peer is already closed refuses EVFILT_WRITE on FreeBSD
  // (EPIPE). Nothing can be written to it, but its buffered data and EOF
  // still need the read filter, which epoll would have registered too.
  if (err[0] == 0 && err[1] == EPIPE) err[1] = 0;
  if (err[0] != 0 || err[1] != 0) {
    // Leave the set unchanged: undo the filter that did get added, if any.
    struct kevent undo[2];
    SetPair(undo, fd, EV_DELETE);
    int ignored[2];
    ApplyPair(poll_fd_, undo, ignored);
    return PosixError(err[0] != 0 ? err[0] : err[1], "kevent(ADD)");
  }
  record.registered = true;
  record.is_socket = is_socket;
  record.stream_socket = stream_socket;
  return absl::OkStatus();
}

absl::Status Poller::Remove(int fd) {
  std::lock_guard<std::mutex> lock(native_->mu);
  if (fd < 0 || !native_->IsRegistered(fd)) return PosixError(ENOENT, "kevent(DELETE)");
  // Whatever the kernel says next, the fd is no longer ours to report.
  Native::FdRecord& record = native_->fds[static_cast<size_t>(fd)];
  record.registered = false;
#ifdef LIBKQUEUE
  record.taken = 0;
#endif
  struct kevent changes[2];
  SetPair(changes, fd, EV_DELETE);
  int err[2];
  if (ApplyPair(poll_fd_, changes, err) != 0) return PosixError(errno, "kevent(DELETE)");
  // One filter may be gone already (never added, see Add(), or deleted by
  // the kernel, as FreeBSD does with a knote hung on a pipe's other end when
  // that end closes); the fd is deregistered as long as the other one went.
  if (err[0] == 0 && (err[1] == 0 || err[1] == ENOENT)) return absl::OkStatus();
  if (err[1] == 0 && err[0] == ENOENT) return absl::OkStatus();
  return PosixError(err[0] != 0 && err[0] != ENOENT ? err[0] : err[1], "kevent(DELETE)");
}

absl::Status Poller::Wait(absl::Duration timeout, std::vector<PollEvent>* events, bool* woken) {
  events->clear();
  if (woken) *woken = false;
  timespec ts;
  const timespec* tsp = nullptr;  // nullptr: wait forever
  if (timeout != absl::InfiniteDuration()) {
    ts = absl::ToTimespec(std::clamp(timeout, absl::ZeroDuration(), kMaxWait));
    tsp = &ts;
  }
  struct kevent* const out = native_->events;
  int n = kevent(poll_fd_, nullptr, 0, out, kMaxEvents, tsp);
  if (n < 0) {
    if (errno == EINTR) return absl::OkStatus();
    return PosixError(errno, "kevent");
  }
  for (int i = 0; i < n; ++i) {
    const struct kevent& ev = out[i];
    if (ev.filter == EVFILT_USER) {
      // EV_CLEAR reset the trigger as kevent() reported it; only now clear
      // the flag. A Wake() before the clear is coalesced into this return
      // (the caller re-examines its state after Wait); one after it triggers
      // again. Clearing before the report could leave the flag set with no
      // trigger pending, and every later Wake() would be dropped (see
      // epoll_poller.cc).
      wake_pending_.store(false, std::memory_order_seq_cst);
      if (woken) *woken = true;
      continue;
    }
    const int fd = static_cast<int>(ev.ident);
    const uint32_t flags = ToFlags(ev);
#ifdef LIBKQUEUE
    // libkqueue filled this EV_EOF's fflags by reading SO_ERROR, which
    // cleared it (FdRecord::taken). Record it for the registration the
    // event is for; a stale event (the fd removed, or removed and added
    // again, since kevent() returned it) records nothing. Not for other
    // fds: their fflags is a made-up EIO, nothing was taken. Both kevents
    // of an fd come from one epoll event, and only the first one's read
    // finds the error.
    if ((ev.flags & EV_EOF) && ev.fflags != 0) {
      std::lock_guard<std::mutex> lock(native_->mu);
      const auto slot = static_cast<size_t>(fd);
      const auto generation = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(ev.udata));
      Native::FdRecord* const record = native_->IsRegistered(fd) ? &native_->fds[slot] : nullptr;
      if (record != nullptr && record->is_socket && record->generation == generation) {
        record->taken = static_cast<int>(ev.fflags);
      }
    }
#endif
    // The two filters of one fd usually come back side by side: one event.
    if (!events->empty() && events->back().fd == fd) {
      events->back().flags |= flags;
    } else {
      events->push_back(PollEvent{fd, flags});
    }
  }
#ifdef LIBKQUEUE
  // libkqueue (kqueue emulated on Linux, used to test this file) reads up to
  // kMaxEvents epoll events, one per fd, and turns each into up to two
  // kevents (read and write); those that no longer fit are dropped, and with
  // EV_CLEAR their edges never come back. After a full batch, report every
  // registered fd as ready: a needless read or write costs the caller one
  // EAGAIN, a lost edge would stall its fd for good.
  if (n == kMaxEvents) {
    std::lock_guard<std::mutex> lock(native_->mu);
    for (size_t fd = 0; fd < native_->fds.size(); ++fd) {
      if (native_->fds[fd].registered) {
        events->push_back(PollEvent{static_cast<int>(fd), kPollReadable | kPollWritable});
      }
    }
  }
#endif
#ifndef EV_OOBAND
  // Reads that stopped at an urgent mark since the last Wait() (Read()).
  // An fd removed since is skipped; one removed and added again gets a
  // needless urgent edge (one read that finds nothing).
  if (native_->marks_pending.load(std::memory_order_seq_cst)) {
    std::lock_guard<std::mutex> lock(native_->mu);
    for (int fd : native_->at_mark) {
      if (native_->IsRegistered(fd)) events->push_back(PollEvent{fd, kPollReadable | kPollUrgent});
    }
    native_->at_mark.clear();
    native_->marks_pending.store(false, std::memory_order_seq_cst);
  }
#endif
  return absl::OkStatus();
}

absl::Status Poller::Wake() {
  if (wake_pending_.exchange(true, std::memory_order_seq_cst)) {
    return absl::OkStatus();  // a wake-up is already on its way
  }
  struct kevent ev;
  EV_SET(&ev, kWakeIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0);
  while (kevent(poll_fd_, &ev, 1, nullptr, 0, nullptr) != 0) {
    if (errno == EINTR) continue;  // triggering twice is harmless
    wake_pending_.store(false, std::memory_order_seq_cst);
    return PosixError(errno, "kevent(NOTE_TRIGGER)");
  }
  return absl::OkStatus();
}

// The kqueue only: wake-ups are an EVFILT_USER event, wake_fd_ is -1. (Read
// here all the same, so that the field is used in this backend too; clang's
// -Wunused-private-field fails the build otherwise.)
std::vector<int> Poller::OwnFds() const {
  std::vector<int> own{poll_fd_};
  if (wake_fd_ >= 0) own.push_back(wake_fd_);
  return own;
}

IoResult Poller::Read(int fd, bool unix_stream, char* buf, size_t len) {
  IoResult io = unix_stream ? RecvSome(fd, buf, len) : ReadSome(fd, buf, len);
#ifndef EV_OOBAND
  // A stream socket's read stops short at an urgent mark, with the bytes
  // behind it queued and no new edge to announce them. Where kqueue has no
  // EV_OOBAND to report urgent data (FreeBSD, libkqueue), tell the watcher
  // as epoll's EPOLLPRI would: the next Wait() reports the fd urgent and
  // readable, and Wake() makes that Wait() come.
  if (io.n > 0 && static_cast<size_t>(io.n) < len && native_->NoteIfAtMark(fd)) (void)Wake();
#endif
#ifdef LIBKQUEUE
  if (io.n == 0) {
    const int taken = native_->TakeError(fd);  // the EOF clears it either way
    if (taken != 0 && TakenErrorWasDue(fd, taken, /*write=*/false)) io = IoResult{-1, taken};
  }
#endif
  return io;
}

namespace {

// A write's EPIPE that stands where libkqueue took the socket's error: that
// error instead (Native::taken). Otherwise `io` as it is.
IoResult PutBackTakenError(Poller::Native* native, int fd, IoResult io) {
#ifdef LIBKQUEUE
  // If not due here, the error stays for the read it is due at.
  if (io.n < 0 && io.err == EPIPE) {
    const int taken = native->PeekError(fd);
    if (taken != 0 && TakenErrorWasDue(fd, taken, /*write=*/true)) io.err = native->TakeError(fd);
  }
#else
  (void)native, (void)fd;
#endif
  return io;
}

}  // namespace

IoResult Poller::Write(int fd, bool is_socket, const char* buf, size_t len) {
  return PutBackTakenError(native_.get(), fd, WriteSome(fd, is_socket, buf, len));
}

IoResult Poller::WriteV(int fd, bool is_socket, absl::Span<const absl::Span<const char>> bufs,
                        size_t skip) {
  return PutBackTakenError(native_.get(), fd, WriteVec(fd, is_socket, bufs, skip));
}

int Poller::SocketError(int fd) {
  // libkqueue may have taken the error (a failed connect's, say) already.
  if (const int taken = native_->TakeError(fd); taken != 0) return taken;
  return TakeSocketError(fd);
}

}  // namespace gaio::internal
