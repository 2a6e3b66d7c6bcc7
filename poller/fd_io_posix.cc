#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "poller/fd_io.h"
#include "poller/posix_error.h"

namespace gaio::internal {
namespace {

thread_local bool t_sigpipe_blocked = false;

IoResult Result(ssize_t n) { return n >= 0 ? IoResult{n, 0} : IoResult{-1, errno}; }

// After a write failed with EPIPE while SIGPIPE was blocked, the signal is
// pending on this thread: take it so that it is never delivered later.
void ConsumePendingSigpipe() {
  sigset_t pending;
  if (sigpending(&pending) != 0 || !sigismember(&pending, SIGPIPE)) return;
  sigset_t just_pipe;
  sigemptyset(&just_pipe);
  sigaddset(&just_pipe, SIGPIPE);
  timespec zero{0, 0};
  while (sigtimedwait(&just_pipe, nullptr, &zero) < 0 && errno == EINTR) {
  }
}

ssize_t RawWrite(int fd, bool is_socket, const char* buf, size_t len) {
  ssize_t n;
  do {
#ifdef MSG_NOSIGNAL
    n = is_socket ? ::send(fd, buf, len, MSG_NOSIGNAL) : ::write(fd, buf, len);
#else
    (void)is_socket;  // sockets carry SO_NOSIGPIPE (see PrepareFd)
    n = ::write(fd, buf, len);
#endif
  } while (n < 0 && errno == EINTR);
  return n;
}

}  // namespace

bool IoResult::would_block() const { return n < 0 && (err == EAGAIN || err == EWOULDBLOCK); }

absl::StatusOr<FdInfo> ProbeFd(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    if (errno == EBADF) return absl::InvalidArgumentError(absl::StrCat("fd ", fd, " is not open"));
    return PosixError(errno, "fstat");
  }
  if (S_ISFIFO(st.st_mode)) return FdInfo{false, true};
  if (!S_ISSOCK(st.st_mode)) return FdInfo{false, false};
  int type = 0;
  socklen_t len = sizeof(type);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return PosixError(errno, "getsockopt");
  return FdInfo{true, type == SOCK_STREAM};
}

absl::Status PrepareFd(int fd, const FdInfo& info) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return PosixError(errno, "fcntl(F_GETFL)");
  if (!(flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return PosixError(errno, "fcntl(F_SETFL)");
  }
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
  if (info.is_socket) {
    int one = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one)) != 0) {
      return PosixError(errno, "setsockopt(SO_NOSIGPIPE)");
    }
  }
#else
  (void)info;
#endif
  return absl::OkStatus();
}

IoResult ReadSome(int fd, char* buf, size_t len) {
  ssize_t n;
  do {
    n = ::read(fd, buf, len);
  } while (n < 0 && errno == EINTR);
  return Result(n);
}

IoResult WriteSome(int fd, bool is_socket, const char* buf, size_t len) {
#ifdef MSG_NOSIGNAL
  const bool needs_mask = !is_socket && !t_sigpipe_blocked;
#else
  const bool needs_mask = !t_sigpipe_blocked;
#endif
  if (!needs_mask) {
    IoResult r = Result(RawWrite(fd, is_socket, buf, len));
    if (r.n < 0 && r.err == EPIPE) ConsumePendingSigpipe();
    return r;
  }
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  IoResult r = Result(RawWrite(fd, is_socket, buf, len));
  if (r.n < 0 && r.err == EPIPE) ConsumePendingSigpipe();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return r;
}

bool TakenErrorWasDue(int fd, int error, bool write) {
#if defined(__linux__)
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
#else
  // Not reached so far: only libkqueue, which runs on Linux, takes errors.
  (void)fd, (void)error, (void)write;
  return false;
#endif
}

void BlockSigpipeInThisThread() {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  t_sigpipe_blocked = true;
}

void CloseFd(int fd) { ::close(fd); }

}  // namespace gaio::internal
