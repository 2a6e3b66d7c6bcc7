// gaio::Watcher: asynchronous reads and writes on file descriptors the
// application already has (accepted or connected sockets, pipes,
// socketpairs), completed in batches through wait_io().
//
//   absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create();
//   w->read(ctx, fd, nullptr);                 // read into the swap buffer
//   for (;;) {
//     auto batch = w->wait_io();              // blocks for >= 1 completion
//     if (!batch.ok()) break;                 // FailedPrecondition once closed
//     for (const gaio::OpResult& r : *batch) { ... }
//   }
//
// Threads. read*/write*/free/close may be called from any thread, also while
// another thread is inside wait_io(). wait_io()/poll_io() are called by one
// thread at a time; a concurrent second call returns FailedPrecondition and
// changes nothing. A Watcher is a move-only handle; a moved-from handle
// answers every call with FailedPrecondition.
//
// Destruction. The destructor (and a move-assignment onto a Watcher, which
// destroys what it held) closes: fds are closed and completions not yet
// delivered are dropped. A dropped completion that owns a resource releases
// it: the connection of an accept that was never delivered (its
// accepted_fd) is closed. To collect every completion, call close() and then
// wait_io() until it returns FailedPrecondition before destroying. A thread
// inside wait_io() while the Watcher is destroyed returns FailedPrecondition
// and the destructor waits for it to leave; calls that start after the
// destructor has begun are undefined behaviour, as for any object.
//
// Ownership of fds. The first request on an fd registers it: O_NONBLOCK is
// set and the fd joins a poller. From then on the Watcher owns it until
// free(fd) or close(), both of which close it. Closing a watched fd behind the
// Watcher's back is a contract violation (its requests may never complete).
//
// Ownership of buffers. A caller's buffer must stay valid and untouched until
// its request's OpResult is returned, so owning temporaries (std::string("..."),
// std::move(vec), a braced list of chars) do not compile as buffers; views
// (absl::Span, string_view) may be temporaries. Swap-buffer reads (nullptr or
// an empty span) need no buffer: the bytes land in memory the Watcher owns and
// stay valid and unchanged until the next wait_io() call. OpResult arrays
// returned by wait_io() are valid until the next wait_io() call.
//
// Completions. Every request a read*/write* call accepted (returned OK)
// yields exactly one OpResult: completed, failed, timed out or cancelled.
// Per fd, reads complete in submission order and so do writes; the one
// exception is a request whose deadline passes, which completes at that
// moment with DeadlineExceeded. A request is tried at once, in the submitting
// call, when no earlier request of its kind is queued on that fd.
//
// After free(fd) or close(), completions still come. Requests on fd that had
// finished before the call report with their own status (OK, EOF, an error)
// in the batch being handled or a later one, followed by the ones the call
// cancelled (Cancelled). So a per-connection context passed as ctx must live
// until ALL its requests have reported, not until free(): count the
// outstanding requests and delete at zero (examples/push_server/main.cc).
// Call free(fd) once per connection: the fd number may already belong to a
// new connection.
//
// Errors. No call throws. Submission returns InvalidArgument for a bad fd, an
// empty write or an empty read_full buffer; FailedPrecondition after close()
// or after a poller failed; ResourceExhausted when memory for the request or
// the swap buffer cannot be had; the errno status (ErrnoOf) when
// registration fails (PermissionDenied for a regular file or a directory).
// Completion statuses: see OpResult. A poller that fails (its wait syscall
// returns an error other than EINTR) fails the whole Watcher: every pending
// request completes with that error, wait_io() then returns it, and further
// submissions are refused. SIGPIPE is never raised by the Watcher's writes.
//
// Time. Timeouts and deadlines are measured on the monotonic clock: a
// deadline means "this long from the call", and a step of the wall clock
// afterwards changes nothing. Values too large for the clock mean "never".
#ifndef GAIO_WATCHER_WATCHER_H_
#define GAIO_WATCHER_WATCHER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "watcher/buffer_traits.h"
#include "watcher/op_result.h"  // IWYU pragma: export
#include "watcher/options.h"    // IWYU pragma: export
#include "watcher/stats.h"      // IWYU pragma: export

