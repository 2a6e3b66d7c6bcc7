// WsSocket's transport and write path, ws_connect() and ws_accept()
// (ws_socket.h).
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "coro/internal/ws_impl.h"
#include "coro/ws_socket.h"

namespace gaio::coro {
namespace internal {

void WsImplBase::TakeOutput() {
  const absl::Span<const uint8_t> out = session.output();
  if (out.empty()) return;
  pending.Append(out.data(), out.size());
  session.consume_output(out.size());
}

void WsImplBase::CloseTransport() {
  if (tls() != nullptr) {
    tls()->close().IgnoreError();
  } else {
    socket.close().IgnoreError();
  }
}

Task<absl::StatusOr<SwapBytes>> WsImplBase::Read(absl::Time deadline) {
  if (tls() != nullptr) {
    co_return co_await tls()->read(deadline);
  }
  co_return co_await socket.read(deadline);
}

Task<absl::Status> WsImplBase::Write(absl::Span<const char> bytes, absl::Time deadline) {
  if (tls() != nullptr) {
    co_return co_await tls()->write(bytes, deadline);
  }
  co_return co_await socket.write(bytes, deadline);
}

Task<absl::Status> WsImplBase::Pump(absl::Time deadline, absl::Span<const char> head,
                                    absl::Span<const char> body, bool copy) {
  if (!failed.ok()) co_return failed;
  TakeOutput();
  if (buffered() + head.size() + body.size() > max_buffered) {
    failed = absl::ResourceExhaustedError(
        absl::StrCat("WebSocket send buffer above its cap of ", max_buffered, " bytes"));
    pending.Release();
    CloseTransport();
    co_return failed;
  }
  if (writing || copy) {  // the writing task carries it
    pending.Append(head.data(), head.size());
    pending.Append(body.data(), body.size());
    head = body = {};
    if (writing) co_return absl::OkStatus();
  }
  writing = true;
  if (Event* e = idle()) e->clear();
  ws::internal::ByteQueue inflight;
  if (!head.empty()) {
    // Control frames queued earlier, then this frame from the caller's
    // buffer: one writev, no copy.
    inflight.swap(pending);
    inflight_bytes = inflight.size() + head.size() + body.size();
    absl::Span<const char> parts[3] = {inflight.view(), head, body};
    absl::Span<const absl::Span<const char>> list(parts, 3);
    if (inflight.empty()) list.remove_prefix(1);
    if (body.empty()) list.remove_suffix(1);
    absl::Status w;  // (no co_await in a conditional expression: GCC 12)
    if (tls() != nullptr) {
      w = co_await tls()->writev(list, deadline);
    } else {
      w = co_await socket.writev(list, deadline);
    }
    inflight_bytes = 0;
    if (!w.ok()) failed = w;
    TakeOutput();
  }
  while (failed.ok() && !pending.empty()) {
    inflight.Clear();  // its block takes what is queued meanwhile
    inflight.swap(pending);
    inflight_bytes = inflight.size();
    absl::Status w = co_await Write(inflight.view(), deadline);
    inflight_bytes = 0;
    if (!w.ok()) failed = w;
    TakeOutput();
  }
  pending.Release();
  writing = false;
  if (Event* e = idle()) e->set();
  co_return failed;
}

Task<> WsImplBase::Finish() {
  finished = true;
  if (!writing) {
    absl::Status p = co_await Pump(absl::Now() + absl::Seconds(1));
    p.IgnoreError();
  }
  if (tls() != nullptr && failed.ok()) {
    absl::Status s = co_await tls()->shutdown(absl::Now() + absl::Seconds(1));
    s.IgnoreError();
  }
  CloseTransport();
}

}  // namespace internal

namespace {

using internal::WsImplBase;

// Reads the upgrade's answer (client) or request (server) into `hs`; bytes
// after the head go to impl->rx.
template <class Handshake>
Task<absl::Status> ReadHead(WsImplBase* impl, Handshake* hs, absl::Time deadline) {
  for (;;) {
    absl::StatusOr<SwapBytes> in = co_await impl->Read(deadline);
    if (!in.ok()) co_return in.status();
    const absl::Span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(in->data()), in->size());
    size_t consumed = 0;
    absl::StatusOr<bool> done = hs->feed(bytes, &consumed);
    if (!done.ok()) co_return done.status();
    if (*done) {
      impl->rx.Assign(in->data() + consumed, in->size() - consumed);
      co_return absl::OkStatus();
    }
  }
}

void StartSession(WsImplBase* impl, ws::SessionOptions options, uint64_t max_message_size,
                  size_t max_buffered) {
  options.max_message_size = max_message_size;
  impl->max_buffered = max_buffered;
  impl->session = ws::Session(options);
}

Task<absl::StatusOr<WsSocket>> Accept(std::unique_ptr<WsSocket::Impl> impl, WsServerOptions options,
                                      absl::Time deadline) {
  if (impl->tls() != nullptr) {
    absl::Status h = co_await impl->tls()->handshake(deadline);
    if (!h.ok()) co_return h;
  }
  ws::ServerHandshake hs(options.handshake);
  absl::Status read = co_await ReadHead(impl.get(), &hs, deadline);
  if (!read.ok()) {
    if (!hs.rejection().empty()) {
      absl::Status w = co_await impl->Write(hs.rejection(), deadline);
      w.IgnoreError();
    }
    co_return read;
  }
  const std::string response = hs.accept();
  absl::Status w = co_await impl->Write(response, deadline);
  if (!w.ok()) co_return w;
  if (!hs.subprotocol().empty()) impl->MakeRare().subprotocol = hs.subprotocol();
  StartSession(impl.get(), hs.session_options(), options.max_message_size, options.max_buffered);
  co_return WsSocket(std::move(impl));
}

}  // namespace

