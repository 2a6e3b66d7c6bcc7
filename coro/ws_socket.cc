// WsSocket: receive, send and close (ws_socket.h); the upgrade is in
// ws_connect.cc.
#include "coro/ws_socket.h"

#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "coro/internal/ws_impl.h"
#include "coro/sync.h"
#include "coro/time.h"

namespace gaio::coro {

using internal::WsImpl;

namespace {

constexpr absl::string_view kPeerClosePayloadUrl = "gaio.ws/peer_close";

absl::Status PeerClosed(uint16_t code, absl::Span<const uint8_t> reason) {
  absl::Status s = absl::OutOfRangeError(
      absl::StrCat("peer closed the WebSocket: ", code, " ",
                   absl::string_view(reinterpret_cast<const char*>(reason.data()), reason.size())));
  s.SetPayload(kPeerClosePayloadUrl, absl::Cord(absl::StrCat(code)));
  return s;
}

// Feeds data[0, size) to the session and takes events until the first
// message (true, in *msg), the input's end, or the end of receiving (in
// m->end). The input not parsed yet stays in m->rx: `own` says data is
// m->rx's unparsed bytes already; otherwise it is copied there.
bool Parse(WsImpl* m, uint8_t* data, size_t size, bool own, WsMessage* msg) {
  ws::Session& session = m->session;
  session.feed(absl::MakeSpan(data, size));
  bool found = false;
  while (!found) {
    absl::StatusOr<ws::Event> e = session.next();
    if (!e.ok()) {
      m->end = e.status();
      break;
    }
    if (e->type == ws::Event::Type::kNone) break;
    if (e->type == ws::Event::Type::kText || e->type == ws::Event::Type::kBinary) {
      msg->type =
          e->type == ws::Event::Type::kText ? ws::MessageType::kText : ws::MessageType::kBinary;
      msg->data = SwapBytes(reinterpret_cast<const char*>(e->data.data()), e->data.size());
      msg->zero_copy = e->zero_copy;
      found = true;
      if (e->zero_copy && !own) {
        m->view = msg->data.data();
        m->view_size = static_cast<uint32_t>(msg->data.size());
      }
    } else if (e->type == ws::Event::Type::kClose && m->end.ok()) {
      m->end = PeerClosed(e->close_code, e->data);
    }  // pings and pongs: the session queued the pong
  }
  const absl::Span<uint8_t> rest = session.detach_input();
  if (own) {
    m->rx.Consume(m->rx.size() - rest.size());  // (the rest is rx's tail)
    return found;
  }
  const bool hold = found && msg->zero_copy && (!session.output().empty() || !m->end.ok());
  if (!hold) {
    m->rx.Assign(rest.data(), rest.size());
    return found;
  }
  // The message is a view into a read's buffer and a write comes first (a
  // pong): keep it in rx, ahead of the rest (consumed: it stays in place).
  const size_t n = msg->data.size();
  m->rx.Release();
  uint8_t* const held = m->rx.Extend(n + rest.size());  // one block, sized exactly
  if (n > 0) std::memcpy(held, msg->data.data(), n);
  if (!rest.empty()) std::memcpy(held + n, rest.data(), rest.size());
  m->rx.Consume(n);
  msg->data = SwapBytes(reinterpret_cast<const char*>(held), n);
  msg->zero_copy = false;
  m->view = nullptr;
  return found;
}

// Parses the input held in rx (true: a message in *msg); once all of it is
// parsed, releases rx (the message handed out before is over).
bool ParseHeld(WsImpl* m, WsMessage* msg) {
  if (!m->rx.empty() && Parse(m, m->rx.data(), m->rx.size(), true, msg)) return true;
  m->rx.Release();
  return false;
}

// What receive() returns for a failed read: a deadline or a cancel leaves
// the connection usable; anything else ends it.
absl::Status ReadEnded(WsImpl* m, const absl::Status& status) {
  if (absl::IsDeadlineExceeded(status) || absl::IsCancelled(status)) return status;
  m->end = gaio::IsEof(status)
               ? absl::UnavailableError("the WebSocket's transport ended without a close")
               : status;
  m->CloseTransport();
  return m->end;
}

// Receiving ended: writes the close frame and closes (once); returns the
// end. Otherwise writes the queued pongs; OK (a failure is sticky for the
// next send).
Task<absl::Status> Settle(WsImpl* m) {
  if (!m->end.ok()) {
    if (!m->finished) {
      co_await m->Finish();
    }
    co_return m->end;
  }
  absl::Status p = co_await m->Pump(absl::InfiniteFuture());
  p.IgnoreError();
  co_return absl::OkStatus();
}

Task<absl::Status> WaitIdle(Event* idle) { co_return co_await idle->wait(); }

}  // namespace

uint16_t PeerCloseCode(const absl::Status& status) {
  if (status.ok()) return 0;
  const absl::optional<absl::Cord> payload = status.GetPayload(kPeerClosePayloadUrl);
  if (!payload.has_value()) return 0;
  int value = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &value)) return 0;
  return static_cast<uint16_t>(value);
}

