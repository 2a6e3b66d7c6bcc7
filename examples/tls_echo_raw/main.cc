// tls_echo_raw: the TLS echo server of examples/coro_tls_echo_server without
// coroutines: a gaio::tls::Session per connection driven from wait_io()
// completions. Ciphertext arrives in swap-buffer reads and is fed to the
// session at once; the session's outgoing ciphertext is taken as a string
// that the connection keeps until its write completes. An idle connection
// holds its Session and nothing else.
//
//   ./bazelw run //examples:tls_echo_raw -- --port=0 --cert=CERT.pem --key=KEY.pem
//
// Prints "tls_echo_raw listening on 127.0.0.1:N"; SIGINT/SIGTERM: every
// connection is cancelled and freed, exit 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "tls/context.h"
#include "tls/session.h"
#include "watcher/signal_set.h"
#include "watcher/watcher.h"

ABSL_FLAG(int, port, 9443, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(std::string, cert, "", "certificate chain, PEM (required)");
ABSL_FLAG(std::string, key, "", "private key, PEM (required)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, handshake_seconds, 10, "a handshake not done by then closes the connection");

namespace {

struct Conn {
  Conn(int f, gaio::tls::Session s) : fd(f), session(std::move(s)) {}
  int fd;
  gaio::tls::Session session;
  int pending = 0;              // requests submitted and not yet completed
  bool ending = false;          // no new read: free once `pending` is 0
  std::deque<std::string> out;  // ciphertext of the writes in flight, in order
};

class Server {
 public:
  Server(gaio::Watcher& w, gaio::tls::Context context, int listen_fd, absl::Duration handshake)
      : w_(w), context_(std::move(context)), listen_fd_(listen_fd), handshake_(handshake) {}

  // Keeps 16 accepts in flight from here on.
  absl::Status Start() {
    for (int i = 0; i < 16; ++i) {
      absl::Status s = w_.accept(&listen_fd_, listen_fd_);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  void Handle(const gaio::OpResult& r) {
    if (r.ctx == &listen_fd_) return Accepted(r);
    auto* c = static_cast<Conn*>(r.ctx);
    --c->pending;
    if (r.op == gaio::OpType::kWrite) {
      c->out.pop_front();
      if (!r.status.ok()) c->ending = true;  // reset, Cancelled, ...
    } else if (!r.status.ok() && !gaio::IsEof(r.status)) {
      c->ending = true;  // the handshake deadline, a reset, Cancelled
    } else {
      Received(c, r);
    }
    Done(c);
  }

 private:
  void Accepted(const gaio::OpResult& r) {
    if (absl::IsCancelled(r.status)) return;  // close(): the listener is gone
    if (r.op == gaio::OpType::kTimer) {       // the back-off below is over
      w_.accept(&listen_fd_, listen_fd_).IgnoreError();
      return;
    }
    if (r.status.ok()) {
      int one = 1;
      setsockopt(r.accepted_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      absl::StatusOr<gaio::tls::Session> s = gaio::tls::Session::Create(context_);
      if (!s.ok()) {
        close(r.accepted_fd);
      } else {
        auto* c = new Conn(r.accepted_fd, *std::move(s));
        Read(c);
        Done(c);
      }
      w_.accept(&listen_fd_, listen_fd_).IgnoreError();
    } else {  // EMFILE and the like: try again a little later
      w_.after(&listen_fd_, absl::Milliseconds(50)).IgnoreError();
    }
  }

  void Read(Conn* c) {
    absl::Status s = c->session.handshake_done()
                         ? w_.read(c, c->fd, nullptr)  // swap buffer: nothing held
                         : w_.read_timeout(c, c->fd, nullptr, absl::Now() + handshake_);
    if (s.ok()) {
      ++c->pending;
    } else {
      c->ending = true;
    }
  }

  // A read completed: OK with bytes, or EOF.
  void Received(Conn* c, const gaio::OpResult& r) {
    gaio::tls::Session& s = c->session;
    absl::Status fed = gaio::IsEof(r.status) ? s.feed_eof() : s.feed(r.buffer.first(r.size));
    // Echo what was decrypted (also the plaintext before a failure).
    for (absl::string_view p = s.plaintext(); !p.empty(); p = s.plaintext()) {
      if (!s.write(p).ok()) break;  // after a failure: nothing more goes out
      s.consume_plaintext(p.size());
    }
    if (fed.ok() && s.peer_closed()) s.shutdown().IgnoreError();  // our close_notify back
    Flush(c);  // handshake replies, records, an alert, close_notify
    if (!fed.ok() || s.peer_closed() || gaio::IsEof(r.status)) {
      c->ending = true;
    } else {
      Read(c);
    }
  }

  void Flush(Conn* c) {
    if (c->session.ciphertext().empty()) return;
    c->out.push_back(c->session.take_ciphertext());  // kept until its write completes
    if (w_.write(c, c->fd, c->out.back()).ok()) {
      ++c->pending;
    } else {
      c->out.pop_back();
      c->ending = true;
    }
  }

  // Frees a connection that is ending and has nothing in flight.
  void Done(Conn* c) {
    if (!c->ending || c->pending > 0) return;
    if (absl::IsNotFound(w_.free(c->fd))) close(c->fd);  // never registered
    delete c;
  }

  gaio::Watcher& w_;
  gaio::tls::Context context_;
  int listen_fd_;
  absl::Duration handshake_;
};

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "tls_echo_raw: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

int Listen(int port, int* bound) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  *bound = ntohs(a.sin_port);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<gaio::tls::CertifiedKey> key =
      gaio::tls::CertifiedKey::FromFiles(absl::GetFlag(FLAGS_cert), absl::GetFlag(FLAGS_key));
  if (!key.ok()) return Fail("--cert/--key", key.status());
  gaio::tls::ContextOptions tls_options;
  tls_options.certificate = *std::move(key);
  absl::StatusOr<gaio::tls::Context> context = gaio::tls::Context::Server(tls_options);
  if (!context.ok()) return Fail("certificate", context.status());
  char stop_tag = 0, signal_bytes[16];  // the signal pipe's read: outlives the Watcher
  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  absl::StatusOr<gaio::Watcher> w = gaio::Watcher::Create(options);
  if (!w.ok()) return Fail("watcher", w.status());
  int port = 0;
  const int listen_fd = Listen(absl::GetFlag(FLAGS_port), &port);
  if (listen_fd < 0) return Fail("listen", absl::ErrnoToStatus(errno, "bind/listen"));
  Server server(*w, *std::move(context), listen_fd,
                absl::Seconds(absl::GetFlag(FLAGS_handshake_seconds)));
  absl::Status started = server.Start();
  if (!started.ok()) return Fail("accept", started);
  // SIGINT and SIGTERM: bytes on a pipe that the Watcher reads (a read that
  // completes, whatever its status, stops the server).
  absl::StatusOr<std::unique_ptr<gaio::SignalSet>> signals =
      gaio::SignalSet::Create({SIGINT, SIGTERM});
  if (!signals.ok()) return Fail("signals", signals.status());
  const int signal_fd = (*signals)->TakeReadFd();
  if (absl::Status s = w->read(&stop_tag, signal_fd, absl::MakeSpan(signal_bytes)); !s.ok()) {
    close(signal_fd);  // refused: the Watcher does not own it
    return Fail("signals", s);
  }
  std::printf("tls_echo_raw listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  bool stopping = false;
  auto handle = [&](const gaio::OpResult& r) {
    if (r.ctx != &stop_tag) {
      server.Handle(r);
    } else if (!absl::IsCancelled(r.status)) {  // Cancelled: close(), stopping already
      stopping = true;
    }
  };
  absl::Status status;
  while (!stopping) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    for (const gaio::OpResult& r : *batch) handle(r);
  }
  // close() ends every request; wait_io() hands each back (Cancelled or its
  // own result), which frees its connection; then FailedPrecondition.
  w->close().IgnoreError();
  for (;;) {
    absl::StatusOr<absl::Span<const gaio::OpResult>> batch = w->wait_io();
    if (!batch.ok()) break;
    for (const gaio::OpResult& r : *batch) handle(r);
  }
  if (!status.ok()) return Fail("wait_io", status);
  std::printf("tls_echo_raw: stopped\n");
  return 0;
}