Task<absl::StatusOr<WsSocket>> ws_accept(Socket socket, WsServerOptions options,
                                         absl::Time deadline) {
  auto impl = std::make_unique<WsSocket::Impl>();
  impl->socket = std::move(socket);
  co_return co_await Accept(std::move(impl), std::move(options), deadline);
}

Task<absl::StatusOr<WsSocket>> ws_accept(TlsSocket socket, WsServerOptions options,
                                         absl::Time deadline) {
  auto impl = std::make_unique<WsSocket::Impl>();
  impl->MakeRare().tls = std::make_unique<TlsSocket>(std::move(socket));
  co_return co_await Accept(std::move(impl), std::move(options), deadline);
}

Task<absl::StatusOr<WsSocket>> ws_connect(std::string url, WsOptions options) {
  bool secure = false;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "wss://")) {
    secure = true;
  } else if (!absl::ConsumePrefix(&rest, "ws://")) {
    co_return absl::InvalidArgumentError(absl::StrCat("not a ws:// or wss:// URL: ", url));
  }
  const size_t slash = rest.find('/');
  std::string hostport(rest.substr(0, slash));
  const std::string path = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string host = hostport;
  const size_t colon = hostport.rfind(':');
  const size_t bracket = hostport.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    host = hostport.substr(0, colon);
  } else {
    hostport = absl::StrCat(hostport, secure ? ":443" : ":80");
  }
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty()) co_return absl::InvalidArgumentError(absl::StrCat("no host in ", url));
  if (secure && options.tls == nullptr) {
    co_return absl::InvalidArgumentError("wss:// needs WsOptions::tls");
  }

  absl::StatusOr<Socket> s = co_await dial(hostport, options.deadline);
  if (!s.ok()) co_return s.status();
  auto impl = std::make_unique<WsSocket::Impl>();
  if (secure) {
    absl::StatusOr<TlsSocket> t = TlsSocket::Client(*std::move(s), *options.tls, host);
    if (!t.ok()) co_return t.status();
    impl->MakeRare().tls = std::make_unique<TlsSocket>(*std::move(t));
    absl::Status h = co_await impl->tls()->handshake(options.deadline);
    if (!h.ok()) co_return h;
  } else {
    impl->socket = *std::move(s);
  }
  ws::ClientOptions co;
  co.host = hostport;
  co.path = path;
  co.origin = options.origin;
  co.subprotocols = options.subprotocols;
  co.headers = options.headers;
  if (options.deflate) co.deflate = ws::DeflateParams{};
  ws::ClientHandshake hs(co);
  absl::Status w = co_await impl->Write(hs.request(), options.deadline);
  if (!w.ok()) co_return w;
  absl::Status read = co_await ReadHead(impl.get(), &hs, options.deadline);
  if (!read.ok()) co_return read;
  if (!hs.subprotocol().empty()) impl->MakeRare().subprotocol = hs.subprotocol();
  StartSession(impl.get(), hs.session_options(), options.max_message_size, options.max_buffered);
  co_return WsSocket(std::move(impl));
}

}  // namespace gaio::coro
