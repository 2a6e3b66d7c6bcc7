#include "coro/tls_socket.h"

#include <algorithm>
#include <string>
#include <utility>

namespace gaio::coro {

absl::StatusOr<TlsSocket> TlsSocket::Client(Socket socket, const tls::Context& context,
                                            std::string server_name) {
  tls::SessionOptions options;
  options.server_name = std::move(server_name);
  absl::StatusOr<tls::Session> session = tls::Session::Create(context, options);
  if (!session.ok()) return session.status();
  return TlsSocket(std::move(socket), *std::move(session));
}

absl::StatusOr<TlsSocket> TlsSocket::Server(Socket socket, const tls::Context& context) {
  absl::StatusOr<tls::Session> session = tls::Session::Create(context);
  if (!session.ok()) return session.status();
  return TlsSocket(std::move(socket), *std::move(session));
}

void TlsSocket::ReturnLent() {
  if (lent_ > 0) session_->consume_plaintext(std::exchange(lent_, 0));
}

absl::Status TlsSocket::Ended() {
  if (!read_end_.ok()) return read_end_;
  // With no plaintext buffered, Session::read reports kClosed or the failure.
  char probe;
  absl::StatusOr<size_t> r = session_->read(absl::MakeSpan(&probe, 1));
  if (!r.ok()) return r.status();
  return absl::OkStatus();
}

Task<absl::Status> TlsSocket::Flush(absl::Time deadline) {
  while (!session_->ciphertext().empty()) {
    // Owned by this frame until the Watcher has written it, then its memory
    // serves the next records (Session::give_back).
    std::string out = session_->take_ciphertext();
    absl::Status written = co_await socket_.write(out, deadline);
    session_->give_back(std::move(out));
    if (!written.ok()) co_return written;
  }
  co_return absl::OkStatus();
}

Task<absl::StatusOr<size_t>> TlsSocket::Fill(absl::Span<char> out, absl::Time deadline) {
  absl::StatusOr<SwapBytes> in = co_await socket_.read(deadline);
  size_t got = 0;
  if (in.ok()) {
    // All of the swap bytes are consumed here, before the next co_await.
    absl::StatusOr<size_t> fed = session_->feed(in->span(), out);
    if (fed.ok()) got = *fed;  // else the session is kFailed: Ended() says so
  } else if (IsEof(in.status())) {
    read_end_ = session_->feed_eof();
  } else {
    co_return in.status();
  }
  // Handshake replies, key updates, alerts. Once reading has ended the peer
  // may be gone: a failure to send the last alert is not the read's error.
  absl::Status flushed = co_await Flush(deadline);
  if (!flushed.ok() && got == 0 && session_->status().ok() && read_end_.ok()) {
    co_return flushed;
  }
  co_return got;
}

Task<absl::Status> TlsSocket::handshake(absl::Time deadline) {
  if (!session_.has_value()) co_return absl::InvalidArgumentError("empty TlsSocket");
  for (;;) {
    absl::Status flushed = co_await Flush(deadline);
    if (!flushed.ok()) co_return flushed;
    if (session_->handshake_done()) co_return absl::OkStatus();
    if (!session_->status().ok()) co_return session_->status();
    if (!read_end_.ok()) co_return read_end_;
    if (session_->state() == tls::SessionState::kClosed) {
      co_return absl::FailedPreconditionError("TLS handshake after shutdown()");
    }
    absl::StatusOr<SwapBytes> in = co_await socket_.read(deadline);
    if (in.ok()) {
      absl::Status fed = session_->feed(in->span());
      if (fed.ok()) continue;
      absl::Status alert = co_await Flush(deadline);  // best effort: the failure is ours
      alert.IgnoreError();
      co_return fed;
    }
    if (!IsEof(in.status())) co_return in.status();
    read_end_ = session_->feed_eof();
    co_return read_end_;
  }
}

Task<absl::StatusOr<SwapBytes>> TlsSocket::read(absl::Time deadline) {
  if (!session_.has_value()) co_return absl::InvalidArgumentError("empty TlsSocket");
  ReturnLent();
  if (!session_->handshake_done()) {
    absl::Status h = co_await handshake(deadline);
    if (!h.ok()) co_return h;
  }
  for (;;) {
    const absl::string_view p = session_->plaintext();
    if (!p.empty()) {
      lent_ = p.size();  // consumed at the next read
      co_return SwapBytes(p.data(), p.size());
    }
    absl::Status ended = Ended();
    if (!ended.ok()) co_return ended;
    absl::StatusOr<size_t> filled = co_await Fill({}, deadline);
    if (!filled.ok()) co_return filled.status();
  }
}

Task<absl::StatusOr<size_t>> TlsSocket::read(absl::Span<char> buf, absl::Time deadline) {
  if (!session_.has_value()) co_return absl::InvalidArgumentError("empty TlsSocket");
  if (buf.empty()) co_return absl::InvalidArgumentError("TLS read: empty buffer");
  ReturnLent();
  if (!session_->handshake_done()) {
    absl::Status h = co_await handshake(deadline);
    if (!h.ok()) co_return h;
  }
  for (;;) {
    if (!session_->plaintext().empty()) co_return session_->read(buf);
    absl::Status ended = Ended();
    if (!ended.ok()) co_return ended;
    // Records are decrypted straight into `buf` (the rest into the session).
    absl::StatusOr<size_t> filled = co_await Fill(buf, deadline);
    if (!filled.ok()) co_return filled.status();
    if (*filled > 0) co_return *filled;
  }
}

Task<absl::Status> TlsSocket::read_full(absl::Span<char> buf, absl::Time deadline) {
  if (buf.empty()) co_return absl::InvalidArgumentError("TLS read_full: empty buffer");
  while (!buf.empty()) {
    absl::StatusOr<size_t> n = co_await read(buf, deadline);
    if (!n.ok()) co_return n.status();
    buf.remove_prefix(*n);
  }
  co_return absl::OkStatus();
}

Task<absl::Status> TlsSocket::write(absl::Span<const char> buf, absl::Time deadline) {
  const absl::Span<const char> one[] = {buf};
  co_return co_await writev(one, deadline);
}

Task<absl::Status> TlsSocket::writev(absl::Span<const absl::Span<const char>> bufs,
                                     absl::Time deadline) {
  if (!session_.has_value()) co_return absl::InvalidArgumentError("empty TlsSocket");
  if (!session_->handshake_done()) {
    absl::Status h = co_await handshake(deadline);
    if (!h.ok()) co_return h;
  }
  for (absl::Span<const char> b : bufs) {
    absl::Status s = session_->write(b);
    if (!s.ok()) co_return s;
  }
  co_return co_await Flush(deadline);
}

Task<absl::Status> TlsSocket::shutdown(absl::Time deadline) {
  if (!session_.has_value()) co_return absl::InvalidArgumentError("empty TlsSocket");
  absl::Status s = session_->shutdown();
  if (!s.ok()) co_return s;
  co_return co_await Flush(deadline);
}

Task<absl::StatusOr<TlsSocket>> dial_tls(std::string address, tls::Context context,
                                         std::string server_name, absl::Time deadline) {
  absl::StatusOr<Socket> socket = co_await dial(address, deadline);
  if (!socket.ok()) co_return socket.status();
  socket->set_nodelay(true).IgnoreError();
  absl::StatusOr<TlsSocket> tls =
      TlsSocket::Client(*std::move(socket), context, std::move(server_name));
  if (!tls.ok()) co_return tls.status();
  absl::Status h = co_await tls->handshake(deadline);
  if (!h.ok()) co_return h;
  co_return std::move(tls);
}

Task<absl::StatusOr<TlsSocket>> accept_tls(const Listener& listener, tls::Context context,
                                           absl::Time deadline) {
  absl::StatusOr<Socket> socket = co_await listener.accept();
  if (!socket.ok()) co_return socket.status();
  socket->set_nodelay(true).IgnoreError();
  absl::StatusOr<TlsSocket> tls = TlsSocket::Server(*std::move(socket), context);
  if (!tls.ok()) co_return tls.status();
  absl::Status h = co_await tls->handshake(deadline);
  if (!h.ok()) co_return h;
  co_return std::move(tls);
}

}  // namespace gaio::coro