namespace gaio {


class Watcher {
 public:
  // Builds a Watcher and starts options.num_pollers poller threads. On error
  // (InvalidArgument for bad options, or the errno-mapped status when epoll or
  // a thread cannot be created) returns that status and starts nothing.
  static absl::StatusOr<Watcher> Create(const WatcherOptions& options = {});

  Watcher(Watcher&& other) noexcept;
  Watcher& operator=(Watcher&& other) noexcept;  // destroys what *this held
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;
  ~Watcher();  // close(), then releases everything (see Destruction)

  // Reads once: completes after the first read that returns bytes (a partial
  // fill), at EOF, or on error. An empty span reads into the swap buffer.
  absl::Status read(void* ctx, int fd, absl::Span<char> buf);
  absl::Status read(void* ctx, int fd, std::nullptr_t);  // swap buffer

  // As read(), but completes with DeadlineExceeded at `deadline` if still
  // pending. absl::InfiniteFuture() means no deadline; a deadline in the past
  // fires at once.
  absl::Status read_timeout(void* ctx, int fd, absl::Span<char> buf, absl::Time deadline);
  absl::Status read_timeout(void* ctx, int fd, std::nullptr_t, absl::Time deadline);

  // Fills `buf` entirely. Completes when full (OK), or at EOF (IsEof), an
  // error or the deadline, with OpResult::size = bytes filled so far.
  // InvalidArgument for an empty buffer.
  absl::Status read_full(void* ctx, int fd, absl::Span<char> buf,
                         absl::Time deadline = absl::InfiniteFuture());

  // Writes all of `buf`, looping over partial writes, or fails; size = bytes
  // written. InvalidArgument for an empty buffer (except on a message socket,
  // below).
  // `buf` may be swap-buffer bytes (part of a swap read's OpResult::buffer)
  // passed straight on, to echo or forward them: the write is tried in the
  // call, and what the fd does not take then is copied by the Watcher, so
  // those bytes need not outlive the next wait_io(). Such a write's
  // OpResult::buffer is the span given if it finished in the call, empty if
  // the Watcher kept a copy.
  absl::Status write(void* ctx, int fd, absl::Span<const char> buf);
  absl::Status write_timeout(void* ctx, int fd, absl::Span<const char> buf, absl::Time deadline);

  // A char array would convert to a span that includes a string literal's
  // terminating NUL. Pass absl::string_view("...") or absl::MakeConstSpan(arr)
  // to say which bytes are meant. This also refuses a braced list ({'a', 'b'}),
  // whose chars would die before the write.
  template <size_t N>
  absl::Status write(void* ctx, int fd, const char (&array)[N]) = delete;
  template <size_t N>
  absl::Status write_timeout(void* ctx, int fd, const char (&array)[N], absl::Time) = delete;

  // Owning temporaries (std::string("..."), std::move(vec), {'a', 'b'}) die before their request.
  absl::Status read(void* ctx, int fd, internal::OwningTemporary auto&& buf) = delete;
  absl::Status read_timeout(void* ctx, int fd, internal::OwningTemporary auto&& buf,
                            absl::Time deadline) = delete;
  absl::Status read_full(void* ctx, int fd, internal::OwningTemporary auto&& buf,
                         absl::Time deadline = absl::InfiniteFuture()) = delete;
  absl::Status write(void* ctx, int fd, internal::OwningTemporary auto&& buf) = delete;
  absl::Status write_timeout(void* ctx, int fd, internal::OwningTemporary auto&& buf,
                             absl::Time deadline) = delete;

  // Writes all the bytes of `bufs`, in order, as one request (sendmsg/writev
  // with an iovec, looping over partial writes like write()); size = bytes
  // written, buffer empty. The list itself is copied (a temporary
  // {header, payload} is fine); the bytes must stay valid until the
  // completion. InvalidArgument when there is no byte to write.
  absl::Status writev(void* ctx, int fd, absl::Span<const absl::Span<const char>> bufs);
  absl::Status writev_timeout(void* ctx, int fd, absl::Span<const absl::Span<const char>> bufs,
                              absl::Time deadline);

