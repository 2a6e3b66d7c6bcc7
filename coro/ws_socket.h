// WsSocket, ws_connect() and ws_accept(): WebSocket connections (gaio::ws,
// RFC 6455 + permessage-deflate) over a coroutine Socket or a TlsSocket.
// Target //coro:ws (CMake gaio::coro_ws); docs/WEBSOCKET.md has the model.
//
//   absl::StatusOr<WsSocket> ws = co_await ws_connect("ws://127.0.0.1:8080/feed", options);
//   absl::Status s = co_await ws->send_text("hello");
//   absl::StatusOr<WsMessage> m = co_await ws->receive(absl::Now() + absl::Seconds(30));
//
// Ownership. A WsSocket owns its transport (Socket, or TlsSocket for wss) and
// its ws::Session; destroying it closes the fd. Movable (the state is on the
// heap), but not while one of its operations is in flight. Plain ws keeps no
// TLS state (the TlsSocket pointer is null).
//
// Received bytes. WsMessage::data is a SwapBytes: valid until the task's next
// co_await and until the next receive() of this WsSocket. A message that came
// as one uncompressed frame within one read points into the read's buffer
// (the loop's swap buffer, or the TLS plaintext): no copy. Others were
// reassembled (or copied because several messages came in one read).
//
// Sending. send_text/send_binary/ping/close queue whole frames and write them
// with one write in flight: the task that finds no write in flight writes the
// queue until it is empty (so co_await send_*() returns when its bytes, and
// anything queued meanwhile, are written, or at once when another task is
// already writing them). buffered_bytes() counts bytes not yet written; a
// send that would take it above max_buffered fails the connection
// (ResourceExhausted, the transport is closed). drain() waits until nothing
// is buffered. Pongs and close replies made by receive() use the same path.
//
// Errors (no exceptions). The first failure is sticky: every later operation
// returns it.
//   - The peer's close: receive() returns OutOfRange with the peer's code
//     (PeerCloseCode(), 1005 when it sent none) and reason in the message;
//     the close reply has been written and the transport closed.
//   - A protocol violation by the peer: the close frame with the RFC code
//     (1002, 1007 invalid UTF-8, 1009 too big) is written first (bounded by
//     one second), then the transport is closed; receive() returns the
//     ws::Session status (ws::CloseCodeOf() gives the code).
//   - The transport ending without a close: Unavailable with close code 1006.
//   - Deadline passed in receive(): DeadlineExceeded; the connection is
//     intact and receive() may be called again. Cancellation: Cancelled,
//     likewise retriable.
//   - Socket/TLS errors pass through.
// Threads: the loop's thread only. One receive and any number of sends may
// be in flight at a time, from different tasks.
#ifndef GAIO_CORO_WS_SOCKET_H_
#define GAIO_CORO_WS_SOCKET_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "coro/bytes.h"
#include "coro/internal/fiber.h"
#include "coro/socket.h"
#include "coro/task.h"
#include "coro/tls_socket.h"
#include "tls/context.h"
#include "ws/handshake.h"
#include "ws/session.h"
#include "ws/status.h"

namespace gaio::coro {

struct WsMessage {
  ws::MessageType type = ws::MessageType::kBinary;
  bool zero_copy = false;
  SwapBytes data;  // see "Received bytes" above
};

struct WsOptions {
  std::string origin;
  std::vector<std::string> subprotocols;
  ws::HeaderList headers;
  bool deflate = false;  // offer permessage-deflate (default parameters)
  uint64_t max_message_size = uint64_t{16} << 20;
  size_t max_buffered = size_t{16} << 20;        // send cap (see above)
  tls::Context* tls = nullptr;                   // required for wss://
  absl::Time deadline = absl::InfiniteFuture();  // dial + TLS + upgrade
};

struct WsServerOptions {
  ws::ServerOptions handshake;  // subprotocols, deflate (nullopt: refuse), headers
  uint64_t max_message_size = uint64_t{16} << 20;
  size_t max_buffered = size_t{16} << 20;
};

class WsSocket {
 public:
  struct Impl;
  WsSocket();
  explicit WsSocket(std::unique_ptr<Impl> impl);
  WsSocket(WsSocket&&) noexcept;
  WsSocket& operator=(WsSocket&&) noexcept;
  ~WsSocket();

  bool valid() const { return impl_ != nullptr; }

  // The next text or binary message (see above), or the error.
  Task<absl::StatusOr<WsMessage>> receive(absl::Time deadline = absl::InfiniteFuture());

