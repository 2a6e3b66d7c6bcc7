// Socket, Listener, dial() and listen(): TCP (and any stream fd) on the
// loop's Watcher, awaited from tasks.
//
//   absl::StatusOr<Listener> l = listen("127.0.0.1:0");
//   absl::StatusOr<Socket> c = co_await dial(l->address(), absl::Now() + absl::Seconds(5));
//   absl::StatusOr<SwapBytes> in = co_await socket.read();     // into the swap buffer
//   absl::Status s = co_await socket.write(*in);                // echo it
//
// Ownership. A Socket owns one fd and closes it when destroyed or close()d:
// through Watcher::free() once the Watcher owns it (from its first accepted
// request on), with ::close() before that. Moving a Socket moves the fd; a
// moved-from Socket is empty. A Listener is the same for a listening socket.
//
// Lifetime against the loop. A Socket or Listener may outlive its EventLoop
// (e.g. one declared before the loop, or kept after it): it never touches a
// destroyed loop. The loop's Watcher closed, with the loop, every fd it
// owned; an fd that never went to the Watcher is closed by the Socket itself
// (destructor or close()). Once the loop is gone, loop() is nullptr, requests
// fail with FailedPrecondition and release() of an fd the Watcher had closed
// returns -1. Destroying a Socket while its loop is being destroyed on
// another thread is a data race (a Socket belongs to its loop's thread).
//
// Awaiting. Each call returns an awaiter that submits the request when
// co_awaited and holds the request's state in the awaiting frame (no
// allocation). co_await it at once: it refers to the Socket and to the
// buffer, which must stay valid until the co_await returns. A task that is
// already cancelled gets Cancelled without any request being made; a task
// cancelled while it waits has its request cancelled (Watcher::cancel) and
// gets either Cancelled or the request's real result, whichever the Watcher
// reports, never both (a read that had already completed keeps its bytes).
// One read and one write may be in flight on a Socket at a time (more are
// queued in order by the Watcher, as its contract says).
//
// Results (no exceptions): the Watcher's completion statuses (watcher.h):
// OK; end of file as an OutOfRange status (gaio::IsEof); DeadlineExceeded
// when a deadline given here passes; Cancelled; the errno status of a failed
// syscall (gaio::ErrnoOf). Submission errors (InvalidArgument for an empty
// Socket or an empty read buffer, FailedPrecondition once the loop's Watcher
// is closed) come back the same way. A write (write, writev, with or without
// a deadline) that fails part way says how far it got: BytesWritten(status)
// is the number of bytes that went out before the error (those bytes are
// gone to the peer); an OK write wrote everything.
//
// Addresses are numeric, "IPv4:port" or "[IPv6]:port": "127.0.0.1:8080",
// "[::1]:0"; dial() also takes "name:port" (resolve.h; Happy Eyeballs over
// the addresses, docs/CORO.md "Names"). Malformed ones give InvalidArgument.
//
// Threads: loop thread only.
#ifndef GAIO_CORO_SOCKET_H_
#define GAIO_CORO_SOCKET_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <coroutine>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "coro/bytes.h"
#include "coro/event_loop.h"
#include "coro/internal/io_op.h"
#include "coro/internal/socket_ops.h"
#include "coro/resolver_options.h"
#include "coro/socket_address.h"
#include "coro/task.h"
#include "watcher/watcher.h"