WsSocket::WsSocket() = default;
WsSocket::WsSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WsSocket::WsSocket(WsSocket&&) noexcept = default;
WsSocket& WsSocket::operator=(WsSocket&&) noexcept = default;
WsSocket::~WsSocket() = default;

size_t WsSocket::buffered_bytes() const { return impl_ ? impl_->buffered() : 0; }
const std::string& WsSocket::subprotocol() const {
  static const std::string* const kNone = new std::string();
  return impl_->rare != nullptr ? impl_->rare->subprotocol : *kNone;
}
bool WsSocket::compressed() const { return impl_->compressed_session(); }
ws::Session& WsSocket::session() { return impl_->session; }
size_t WsSocket::buffered_memory() const {
  if (!impl_) return 0;
  return impl_->session.buffered_bytes() + impl_->pending.memory() + impl_->rx.memory();
}

// receive() keeps its frame small (it is what an idle connection holds):
// parsing is in plain functions, the rare writes in Settle()'s frame.
namespace {

// The general receive: input held in rx, writes (pongs, the close frame),
// TLS, messages spread over reads. `given`: a message found already (by
// ReceiveOp, which outlives this task).
Task<absl::StatusOr<WsMessage>> ReceiveLoop(WsImpl* m, absl::Time deadline,
                                            const WsMessage* given) {
  WsMessage msg;
  bool found = given != nullptr;
  if (found) {
    msg = *given;
  } else {
    found = ParseHeld(m, &msg);
  }
  for (;;) {
    // Writes first: the end (close frame), or pongs, also those queued with
    // the message found (Parse moved a view of the read's buffer into rx).
    if (!m->end.ok() || !m->session.output().empty()) {
      absl::Status s = co_await Settle(m);
      if (!s.ok()) co_return s;  // (the end is never set with a message)
    }
    if (found) co_return msg;
    m->receiving = true;
    absl::StatusOr<SwapBytes> in;
    if (m->tls() == nullptr) {  // (not a conditional expression: GCC 12)
      in = co_await m->socket.read(deadline);
    } else {
      in = co_await m->tls()->read(deadline);
    }
    m->receiving = false;
    if (!in.ok()) co_return ReadEnded(m, in.status());
    // The session unmasks in place: the read's buffer is ours until the
    // next co_await.
    auto* bytes = const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(in->data()));
    found = Parse(m, bytes, in->size(), false, &msg);
  }
}

}  // namespace

Task<absl::StatusOr<WsMessage>> WsSocket::receive(absl::Time deadline) {
  co_return co_await next_message(deadline);
}

bool WsSocket::ReceiveOp::await_ready() {
  internal::BumpAwaitEpoch();
  if (m_ != nullptr) return false;
  status_ = absl::InvalidArgumentError("empty WsSocket");
  return true;
}

