// ListenLoopback: the listening socket every peer echo server starts from.
#ifndef GAIO_BENCHMARKS_PEERS_LISTEN_H_
#define GAIO_BENCHMARKS_PEERS_LISTEN_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace gaio_bench {

// Listens on 127.0.0.1:port (0 = any free port), prints
// "listening on 127.0.0.1:PORT" and returns the fd; exits on failure.
inline int ListenLoopback(int port, bool nonblocking) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 4096) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("listen");
    std::exit(1);
  }
  std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  return fd;
}

// The N of the first argument that is `prefix` N (e.g. "--port=" and
// "--port=9000"), or `fallback`.
inline int IntFlag(int argc, char** argv, const char* prefix, int fallback) {
  char format[64];
  std::snprintf(format, sizeof(format), "%s%%d", prefix);
  for (int i = 1; i < argc; ++i) {
    if (std::sscanf(argv[i], format, &fallback) == 1) break;
  }
  return fallback;
}

// --port=N from argv, or `fallback`.
inline int PortFlag(int argc, char** argv, int fallback) {
  return IntFlag(argc, argv, "--port=", fallback);
}

}  // namespace gaio_bench

#endif  // GAIO_BENCHMARKS_PEERS_LISTEN_H_
