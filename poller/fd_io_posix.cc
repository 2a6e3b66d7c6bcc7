#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>
#include <memory>
#include <new>

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
  if (S_ISFIFO(st.st_mode)) return FdInfo{false, true, false, false, false};
  if (!S_ISSOCK(st.st_mode)) return FdInfo{false, false, false, false, false};
  int type = 0;
  socklen_t len = sizeof(type);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return PosixError(errno, "getsockopt");
  sockaddr_storage addr{};
  socklen_t addr_len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) addr.ss_family = 0;
  const bool unix_socket = addr.ss_family == AF_UNIX;
  const bool stream = type == SOCK_STREAM;
  const bool seqpacket = type == SOCK_SEQPACKET;
  const bool udp = type == SOCK_DGRAM && (addr.ss_family == AF_INET || addr.ss_family == AF_INET6);
  return FdInfo{true,      stream, stream && unix_socket, type == SOCK_DGRAM || seqpacket,
                seqpacket, udp};
}

absl::Status PrepareFd(int fd, const FdInfo& info, bool* was_nonblocking) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return PosixError(errno, "fcntl(F_GETFL)");
  *was_nonblocking = (flags & O_NONBLOCK) != 0;
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

IoResult RecvSome(int fd, char* buf, size_t len) {
  iovec iov{buf, len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n;
  do {
    n = ::recvmsg(fd, &msg, 0);
  } while (n < 0 && errno == EINTR);
  IoResult r = Result(n);
  r.stopped_at_control = n > 0 && (msg.msg_flags & MSG_CTRUNC) != 0;
  return r;
}

namespace {

// Runs `call` (a write of some kind) so that it never raises SIGPIPE: for
// sockets MSG_NOSIGNAL is enough; otherwise SIGPIPE is blocked around it
// (unless the thread blocks it for good) and a SIGPIPE it caused consumed.
template <typename Call>
IoResult WithoutSigpipe(bool is_socket, Call call) {
#ifdef MSG_NOSIGNAL
  const bool needs_mask = !is_socket && !t_sigpipe_blocked;
#else
  (void)is_socket;
  const bool needs_mask = !t_sigpipe_blocked;
#endif
  if (!needs_mask) {
    IoResult r = Result(call());
    if (r.n < 0 && r.err == EPIPE) ConsumePendingSigpipe();
    return r;
  }
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  IoResult r = Result(call());
  if (r.n < 0 && r.err == EPIPE) ConsumePendingSigpipe();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return r;
}

}  // namespace

IoResult WriteSome(int fd, bool is_socket, const char* buf, size_t len) {
  return WithoutSigpipe(is_socket, [&] { return RawWrite(fd, is_socket, buf, len); });
}

IoResult WriteVec(int fd, bool is_socket, absl::Span<const absl::Span<const char>> bufs,
                  size_t skip) {
  constexpr int kMaxIov = 64;
  iovec iov[kMaxIov];
  int count = 0;
  for (absl::Span<const char> b : bufs) {
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    iov[count].iov_base = const_cast<char*>(b.data() + skip);
    iov[count].iov_len = b.size() - skip;
    skip = 0;
    if (++count == kMaxIov) break;
  }
  return WithoutSigpipe(is_socket, [&] {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n;
    do {
#ifdef MSG_NOSIGNAL
      n = is_socket ? ::sendmsg(fd, &msg, MSG_NOSIGNAL) : ::writev(fd, iov, count);
#else
      n = ::writev(fd, iov, count);  // sockets carry SO_NOSIGPIPE
#endif
    } while (n < 0 && errno == EINTR);
    return n;
  });
}

void RestoreBlocking(int fd, bool was_nonblocking) {
  if (was_nonblocking) return;
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

IoResult AcceptOne(int listen_fd) {
  for (;;) {
#if defined(__linux__) || defined(__FreeBSD__)
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd >= 0 && (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
                    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)) {
      const int err = errno;
      ::close(fd);
      return IoResult{-1, err};
    }
#endif
    if (fd >= 0) return IoResult{fd, 0};
    if (errno == EINTR || errno == ECONNABORTED) continue;
    return IoResult{-1, errno};
  }
}

int StartConnect(int fd, const void* addr, unsigned addr_len) {
  if (::connect(fd, static_cast<const sockaddr*>(addr), static_cast<socklen_t>(addr_len)) == 0) {
    return 0;
  }
  return errno == EINTR ? EINPROGRESS : errno;
}

int TakeSocketError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

bool IsConnected(int fd) {
  sockaddr_storage peer;
  socklen_t len = sizeof(peer);
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0;
}

namespace {

void Prepare(DatagramSlot* slot, iovec* iov, msghdr* msg) {
  iov->iov_base = slot->buf;
  iov->iov_len = slot->cap;
  *msg = msghdr{};
  msg->msg_iov = iov;
  msg->msg_iovlen = 1;
  if (slot->peer != nullptr) {
    msg->msg_name = slot->peer;
    msg->msg_namelen = sizeof(*slot->peer);
  }
}

// A received message's length as recvmsg(MSG_TRUNC) reports it (the whole
// datagram), split into what the slot holds and what was lost.
void Finish(DatagramSlot* slot, size_t full, const msghdr& msg) {
  slot->n = full < slot->cap ? full : slot->cap;
  slot->dropped = full - slot->n;
  slot->peer_len = slot->peer != nullptr ? msg.msg_namelen : 0;
}

}  // namespace

IoResult ReceiveDatagram(int fd, DatagramSlot* slot) {
  iovec iov;
  msghdr msg;
  Prepare(slot, &iov, &msg);
  ssize_t n;
  do {
    n = ::recvmsg(fd, &msg, MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return IoResult{-1, errno};
  Finish(slot, static_cast<size_t>(n), msg);
  return IoResult{static_cast<ssize_t>(slot->n), 0};
}

int ReceiveDatagrams(int fd, DatagramSlot* slots, int count, int* err) {
  constexpr int kMax = 64;
  if (count > kMax) count = kMax;
  iovec iov[kMax];
  mmsghdr msgs[kMax];
  for (int i = 0; i < count; ++i) {
    Prepare(&slots[i], &iov[i], &msgs[i].msg_hdr);
    msgs[i].msg_len = 0;
  }
  int n;
  do {
    n = ::recvmmsg(fd, msgs, static_cast<unsigned>(count), MSG_TRUNC, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    *err = errno;
    return -1;
  }
  for (int i = 0; i < n; ++i) Finish(&slots[i], msgs[i].msg_len, msgs[i].msg_hdr);
  return n;
}

IoResult PeekDatagramSize(int fd) {
  ssize_t n;
  do {
    n = ::recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return Result(n);
}

IoResult SendDatagram(int fd, const DatagramOut& out) {
  iovec iov{const_cast<char*>(out.buf), out.len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_name = const_cast<sockaddr*>(out.to);
  msg.msg_namelen = out.to_len;
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return Result(n);
}

size_t MaxDatagramPieces() { return IOV_MAX; }

IoResult SendDatagramV(int fd, absl::Span<const absl::Span<const char>> bufs, const sockaddr* to,
                       socklen_t to_len) {
  if (bufs.size() > MaxDatagramPieces()) return IoResult{-1, EMSGSIZE};
  constexpr size_t kOnStack = 64;
  iovec on_stack[kOnStack];
  std::unique_ptr<iovec[]> on_heap;
  iovec* iov = on_stack;
  if (bufs.size() > kOnStack) {
    on_heap.reset(new (std::nothrow) iovec[bufs.size()]);
    if (!on_heap) return IoResult{-1, ENOMEM};
    iov = on_heap.get();
  }
  for (size_t i = 0; i < bufs.size(); ++i) {
    iov[i] = iovec{const_cast<char*>(bufs[i].data()), bufs[i].size()};
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = bufs.size();
  msg.msg_name = const_cast<sockaddr*>(to);
  msg.msg_namelen = to_len;
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return Result(n);
}

int SendDatagrams(int fd, const DatagramOut* out, int count, int* err) {
  constexpr int kMax = 64;
  if (count > kMax) count = kMax;
  iovec iov[kMax];
  mmsghdr msgs[kMax];
  for (int i = 0; i < count; ++i) {
    iov[i] = iovec{const_cast<char*>(out[i].buf), out[i].len};
    msgs[i].msg_hdr = msghdr{};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(out[i].to);
    msgs[i].msg_hdr.msg_namelen = out[i].to_len;
    msgs[i].msg_len = 0;
  }
  int n;
  do {
    n = ::sendmmsg(fd, msgs, static_cast<unsigned>(count), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    *err = errno;
    return -1;
  }
  return n;
}

bool PollReady(int fd, bool write) {
  pollfd p{fd, static_cast<short>(write ? POLLOUT : POLLIN), 0};
  int n;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n != 0;
}

bool PeerShutDown(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  int n;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & (POLLRDHUP | POLLHUP)) != 0;
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
