// The awaiters of Socket's requests (socket.h names them Socket::ReadOp,
// Socket::WriteOp, ...; users reach them only through socket.h). Each holds
// the Socket, its arguments and nothing else: the request's state lives in
// the awaiting coroutine's promise (io_op.h). They read the Socket's fd at
// submission and note there that the Watcher owns it from then on.
#ifndef GAIO_CORO_INTERNAL_SOCKET_OPS_H_
#define GAIO_CORO_INTERNAL_SOCKET_OPS_H_

#include <coroutine>
#include <cstddef>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "coro/bytes.h"
#include "coro/event_loop.h"
#include "coro/internal/io_op.h"
#include "watcher/watcher.h"

namespace gaio::coro {

class Socket;

namespace internal {

// A write's result: the completion's status, carrying OpResult::size when it
// is an error after some bytes went out.
absl::Status WriteStatus(const OpResult& r);
struct NoDeadline {};
template <class D>
inline constexpr bool kTimed = std::is_same_v<D, absl::Time>;

// The awaiters hold only the Socket (a few bytes in the awaiting frame) and
// use the Watcher of the loop running the task.
inline Watcher* CurrentWatcher() {
  EventLoop* loop = EventLoop::current();
  return loop != nullptr ? &loop->watcher() : nullptr;
}
inline absl::Status NoLoopStatus() {
  return absl::FailedPreconditionError("no loop runs this task");
}

// The base of the Socket awaiters.
class SocketOp : public IoAwaiter {
 protected:
  explicit SocketOp(const Socket* s) : s_(s) {}
  // Both defined in socket.h, once Socket is complete.
  inline int fd() const;
  // Notes an accepted request (from then on the Watcher owns the fd).
  inline absl::Status Submitted(absl::Status s) const;

  const Socket* s_;
};

// One read into `buf`: bytes read (> 0), or an error (EOF: IsEof).
template <class D>
class SocketReadOp : public SocketOp {
 public:
  SocketReadOp(const Socket* s, absl::Span<char> buf, D deadline)
      : SocketOp(s), buf_(buf), deadline_(deadline) {}
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return Begin(h, fd(), "read: task cancelled", [this](void* ctx) {
      Watcher* w = CurrentWatcher();
      if (w == nullptr) return NoLoopStatus();
      // An empty span would be a swap-buffer read to the Watcher.
      if (buf_.empty()) return absl::InvalidArgumentError("read: empty buffer");
      if constexpr (kTimed<D>) {
        return Submitted(w->read_timeout(ctx, fd(), buf_, deadline_));
      }
      return Submitted(w->read(ctx, fd(), buf_));
    });
  }
  absl::StatusOr<size_t> await_resume() const {
    const OpResult& r = Completion();
    if (!r.status.ok()) return r.status;
    return r.size;
  }

 private:
  absl::Span<char> buf_;
  [[no_unique_address]] D deadline_;
};
// One read into the loop's swap buffer: the bytes, valid until this task's
// next co_await (SwapBytes), or an error (EOF: IsEof). No buffer is held
// while the read waits.
template <class D>
class SocketSwapReadOp : public SocketOp {
 public:
  SocketSwapReadOp(const Socket* s, D deadline) : SocketOp(s), deadline_(deadline) {}
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return Begin(h, fd(), "read: task cancelled", [this](void* ctx) {
      Watcher* w = CurrentWatcher();
      if (w == nullptr) return NoLoopStatus();
      if constexpr (kTimed<D>) {
        return Submitted(w->read_timeout(ctx, fd(), nullptr, deadline_));
      }
      return Submitted(w->read(ctx, fd(), nullptr));
    });
  }
  absl::StatusOr<SwapBytes> await_resume() const {
    const OpResult& r = Completion();
    if (!r.status.ok()) return r.status;
    return SwapBytes(SwapBufferTag{}, r.buffer.data(), r.size);
  }

