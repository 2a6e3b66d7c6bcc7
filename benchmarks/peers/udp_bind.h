// BindUdpLoopback: the socket every UDP peer echo server starts from.
#ifndef GAIO_BENCHMARKS_PEERS_UDP_BIND_H_
#define GAIO_BENCHMARKS_PEERS_UDP_BIND_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "benchmarks/peers/listen.h"  // IntFlag, PortFlag

namespace gaio_bench {

// A UDP socket bound to 127.0.0.1:port (0 = any free port) with SO_RCVBUF
// of rcvbuf_kib KiB (0 = the system default); prints
// "listening on 127.0.0.1:PORT" and returns the fd; exits on failure.
inline int BindUdpLoopback(int port, int rcvbuf_kib, bool nonblocking) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  const int rcvbuf = rcvbuf_kib * 1024;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(addr);
  if (fd < 0 || (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf))) ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("udp bind");
    std::exit(1);
  }
  std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  return fd;
}

}  // namespace gaio_bench

#endif  // GAIO_BENCHMARKS_PEERS_UDP_BIND_H_
