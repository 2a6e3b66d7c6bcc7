#include "net/udp.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "poller/posix_error.h"

namespace gaio::net {
namespace {

absl::Status SetInt(int fd, int level, int name, int value, const char* op) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    return internal::PosixError(errno, op);
  }
  return absl::OkStatus();
}

absl::Status Configure(int fd, const SocketAddress& local, const UdpOptions& o) {
  absl::Status s;
  if (o.reuse_address) s = SetInt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)");
  if (s.ok() && o.reuse_port)
    s = SetInt(fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)");
  int rcvbuf = SO_RCVBUF, sndbuf = SO_SNDBUF;
  const char *rcvbuf_name = "setsockopt(SO_RCVBUF)", *sndbuf_name = "setsockopt(SO_SNDBUF)";
  if (o.force_buffer_sizes) {
#if defined(SO_RCVBUFFORCE) && defined(SO_SNDBUFFORCE)
    rcvbuf = SO_RCVBUFFORCE;
    sndbuf = SO_SNDBUFFORCE;
    rcvbuf_name = "setsockopt(SO_RCVBUFFORCE)";
    sndbuf_name = "setsockopt(SO_SNDBUFFORCE)";
#else
    return absl::UnimplementedError("SO_RCVBUFFORCE: not on this system");
#endif
  }
  if (s.ok() && o.receive_buffer_bytes > 0) {
    s = SetInt(fd, SOL_SOCKET, rcvbuf, o.receive_buffer_bytes, rcvbuf_name);
  }
  if (s.ok() && o.send_buffer_bytes > 0) {
    s = SetInt(fd, SOL_SOCKET, sndbuf, o.send_buffer_bytes, sndbuf_name);
  }
  if (s.ok() && o.non_blocking && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    s = internal::PosixError(errno, "fcntl(O_NONBLOCK)");
  }
  if (s.ok() && bind(fd, local.get(), local.size()) != 0) {
    const std::string op = absl::StrCat("bind ", local.ToString());
    s = internal::PosixError(errno, op.c_str());
  }
  return s;
}

}  // namespace

absl::StatusOr<int> OpenUdpSocket(const SocketAddress& local, const UdpOptions& options) {
  if (local.family() != AF_INET && local.family() != AF_INET6) {
    return absl::InvalidArgumentError("OpenUdpSocket: no local address");
  }
  if (options.receive_buffer_bytes < 0 || options.send_buffer_bytes < 0) {
    return absl::InvalidArgumentError("OpenUdpSocket: negative buffer size");
  }
  const int fd = socket(local.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return internal::PosixError(errno, "socket(SOCK_DGRAM)");
  if (absl::Status s = Configure(fd, local, options); !s.ok()) {
    close(fd);
    return s;
  }
  return fd;
}

absl::StatusOr<SocketAddress> LocalAddress(int fd) {
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("LocalAddress: bad fd ", fd));
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return internal::PosixError(errno, "getsockname");
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
}

}  // namespace gaio::net
