// The near-limit baseline: a minimal hand-written single-thread epoll echo
// loop. No library, no queues: level-triggered epoll, one read per readiness
// into a shared 64 KiB buffer, written straight back; only a partial write
// keeps bytes (per connection) and waits for EPOLLOUT.
//
//   epoll_echo_server --port=9000
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "benchmarks/peers/listen.h"

namespace {

struct Conn {
  std::string pending;  // bytes a partial write left behind
};

std::vector<Conn*> g_conns;  // by fd

void Drop(int ep, int fd) {
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  delete g_conns[fd];
  g_conns[fd] = nullptr;
}

void Interest(int ep, int fd, bool want_write) {
  epoll_event ev{};
  ev.events = want_write ? EPOLLOUT : EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

// Writes what it can; keeps the rest and switches to EPOLLOUT.
bool Send(int ep, int fd, Conn* c, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      len -= static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      c->pending.assign(data, len);
      Interest(ep, fd, true);
      return true;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int lfd = gaio_bench::ListenLoopback(gaio_bench::PortFlag(argc, argv, 9000), true);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  static char buf[64 * 1024];
  epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == lfd) {
        for (int c; (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          if (static_cast<size_t>(c) >= g_conns.size()) g_conns.resize(c + 1024, nullptr);
          g_conns[c] = new Conn;
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      Conn* c = g_conns[fd];
      if (c == nullptr) continue;
      if (!c->pending.empty()) {  // EPOLLOUT: finish the partial write
        std::string rest;
        rest.swap(c->pending);
        Interest(ep, fd, false);
        if (!Send(ep, fd, c, rest.data(), rest.size())) Drop(ep, fd);
        continue;
      }
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r > 0) {
        if (!Send(ep, fd, c, buf, static_cast<size_t>(r))) Drop(ep, fd);
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        Drop(ep, fd);
      }
    }
  }
}
