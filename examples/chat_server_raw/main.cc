// chat_server_raw: a line chat on the raw Watcher, no coroutines (the same
// protocol as //examples:chat_server). Every line (up to '\n') a client
// sends goes to every other connected client, in the order the server read
// them, never back to the sender. A client silent for --idle_s seconds, or
// whose unsent output exceeds --max_pending bytes, is dropped. SIGTERM or
// SIGINT ends the server (exit 0).
//
//   ./bazelw run //examples:chat_server_raw -- --port=9002
//   nc 127.0.0.1 9002          # in two terminals: type in one, read in the other
//
// One thread, one Watcher. Each client has one swap-buffer read pending
// (with the idle deadline: no buffer, no timer object) and at most one write
// in flight: lines for it queue in `out` and go out together when the write
// in flight reports (so a slow reader costs one write request and its queued
// bytes, counted in O(1)). A client's state is deleted only when its last
// outstanding request has reported, also after free() (see Client).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "watcher/signal_set.h"
#include "watcher/watcher.h"

ABSL_FLAG(int, port, 9002, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, takeover_us, -1,
          "WatcherOptions::poller_takeover in microseconds (-1 = the library default, 0 = off)");
ABSL_FLAG(int, idle_s, 300, "drop a client silent for this many seconds");
ABSL_FLAG(int64_t, max_pending, 1 << 20, "drop a client whose unsent output exceeds this");
ABSL_FLAG(int64_t, max_line, 64 << 10, "drop a client whose line grows past this");

namespace {

// One per client. free(fd) does not end the requests already made on fd: the
// ones that had finished still report with their own status, the rest with
// Cancelled. So a Client is deleted only when outstanding reaches 0.
struct Client {
  explicit Client(int fd) : fd(fd) {}
  const int fd;
  int outstanding = 0;   // requests accepted and not yet reported
  bool freed = false;    // dropped: no new requests, fd may be reused
  bool writing = false;  // a write of `inflight` is pending
  size_t index = 0;      // in Server::clients_
  std::string partial;   // the start of an unfinished line
  std::string out;       // lines queued behind the write in flight
  std::string inflight;  // the bytes of the write in flight
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
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

class Server {
 public:
  Server(gaio::Watcher* w, int listener) : w_(w), listener_(listener) {}

  // Every OpResult lands here, whatever its status.
  void Dispatch(const gaio::OpResult& r) {
    if (r.ctx == &listener_tag_) {
      OnListener(r);
    } else if (r.ctx == &signal_tag_) {
      if (r.status.ok()) stopping_ = true;  // SIGINT or SIGTERM
    } else {
      OnClient(static_cast<Client*>(r.ctx), r);
    }
  }
  // After each batch: the lines queued during it go out, one write a client;
  // then the Clients whose last request reported are deleted (not before:
  // dirty_ may name them).
  void Flush() {
    for (Client* c : dirty_) {
      if (!c->freed && !c->writing && !c->out.empty()) StartWrite(c);
    }
    dirty_.clear();
    for (Client* c : dead_) delete c;
    dead_.clear();
  }
  bool stopping() const { return stopping_; }
  void* listener_tag() { return &listener_tag_; }
  void* signal_tag() { return &signal_tag_; }
  size_t clients() const { return clients_.size(); }
  uint64_t lines() const { return lines_; }
  // Shutdown: the Watcher's close() frees every fd; the Clients are deleted
  // as their last requests report.
  void ForgetClients() {
    for (Client* c : clients_) c->freed = true;
    clients_.clear();
  }

 private:
  void OnListener(const gaio::OpResult& r) {
    if (absl::IsCancelled(r.status) || stopping_) return;
    if (r.op == gaio::OpType::kAccept && r.status.ok()) {
      // Lines go out as soon as they are read (Flush already coalesces a
      // batch's): no Nagle delay waiting for the peer's ACK.
      int one = 1;
      setsockopt(r.accepted_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto* c = new Client(r.accepted_fd);
      if (Listen(c)) {
        c->index = clients_.size();
        clients_.push_back(c);
      } else {  // refused: the Watcher does not own the fd
        close(c->fd);
        delete c;
      }
    } else if (r.op == gaio::OpType::kAccept) {  // EMFILE and the like: retry later
      w_->after(&listener_tag_, absl::Milliseconds(50)).IgnoreError();
      return;
    }
    w_->accept(&listener_tag_, listener_).IgnoreError();  // keep the accepts in flight
  }

  bool Listen(Client* c) {
    const absl::Time deadline = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_idle_s));
    if (!w_->read_timeout(c, c->fd, nullptr, deadline).ok()) return false;
    ++c->outstanding;
    return true;
  }

  void OnClient(Client* c, const gaio::OpResult& r) {
    --c->outstanding;
    if (r.op == gaio::OpType::kWrite) {
      c->writing = false;
      std::string().swap(c->inflight);  // an idle client holds no output buffer
      if (r.status.ok() && !c->freed && !c->out.empty()) StartWrite(c);
    } else if (r.status.ok() && !c->freed) {
      OnBytes(c, absl::string_view(r.buffer.data(), r.size));
      if (!c->freed && !Listen(c)) Drop(c);
    }
    if (!r.status.ok()) Drop(c);  // EOF, reset, idle deadline (or Cancelled: dropped)
    if (c->freed && c->outstanding == 0) dead_.push_back(c);
  }