  // Bytes of fd's queued write requests not yet written (back-pressure);
  // 0 when the Watcher does not own fd.
  size_t pending_write_bytes(int fd) const;

  // ---- Message sockets (UDP, AF_UNIX SOCK_DGRAM / SOCK_SEQPACKET), told
  // apart at registration. There a read (read, read_timeout, recv_from)
  // completes with one whole datagram; an empty one is OK with size 0 (on a
  // SOCK_SEQPACKET socket whose peer shut down, a zero-byte read is EOF). A
  // datagram larger than the caller's buffer, or than a whole swap half,
  // completes with DataLoss, size = bytes delivered, the bytes lost in the
  // message; a swap-buffer read is otherwise always given room for the whole
  // datagram. A write (write, send_to) sends one datagram, and may be empty.
  // read_full and accept on such an fd are InvalidArgument. Receives queued
  // on one fd with their own buffers are served by one recvmmsg, queued
  // sends by one sendmmsg, in order (WatcherStats counts the syscalls).

  // As read(), on a message socket, with the sender's address in
  // OpResult::peer / peer_len (memory the Watcher owns, valid until the next
  // wait_io()). InvalidArgument on a byte stream.
  absl::Status recv_from(void* ctx, int fd, absl::Span<char> buf);
  absl::Status recv_from(void* ctx, int fd, std::nullptr_t);  // swap buffer

  // As write(), on a message socket, to `addr` (copied: a temporary is
  // fine); the socket need not be connected. InvalidArgument on a byte
  // stream or for a null or oversized address.
  absl::Status send_to(void* ctx, int fd, absl::Span<const char> buf, const sockaddr* addr,
                       socklen_t addrlen);
  absl::Status recv_from(void* ctx, int fd, internal::OwningTemporary auto&& buf) = delete;
  absl::Status send_to(void* ctx, int fd, internal::OwningTemporary auto&& buf, const sockaddr*,
                       socklen_t) = delete;

  // Accepts one connection on listening socket `listen_fd` (owned from now
  // on, like any fd of a request). Completes (kAccept) with
  // OpResult::accepted_fd: non-blocking, close-on-exec and NOT owned by the
  // Watcher until a request names it, so it may go to another Watcher. Queue
  // several to accept several; they complete in order. ECONNABORTED and
  // EINTR are retried inside. Out of fds or memory (EMFILE, ENFILE,
  // ENOBUFS, ENOMEM) the first queued accept completes with
  // ResourceExhausted and the others stay queued: the connection stays in
  // the backlog and nothing spins. They are tried again, in order, when a
  // new connection arrives or another accept() is submitted on listen_fd
  // (or the head one is cancelled or times out), and only then; so after a
  // ResourceExhausted accept, back off (free fds), then submit one again.
  absl::Status accept(void* ctx, int listen_fd);

  // Connects socket `fd` (blocking or not, created by the caller; owned from
  // now on) to `addr` without blocking. Returns OK when the request was
  // accepted; its completion (kConnect) says OK once connected, the errno
  // status when refused or unreachable (also when that is known at once), or
  // DeadlineExceeded. Reads and writes submitted after it wait for it and
  // run once it succeeds; if it fails they complete with its status
  // (Cancelled if it was cancelled), and so do requests submitted later,
  // until a new connect() on fd. After a deadline or a cancel the kernel's
  // attempt may go on: a new connect() on that fd then completes with
  // EALREADY (still trying) or EISCONN (it connected); use a new socket.
  // FailedPrecondition when fd has requests pending; InvalidArgument for a
  // bad fd or a null address.
  absl::Status connect(void* ctx, int fd, const sockaddr* addr, socklen_t addrlen,
                       absl::Time deadline = absl::InfiniteFuture());

