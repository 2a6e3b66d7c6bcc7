#include "examples/echo_service.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gaio_examples {

absl::StatusOr<std::unique_ptr<EchoService>> EchoService::Start(
    int port, const gaio::WatcherOptions& options) {
  absl::StatusOr<gaio::Watcher> watcher = gaio::Watcher::Create(options);
  if (!watcher.ok()) return watcher.status();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    absl::Status status = absl::ErrnoToStatus(errno, "bind/listen");
    close(fd);
    return status;
  }
  std::unique_ptr<EchoService> service(
      new EchoService(*std::move(watcher), fd, ntohs(addr.sin_port)));
  // From here on the watcher owns the listener (its close() closes it).
  for (int i = 0; i < kAccepts; ++i) {
    if (absl::Status s = service->watcher_.accept(&service->listener_tag_, fd); !s.ok()) {
      if (i == 0) close(fd);  // never registered
      return s;
    }
  }
  return service;
}

EchoService::~EchoService() { Shutdown(); }  // nothing left to do when Run() returned

void EchoService::Drop(Conn* conn) {
  watcher_.free(conn->fd).IgnoreError();  // closes the fd (after close(): closed already)
  delete conn;
}

void EchoService::HandleListener(const gaio::OpResult& r) {
  if (absl::IsCancelled(r.status)) return;  // close(): the listener is gone
  if (r.op == gaio::OpType::kAccept && r.status.ok()) {
    const int fd = r.accepted_fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto* conn = new Conn{fd};
    // nullptr: the bytes land in the watcher's swap buffer, so an idle
    // connection holds no read buffer. The first request makes the watcher
    // the owner of fd.
    if (watcher_.read(conn, fd, nullptr).ok()) {
      connections_.fetch_add(1);
    } else {
      close(fd);
      delete conn;
    }
  }
  if (r.op == gaio::OpType::kAccept && !r.status.ok()) {
    // EMFILE and the like: the connection stays queued and the listener
    // stays readable, so accepting again at once would fail again at once.
    // Try again a little later.
    watcher_.after(&listener_tag_, absl::Milliseconds(50)).IgnoreError();
    return;
  }
  // An accept done, or the re-arm timer: keep kAccepts accepts in flight.
  // (Refused only after close(), when nothing is to be accepted anyway.)
  watcher_.accept(&listener_tag_, listen_fd_).IgnoreError();
}

// A connection has exactly one request outstanding at any time: its read, or
// the write of what that read returned. So the OpResult in hand is its only
// one and, when the connection ends, nothing else of it can still arrive.
// (With more than one outstanding request, count them and delete at zero:
// see examples/push_server.)
void EchoService::Handle(const gaio::OpResult& r) {
  if (r.ctx == &stop_tag_) {
    // Stop(), `until`, a signal, or a failed read of the signal pipe: stop.
    // Cancelled comes only from close(), when stopping anyway.
    if (!absl::IsCancelled(r.status)) stop_.store(true);
    return;
  }
  if (r.ctx == &listener_tag_) {
    HandleListener(r);
    return;
  }
  auto* conn = static_cast<Conn*>(r.ctx);
  if (!r.status.ok()) {  // EOF, reset, ..., or Cancelled by close()
    Drop(conn);
    return;
  }
  if (r.op == gaio::OpType::kRead) {
    // Write the swap bytes straight back: the watcher writes what the socket
    // takes at once and copies only what it could not, so no connection
    // needs a buffer of its own.
    if (!watcher_.write(conn, conn->fd, r.buffer.first(r.size)).ok()) Drop(conn);
  } else {
    bytes_echoed_.fetch_add(r.size);
    if (!watcher_.read(conn, conn->fd, nullptr).ok()) Drop(conn);
  }
}

absl::Status EchoService::StopOnSignals(std::unique_ptr<gaio::SignalSet> signals) {
  const int fd = signals->TakeReadFd();
  if (absl::Status s = watcher_.read(&stop_tag_, fd, absl::MakeSpan(signal_bytes_)); !s.ok()) {
    close(fd);  // refused: the watcher does not own it
    return s;
  }
  signals_ = std::move(signals);
  return absl::OkStatus();
}

absl::Status EchoService::Run(absl::Time until) {
  absl::Status status;
  if (until != absl::InfiniteFuture()) status = watcher_.after(&stop_tag_, until - absl::Now());
  while (status.ok() && !stop_.load()) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = watcher_.wait_io();
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    for (const gaio::OpResult& r : *batch) Handle(r);
  }
  Shutdown();
  return status;
}

void EchoService::Shutdown() {
  Stop();
  watcher_.close().IgnoreError();  // also closes the listener
  // close() ended every outstanding request; wait_io() now hands each one back
  // (those that had finished with their own status, the rest Cancelled), then
  // FailedPrecondition. Handle() drops their connections: a new request after
  // close() is refused.
  for (;;) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = watcher_.wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) Handle(r);
  }
}

}  // namespace gaio_examples