  // Lines complete in `bytes` (with c->partial before them) go to the others.
  void OnBytes(Client* c, absl::string_view bytes) {
    const size_t last = bytes.rfind('\n');
    if (last == absl::string_view::npos) {
      c->partial.append(bytes.data(), bytes.size());
    } else if (c->partial.empty()) {
      Broadcast(c, bytes.substr(0, last + 1));  // straight from the swap buffer
      c->partial.assign(bytes.data() + last + 1, bytes.size() - last - 1);
    } else {
      c->partial.append(bytes.data(), last + 1);
      Broadcast(c, c->partial);
      c->partial.assign(bytes.data() + last + 1, bytes.size() - last - 1);
    }
    if (c->partial.size() > static_cast<size_t>(absl::GetFlag(FLAGS_max_line))) Drop(c);
    if (c->partial.empty()) std::string().swap(c->partial);
  }

  void Broadcast(Client* from, absl::string_view lines) {
    for (size_t nl = lines.find('\n'); nl != absl::string_view::npos;
         nl = lines.find('\n', nl + 1)) {
      ++lines_;
    }
    const size_t max_pending = static_cast<size_t>(absl::GetFlag(FLAGS_max_pending));
    // Drop() reorders clients_: collect the victims first.
    std::vector<Client*> over;
    for (Client* to : clients_) {
      if (to == from) continue;
      to->out.append(lines.data(), lines.size());
      if (to->out.size() + w_->pending_write_bytes(to->fd) > max_pending) {
        over.push_back(to);
      } else if (!to->writing) {
        dirty_.push_back(to);
      }
    }
    for (Client* c : over) Drop(c);
  }

  void StartWrite(Client* c) {
    c->inflight.swap(c->out);
    if (!w_->write(c, c->fd, c->inflight).ok()) {
      Drop(c);
      return;
    }
    ++c->outstanding;
    c->writing = true;
  }

  // Cancels what is pending and closes the fd; the Client lives on until
  // its outstanding requests have reported.
  void Drop(Client* c) {
    if (c->freed) return;
    c->freed = true;
    Client* moved = clients_.back();
    clients_[c->index] = moved;
    moved->index = c->index;
    clients_.pop_back();
    std::string().swap(c->out);
    w_->free(c->fd).IgnoreError();
  }

  gaio::Watcher* w_;
  int listener_;
  char listener_tag_ = 0, signal_tag_ = 0;
  bool stopping_ = false;
  uint64_t lines_ = 0;
  std::vector<Client*> clients_;  // connected, not dropped
  std::vector<Client*> dirty_;    // queued output during this batch
  std::vector<Client*> dead_;     // to delete at the end of this batch
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<std::unique_ptr<gaio::SignalSet>> signals =
      gaio::SignalSet::Create({SIGINT, SIGTERM});
  if (!signals.ok()) {
    std::fprintf(stderr, "chat_server_raw: %s\n", signals.status().ToString().c_str());
    return 1;
  }
  int port = 0;
  const int listener = ListenOn(absl::GetFlag(FLAGS_port), &port);
  if (listener < 0) {
    std::perror("chat_server_raw: listen");
    return 1;
  }
  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  if (absl::GetFlag(FLAGS_takeover_us) >= 0) {
    options.poller_takeover = absl::Microseconds(absl::GetFlag(FLAGS_takeover_us));
  }
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create(options);
  if (!w.ok()) {
    std::fprintf(stderr, "chat_server_raw: %s\n", w.status().ToString().c_str());
    close(listener);
    return 1;
  }
  Server server(&*w, listener);
  // The signal pipe: each byte read is one SIGINT or SIGTERM.
  const int signal_fd = (*signals)->TakeReadFd();
  char signal_bytes[16];
  if (!w->read(server.signal_tag(), signal_fd, absl::MakeSpan(signal_bytes)).ok()) {
    close(signal_fd);
    close(listener);
    return 1;
  }
  constexpr int kAccepts = 8;
  for (int i = 0; i < kAccepts; ++i) {
    if (!w->accept(server.listener_tag(), listener).ok()) {
      std::fprintf(stderr, "chat_server_raw: accept refused\n");
      return 1;  // the Watcher closes what it owns
    }
  }
  std::printf("chat_server_raw on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  while (!server.stopping()) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) server.Dispatch(r);
    server.Flush();
  }
  // close() cancels everything and closes every fd it owns (the listener,
  // the signal pipe, the clients); wait_io() then hands back every
  // outstanding request and FailedPrecondition after the last.
  const size_t clients = server.clients();
  server.ForgetClients();
  const gaio::WatcherStats stats = w->stats();
  w->close().IgnoreError();
  for (;;) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) server.Dispatch(r);
    server.Flush();
  }
  std::printf(
      "chat_server_raw: %llu lines relayed, %zu clients at exit; poller takeovers %llu, "
      "hand-backs %llu\n",
      static_cast<unsigned long long>(server.lines()), clients,
      static_cast<unsigned long long>(stats.takeovers),
      static_cast<unsigned long long>(stats.handbacks));
  return 0;
}
