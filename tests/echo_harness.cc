#include "tests/echo_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gaio::testing {

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Start(const WatcherOptions& options,
                                                              ReadMode mode) {
  absl::StatusOr<Watcher> w = Watcher::Create(options);
  if (!w.ok()) return w.status();
  std::unique_ptr<EchoServer> server(new EchoServer(*std::move(w), mode));
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

EchoServer::~EchoServer() { Stop(); }

absl::Status EchoServer::Add(int fd) {
  auto conn = std::make_unique<Conn>();
  conn->fd = fd;
  conn->swap = mode_ == ReadMode::kSwap || (mode_ == ReadMode::kMixed && fd % 2 == 0);
  if (!conn->swap) conn->in.resize(mode_ == ReadMode::kOneByte ? 1 : 16 * 1024);
  Conn* c = conn.get();
  {
    std::lock_guard<std::mutex> lock(conns_mu_);
    conns_.push_back(std::move(conn));
  }
  return Read(c);
}

absl::Status EchoServer::Read(Conn* c) {
  if (c->swap) return watcher_.read(c, c->fd, nullptr);
  return watcher_.read(c, c->fd, absl::MakeSpan(c->in));
}

void EchoServer::Loop() {
  while (!stop_.load()) {
    absl::StatusOr<absl::Span<const OpResult>> batch = watcher_.wait_io(absl::Milliseconds(20));
    if (!batch.ok()) return;
    for (const OpResult& r : *batch) {
      Conn* c = static_cast<Conn*>(r.ctx);
      absl::Status next;
      if (!r.status.ok()) {
        if (IsEof(r.status)) {
          ++eofs_;
        } else if (!absl::IsCancelled(r.status)) {
          ++errors_;
        }
        if (!absl::IsCancelled(r.status)) watcher_.free(c->fd).IgnoreError();
        continue;
      }
      if (r.op == OpType::kRead) {
        c->out.assign(r.buffer.data(), r.size);
        next = watcher_.write(c, c->fd, c->out);
      } else {
        bytes_echoed_ += r.size;
        next = Read(c);
      }
      if (!next.ok()) ++errors_;
    }
  }
}

uint64_t EchoServer::WaitEchoed(uint64_t bytes, absl::Duration patience) const {
  const absl::Time give_up = absl::Now() + patience;
  while (bytes_echoed_.load() < bytes && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return bytes_echoed_.load();
}

void EchoServer::Stop() {
  if (stop_.exchange(true)) return;
  thread_.join();
  watcher_.close().IgnoreError();
}

absl::StatusOr<Listener> Listen(int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, backlog) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    absl::Status s = absl::ErrnoToStatus(errno, "bind/listen");
    close(fd);
    return s;
  }
  return Listener{fd, ntohs(addr.sin_port)};
}

absl::StatusOr<int> Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status s = absl::ErrnoToStatus(errno, "connect");
    close(fd);
    return s;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace gaio::testing
