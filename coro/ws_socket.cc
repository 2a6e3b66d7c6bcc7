// WsSocket: receive, send and close (ws_socket.h); the upgrade is in
// ws_connect.cc.
#include "coro/ws_socket.h"

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

// A message found in one read, before it is handed out.
struct Found {
  ws::MessageType type = ws::MessageType::kBinary;
  const char* data = nullptr;
  size_t size = 0;
  bool zero_copy = false;
};

// next() until kNone: the first message (a view into the input, or copied
// into m->current), later ones queued; the end (failure, peer close) in m->end.
std::optional<Found> Batch(WsImpl* m) {
  std::optional<Found> first;
  for (;;) {
    absl::StatusOr<ws::Event> e = m->session->next();
    if (!e.ok()) {
      m->end = e.status();
      return first;
    }
    switch (e->type) {
      case ws::Event::Type::kNone:
        return first;
      case ws::Event::Type::kText:
      case ws::Event::Type::kBinary: {
        const ws::MessageType type =
            e->type == ws::Event::Type::kText ? ws::MessageType::kText : ws::MessageType::kBinary;
        const char* data = reinterpret_cast<const char*>(e->data.data());
        if (!first.has_value() && e->zero_copy) {
          first = Found{type, data, e->data.size(), true};
        } else if (!first.has_value()) {
          m->current.assign(data, e->data.size());
          first = Found{type, m->current.data(), m->current.size(), false};
        } else {
          m->queue.push_back(WsImpl::Queued{type, std::string(data, e->data.size())});
        }
        break;
      }
      case ws::Event::Type::kPing:
      case ws::Event::Type::kPong:
        break;  // pongs are queued by the session
      case ws::Event::Type::kClose:
        if (m->end.ok()) m->end = PeerClosed(e->close_code, e->data);
        break;
    }
  }
}

Task<absl::Status> WaitIdle(Event* idle) { co_return co_await idle->wait(); }

WsMessage Hand(const Found& f) {
  WsMessage msg;
  msg.type = f.type;
  msg.data = SwapBytes(f.data, f.size);
  msg.zero_copy = f.zero_copy;
  return msg;
}

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
const std::string& WsSocket::subprotocol() const { return impl_->subprotocol; }
bool WsSocket::compressed() const { return impl_->compressed; }
ws::Session& WsSocket::session() { return *impl_->session; }
size_t WsSocket::buffered_memory() const {
  if (!impl_) return 0;
  const size_t inline_capacity = std::string().capacity();  // no heap block
  size_t bytes =
      impl_->session->buffered_bytes() + impl_->queue.capacity() * sizeof(WsImpl::Queued);
  for (const std::string* s :
       {&impl_->pending, &impl_->inflight, &impl_->current, &impl_->hold, &impl_->handshake_rest}) {
    if (s->capacity() > inline_capacity) bytes += s->capacity();
  }
  return bytes;
}

