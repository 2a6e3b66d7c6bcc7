// TlsSocket, dial_tls() and accept_tls(): TLS 1.2/1.3 (gaio::tls::Session)
// over a coroutine Socket. Target //coro:tls (CMake gaio::coro_tls): only its
// users link OpenSSL.
//
//   absl::StatusOr<TlsSocket> t = co_await dial_tls("127.0.0.1:443", ctx, "host", deadline);
//   absl::Status w = co_await t->write(request);
//   absl::StatusOr<SwapBytes> in = co_await t->read();  // plaintext
//
// Ownership. A TlsSocket owns its Socket (its fd) and its Session; destroying
// or close()ing it closes the fd (pending requests: Cancelled). Movable, but
// not while one of its operations is in flight. The Context is a shared
// handle: copies are taken where needed.
//
// Memory. Ciphertext is read with swap-buffer reads (Socket::read()) and fed
// to the Session at once; decrypted plaintext waits in the Session's
// plaintext buffer only until it is read. An idle established TlsSocket with
// a read pending holds no read or write buffer: the Session's state, the
// awaiting frames and the Watcher's per-fd state (docs/TLS.md has the bytes).
//
// Operations are Tasks: co_await them at once; the TlsSocket and any buffer
// passed must outlive the co_await. One read (read, read_full, handshake) and
// one write (write, writev, shutdown) may be in flight at a time, from
// different tasks of the TlsSocket's loop; a read may also send (handshake
// replies, TLS 1.3 key updates, alerts), queued in order behind the writes.
// Threads: the loop's thread only.
//
// Results (no exceptions). TLS outcomes are the statuses of tls/status.h,
// passed through: a clean end (the peer's close_notify) is kClosed
// (OutOfRange, tls::IsCleanClose); the transport ending without it is
// kTruncated (DataLoss); a corrupt record kCorruptRecord; and so on. Socket
// errors are the Socket's (socket.h): DeadlineExceeded when a deadline passes,
// Cancelled, the errno status. A read that fails on a deadline or a
// cancellation may be retried; a failed write leaves the stream unusable
// for writing (part of a record may have gone out; so does a read cancelled
// while it was sending a handshake reply). Once reading has ended
// (kClosed, kTruncated, a TLS failure) every later read returns that status,
// after any plaintext decrypted before it.
#ifndef GAIO_CORO_TLS_SOCKET_H_
#define GAIO_CORO_TLS_SOCKET_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "coro/bytes.h"
#include "coro/socket.h"
#include "coro/task.h"
#include "tls/context.h"
#include "tls/session.h"
#include "tls/status.h"

namespace gaio::coro {

class TlsSocket {
 public:
  TlsSocket() = default;
  TlsSocket(Socket socket, tls::Session session)
      : socket_(std::move(socket)), session_(std::move(session)) {}
  // A moved-from TlsSocket is empty (valid() false; operations fail with
  // InvalidArgument).
  TlsSocket(TlsSocket&& o) noexcept
      : socket_(std::move(o.socket_)),
        session_(std::exchange(o.session_, std::nullopt)),
        read_end_(std::exchange(o.read_end_, absl::OkStatus())),
        lent_(std::exchange(o.lent_, 0)) {}
  TlsSocket& operator=(TlsSocket&& o) noexcept {
    if (this != &o) {
      socket_ = std::move(o.socket_);
      session_ = std::exchange(o.session_, std::nullopt);
      read_end_ = std::exchange(o.read_end_, absl::OkStatus());
      lent_ = std::exchange(o.lent_, 0);
    }
    return *this;
  }

  // A client (SNI and name check: `server_name`, see tls::SessionOptions) or
  // server TlsSocket over `socket`, not yet handshaken; the Session::Create
  // error otherwise (the socket is then closed).
  static absl::StatusOr<TlsSocket> Client(Socket socket, const tls::Context& context,
                                          std::string server_name);
  static absl::StatusOr<TlsSocket> Server(Socket socket, const tls::Context& context);