namespace gaio::coro {

// The bytes a write had written when it ended with the non-OK `status` (a
// payload of the status, kept when it is copied); 0 for an OK status, for an
// error that came before any byte went out, and for any status that is not a
// write's result.
size_t BytesWritten(const absl::Status& status);

namespace internal {
class HappyEyeballs;
}  // namespace internal

class Socket {
 public:
  Socket() = default;
  // Takes ownership of `fd` (a connected stream socket, a pipe end, ...), to
  // be used with `loop`'s Watcher.
  Socket(EventLoop& loop, int fd) : anchor_(internal::LoopAnchor::Ref(loop.anchor())), fd_(fd) {}
  Socket(Socket&& o) noexcept
      : anchor_(std::exchange(o.anchor_, nullptr)),
        fd_(std::exchange(o.fd_, -1)),
        registered_(o.registered_) {}
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      close().IgnoreError();
      internal::LoopAnchor::Unref(anchor_);
      anchor_ = std::exchange(o.anchor_, nullptr);
      fd_ = std::exchange(o.fd_, -1);
      registered_ = o.registered_;
    }
    return *this;
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    close().IgnoreError();
    internal::LoopAnchor::Unref(anchor_);
  }

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // The Socket's loop; nullptr for an empty Socket or once the loop is gone.
  EventLoop* loop() const { return anchor_ != nullptr ? anchor_->loop() : nullptr; }

  // ---- awaiters (co_await them at once; internal/socket_ops.h) ----
  // One read into `buf`: bytes read (> 0), or an error (EOF: IsEof).
  template <class D>
  using ReadOp = internal::SocketReadOp<D>;
  // One read into the loop's swap buffer: the bytes, valid until this task's
  // next co_await (SwapBytes), or an error (EOF: IsEof). No buffer is held
  // while the read waits.
  template <class D>
  using SwapReadOp = internal::SocketSwapReadOp<D>;
  // Fills `buf` entirely: OK, or the error (EOF: IsEof) that stopped it.
  using ReadFullOp = internal::SocketReadFullOp;
  // Writes all of `buf` (or of the swap bytes, or of the list of spans): OK,
  // or the error that stopped it.
  template <class D>
  using WriteOp = internal::SocketWriteOp<D>;
  template <class D>
  using SwapWriteOp = internal::SocketSwapWriteOp<D>;
  using WritevOp = internal::SocketWritevOp;

  ReadOp<internal::NoDeadline> read(absl::Span<char> buf) const { return {this, buf, {}}; }
  ReadOp<absl::Time> read(absl::Span<char> buf, absl::Time deadline) const {
    return {this, buf, deadline};
  }
  SwapReadOp<internal::NoDeadline> read() const { return {this, {}}; }
  SwapReadOp<absl::Time> read(absl::Time deadline) const { return {this, deadline}; }
  ReadFullOp read_full(absl::Span<char> buf, absl::Time deadline = absl::InfiniteFuture()) const {
    return {this, buf, deadline};
  }
  // `buf` may be swap bytes just read (an echo): see bytes.h.
  WriteOp<internal::NoDeadline> write(absl::Span<const char> buf) const { return {this, buf, {}}; }
  WriteOp<absl::Time> write(absl::Span<const char> buf, absl::Time deadline) const {
    return {this, buf, deadline};
  }
  SwapWriteOp<internal::NoDeadline> write(const SwapBytes& bytes) const {
    return {this, &bytes, {}};
  }
  SwapWriteOp<absl::Time> write(const SwapBytes& bytes, absl::Time deadline) const {
    return {this, &bytes, deadline};
  }
  // A string literal would include its NUL: pass absl::string_view("...").
  template <size_t N>
  void write(const char (&)[N]) const = delete;
  // The list of spans is copied by the Watcher; the bytes must stay valid.
  WritevOp writev(absl::Span<const absl::Span<const char>> bufs,
                  absl::Time deadline = absl::InfiniteFuture()) const {
    return {this, bufs, deadline};
  }

  // Closes the fd (pending requests complete with Cancelled). OK for an
  // empty Socket.
  absl::Status close();
  // Gives the fd up without closing it (the Watcher deregisters it first);
  // -1 for an empty Socket, and when the Watcher owned the fd and has closed
  // it already (it was closed, or the loop is gone).
  int release();
  absl::Status set_nodelay(bool on) const;
  absl::StatusOr<SocketAddress> local_address() const;
  absl::StatusOr<SocketAddress> peer_address() const;
  // Bytes of queued writes not yet written (Watcher::pending_write_bytes).
  size_t pending_write_bytes() const;

  // Waits until the fd is readable / writable (Watcher::wait_readable,
  // wait_writable) without moving a byte: OK, DeadlineExceeded, Cancelled
  // (the task was cancelled), or the Watcher's error. For code that makes
  // its own syscalls on the fd (a library's protocol engine); the Socket's
  // own reads and writes need no such wait. Readable includes end of file
  // and a pending error: the syscall that follows reports them.
  using ReadinessOp = internal::SocketReadinessOp;
  ReadinessOp readable(absl::Time deadline = absl::InfiniteFuture()) const {
    return {this, false, deadline};
  }
  ReadinessOp writable(absl::Time deadline = absl::InfiniteFuture()) const {
    return {this, true, deadline};
  }

 private:
  friend class DialOp;
  friend class Listener;
  friend class Reader;
  friend class BufferedWriter;
  friend class internal::HappyEyeballs;
  friend class internal::SocketOp;
  Watcher* watcher() const {
    EventLoop* loop = this->loop();
    return loop != nullptr ? &loop->watcher() : nullptr;
  }
  // Notes an accepted request (from then on the Watcher owns fd_).
  absl::Status Submitted(absl::Status s) const {
    if (s.ok()) registered_ = true;
    return s;
  }
  internal::LoopAnchor* anchor_ = nullptr;  // the loop, while it exists
  int fd_ = -1;
  // Set once a request was accepted (write(SwapBytes): once one was built):
  // the Watcher owns fd_.
  mutable bool registered_ = false;
};

inline int internal::SocketOp::fd() const { return s_->fd_; }
inline absl::Status internal::SocketOp::Submitted(absl::Status s) const {
  return s_->Submitted(std::move(s));
}

