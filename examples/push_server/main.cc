// push_server: every --interval_ms, pushes a line to every connected client
// (gaio's push-server example). One thread, one Watcher: it accepts with
// accept() requests, ticks with an after() timer, and each connection has a
// pending swap-buffer read, which costs no buffer and tells when the client
// leaves. A connection has up to two requests outstanding (the read and a
// push), so its state is deleted only after both have reported, also after
// free(): see Conn.
//
//   ./bazelw run //examples:push_server -- --port=9001
//   nc 127.0.0.1 9001
#include <arpa/inet.h>
#include <netinet/in.h>
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
#include "absl/time/time.h"
#include "watcher/signal_set.h"
#include "watcher/watcher.h"

ABSL_FLAG(int, port, 9001, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(int, interval_ms, 1000, "push interval");
ABSL_FLAG(int, seconds, 0, "stop after this many seconds (0 = run until a signal)");

namespace {

// One per client. free(fd) does not end the requests already made on fd: the
// ones that had finished still report with their own status (in this batch or
// the next), the rest with Cancelled. So a Conn is deleted only when its last
// outstanding request has reported, not when the client leaves.
struct Conn {
  explicit Conn(int fd) : fd(fd) {}
  const int fd;
  int outstanding = 0;  // requests accepted and not yet reported
  bool freed = false;   // free(fd) called: no new requests, fd may be reused
  // The message being pushed; held until its write reports. A client still
  // busy with the previous push skips this one.
  std::shared_ptr<const std::string> inflight;
};

int ListenOn(int port, int* bound_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
  int port = 0;
  int listener = ListenOn(absl::GetFlag(FLAGS_port), &port);
  if (listener < 0) {
    std::perror("push_server: listen");
    return 1;
  }
  // SIGINT and SIGTERM become bytes on a pipe, which the Watcher reads.
  absl::StatusOr<std::unique_ptr<gaio::SignalSet>> signals =
      gaio::SignalSet::Create({SIGINT, SIGTERM});
  if (!signals.ok()) {
    std::fprintf(stderr, "push_server: %s\n", signals.status().ToString().c_str());
    close(listener);
    return 1;
  }
  char signal_bytes[16];  // the signal pipe's read: outlives the Watcher
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create();
  if (!w.ok()) {
    close(listener);
    return 1;
  }
  std::printf("push_server on 127.0.0.1:%d, a line every %s\n", port,
              absl::FormatDuration(interval).c_str());
  std::fflush(stdout);

  std::unordered_map<int, Conn*> conns;  // open clients by fd
  // Each accepted request is counted; its OpResult (exactly one) uncounts it.
  auto listen_to = [&](Conn* c) {
    if (!w->read(c, c->fd, nullptr).ok()) return false;
    ++c->outstanding;
    return true;
  };
  auto push = [&](Conn* c, std::shared_ptr<const std::string> msg) {
    if (!w->write(c, c->fd, *msg).ok()) return;
    ++c->outstanding;
    c->inflight = std::move(msg);
  };
  // Cancels what is pending and closes the fd. The Conn lives on until its
  // outstanding requests have reported.
  auto drop = [&](Conn* c) {
    if (c->freed) return;
    c->freed = true;
    conns.erase(c->fd);
    w->free(c->fd).IgnoreError();
  };
  // Every OpResult lands here, whatever its status and whether or not its
  // Conn was dropped already.
  auto on_completion = [&](const gaio::OpResult& r, uint64_t* pushed) {
    auto* c = static_cast<Conn*>(r.ctx);
    --c->outstanding;
    if (r.op == gaio::OpType::kWrite) {
      c->inflight.reset();
      if (r.status.ok()) ++*pushed;
    }
    // NOLINTNEXTLINE(bugprone-branch-clone): two reasons to drop, kept apart
    if (!r.status.ok()) {
      drop(c);  // EOF, reset, broken pipe (or Cancelled: dropped already)
    } else if (r.op == gaio::OpType::kRead && !c->freed && !listen_to(c)) {
      drop(c);  // clients have nothing to say: ignore it and keep listening
    }
    if (c->freed && c->outstanding == 0) delete c;
  };

  // The listener's requests (accepts, and the timers that re-arm one after
  // a failure such as EMFILE, so that it cannot spin), the tick timer, and
  // the stop (the signal pipe's read, the --seconds timer) carry these as ctx.
  char listener_tag = 0, tick_tag = 0, stop_tag = 0;
  const int signal_fd = (*signals)->TakeReadFd();
  if (!w->read(&stop_tag, signal_fd, absl::MakeSpan(signal_bytes)).ok()) {
    close(signal_fd);  // refused: the Watcher does not own it
    close(listener);
    return 1;
  }
  if (seconds > 0 && !w->after(&stop_tag, absl::Seconds(seconds)).ok()) {
    close(listener);  // the Watcher owns (and closes) only the signal pipe
    return 1;
  }
  constexpr int kAccepts = 8;
  for (int i = 0; i < kAccepts; ++i) {
    if (!w->accept(&listener_tag, listener).ok()) {
      std::fprintf(stderr, "push_server: accept refused\n");
      if (i == 0) close(listener);  // never registered: still ours
      return 1;
    }
  }
  if (!w->after(&tick_tag, interval).ok()) return 1;
  uint64_t tick = 0, pushed = 0;
  auto on_listener = [&](const gaio::OpResult& r) {
    if (absl::IsCancelled(r.status)) return;  // close()
    if (r.op == gaio::OpType::kAccept && r.status.ok()) {
      auto* c = new Conn(r.accepted_fd);
      if (listen_to(c)) {
        conns[c->fd] = c;
      } else {  // refused: the watcher does not own fd
        close(c->fd);
        delete c;
      }
    } else if (r.op == gaio::OpType::kAccept) {
      w->after(&listener_tag, absl::Milliseconds(50)).IgnoreError();  // retry later
      return;
    }
    w->accept(&listener_tag, listener).IgnoreError();  // keep kAccepts in flight
  };
  auto on_tick = [&](const gaio::OpResult& r) {
    if (!r.status.ok()) return;  // Cancelled by close()
    auto msg = std::make_shared<const std::string>(absl::StrCat("tick ", ++tick, "\n"));
    for (auto& [fd, c] : conns) {
      if (!c->inflight) push(c, msg);
    }
    w->after(&tick_tag, interval).IgnoreError();
  };
  bool stopping = false;
  auto dispatch = [&](const gaio::OpResult& r) {
    if (r.ctx == &stop_tag) {
      // A signal, --seconds, or a failed read of the signal pipe: stop.
      // Cancelled comes only from close(), once stopping.
      if (!absl::IsCancelled(r.status)) stopping = true;
    } else if (r.ctx == &listener_tag) {
      on_listener(r);
    } else if (r.ctx == &tick_tag) {
      on_tick(r);
    } else {
      on_completion(r, &pushed);
    }
  };
  while (!stopping) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) dispatch(r);
  }
  // Shutdown: close() cancels everything and closes every fd (the listener
  // and the signal pipe too); wait_io() then hands back every outstanding
  // request (finished ones with their status, the rest Cancelled) and
  // FailedPrecondition after the last, so every Conn gets deleted.
  const size_t clients = conns.size();
  for (auto& [fd, c] : conns) c->freed = true;  // close() frees them all
  conns.clear();
  w->close().IgnoreError();
  for (;;) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) dispatch(r);
  }
  std::printf("push_server: %llu ticks, %llu lines pushed, %zu clients at exit\n",
              static_cast<unsigned long long>(tick), static_cast<unsigned long long>(pushed),
              clients);
  return 0;
}
