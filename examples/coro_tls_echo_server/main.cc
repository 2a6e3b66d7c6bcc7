// tls_echo_server: a TLS 1.2/1.3 echo server on gaio::coro with TlsSocket
// (//coro:tls). Each connection is a task: handshake within
// --handshake_seconds, then every plaintext byte back, read with swap-buffer
// reads (an idle connection holds no read buffer, only its TLS session).
//
//   ./bazelw run //examples:tls_echo_server -- --port=0 --cert=CERT.pem --key=KEY.pem
//
// Prints "tls_echo_server listening on 127.0.0.1:N" once listening; runs
// until SIGINT/SIGTERM, then cancels every connection and exits 0
// (examples/common/serve.h).

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/tls_socket.h"
#include "examples/common/serve.h"
#include "tls/context.h"
#include "tls/status.h"

ABSL_FLAG(int, port, 9443, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(std::string, cert, "", "certificate chain, PEM (required)");
ABSL_FLAG(std::string, key, "", "private key, PEM (required)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, takeover_us, -1,
          "WatcherOptions::poller_takeover in microseconds (-1 = the library default, 0 = off)");
ABSL_FLAG(int, handshake_seconds, 10, "a handshake not done by then closes the connection");
ABSL_FLAG(int, write_seconds, 60, "a write not done by then closes the connection");

namespace {

using gaio::coro::Socket;
using gaio::coro::SwapBytes;
using gaio::coro::Task;
using gaio::coro::TlsSocket;

struct Limits {
  absl::Duration handshake;
  absl::Duration write;
};

// One connection. Every outcome ends it: a failed handshake (garbage, a
// stalled or vanished client, a refused certificate), a read error (the
// peer's close_notify, a truncation, a reset), a failed write, or Cancelled
// at shutdown; after the peer's close_notify ours goes back.
Task<> Echo(Socket socket, gaio::tls::Context context, Limits limits) {
  absl::StatusOr<TlsSocket> t = TlsSocket::Server(std::move(socket), context);
  if (!t.ok()) co_return;
  absl::Status h = co_await t->handshake(absl::Now() + limits.handshake);
  if (!h.ok()) co_return;
  for (;;) {
    absl::StatusOr<SwapBytes> in = co_await t->read();  // no read buffer while idle
    if (!in.ok()) {
      if (!gaio::tls::IsCleanClose(in.status())) co_return;
      absl::Status closed = co_await t->shutdown(absl::Now() + limits.write);
      closed.IgnoreError();  // the peer may be gone already
      co_return;
    }
    absl::Status out = co_await t->write(*in, absl::Now() + limits.write);
    if (!out.ok()) co_return;
  }
}

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "tls_echo_server: %s: %s\n", what, status.ToString().c_str());
  return 1;
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

  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  if (absl::GetFlag(FLAGS_takeover_us) >= 0) {
    options.poller_takeover = absl::Microseconds(absl::GetFlag(FLAGS_takeover_us));
  }
  auto loop = gaio::coro::EventLoop::Create(options);
  if (!loop.ok()) return Fail("loop", loop.status());
  auto listener =
      gaio::coro::listen(**loop, "127.0.0.1:" + std::to_string(absl::GetFlag(FLAGS_port)));
  if (!listener.ok()) return Fail("listen", listener.status());
  const Limits limits{absl::Seconds(absl::GetFlag(FLAGS_handshake_seconds)),
                      absl::Seconds(absl::GetFlag(FLAGS_write_seconds))};
  gaio_examples::ServeOptions serve;
  serve.name = "tls_echo_server";
  // The session keeps the context (a reference-counted handle) in Serve's
  // frame; each connection gets a copy.
  const int rc = gaio_examples::ServeUntilSignal(
      **loop, *std::move(listener),
      [context = *std::move(context), limits](Socket s) {
        return Echo(std::move(s), context, limits);
      },
      serve);
  const gaio::WatcherStats stats = (*loop)->watcher().stats();
  std::printf("tls_echo_server: poller takeovers %llu, hand-backs %llu\n",
              static_cast<unsigned long long>(stats.takeovers),
              static_cast<unsigned long long>(stats.handbacks));
  return rc;
}
