// The state of a WsSocket (coro/ws_socket.h), shared by ws_socket.cc and
// ws_connect.cc: the transport, the session, and the receive and send buffers.
//
// Memory. An idle connection (nothing pending either way) holds this block
// and no heap buffer: rx and pending are one pointer each (ws::internal::
// ByteQueue) whose block exists only while they hold bytes, the bytes being
// written live in the writing task's frame, and the subprotocol is allocated
// only when one was agreed.
#ifndef GAIO_CORO_INTERNAL_WS_IMPL_H_
#define GAIO_CORO_INTERNAL_WS_IMPL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "coro/event.h"
#include "coro/socket.h"
#include "coro/task.h"
#include "coro/tls_socket.h"
#include "coro/ws_socket.h"
#include "ws/internal/byte_queue.h"
#include "ws/session.h"

namespace gaio::coro::internal {

struct WsImplBase {
  // What most connections never have, in one block made on first need: the
  // TLS transport (wss), the agreed subprotocol, drain()'s event.
  struct Rare {
    std::unique_ptr<TlsSocket> tls;
    std::string subprotocol;
    std::unique_ptr<Event> idle;  // set when no write is in flight; made by drain()
  };

  Socket socket;        // plain ws (unused with TLS)
  ws::Session session;  // assigned once upgraded
  std::unique_ptr<Rare> rare;

  // Receiving. rx holds input the session has not parsed yet (frame bytes
  // read with the upgrade's answer, the rest of a read after the message
  // receive() returned); its consumed bytes may hold the message handed out
  // last (valid until the next receive(), which releases rx once all of it
  // is parsed).
  ws::internal::ByteQueue rx;
  // The message handed out last when it is a view into a read's buffer
  // (swap buffer, TLS plaintext): send() copies bytes from there.
  const char* view = nullptr;
  uint32_t view_size = 0;  // (a read's buffer is far smaller than 4 GiB)
  bool receiving = false;
  bool finished = false;  // Finish() ran
  bool writing = false;   // a task is writing (see Pump)
  absl::Status end;       // how receiving ended (sticky)

  // Sending: pending is queued; inflight_bytes are being written (from the
  // writing task's frame, or the caller's buffer for a zero-copy send).
  size_t max_buffered = size_t{16} << 20;
  ws::internal::ByteQueue pending;
  size_t inflight_bytes = 0;
  absl::Status failed;  // sticky send failure

  TlsSocket* tls() const { return rare != nullptr ? rare->tls.get() : nullptr; }
  Event* idle() const { return rare != nullptr ? rare->idle.get() : nullptr; }
  Rare& MakeRare() {
    if (rare == nullptr) rare = std::make_unique<Rare>();
    return *rare;
  }
  bool compressed_session() const { return session.deflate(); }
  size_t buffered() const { return pending.size() + inflight_bytes + session.output().size(); }
  // Moves the session's output behind pending.
  void TakeOutput();
  // Writes pending, then the frame head + body if given (the caller's bytes,
  // valid until this returns; copied first when `copy`), then whatever was
  // queued meanwhile, until nothing is left (one writer at a time). When
  // another task is writing, head + body are copied behind pending and this
  // returns at once.
  Task<absl::Status> Pump(absl::Time deadline, absl::Span<const char> head = {},
                          absl::Span<const char> body = {}, bool copy = false);
  // Whether `bytes` overlap the last message's view of a read's buffer.
  bool InView(absl::Span<const uint8_t> bytes) const {
    const char* p = reinterpret_cast<const char*>(bytes.data());
    return view != nullptr && p < view + view_size && view < p + bytes.size();
  }
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