  // Readiness requests, for code that makes its own syscalls on a watched fd
  // (c-ares, libpq, OpenSSL on its own fd): completes (kReadable /
  // kWritable, no bytes moved) with OK once fd is readable (data, end of
  // file, an error, or a connection to accept) / writable, else
  // DeadlineExceeded, Cancelled (cancel, free, release, close) or the
  // poller's failure. The fd is registered and owned as by any request;
  // the caller does the I/O and, when it gets EAGAIN, submits again: the
  // submission looks at the fd's state (one poll(2) when the Watcher
  // cannot know it: the caller's own syscalls may have drained it), so a
  // readiness that came before the call is not lost and a drained fd waits
  // for the next edge. Each kind queues with its direction: a wait_readable
  // completes in order with the fd's reads (and accepts), a wait_writable
  // with its writes, behind a connect under way. Readiness is level at the
  // moment it is checked: every such request queued while the fd is ready
  // completes. InvalidArgument for a bad fd.
  absl::Status wait_readable(void* ctx, int fd, absl::Time deadline = absl::InfiniteFuture());
  absl::Status wait_writable(void* ctx, int fd, absl::Time deadline = absl::InfiniteFuture());

  // A timer: completes (kTimer, fd -1) with OK once `delay` has passed.
  // Zero or negative fires at once; absl::InfiniteDuration() never fires
  // unless cancelled. Timers complete in due order across the Watcher (equal
  // ones in submission order). Repeat by calling after() again.
  absl::Status after(void* ctx, absl::Duration delay);

  // From any thread: a completion of its own (kPost, fd -1, OK), delivered
  // exactly once, in the order each thread posted; wakes wait_io().
  absl::Status post(void* ctx);

  // Completes every still-pending request on `fd` submitted with `ctx`
  // (fd -1: every pending timer with ctx) with Cancelled, exactly once:
  // reads first, then writes, each kind in submission order; the others
  // keep their order. A cancelled connect takes the requests queued behind
  // it along. A request that already completed is untouched (its result is
  // delivered as it is). NotFound when nothing matched; FailedPrecondition
  // after close(). A cancelled write may have sent part of its bytes
  // (OpResult::size says how many).
  absl::Status cancel(int fd, void* ctx);

  // As free(fd), but the fd stays open: its pending requests complete with
  // Cancelled (reads then writes, each in order), it is deregistered, and its
  // O_NONBLOCK flag is set back to what it was before the Watcher touched it.
  // It may then be used directly, or submitted again later (registered anew).
  // NotFound when the Watcher does not own fd; FailedPrecondition after
  // close().
  absl::Status release(int fd);

  // Blocks until at least one request has completed and returns the batch of
  // all completions available. The span, its OpResults and any swap-buffer
  // bytes they point to stay valid until the next wait_io()/poll_io() call.
  // After close(): returns the completions still undelivered (those finished
  // before close, then the ones close cancelled), then FailedPrecondition.
  // FailedPrecondition too when another thread is inside wait_io().
  absl::StatusOr<absl::Span<const OpResult>> wait_io();

  // As wait_io(), but returns an empty batch once `timeout` has passed with no
  // completion. absl::ZeroDuration() (or a negative timeout) polls without
  // blocking; absl::InfiniteDuration() (or one too large for the clock)
  // blocks like wait_io().
  absl::StatusOr<absl::Span<const OpResult>> wait_io(absl::Duration timeout);

  // wait_io(absl::ZeroDuration()): never blocks.
  absl::StatusOr<absl::Span<const OpResult>> poll_io();

  // Cancels the pending requests on `fd` (each completes with Cancelled, reads
  // then writes, each kind in submission order), deregisters and closes fd.
  // Requests on fd that had already finished still report with their own
  // status, ahead of the Cancelled ones: keep their ctx alive (see above).
  // NotFound, touching nothing, when the Watcher does not own fd;
  // FailedPrecondition after close().
  absl::Status free(int fd);

  // Cancels every pending request (Cancelled), closes every owned fd and stops
  // the poller threads. Idempotent: later calls return OK and do nothing.
  // wait_io() then returns every request not yet reported (finished ones with
  // their own status, then the Cancelled ones) and FailedPrecondition after
  // the last: drain it to free per-request contexts.
  absl::Status close();

  // Counters (WatcherStats, stats.h); zeros for a moved-from Watcher.
  WatcherStats stats() const;

  class Impl;

 private:
  explicit Watcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gaio

#endif  // GAIO_WATCHER_WATCHER_H_