Task<absl::StatusOr<WsMessage>> WsSocket::receive(absl::Time deadline) {
  WsImpl* m = impl_.get();
  if (m == nullptr) co_return absl::InvalidArgumentError("empty WsSocket");
  std::string().swap(m->hold);  // the previous message's input
  if (m->queue_pos < m->queue.size()) {
    m->current = std::move(m->queue[m->queue_pos].data);
    const ws::MessageType type = m->queue[m->queue_pos].type;
    if (++m->queue_pos == m->queue.size()) {
      std::vector<WsImpl::Queued>().swap(m->queue);
      m->queue_pos = 0;
    }
    co_return Hand(Found{type, m->current.data(), m->current.size(), false});
  }
  std::string().swap(m->current);
  if (!m->end.ok()) co_return m->end;
  m->receiving = true;
  std::optional<Found> first;
  if (!m->handshake_rest.empty()) {  // frame bytes that came with the upgrade
    m->hold.swap(m->handshake_rest);
    m->session->feed(absl::MakeSpan(reinterpret_cast<uint8_t*>(m->hold.data()), m->hold.size()));
    first = Batch(m);
  }
  while (!first.has_value() && m->end.ok()) {
    absl::StatusOr<SwapBytes> in = co_await m->Read(deadline);
    if (!in.ok()) {
      m->receiving = false;
      if (absl::IsDeadlineExceeded(in.status()) || absl::IsCancelled(in.status())) {
        co_return in.status();
      }
      m->end = gaio::IsEof(in.status())
                   ? absl::UnavailableError("the WebSocket's transport ended without a close")
                   : in.status();
      m->CloseTransport();
      co_return m->end;
    }
    // The session unmasks in place: the read's buffer is ours until the
    // next co_await.
    uint8_t* bytes = const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(in->data()));
    m->session->feed(absl::MakeSpan(bytes, in->size()));
    first = Batch(m);
    if (!m->session->output().empty() || !m->end.ok()) {
      if (first.has_value() && first->zero_copy) {  // writing below ends the view
        m->current.assign(first->data, first->size);
        first = Found{first->type, m->current.data(), m->current.size(), false};
      }
      if (!m->end.ok()) {
        co_await m->Finish();
      } else {
        absl::Status p = co_await m->Pump(absl::InfiniteFuture());
        p.IgnoreError();  // sticky: the next operation reports it
      }
    }
  }
  m->receiving = false;
  if (!first.has_value() && !m->end.ok() && !m->finished) {
    co_await m->Finish();
  }
  if (!first.has_value()) co_return m->end;
  co_return Hand(*first);
}

Task<absl::Status> WsSocket::send(ws::MessageType type, absl::Span<const uint8_t> data) {
  WsImpl* m = impl_.get();
  if (m == nullptr) co_return absl::InvalidArgumentError("empty WsSocket");
  if (!m->failed.ok()) co_return m->failed;
  absl::Status q = m->session->send(type, data);
  if (!q.ok()) co_return q;
  co_return co_await m->Pump(absl::InfiniteFuture());
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
  std::string copy(reinterpret_cast<const char*>(data.data()), data.size());
  absl::StatusOr<ws::PreparedFrame> frame = m->session->prepare(
      type, absl::MakeSpan(reinterpret_cast<uint8_t*>(copy.data()), copy.size()), fin);
  if (!frame.ok()) co_return frame.status();
  m->TakeOutput();  // control frames queued earlier go first
  m->pending.append(reinterpret_cast<const char*>(frame->header().data()), frame->header().size());
  m->pending.append(copy);
  co_return co_await m->Pump(absl::InfiniteFuture());
}

Task<absl::Status> WsSocket::ping(absl::Span<const uint8_t> payload) {
  WsImpl* m = impl_.get();
  if (m == nullptr) co_return absl::InvalidArgumentError("empty WsSocket");
  if (!m->failed.ok()) co_return m->failed;
  absl::Status q = m->session->ping(payload);
  if (!q.ok()) co_return q;
  co_return co_await m->Pump(absl::InfiniteFuture());
}

Task<absl::Status> WsSocket::close(uint16_t code, absl::string_view reason, absl::Time deadline) {
  WsImpl* m = impl_.get();
  if (m == nullptr) co_return absl::InvalidArgumentError("empty WsSocket");
  if (!m->failed.ok()) co_return m->failed;
  if (!m->session->close_sent()) {
    absl::Status q = m->session->close(code, reason);
    if (!q.ok()) co_return q;
  }
  absl::Status p = co_await m->Pump(deadline);
  if (!p.ok()) {
    m->CloseTransport();
    co_return p;
  }
  if (m->receiving || m->session->close_received()) co_return absl::OkStatus();
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
  while (m->writing && m->failed.ok()) {
    absl::Status w = co_await with_timeout(WaitIdle(&m->idle), deadline - absl::Now());
    if (!w.ok()) co_return w;
  }
  co_return m->failed;
}

}  // namespace gaio::coro