bool WsSocket::ReceiveOp::StartTask(const WsMessage* found) {
  task_ = ReceiveLoop(m_, deadline(), found);
  task_.handle().promise().set_fiber(fiber_);
  return internal::RunInline(task_.handle(), caller_);
}

bool WsSocket::ReceiveOp::Suspend(std::coroutine_handle<> h, internal::Fiber* fiber) {
  caller_ = h;
  fiber_ = fiber;
  m_->view = nullptr;
  if (m_->tls() != nullptr || !m_->rx.empty() || !m_->end.ok() || !m_->session.output().empty()) {
    return StartTask(nullptr);
  }
  m_->rx.Release();  // the message handed out before is over
  // One swap-buffer read, its completion ours (complete() below).
  EventLoop* loop = EventLoop::current();
  absl::Status s = fiber->cancelled() ? absl::CancelledError("read: task cancelled")
                   : loop == nullptr  ? absl::FailedPreconditionError("no loop runs this task")
                   : deadline_ns_ == kNoDeadline
                       ? loop->watcher().read(ctx(), m_->socket.fd(), nullptr)
                       : loop->watcher().read_timeout(ctx(), m_->socket.fd(), nullptr, deadline());
  if (!s.ok()) {
    status_ = ReadEnded(m_, s);
    return false;
  }
  m_->receiving = true;
  fiber->set_hook(this);
  return true;
}

void WsSocket::ReceiveOp::request_cancel() noexcept {
  if (EventLoop* loop = EventLoop::current()) {
    loop->watcher().cancel(m_->socket.fd(), ctx()).IgnoreError();  // NotFound: it completed
  }
}

void WsSocket::ReceiveOp::complete(const OpResult& r) noexcept {
  fiber_->clear_hook();
  m_->receiving = false;
  if (!r.status.ok()) {
    status_ = ReadEnded(m_, r.status);
    caller_.resume();
    return;
  }
  WsMessage msg;
  // The session unmasks in place: the read's buffer is ours until the loop
  // waits again.
  const bool found = Parse(m_, reinterpret_cast<uint8_t*>(r.buffer.data()), r.size, false, &msg);
  if (found && msg.zero_copy && m_->session.output().empty()) {
    type_ = msg.type;  // the bytes: m_->view (Parse set it), see await_resume()
    caller_.resume();
    return;
  }
  // More to do (pongs to write, a message not complete yet): the general
  // path, which resumes the caller when it is done.
  if (!StartTask(found ? &msg : nullptr)) caller_.resume();
}

absl::StatusOr<WsMessage> WsSocket::ReceiveOp::await_resume() {
  if (task_.valid()) return std::move(task_.handle().promise().result());
  if (!status_.ok()) return std::move(status_);
  WsMessage msg;  // made while the read's buffer is still fresh (see complete())
  msg.type = type_;
  msg.data = SwapBytes(m_->view, m_->view_size);
  msg.zero_copy = true;
  return msg;
}

Task<absl::Status> WsSocket::send(ws::MessageType type, absl::Span<const uint8_t> data) {
  WsImpl* m = impl_.get();
  if (m == nullptr) co_return absl::InvalidArgumentError("empty WsSocket");
  if (!m->failed.ok()) co_return m->failed;
  ws::Session& session = m->session;
  if (session.role() == ws::Role::kClient || m->compressed_session() ||
      session.sending_fragmented()) {
    // Masked or compressed: the session makes the frame (a copy).
    absl::Status q = session.send(type, data);
    if (!q.ok()) co_return q;
    co_return co_await m->Pump(absl::InfiniteFuture());
  }
  // Server role, uncompressed: the header from prepare(), the payload from
  // the caller's buffer (prepare() leaves it as it is for this role).
  absl::StatusOr<ws::PreparedFrame> frame =
      session.prepare(type, absl::MakeSpan(const_cast<uint8_t*>(data.data()), data.size()));
  if (!frame.ok()) co_return frame.status();
  co_return co_await m->Pump(
      absl::InfiniteFuture(),
      absl::MakeConstSpan(reinterpret_cast<const char*>(frame->header_bytes), frame->header_size),
      absl::MakeConstSpan(reinterpret_cast<const char*>(data.data()), data.size()),
      m->InView(data));
}

