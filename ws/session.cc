// Session: construction and the receive side (frames in, events out).
#include "ws/session.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "ws/internal/zstream.h"
#include "ws/mask.h"

namespace gaio::ws {
namespace {

constexpr uint8_t kRsv1 = 4;
constexpr uint64_t kMaxReserve = uint64_t{1} << 20;

uint16_t ReadBe16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

// The receive state of a frame or message that straddles inputs (or is
// compressed): allocated by BeginFrame() or for a partial header, freed by
// next() once nothing straddles and the event it backs is over.
struct Session::Receive {
  FrameHeader frame;  // the frame being read (have_frame)
  uint64_t frame_remaining = 0;
  uint64_t frame_done = 0;
  // The data message being read (in_message).
  uint64_t message_size = 0;
  size_t validated = 0;  // bytes of message checked as UTF-8 (compressed)
  std::string message;
  bool have_frame = false;
  bool in_message = false;
  bool message_compressed = false;
  MessageType message_type = MessageType::kBinary;
  Utf8Validator utf8;
  uint8_t header_len = 0;  // bytes of a partial header in header_buf
  uint8_t control_len = 0;
  uint8_t header_buf[kMaxFrameHeaderSize];
  uint8_t control_buf[kMaxControlPayload];  // a control payload split across inputs