class Listener {
 public:
  Listener() = default;
  Listener(EventLoop& loop, int fd, SocketAddress address)
      : anchor_(internal::LoopAnchor::Ref(loop.anchor())), fd_(fd), address_(address) {}
  Listener(Listener&& o) noexcept
      : anchor_(std::exchange(o.anchor_, nullptr)),
        fd_(std::exchange(o.fd_, -1)),
        address_(o.address_),
        registered_(o.registered_) {}
  Listener& operator=(Listener&& o) noexcept {
    if (this != &o) {
      close().IgnoreError();
      internal::LoopAnchor::Unref(anchor_);
      anchor_ = std::exchange(o.anchor_, nullptr);
      fd_ = std::exchange(o.fd_, -1);
      address_ = o.address_;
      registered_ = o.registered_;
    }
    return *this;
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener() {
    close().IgnoreError();
    internal::LoopAnchor::Unref(anchor_);
  }

  // One connection: a Socket of the same loop, or the error (the Watcher's
  // accept(): ResourceExhausted at the fd limit, the connection staying in
  // the backlog; Cancelled). Several tasks may accept at once.
  //
  // At the fd limit the listening fd stays readable, so an acceptor that
  // retries at once spins: back off before the next accept (co_await
  // sleep(...) on ResourceExhausted, as examples/coro_echo_server does). The
  // retry tries the syscall at once, so the waiting connection is taken as
  // soon as fds are free again.
  class AcceptOp : public internal::IoAwaiter {
   public:
    explicit AcceptOp(const Listener* l) : l_(l) {}
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return Begin(h, l_->fd_, "accept: task cancelled", [this](void* ctx) {
        if (l_->anchor_ == nullptr) return absl::InvalidArgumentError("empty Listener");
        EventLoop* loop = l_->loop();
        if (loop == nullptr) return absl::FailedPreconditionError("accept: the loop is gone");
        absl::Status s = loop->watcher().accept(ctx, l_->fd_);
        if (s.ok()) l_->registered_ = true;
        return s;
      });
    }
    absl::StatusOr<Socket> await_resume() const {
      const OpResult& r = Completion();
      if (!r.status.ok()) return r.status;
      return Socket(*l_->loop(), r.accepted_fd);
    }

   private:
    const Listener* l_;
  };
  AcceptOp accept() const { return AcceptOp(this); }

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // The Listener's loop; nullptr for an empty Listener or once it is gone.
  EventLoop* loop() const { return anchor_ != nullptr ? anchor_->loop() : nullptr; }
  // The bound address (with the port the kernel picked for port 0).
  const SocketAddress& local_address() const { return address_; }
  std::string address() const { return address_.ToString(); }
  int port() const { return address_.port(); }
  absl::Status close();

 private:
  internal::LoopAnchor* anchor_ = nullptr;  // the loop, while it exists
  int fd_ = -1;
  SocketAddress address_;
  mutable bool registered_ = false;  // an accept was accepted: the Watcher owns fd_
};

// A listening TCP socket bound to `address` (port 0: any free one), with
// SO_REUSEADDR. Synchronous. The errno status of socket/bind/listen on error.
absl::StatusOr<Listener> listen(EventLoop& loop, absl::string_view address, int backlog = 4096);
// The same on the loop running on this thread.
absl::StatusOr<Listener> listen(absl::string_view address, int backlog = 4096);

// Connects a new TCP socket to `address`, on the loop running on this thread:
// the connected Socket, or InvalidArgument (address), the errno status
// (refused, unreachable), DeadlineExceeded (`deadline` passed), Cancelled.
// No fd is left behind on failure. A numeric address allocates nothing. A
// "name:port" is looked up first (resolve(), with `options`; its errors as
// resolve.h lists them) and its addresses are tried with Happy Eyeballs
// (docs/CORO.md): the first to connect wins, the others are closed; if all
// fail, DeadlineExceeded once `deadline` passed, else the first error.
class [[nodiscard]] DialOp : public internal::IoAwaiter {
 public:
  DialOp(absl::string_view address, absl::Time deadline, const ResolverOptions* options = nullptr);
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (named_.valid()) {  // a name: the lookup and the attempts run as a task
      named_.handle().promise().set_fiber(h.promise().fiber());
      return internal::RunInline(named_.handle(), h);
    }
    loop_ = EventLoop::current();
    if (loop_ == nullptr)
      return Fail(absl::FailedPreconditionError("dial: no loop on this thread"));
    absl::Status s = open();
    if (!s.ok()) return Fail(std::move(s));
    const bool suspend =
        Begin(h, fd_, "dial: task cancelled", [this](void* ctx) { return submit(ctx); });
    if (!suspend) failed();  // never submitted: close the socket
    return suspend;
  }
  absl::StatusOr<Socket> await_resume();

 private:
  static bool Fail(absl::Status s);
  absl::Status open();             // the address and the socket
  absl::Status submit(void* ctx);  // the connect
  void failed();
  absl::StatusOr<SocketAddress> address_;
  absl::Time deadline_;
  EventLoop* loop_ = nullptr;
  int fd_ = -1;
  bool submitted_ = false;
  Task<absl::StatusOr<Socket>> named_;  // dial("name:port")
};
inline DialOp dial(absl::string_view address, absl::Time deadline = absl::InfiniteFuture()) {
  return DialOp(address, deadline);
}
inline DialOp dial(absl::string_view address, absl::Time deadline, const ResolverOptions& options) {
  return DialOp(address, deadline, &options);
}

}  // namespace gaio::coro

#endif  // GAIO_CORO_SOCKET_H_