  // The same as receive() as an awaiter that allocates no frame: co_await
  // it at once (`co_await ws.next_message()`), from a task of this package;
  // it lives in the awaiting frame (64 bytes), and that is all an
  // idle connection waiting in it holds besides the WsSocket. A message that
  // came as one frame in one read over plain TCP needs nothing more;
  // anything else (TLS, input held back, pongs to write, a message
  // reassembled or inflated, the end) runs a receive() task inside it. For
  // combinators (with_timeout, when_any...) use receive().
  class ReceiveOp : private internal::Operation {
   public:
    ReceiveOp(Impl* m, absl::Time deadline)
        : m_(m),
          deadline_ns_(deadline == absl::InfiniteFuture() ? kNoDeadline
                                                          : absl::ToUnixNanos(deadline)) {}
    ReceiveOp(const ReceiveOp&) = delete;
    ReceiveOp& operator=(const ReceiveOp&) = delete;
    ~ReceiveOp() = default;

    bool await_ready();
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return Suspend(h, h.promise().fiber());
    }
    absl::StatusOr<WsMessage> await_resume();

   private:
    bool Suspend(std::coroutine_handle<> h, internal::Fiber* fiber);
    // The general path (a receive task), with the message found if any.
    bool StartTask(const WsMessage* found);
    void complete(const OpResult& r) noexcept override;
    void request_cancel() noexcept override;

    static constexpr int64_t kNoDeadline = INT64_MAX;
    absl::Time deadline() const {
      return deadline_ns_ == kNoDeadline ? absl::InfiniteFuture()
                                         : absl::FromUnixNanos(deadline_ns_);
    }

    // 64 bytes. The outcome is the general path's task's result when it ran,
    // else status_ when not OK, else a message in one read of plain TCP: a
    // view of that read's buffer (m_->view, m_->view_size) of type type_.
    Impl* m_;
    int64_t deadline_ns_;
    std::coroutine_handle<> caller_;
    internal::Fiber* fiber_ = nullptr;
    Task<absl::StatusOr<WsMessage>> task_;
    absl::Status status_;
    ws::MessageType type_ = ws::MessageType::kBinary;
  };
  ReceiveOp next_message() { return ReceiveOp(impl_.get(), absl::InfiniteFuture()); }
  ReceiveOp next_message(absl::Time deadline) { return ReceiveOp(impl_.get(), deadline); }

  Task<absl::Status> send_text(absl::string_view text);
  Task<absl::Status> send_binary(absl::Span<const uint8_t> data);
  Task<absl::Status> send(ws::MessageType type, absl::Span<const uint8_t> data);
  // One frame of a fragmented message: the first call's type names the
  // message, later ones continue it until fin.
  Task<absl::Status> send_fragment(ws::MessageType type, absl::Span<const uint8_t> data, bool fin);
  Task<absl::Status> ping(absl::Span<const uint8_t> payload = {});
  // Sends a close frame, then reads (discarding messages) until the peer's
  // close or `deadline`, then closes the transport. OK when the peer answered.
  Task<absl::Status> close(uint16_t code = ws::kCloseNormal, absl::string_view reason = "",
                           absl::Time deadline = absl::InfiniteFuture());
  // Waits until buffered_bytes() is 0 (or the connection failed).
  Task<absl::Status> drain(absl::Time deadline = absl::InfiniteFuture());
  size_t buffered_bytes() const;

  const std::string& subprotocol() const;
  bool compressed() const;  // permessage-deflate agreed
  ws::Session& session();
  // Heap bytes held by receive/send buffers now (not zlib, not the Impl).
  size_t buffered_memory() const;

 private:
  std::unique_ptr<Impl> impl_;
};

// The peer's close code carried by a status receive() returned, 0 otherwise.
uint16_t PeerCloseCode(const absl::Status& status);

// Dials ws://host:port/path or wss://host:port/path (names through dial()),
// runs TLS (wss: options.tls, server name = host) and the upgrade within
// options.deadline. A redirect is refused (ws::ClientHandshake's status).
Task<absl::StatusOr<WsSocket>> ws_connect(std::string url, WsOptions options = {});

// Server side of the upgrade on an accepted connection, within `deadline`;
// a rejected request is answered (400/426/431...) and its status returned.
Task<absl::StatusOr<WsSocket>> ws_accept(Socket socket, WsServerOptions options,
                                         absl::Time deadline = absl::InfiniteFuture());
// The same over TLS (the TLS handshake first, also within `deadline`).
Task<absl::StatusOr<WsSocket>> ws_accept(TlsSocket socket, WsServerOptions options,
                                         absl::Time deadline = absl::InfiniteFuture());

}  // namespace gaio::coro

#endif  // GAIO_CORO_WS_SOCKET_H_