  bool straddles() const { return have_frame || in_message || header_len != 0; }
};

Session::Session(SessionOptions options)
    : max_message_size_(options.max_message_size),
      role_(options.role),
      auto_pong_(options.auto_pong) {
  if (options.deflate.has_value()) {
    const DeflateParams& d = *options.deflate;
    const bool server = role_ == Role::kServer;
    // Inflate with the peer's window (at least 9: zlib's raw-inflate floor is
    // fine with any smaller window the peer used); deflate with ours.
    const int peer_bits = server ? d.client_max_window_bits : d.server_max_window_bits;
    const int own_bits = server ? d.server_max_window_bits : d.client_max_window_bits;
    zlib_ = std::make_unique<internal::Zlib>(
        peer_bits < 9 ? 9 : peer_bits, own_bits < 9 ? 9 : own_bits, options.deflate_mem_level);
    own_no_takeover_ = server ? d.server_no_context_takeover : d.client_no_context_takeover;
    peer_no_takeover_ = server ? d.client_no_context_takeover : d.server_no_context_takeover;
  }
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

void Session::feed(absl::Span<uint8_t> input) {
  if (in_ != in_end_) {
    if (status_.ok())
      status_ = absl::FailedPreconditionError("feed() before next() returned kNone");
    return;
  }
  in_ = input.data();
  in_end_ = in_ + input.size();
}

absl::Span<uint8_t> Session::detach_input() {
  const absl::Span<uint8_t> rest(in_, static_cast<size_t>(in_end_ - in_));
  in_ = in_end_;
  return rest;
}

absl::StatusOr<Event> Session::Fail(uint16_t code, absl::string_view why) {
  status_ = MakeCloseStatus(code, why);
  if (!close_sent_) {
    uint8_t payload[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
    QueueFrame(static_cast<uint8_t>(Opcode::kClose), false, absl::MakeConstSpan(payload, 2));
    close_sent_ = true;
  }
  in_ = in_end_ = nullptr;
  rx_.reset();
  if (zlib_) {
    zlib_->inflater.reset();
    zlib_->deflater.reset();
  }
  return status_;
}

absl::Status Session::ValidateHeader(const FrameHeader& h) const {
  const bool server = role_ == Role::kServer;
  if (server && !h.masked) return MakeCloseStatus(kCloseProtocolError, "unmasked client frame");
  if (!server && h.masked) return MakeCloseStatus(kCloseProtocolError, "masked server frame");
  const uint8_t op = h.opcode;
  if (IsControlOpcode(op)) {
    if (op > 0xA) return MakeCloseStatus(kCloseProtocolError, "reserved control opcode");
    if (h.rsv != 0) return MakeCloseStatus(kCloseProtocolError, "RSV bits on a control frame");
    if (!h.fin) return MakeCloseStatus(kCloseProtocolError, "fragmented control frame");
    if (h.payload_size > kMaxControlPayload) {
      return MakeCloseStatus(kCloseProtocolError, "control frame payload over 125 bytes");
    }
    return absl::OkStatus();
  }
  if (op > 0x2) return MakeCloseStatus(kCloseProtocolError, "reserved data opcode");
  if ((h.rsv & ~kRsv1) != 0 || ((h.rsv & kRsv1) != 0 && zlib_ == nullptr)) {
    return MakeCloseStatus(kCloseProtocolError, "reserved RSV bits set");
  }
  const bool in_message = rx_ != nullptr && rx_->in_message;
  const bool continuation = op == static_cast<uint8_t>(Opcode::kContinuation);
  if (continuation) {
    if (!in_message) return MakeCloseStatus(kCloseProtocolError, "continuation without a start");
    if (h.rsv != 0) return MakeCloseStatus(kCloseProtocolError, "RSV1 on a continuation");
  } else if (in_message) {
    return MakeCloseStatus(kCloseProtocolError, "new message inside a fragmented message");
  }
  const bool compressed = continuation ? rx_->message_compressed : h.rsv != 0;
  const uint64_t prior = continuation ? rx_->message_size : 0;
  if (!compressed &&
      (h.payload_size > max_message_size_ || prior + h.payload_size > max_message_size_)) {
    return MakeCloseStatus(kCloseTooBig, "message too big");
  }
  return absl::OkStatus();
}

// Reads the next frame header from the input, completing one kept from an
// earlier input: > 0 when *h is complete (its bytes consumed), 0 when more
// input is needed (a partial header is kept in the receive state), -1 for a
// 64-bit length with its top bit set.
int Session::ReadHeader(FrameHeader* h) {
  const size_t avail = static_cast<size_t>(in_end_ - in_);
  if (rx_ == nullptr || rx_->header_len == 0) {
    const int n = ParseFrameHeader(in_, avail, h);
    if (n > 0) in_ += n;
    if (n == 0 && avail > 0) {  // a partial header (< 14 bytes): keep it
      if (rx_ == nullptr) rx_ = std::make_unique<Receive>();
      std::memcpy(rx_->header_buf, in_, avail);
      rx_->header_len = static_cast<uint8_t>(avail);
      in_ = in_end_;
    }
    return n;
  }
  Receive& r = *rx_;
  const size_t old = r.header_len;
  const size_t take = std::min(avail, kMaxFrameHeaderSize - old);
  if (take > 0) std::memcpy(r.header_buf + old, in_, take);
  const int n = ParseFrameHeader(r.header_buf, old + take, h);
  if (n == 0) {
    r.header_len = static_cast<uint8_t>(old + take);
    in_ += take;
  } else if (n > 0) {
    in_ += static_cast<size_t>(n) - old;
    r.header_len = 0;
  }
  return n;
}

Session::Receive& Session::BeginFrame(const FrameHeader& h) {
  if (rx_ == nullptr) rx_ = std::make_unique<Receive>();
  Receive& r = *rx_;
  r.frame = h;
  r.have_frame = true;
  r.frame_remaining = h.payload_size;
  r.frame_done = 0;
  r.control_len = 0;
  if (!IsControlOpcode(h.opcode) && h.opcode != 0) {
    r.in_message = true;
    r.message_type = static_cast<MessageType>(h.opcode);
    r.message_compressed = h.rsv != 0;
    r.message_size = 0;
    r.validated = 0;
    r.message.clear();
    r.utf8.reset();
  }
  return r;
}

absl::StatusOr<Event> Session::next() {
  if (!status_.ok()) return status_;
  // The message or control payload handed out last is over: a receive state
  // with nothing straddling inputs goes (after the peer's close, any state).
  if (rx_ != nullptr && (close_received_ || !rx_->straddles())) rx_.reset();
  if (close_received_) {
    in_ = in_end_ = nullptr;
    return Event{};
  }
  for (;;) {
    if (rx_ == nullptr || !rx_->have_frame) {
      FrameHeader h;
      const int n = ReadHeader(&h);
      if (n == 0) return Event{};  // a partial header is kept in rx_
      if (n < 0) return Fail(kCloseProtocolError, "64-bit length with the top bit set");
      if (absl::Status s = ValidateHeader(h); !s.ok()) return Fail(CloseCodeOf(s), s.message());
      // The fast paths: a control frame, or a whole uncompressed message, in
      // one frame within this input: no copy, no receive state.
      uint8_t* const at = in_;
      if (h.payload_size <= static_cast<uint64_t>(in_end_ - in_) &&
          (IsControlOpcode(h.opcode) || (h.fin && h.opcode != 0 && h.rsv == 0))) {
        const auto size = static_cast<size_t>(h.payload_size);
        if (h.masked) MaskInPlace(at, size, h.mask_key);
        in_ += size;
        if (IsControlOpcode(h.opcode))
          return HandleControl(h.opcode, absl::MakeConstSpan(at, size));
        const bool text = h.opcode == static_cast<uint8_t>(Opcode::kText);
        if (text && !IsValidUtf8(at, size)) return Fail(kCloseInvalidData, "invalid UTF-8");
        Event event;
        event.type = text ? Event::Type::kText : Event::Type::kBinary;
        event.data = absl::MakeConstSpan(at, size);
        event.zero_copy = true;
        return event;
      }
      BeginFrame(h);
      continue;
    }
    Receive& r = *rx_;
    uint8_t* const at = in_;
    const auto take = static_cast<size_t>(
        std::min<uint64_t>(static_cast<uint64_t>(in_end_ - in_), r.frame_remaining));
    if (r.frame.masked) MaskInPlace(at, take, r.frame.mask_key, r.frame_done);
    in_ += take;
    if (IsControlOpcode(r.frame.opcode)) {
      if (take > 0) std::memcpy(r.control_buf + r.control_len, at, take);
      r.control_len = static_cast<uint8_t>(r.control_len + take);
      r.frame_remaining -= take;
      r.frame_done += take;
      if (r.frame_remaining > 0) return Event{};
      r.have_frame = false;
      return HandleControl(r.frame.opcode, absl::MakeConstSpan(r.control_buf, r.control_len));
    }
    if (absl::Status s = AppendData(r, at, take); !s.ok()) {
      return Fail(CloseCodeOf(s), s.message());
    }
    r.frame_remaining -= take;
    r.frame_done += take;
    if (r.frame_remaining > 0) return Event{};
    r.have_frame = false;
    if (r.frame.fin) return Deliver(r);
  }
}

absl::Status Session::AppendData(Receive& r, uint8_t* data, size_t size) {
  const bool text = r.message_type == MessageType::kText;
  if (!r.message_compressed) {
    if (size == 0) return absl::OkStatus();
    if (text && !r.utf8.feed(data, size)) {
      return MakeCloseStatus(kCloseInvalidData, "invalid UTF-8");
    }
    if (r.frame_done == 0) {
      // The frame's length is known: one allocation for it (bounded, so that
      // a header alone cannot make us hold much).
      r.message.reserve(r.message.size() +
                        static_cast<size_t>(std::min<uint64_t>(r.frame_remaining, kMaxReserve)));
    }
    r.message.append(reinterpret_cast<const char*>(data), size);
    r.message_size += size;
    return absl::OkStatus();
  }
  const bool last = r.frame.fin && r.frame_remaining == size;
  // The inflated bytes are checked before an inflate failure is reported, so
  // that the first bad byte decides the close code however the input is split.
  absl::Status inflated = zlib_->inflater.inflate(data, size, last, &r.message, max_message_size_);
  r.message_size = r.message.size();
  if (text) {
    const auto* p = reinterpret_cast<const uint8_t*>(r.message.data());
    if (!r.utf8.feed(p + r.validated, r.message.size() - r.validated)) {
      return MakeCloseStatus(kCloseInvalidData, "invalid UTF-8");
    }
    r.validated = r.message.size();
  }
  if (!inflated.ok()) return inflated;
  return absl::OkStatus();
}

absl::StatusOr<Event> Session::Deliver(Receive& r) {
  r.in_message = false;
  if (r.message_compressed && peer_no_takeover_) zlib_->inflater.reset();
  const bool text = r.message_type == MessageType::kText;
  if (text && !r.utf8.complete()) return Fail(kCloseInvalidData, "truncated UTF-8");
  Event event;
  event.type = text ? Event::Type::kText : Event::Type::kBinary;
  event.data =
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(r.message.data()), r.message.size());
  return event;  // r is freed by the next call of next()
}

absl::StatusOr<Event> Session::HandleControl(uint8_t opcode, absl::Span<const uint8_t> payload) {
  Event event;
  event.data = payload;
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kPing:
      event.type = Event::Type::kPing;
      if (auto_pong_ && !close_sent_) {
        QueueFrame(static_cast<uint8_t>(Opcode::kPong), false, payload);
      }
      return event;
    case Opcode::kPong:
      event.type = Event::Type::kPong;
      return event;
    case Opcode::kClose:
      break;
    default:
      return Fail(kCloseProtocolError, "reserved control opcode");
  }
  event.type = Event::Type::kClose;
  event.close_code = kCloseNoStatus;
  if (payload.size() == 1) return Fail(kCloseProtocolError, "1-byte close payload");
  if (payload.size() >= 2) {
    event.close_code = ReadBe16(payload.data());
    if (!IsValidWireCloseCode(event.close_code)) {
      return Fail(kCloseProtocolError, "invalid close code");
    }
    event.data = payload.subspan(2);
    if (!IsValidUtf8(event.data.data(), event.data.size())) {
      return Fail(kCloseInvalidData, "close reason is not UTF-8");
    }
  }
  close_received_ = true;
  if (!close_sent_) {
    // Echo the code (RFC 6455 5.5.1); an empty close is answered empty.
    QueueFrame(static_cast<uint8_t>(Opcode::kClose), false,
               payload.size() >= 2 ? payload.first(2) : absl::Span<const uint8_t>());
    close_sent_ = true;
  }
  in_ = in_end_ = nullptr;
  return event;
}

size_t Session::buffered_bytes() const {
  // A std::string's capacity beyond its inline (small-string) buffer is on
  // the heap.
  const size_t inline_capacity = std::string().capacity();
  size_t n = out_.memory();
  if (rx_ != nullptr) {
    n += sizeof(Receive);
    if (rx_->message.capacity() > inline_capacity) n += rx_->message.capacity();
  }
  return n;
}

size_t Session::compression_memory() const {
  if (zlib_ == nullptr) return 0;
  return zlib_->inflater.memory() + zlib_->deflater.memory();
}

}  // namespace gaio::ws
