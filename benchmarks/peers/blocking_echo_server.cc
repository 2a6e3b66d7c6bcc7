// A blocking thread-per-connection echo server: the simplest thing a C++
// user could write instead of an event loop. Each connection gets a thread
// with a 64 KiB stack buffer.
//
//   blocking_echo_server --port=9000
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "benchmarks/peers/listen.h"

namespace {

void Serve(int fd) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = send(fd, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        close(fd);
        return;
      }
      off += w;
    }
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  int lfd = gaio_bench::ListenLoopback(gaio_bench::PortFlag(argc, argv, 9000), false);
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::thread(Serve, fd).detach();
  }
}
