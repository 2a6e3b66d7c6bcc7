// Non-blocking fd syscalls the watcher performs, with the platform details
// (EINTR retries, SIGPIPE suppression) kept in one place.
//
// None of these functions throw or raise SIGPIPE; each reports errno in an
// IoResult or a Status built by PosixError().
#ifndef GAIO_POLLER_FD_IO_H_
#define GAIO_POLLER_FD_IO_H_

#include <sys/types.h>

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace gaio::internal {

// Outcome of one read or write syscall: `n` >= 0 bytes on success, otherwise
// n == -1 and `err` holds errno (never EINTR: interrupted calls are retried).
struct IoResult {
  ssize_t n;
  int err;
  // RecvSome only: the read stopped at a message that carried ancillary
  // data (SCM_RIGHTS, credentials), which it dropped, so it may be short
  // with bytes still queued behind that message.
  bool stopped_at_control = false;
  bool would_block() const;  // err is EAGAIN/EWOULDBLOCK
};

// What the watcher needs to know about an fd it registers.
struct FdInfo {
  bool is_socket;
  // A byte stream (SOCK_STREAM socket, pipe or FIFO): a read or write that
  // moves fewer bytes than asked means the fd is drained (or full) right now,
  // so the next readiness edge, not another syscall, tells when to go on.
  bool is_stream;
  // An AF_UNIX stream socket: read it with RecvSome.
  bool is_unix_stream;
};

// Checks that `fd` is open and reports its kind. InvalidArgument when it is not
// an open fd. Changes nothing.
absl::StatusOr<FdInfo> ProbeFd(int fd);

// Sets O_NONBLOCK (and, where MSG_NOSIGNAL does not exist, SO_NOSIGPIPE for
// sockets). `*was_nonblocking` tells whether O_NONBLOCK was set before.
// Returns the errno-mapped status on failure.
absl::Status PrepareFd(int fd, const FdInfo& info, bool* was_nonblocking);

// Clears O_NONBLOCK again unless `was_nonblocking` (best effort).
void RestoreBlocking(int fd, bool was_nonblocking);

// One accept4(2) on a listening socket: the new fd (non-blocking,
// close-on-exec) in `n`, or the errno. ECONNABORTED (a connection reset
// while queued) and EINTR are retried.
IoResult AcceptOne(int listen_fd);

// Starts a connect(2) on a non-blocking socket: 0 when connected at once,
// EINPROGRESS when under way, else the errno (EINTR is reported as
// EINPROGRESS: the connection goes on in the background).
int StartConnect(int fd, const void* addr, unsigned addr_len);

// The socket's pending error (SO_ERROR), read and so cleared; the errno of
// getsockopt(2) itself if that fails.
int TakeSocketError(int fd);

// True when socket `fd` has a peer (getpeername(2) succeeds): a connect that
// reported writability without an error really finished.
bool IsConnected(int fd);

// One writev(2) (sendmsg(2) with MSG_NOSIGNAL for sockets) of the bytes of
// `bufs` after the first `skip`, at most 64 buffers per call, with
// WriteSome's SIGPIPE guarantees.
IoResult WriteVec(int fd, bool is_socket, absl::Span<const absl::Span<const char>> bufs,
                  size_t skip);

// One read(2) of at most `len` bytes.
IoResult ReadSome(int fd, char* buf, size_t len);

// One recvmsg(2) of at most `len` bytes with no room for ancillary data, for
// AF_UNIX stream sockets: as ReadSome, plus stopped_at_control. (Such a read
// stops after a message carrying file descriptors or, with SO_PASSCRED, at a
// change of sender; the descriptors are closed, as read(2) does.)
IoResult RecvSome(int fd, char* buf, size_t len);

// One write of at most `len` bytes that never raises SIGPIPE: send(2) with
// MSG_NOSIGNAL for sockets; for pipes and other fds, write(2) with SIGPIPE
// blocked in the calling thread and a SIGPIPE caused by it consumed.
IoResult WriteSome(int fd, bool is_socket, const char* buf, size_t len);

// Blocks SIGPIPE for the rest of the calling thread's life, so that WriteSome
// on non-socket fds from this thread needs no per-call signal-mask syscalls.
// Poller threads call it at start.
void BlockSigpipeInThisThread();

// close(2), ignoring EINTR (the fd is released either way on Linux and BSD).
void CloseFd(int fd);

}  // namespace gaio::internal

#endif  // GAIO_POLLER_FD_IO_H_
