// UDP sockets for a gaio::Watcher (or any other loop): open one bound to a
// local address with the usual options in one call, and read back the
// address it got.
//
// The fd returned belongs to the caller: close it, or hand it to a Watcher
// (its first request makes the Watcher the owner). Every function is
// thread-safe and returns a status instead of throwing; a failed syscall
// gives the status of its errno (ErrnoOf in watcher/op_result.h returns it)
// with a message naming the call, and leaves no fd open.
#ifndef GAIO_NET_UDP_H_
#define GAIO_NET_UDP_H_

#include "absl/status/statusor.h"
#include "net/address.h"

namespace gaio::net {

struct UdpOptions {
  // SO_REUSEADDR: bind an address another socket has bound.
  bool reuse_address = false;
  // SO_REUSEPORT: several sockets on one address and port. Unicast datagrams
  // are spread over them; multicast ones go to each.
  bool reuse_port = false;
  // O_NONBLOCK. A Watcher sets it itself when it registers the fd; a plain
  // blocking recvfrom loop wants it off (the default).
  bool non_blocking = false;
  // SO_RCVBUF / SO_SNDBUF in bytes (the kernel doubles the value and caps it
  // at net.core.rmem_max / wmem_max); 0 keeps the system default. A
  // receiver of bursts drops what its buffer cannot hold: raise it.
  int receive_buffer_bytes = 0;
  int send_buffer_bytes = 0;
  // Set the sizes above with SO_RCVBUFFORCE / SO_SNDBUFFORCE (Linux), past
  // rmem_max / wmem_max: needs CAP_NET_ADMIN (else PermissionDenied, EPERM;
  // Unimplemented where the system has no such option).
  bool force_buffer_sizes = false;
};

// A close-on-exec UDP socket of local's family, with `options` set, bound to
// `local` (port 0: the kernel picks one; read it with LocalAddress).
// InvalidArgument for an empty address or negative buffer sizes; else the
// errno status of socket, setsockopt or bind (e.g. EADDRINUSE).
absl::StatusOr<int> OpenUdpSocket(const SocketAddress& local, const UdpOptions& options = {});

// The address fd is bound to (getsockname). InvalidArgument for fd < 0 or a
// socket that is not IPv4/IPv6; the errno status otherwise (EBADF, ENOTSOCK).
absl::StatusOr<SocketAddress> LocalAddress(int fd);

}  // namespace gaio::net

#endif  // GAIO_NET_UDP_H_
