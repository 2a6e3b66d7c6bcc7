// Non-blocking fd syscalls the watcher performs, with the platform details
// (EINTR retries, SIGPIPE suppression) kept in one place.
//
// None of these functions throw or raise SIGPIPE; each reports errno in an
// IoResult or a Status built by PosixError().
#ifndef GAIO_POLLER_FD_IO_H_
#define GAIO_POLLER_FD_IO_H_

#include <sys/socket.h>
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
  // A socket of messages (SOCK_DGRAM: UDP, AF_UNIX datagrams; or
  // SOCK_SEQPACKET): one read or write moves one whole message.
  bool is_datagram = false;
  bool is_seqpacket = false;
  // A UDP socket (AF_INET or AF_INET6, SOCK_DGRAM): no datagram is larger
  // than kMaxUdpDatagram.
  bool is_udp = false;
};

// The largest datagram a UDP socket can receive (the 16-bit length field).
inline constexpr size_t kMaxUdpDatagram = 65535;

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

// ---- Messages (FdInfo::is_datagram)

// One datagram in: a caller buffer of `cap` bytes and, when `peer` is not
// null, room for the sender's address. After a receive: `n` bytes copied
// (the whole datagram unless it was larger than `cap`), `dropped` bytes of
// it lost to truncation, `peer_len` the address's length.
struct DatagramSlot {
  char* buf = nullptr;
  size_t cap = 0;
  sockaddr_storage* peer = nullptr;
  size_t n = 0;
  size_t dropped = 0;
  socklen_t peer_len = 0;
};

// One recvmsg(2) into `slot`: IoResult::n = bytes copied (the slot says what
// was dropped), or the errno. A zero-length datagram is n = 0.
IoResult ReceiveDatagram(int fd, DatagramSlot* slot);

// One recvmmsg(2) filling up to `count` slots in order: how many got a
// datagram (>= 1), or -1 with *err = errno (EAGAIN: none was waiting).
int ReceiveDatagrams(int fd, DatagramSlot* slots, int count, int* err);

// The length of the next datagram waiting on `fd` (MSG_PEEK | MSG_TRUNC,
// nothing copied), or the errno in IoResult::err. A pending socket error
// (e.g. ECONNREFUSED from an ICMP port unreachable) is reported here and
// thereby cleared: the caller must report it, as no receive will see it.
IoResult PeekDatagramSize(int fd);

// One datagram out: `len` bytes (zero is a valid, empty datagram), to `to`
// (null: the connected peer).
struct DatagramOut {
  const char* buf = nullptr;
  size_t len = 0;
  const sockaddr* to = nullptr;
  socklen_t to_len = 0;
};

// One sendmsg(2) (MSG_NOSIGNAL) of `out`: n = bytes sent, or the errno.
IoResult SendDatagram(int fd, const DatagramOut& out);

// The most pieces one sendmsg(2) takes (IOV_MAX): a gather write on a message
// socket with more cannot go out as one datagram.
size_t MaxDatagramPieces();

// One sendmsg(2) (MSG_NOSIGNAL) of the pieces of `bufs` as one datagram, to
// `to` (null: the connected peer): n = bytes sent, or the errno. At most
// MaxDatagramPieces() pieces (EMSGSIZE beyond, as the kernel would say).
IoResult SendDatagramV(int fd, absl::Span<const absl::Span<const char>> bufs,
                       const sockaddr* to = nullptr, socklen_t to_len = 0);

// One sendmmsg(2) of up to `count` datagrams in order: how many were sent
// (>= 1), or -1 with *err = errno of the first.
int SendDatagrams(int fd, const DatagramOut* out, int count, int* err);

// Whether `fd` is readable (or, with `write`, writable) right now: poll(2)
// with no wait; an error or hang-up counts as ready (the caller's syscall
// will report it). A failed poll(2) counts as ready too, for the same reason.
bool PollReady(int fd, bool write);

// True when the peer of socket `fd` has shut down its writing side
// (poll(2) with POLLRDHUP, no wait): a zero-byte read on a SOCK_SEQPACKET
// socket is then its end, not an empty message.
bool PeerShutDown(int fd);

// Blocks SIGPIPE for the rest of the calling thread's life, so that WriteSome
// on non-socket fds from this thread needs no per-call signal-mask syscalls.
// Poller threads call it at start.
void BlockSigpipeInThisThread();

// close(2), ignoring EINTR (the fd is released either way on Linux and BSD).
void CloseFd(int fd);

}  // namespace gaio::internal

#endif  // GAIO_POLLER_FD_IO_H_