Task<absl::Status> WsSocket::send_text(absl::string_view text) {
  co_return co_await send(
      ws::MessageType::kText,
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Task<absl::Status> WsSocket::send_binary(absl::Span<const uint8_t> data) {
  co_return co_await send(ws::MessageType::kBinary, data);
}

Task<absl::Status> WsSocket::send_fragment(ws::MessageType type, absl::Span<const uint8_t> data,
                                           bool fin) {
  WsImpl* m = impl_.get();
  if (m == nullptr) co_return absl::InvalidArgumentError("empty WsSocket");
  if (!m->failed.ok()) co_return m->failed;
  // The client role masks in place: a copy of the caller's bytes.
  std::string copy;
  absl::Span<uint8_t> payload(const_cast<uint8_t*>(data.data()), data.size());
  const bool in_view = m->InView(data);
  if (m->session.role() == ws::Role::kClient) {
    copy.assign(reinterpret_cast<const char*>(data.data()), data.size());
    payload = absl::MakeSpan(reinterpret_cast<uint8_t*>(copy.data()), copy.size());
  }
  absl::StatusOr<ws::PreparedFrame> frame = m->session.prepare(type, payload, fin);
  if (!frame.ok()) co_return frame.status();
  co_return co_await m->Pump(
      absl::InfiniteFuture(),
      absl::MakeConstSpan(reinterpret_cast<const char*>(frame->header_bytes), frame->header_size),
      absl::MakeConstSpan(reinterpret_cast<const char*>(payload.data()), payload.size()), in_view);
}

Task<absl::Status> WsSocket::ping(absl::Span<const uint8_t> payload) {
  WsImpl* m = impl_.get();
  if (m == nullptr) co_return absl::InvalidArgumentError("empty WsSocket");
  if (!m->failed.ok()) co_return m->failed;
  absl::Status q = m->session.ping(payload);
  if (!q.ok()) co_return q;
  co_return co_await m->Pump(absl::InfiniteFuture());
}

Task<absl::Status> WsSocket::close(uint16_t code, absl::string_view reason, absl::Time deadline) {
  WsImpl* m = impl_.get();
  if (m == nullptr) co_return absl::InvalidArgumentError("empty WsSocket");
  if (!m->failed.ok()) co_return m->failed;
  if (!m->session.close_sent()) {
    absl::Status q = m->session.close(code, reason);
    if (!q.ok()) co_return q;
  }
  absl::Status p = co_await m->Pump(deadline);
  if (!p.ok()) {
    m->CloseTransport();
    co_return p;
  }
  if (m->receiving || m->session.close_received()) co_return absl::OkStatus();
  for (;;) {
    absl::StatusOr<WsMessage> r = co_await receive(deadline);
    if (r.ok()) continue;  // discarded
    if (PeerCloseCode(r.status()) != 0) co_return absl::OkStatus();
    m->CloseTransport();
    co_return r.status();
  }
}

Task<absl::Status> WsSocket::drain(absl::Time deadline) {
  WsImpl* m = impl_.get();
  if (m == nullptr) co_return absl::InvalidArgumentError("empty WsSocket");
  if (m->writing && m->idle() == nullptr) {  // the first drain()
    m->MakeRare().idle = std::make_unique<Event>();
  }
  while (m->writing && m->failed.ok()) {
    absl::Status w = co_await with_timeout(WaitIdle(m->idle()), deadline - absl::Now());
    if (!w.ok()) co_return w;
  }
  co_return m->failed;
}

}  // namespace gaio::coro