 private:
  [[no_unique_address]] D deadline_;
};
// Fills `buf` entirely: OK, or the error (EOF: IsEof) that stopped it.
class SocketReadFullOp : public SocketOp {
 public:
  SocketReadFullOp(const Socket* s, absl::Span<char> buf, absl::Time deadline)
      : SocketOp(s), buf_(buf), deadline_(deadline) {}
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return Begin(h, fd(), "read_full: task cancelled", [this](void* ctx) {
      Watcher* w = CurrentWatcher();
      if (w == nullptr) return NoLoopStatus();
      return Submitted(w->read_full(ctx, fd(), buf_, deadline_));
    });
  }
  absl::Status await_resume() const { return Completion().status; }

 private:
  absl::Span<char> buf_;
  absl::Time deadline_;
};
// Writes all of `buf`: OK, or the error that stopped it.
template <class D>
class SocketWriteOp : public SocketOp {
 public:
  SocketWriteOp(const Socket* s, absl::Span<const char> buf, D deadline)
      : SocketOp(s), buf_(buf), deadline_(deadline) {}
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return Begin(h, fd(), "write: task cancelled", [this](void* ctx) {
      Watcher* w = CurrentWatcher();
      if (w == nullptr) return NoLoopStatus();
      if constexpr (kTimed<D>) {
        return Submitted(w->write_timeout(ctx, fd(), buf_, deadline_));
      }
      return Submitted(w->write(ctx, fd(), buf_));
    });
  }
  absl::Status await_resume() const { return WriteStatus(Completion()); }

 private:
  absl::Span<const char> buf_;
  [[no_unique_address]] D deadline_;
};
// write(swap bytes): holds a pointer to the SwapBytes (which lives in the
// awaiting frame or the co_await's full expression), checked when built
// and again at submission (a lazy combinator may submit it much later:
// swap-buffer bytes the Watcher took back meanwhile abort), then passed on.
template <class D>
class SocketSwapWriteOp : public SocketOp {
 public:
  SocketSwapWriteOp(const Socket* s, const SwapBytes* bytes, D deadline)
      : SocketOp(s), bytes_(bytes), deadline_(deadline) {
    (void)bytes->span();  // the check: still before this co_await
  }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    bytes_->check_not_released();
    return Begin(h, fd(), "write: task cancelled", [this](void* ctx) {
      Watcher* w = CurrentWatcher();
      if (w == nullptr) return NoLoopStatus();
      if constexpr (kTimed<D>) {
        return Submitted(w->write_timeout(ctx, fd(), bytes_->span_unchecked(), deadline_));
      }
      return Submitted(w->write(ctx, fd(), bytes_->span_unchecked()));
    });
  }
  absl::Status await_resume() const { return WriteStatus(Completion()); }

 private:
  const SwapBytes* bytes_;
  [[no_unique_address]] D deadline_;
};
class SocketWritevOp : public SocketOp {
 public:
  SocketWritevOp(const Socket* s, absl::Span<const absl::Span<const char>> bufs,
                 absl::Time deadline)
      : SocketOp(s), bufs_(bufs), deadline_(deadline) {}
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return Begin(h, fd(), "writev: task cancelled", [this](void* ctx) {
      Watcher* w = CurrentWatcher();
      if (w == nullptr) return NoLoopStatus();
      return Submitted(w->writev_timeout(ctx, fd(), bufs_, deadline_));
    });
  }
  absl::Status await_resume() const { return WriteStatus(Completion()); }

 private:
  absl::Span<const absl::Span<const char>> bufs_;
  absl::Time deadline_;
};
// Waits until the fd is readable / writable (Watcher::wait_readable,
// wait_writable) without moving a byte: OK, DeadlineExceeded, Cancelled
// (the task was cancelled), or the Watcher's error. For code that makes
// its own syscalls on the fd (a library's protocol engine); the Socket's
// own reads and writes need no such wait. Readable includes end of file
// and a pending error: the syscall that follows reports them.
class SocketReadinessOp : public SocketOp {
 public:
  SocketReadinessOp(const Socket* s, bool write, absl::Time deadline)
      : SocketOp(s), write_(write), deadline_(deadline) {}
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return Begin(h, fd(), write_ ? "writable: task cancelled" : "readable: task cancelled",
                 [this](void* ctx) {
                   Watcher* w = CurrentWatcher();
                   if (w == nullptr) return NoLoopStatus();
                   return Submitted(write_ ? w->wait_writable(ctx, fd(), deadline_)
                                           : w->wait_readable(ctx, fd(), deadline_));
                 });
  }
  absl::Status await_resume() const { return Completion().status; }

 private:
  bool write_;
  absl::Time deadline_;
};

}  // namespace internal
}  // namespace gaio::coro

#endif  // GAIO_CORO_INTERNAL_SOCKET_OPS_H_
