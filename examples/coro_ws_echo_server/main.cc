// ws_echo_server: a WebSocket echo server on gaio::coro with WsSocket
// (//coro:ws), ws or wss, permessage-deflate accepted.
//
//   ./bazelw run //examples:ws_echo_server -- --port=0 [--cert=CERT.pem --key=KEY.pem]
//
// Any path is accepted. Each text or binary message goes back as one message
// of the same type; pings are answered; the peer's close is answered with its
// code; a protocol violation closes with the RFC's code (1002, 1007 invalid
// UTF-8, 1009 above --max_message_size). Prints "ws_echo_server listening on
// 127.0.0.1:N" once listening; on SIGINT/SIGTERM cancels every connection and
// exits 0 (examples/common/serve.h).

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/tls_socket.h"
#include "coro/ws_socket.h"
#include "examples/common/serve.h"
#include "tls/context.h"

ABSL_FLAG(int, port, 9080, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(std::string, cert, "", "certificate chain, PEM: serve wss");
ABSL_FLAG(std::string, key, "", "private key, PEM (with --cert)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, handshake_seconds, 10, "TLS + upgrade not done by then closes the connection");
ABSL_FLAG(int64_t, max_message_size, 16 << 20, "larger messages are refused with 1009");

namespace {

using gaio::coro::Scope;
using gaio::coro::Socket;
using gaio::coro::Task;
using gaio::coro::TlsSocket;
using gaio::coro::WsMessage;
using gaio::coro::WsServerOptions;
using gaio::coro::WsSocket;

struct Config {
  const gaio::tls::Context* tls = nullptr;  // wss when set
  WsServerOptions ws;
  absl::Duration handshake;
};

// Upgrades (over TLS when configured) within the handshake deadline.
Task<absl::StatusOr<WsSocket>> Upgrade(Socket socket, const Config* config) {
  const absl::Time deadline = absl::Now() + config->handshake;
  if (config->tls == nullptr) {
    co_return co_await ws_accept(std::move(socket), config->ws, deadline);
  }
  absl::StatusOr<TlsSocket> t = TlsSocket::Server(std::move(socket), *config->tls);
  if (!t.ok()) co_return t.status();
  co_return co_await ws_accept(*std::move(t), config->ws, deadline);
}

// An upgraded connection: every outcome ends it (the peer's close, a
// protocol error, a transport error, a failed send, Cancelled at shutdown).
// This frame (with the receive waiting in it) and the WsSocket are all an
// idle connection holds.
Task<> Echo(WsSocket ws) {
  for (;;) {
    absl::StatusOr<WsMessage> m = co_await ws.next_message();  // no frame while idle
    if (!m.ok()) co_return;  // close answered / close code sent by WsSocket
    // Passed straight on: send() copies a view of the read's buffer, and
    // writes an assembled message from where it lies (valid until the next
    // receive()).
    absl::Status s = co_await ws.send(
        m->type, absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(m->data.data()),
                                           m->data.size()));
    if (!s.ok()) co_return;
  }
}

// One connection's handshakes (a failed one ends it). Once upgraded, it goes
// on in an Echo task of its own in the same scope (cancelled and joined with
// the rest at shutdown), and this task's frame, sized for the handshakes, is
// freed.
Task<> Accept(Socket socket, const Config* config, Scope* sessions) {
  absl::StatusOr<WsSocket> ws = co_await Upgrade(std::move(socket), config);
  if (ws.ok()) sessions->spawn(Echo(*std::move(ws)));
}

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "ws_echo_server: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  Config config;
  config.handshake = absl::Seconds(absl::GetFlag(FLAGS_handshake_seconds));
  config.ws.max_message_size = static_cast<uint64_t>(absl::GetFlag(FLAGS_max_message_size));
  config.ws.handshake.deflate = gaio::ws::DeflateParams{};
  std::optional<gaio::tls::Context> context;
  if (!absl::GetFlag(FLAGS_cert).empty()) {
    absl::StatusOr<gaio::tls::CertifiedKey> key =
        gaio::tls::CertifiedKey::FromFiles(absl::GetFlag(FLAGS_cert), absl::GetFlag(FLAGS_key));
    if (!key.ok()) return Fail("--cert/--key", key.status());
    gaio::tls::ContextOptions tls_options;
    tls_options.certificate = *std::move(key);
    absl::StatusOr<gaio::tls::Context> made = gaio::tls::Context::Server(tls_options);
    if (!made.ok()) return Fail("certificate", made.status());
    context.emplace(*std::move(made));
    config.tls = &*context;
  }

  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  auto loop = gaio::coro::EventLoop::Create(options);
  if (!loop.ok()) return Fail("loop", loop.status());
  auto listener =
      gaio::coro::listen(**loop, "127.0.0.1:" + std::to_string(absl::GetFlag(FLAGS_port)));
  if (!listener.ok()) return Fail("listen", listener.status());
  gaio_examples::ServeOptions serve;
  serve.name = "ws_echo_server";
  serve.note = config.tls != nullptr ? "(wss)" : "(ws)";
  serve.acceptors = 4;
  return gaio_examples::ServeUntilSignal(
      **loop, *std::move(listener),
      [&config](Socket s, Scope* sessions) { return Accept(std::move(s), &config, sessions); },
      serve);
}
