// The state of a WsSocket (coro/ws_socket.h), shared by ws_socket.cc and
// ws_connect.cc: the transport, the session, and the receive and send buffers.
#ifndef GAIO_CORO_INTERNAL_WS_IMPL_H_
#define GAIO_CORO_INTERNAL_WS_IMPL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coro/event.h"
#include "coro/socket.h"
#include "coro/task.h"
#include "coro/tls_socket.h"
#include "coro/ws_socket.h"
#include "ws/session.h"

namespace gaio::coro::internal {

struct WsImplBase {
  Socket socket;                   // plain ws
  std::unique_ptr<TlsSocket> tls;  // wss (socket then unused)
  std::optional<ws::Session> session;
  std::string subprotocol;
  bool compressed = false;
  size_t max_buffered = size_t{16} << 20;

  // Receiving.
  struct Queued {
    ws::MessageType type;
    std::string data;
  };
  std::string handshake_rest;  // frame bytes read with the upgrade's answer
  std::string hold;            // input being parsed (from handshake_rest)
  std::string current;         // a reassembled or queued message handed out
  std::vector<Queued> queue;   // further messages of one read
  size_t queue_pos = 0;
  absl::Status end;  // how receiving ended (sticky)
  bool receiving = false;
  bool finished = false;  // Finish() ran

  // Sending: pending is queued, inflight is being written.
  std::string pending;
  std::string inflight;
  bool writing = false;
  Event idle;
  absl::Status failed;  // sticky send failure

  size_t buffered() const {
    return pending.size() + inflight.size() + (session ? session->output().size() : 0);
  }
  // Moves the session's output behind pending.
  void TakeOutput();
  // Writes pending until empty (one writer at a time), or returns at once
  // when another task is writing.
  Task<absl::Status> Pump(absl::Time deadline);
  // Writes what is queued (close frame) within a second, then closes.
  Task<> Finish();
  void CloseTransport();

  Task<absl::StatusOr<SwapBytes>> Read(absl::Time deadline);
  Task<absl::Status> Write(absl::Span<const char> bytes, absl::Time deadline);
};

using WsImpl = WsImplBase;

}  // namespace gaio::coro::internal

namespace gaio::coro {
struct WsSocket::Impl : internal::WsImplBase {};
}  // namespace gaio::coro

#endif  // GAIO_CORO_INTERNAL_WS_IMPL_H_