  // Runs the handshake to its end: OK; the TLS failure (an alert it produced
  // is sent first, within the deadline); kTruncated when the transport ends
  // first; DeadlineExceeded when `deadline` passes first (a stalled peer).
  Task<absl::Status> handshake(absl::Time deadline = absl::InfiniteFuture());

  // Plaintext: the bytes of one or more records, valid until this task's next
  // co_await and until the next read of this TlsSocket (SwapBytes). Handshakes
  // first if needed. Errors as above.
  Task<absl::StatusOr<SwapBytes>> read(absl::Time deadline = absl::InfiniteFuture());
  // Up to buf.size() bytes of plaintext into `buf` (> 0), or an error.
  Task<absl::StatusOr<size_t>> read(absl::Span<char> buf,
                                    absl::Time deadline = absl::InfiniteFuture());
  // Fills `buf` entirely, or the error that stopped it (kClosed when the peer
  // closed first: what came is in buf, how much is not reported).
  Task<absl::Status> read_full(absl::Span<char> buf, absl::Time deadline = absl::InfiniteFuture());

  // Encrypts all of `buf` and writes the records: OK or the error (the
  // session's failure; FailedPrecondition after shutdown(); the Socket's).
  // `buf` may be SwapBytes just read (an echo). Handshakes first if needed.
  Task<absl::Status> write(absl::Span<const char> buf,
                           absl::Time deadline = absl::InfiniteFuture());
  Task<absl::Status> writev(absl::Span<const absl::Span<const char>> bufs,
                            absl::Time deadline = absl::InfiniteFuture());

  // Sends close_notify (later writes fail); reading goes on until the
  // peer's close_notify (kClosed). The fd stays open until close().
  Task<absl::Status> shutdown(absl::Time deadline = absl::InfiniteFuture());

  // Closes the fd (pending requests complete with Cancelled).
  absl::Status close() { return socket_.close(); }

  bool valid() const { return socket_.valid() && session_.has_value(); }
  Socket& socket() { return socket_; }
  // The Session (version, ALPN, peer_closed(), ...). Do not feed it.
  tls::Session& session() { return *session_; }

 private:
  // One transport read fed to the session (plaintext first into `out`), then
  // what it produced sent: the bytes decrypted into `out`, or the transport's
  // error. A TLS failure or the end of the stream is left for Ended().
  Task<absl::StatusOr<size_t>> Fill(absl::Span<char> out, absl::Time deadline);
  // Writes all outgoing ciphertext.
  Task<absl::Status> Flush(absl::Time deadline);
  // How reading ended (once the plaintext is drained), or OK.
  absl::Status Ended();
  void ReturnLent();

  Socket socket_;
  std::optional<tls::Session> session_;
  absl::Status read_end_;  // from feed_eof()
  size_t lent_ = 0;        // plaintext handed out by read() and not consumed
};

// Dials `address` (numeric, see socket.h), then handshakes as a client for
// `server_name`: the established TlsSocket, or the first error (dial's,
// Session::Create's, the handshake's). `deadline` bounds both.
Task<absl::StatusOr<TlsSocket>> dial_tls(std::string address, tls::Context context,
                                         std::string server_name,
                                         absl::Time deadline = absl::InfiniteFuture());

// Accepts one connection and handshakes as a server within `deadline`: the
// established TlsSocket, or the first error (a failed handshake closes that
// connection). The handshake holds up this acceptor: a server that must not
// wait on one slow client accepts with Listener::accept() and runs
// TlsSocket::Server(...).handshake(deadline) in the connection's own task.
// `listener` must outlive the co_await.
Task<absl::StatusOr<TlsSocket>> accept_tls(const Listener& listener, tls::Context context,
                                           absl::Time deadline = absl::InfiniteFuture());

}  // namespace gaio::coro

#endif  // GAIO_CORO_TLS_SOCKET_H_
