// push_server: every --interval_ms, pushes a line to every connected client
// (gaio's push-server example). Each connection also has a pending
// swap-buffer read, which costs no buffer and tells when the client leaves.
//
//   ./bazelw run //examples:push_server -- --port=9001
//   nc 127.0.0.1 9001
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "watcher/watcher.h"

ABSL_FLAG(int, port, 9001, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(int, interval_ms, 1000, "push interval");
ABSL_FLAG(int, seconds, 0, "stop after this many seconds (0 = run until a signal)");

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Conn {
  int fd;
  // The message being pushed; held until its write completes. A client still
  // busy with the previous push skips this one.
  std::shared_ptr<const std::string> inflight;
};

int ListenOn(int port, int* bound_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 1024) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const absl::Duration interval = absl::Milliseconds(absl::GetFlag(FLAGS_interval_ms));
  const int seconds = absl::GetFlag(FLAGS_seconds);
  const absl::Time until =
      seconds > 0 ? absl::Now() + absl::Seconds(seconds) : absl::InfiniteFuture();
  int port = 0;
  int listener = ListenOn(absl::GetFlag(FLAGS_port), &port);
  if (listener < 0) {
    std::perror("push_server: listen");
    return 1;
  }
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create();
  if (!w.ok()) return 1;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::printf("push_server on 127.0.0.1:%d, a line every %s\n", port,
              absl::FormatDuration(interval).c_str());
  std::fflush(stdout);

  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  auto drop = [&](Conn* c) {
    w->free(c->fd).IgnoreError();  // cancels the pending read, closes the fd
    conns.erase(c->fd);
  };
  uint64_t tick = 0, pushed = 0;
  absl::Time next_tick = absl::Now() + interval;
  while (!g_stop && absl::Now() < until) {
    // New clients (the listener is non-blocking; the watcher only does I/O).
    for (int fd; (fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
      auto conn = std::make_unique<Conn>(Conn{fd, nullptr});
      if (w->read(conn.get(), fd, nullptr).ok()) {
        conns[fd] = std::move(conn);
      } else {
        close(fd);
      }
    }
    if (absl::Now() >= next_tick) {
      auto msg = std::make_shared<const std::string>(absl::StrCat("tick ", ++tick, "\n"));
      for (auto& [fd, c] : conns) {
        if (c->inflight) continue;
        c->inflight = msg;
        if (!w->write(c.get(), fd, *msg).ok()) c->inflight.reset();
      }
      next_tick += interval;
    }
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch =
        w->wait_io(std::min(next_tick - absl::Now(), absl::Milliseconds(50)));
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) {
      auto* c = static_cast<Conn*>(r.ctx);
      if (absl::IsCancelled(r.status)) continue;  // dropped already
      if (r.op == gaio::OpType::kWrite && r.status.ok()) {
        c->inflight.reset();
        ++pushed;
        continue;
      }
      if (r.op == gaio::OpType::kRead && r.status.ok()) {
        // Clients have nothing to say; ignore it and keep listening.
        if (!w->read(c, c->fd, nullptr).ok()) drop(c);
        continue;
      }
      drop(c);  // EOF or error: the client left
    }
  }
  std::printf("push_server: %llu ticks, %llu lines pushed, %zu clients at exit\n",
              static_cast<unsigned long long>(tick), static_cast<unsigned long long>(pushed),
              conns.size());
  close(listener);
  return 0;
}
