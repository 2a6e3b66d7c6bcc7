// The plain baseline for UDP: a minimal hand-written single-thread epoll
// loop, the one a C++ user would write first. Level-triggered EPOLLIN on one
// socket; on readiness, recvfrom into a 64 KiB buffer and sendto the sender
// until recvfrom says EAGAIN. One syscall per datagram each way, no
// recvmmsg/sendmmsg. A send the socket refuses (EAGAIN) drops the echo, as
// UDP may.
//
//   udp_epoll_echo_server --port=9000 [--rcvbuf_kib=N]
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "benchmarks/peers/udp_bind.h"

int main(int argc, char** argv) {
  const int fd = gaio_bench::BindUdpLoopback(gaio_bench::PortFlag(argc, argv, 9000),
                                             gaio_bench::IntFlag(argc, argv, "--rcvbuf_kib=", 0),
                                             /*nonblocking=*/true);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  static char buf[64 * 1024];
  for (;;) {
    epoll_event events[1];
    if (epoll_wait(ep, events, 1, -1) <= 0) continue;
    for (;;) {
      sockaddr_storage from;
      socklen_t len = sizeof(from);
      const ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) break;  // EAGAIN (or an error): back to epoll_wait
      sendto(fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
}
