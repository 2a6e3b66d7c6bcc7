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

Session::Session(SessionOptions options) : options_(options) {
  if (options_.deflate.has_value()) {
    const DeflateParams& d = *options_.deflate;
    const bool server = options_.role == Role::kServer;
    // Inflate with the peer's window (at least 9: zlib's raw-inflate floor is
    // fine with any smaller window the peer used); deflate with ours.
    const int peer_bits = server ? d.client_max_window_bits : d.server_max_window_bits;
    const int own_bits = server ? d.server_max_window_bits : d.client_max_window_bits;
    inflater_ = std::make_unique<internal::Inflater>(peer_bits < 9 ? 9 : peer_bits);
    deflater_ = std::make_unique<internal::Deflater>(own_bits < 9 ? 9 : own_bits,
                                                     options_.deflate_mem_level);
  }
}

Session::~Session() = default;

void Session::feed(absl::Span<uint8_t> input) {
  if (in_pos_ < in_size_) {
    if (status_.ok())
      status_ = absl::FailedPreconditionError("feed() before next() returned kNone");
    return;
  }
  in_ = input.data();
  in_size_ = input.size();
  in_pos_ = 0;
}

absl::Span<uint8_t> Session::detach_input() {
  const absl::Span<uint8_t> rest(in_ + in_pos_, in_size_ - in_pos_);
  in_pos_ = in_size_;
  return rest;
}

absl::StatusOr<Event> Session::Fail(uint16_t code, absl::string_view why) {
  status_ = MakeCloseStatus(code, why);
  if (!close_sent_) {
    uint8_t payload[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
    QueueFrame(static_cast<uint8_t>(Opcode::kClose), false, absl::MakeConstSpan(payload, 2));
    close_sent_ = true;
  }
  in_ = nullptr;
  in_size_ = in_pos_ = 0;
  std::string().swap(message_);
  if (inflater_) inflater_->reset();
  if (deflater_) deflater_->reset();
  return status_;
}

absl::Status Session::ValidateHeader() {
  const bool server = options_.role == Role::kServer;
  if (server && !frame_.masked)
    return MakeCloseStatus(kCloseProtocolError, "unmasked client frame");
  if (!server && frame_.masked) return MakeCloseStatus(kCloseProtocolError, "masked server frame");
  const uint8_t op = frame_.opcode;
  if (IsControlOpcode(op)) {
    if (op > 0xA) return MakeCloseStatus(kCloseProtocolError, "reserved control opcode");
    if (frame_.rsv != 0) return MakeCloseStatus(kCloseProtocolError, "RSV bits on a control frame");
    if (!frame_.fin) return MakeCloseStatus(kCloseProtocolError, "fragmented control frame");
    if (frame_.payload_size > kMaxControlPayload) {
      return MakeCloseStatus(kCloseProtocolError, "control frame payload over 125 bytes");
    }
    return absl::OkStatus();
  }
  if (op > 0x2) return MakeCloseStatus(kCloseProtocolError, "reserved data opcode");
  const bool deflate = inflater_ != nullptr;
  if ((frame_.rsv & ~kRsv1) != 0 || ((frame_.rsv & kRsv1) != 0 && !deflate)) {
    return MakeCloseStatus(kCloseProtocolError, "reserved RSV bits set");
  }
  if (op == static_cast<uint8_t>(Opcode::kContinuation)) {
    if (!in_message_) return MakeCloseStatus(kCloseProtocolError, "continuation without a start");
    if (frame_.rsv != 0) return MakeCloseStatus(kCloseProtocolError, "RSV1 on a continuation");
  } else if (in_message_) {
    return MakeCloseStatus(kCloseProtocolError, "new message inside a fragmented message");
  }
  const bool compressed =
      op == static_cast<uint8_t>(Opcode::kContinuation) ? message_compressed_ : frame_.rsv != 0;
  const uint64_t prior = op == static_cast<uint8_t>(Opcode::kContinuation) ? message_size_ : 0;
  if (!compressed && (frame_.payload_size > options_.max_message_size ||
                      prior + frame_.payload_size > options_.max_message_size)) {
    return MakeCloseStatus(kCloseTooBig, "message too big");
  }
  return absl::OkStatus();
}

absl::StatusOr<Event> Session::next() {
  if (!status_.ok()) return status_;
  if (release_message_) {
    std::string().swap(message_);
    release_message_ = false;
  }
  if (control_buf_ && !have_frame_) control_buf_.reset();
  if (close_received_) {
    in_ = nullptr;
    in_size_ = in_pos_ = 0;
    return Event{};
  }
  for (;;) {
    const size_t avail = in_size_ - in_pos_;
    uint8_t* const at = in_ + in_pos_;
    if (!have_frame_) {
      if (avail == 0) return Event{};
      int n;
      if (header_len_ == 0) {
        n = ParseFrameHeader(at, avail, &frame_);
        if (n == 0) {  // a partial header (< 14 bytes): keep it
          std::memcpy(header_buf_, at, avail);
          header_len_ = static_cast<uint8_t>(avail);
          in_pos_ = in_size_;
          return Event{};
        }
        if (n > 0) in_pos_ += static_cast<size_t>(n);
      } else {
        const size_t old = header_len_;
        const size_t take = std::min(avail, kMaxFrameHeaderSize - old);
        std::memcpy(header_buf_ + old, at, take);
        n = ParseFrameHeader(header_buf_, old + take, &frame_);
        if (n == 0) {
          header_len_ = static_cast<uint8_t>(old + take);
          in_pos_ += take;
          return Event{};
        }
        if (n > 0) {
          in_pos_ += static_cast<size_t>(n) - old;
          header_len_ = 0;
        }
      }
      if (n < 0) return Fail(kCloseProtocolError, "64-bit length with the top bit set");
      if (absl::Status s = ValidateHeader(); !s.ok()) return Fail(CloseCodeOf(s), s.message());
      have_frame_ = true;
      frame_remaining_ = frame_.payload_size;
      frame_done_ = 0;
      control_len_ = 0;
      if (!IsControlOpcode(frame_.opcode) && frame_.opcode != 0) {
        in_message_ = true;
        message_type_ = static_cast<MessageType>(frame_.opcode);
        message_compressed_ = frame_.rsv != 0;
        message_size_ = 0;
        validated_ = 0;
        utf8_.reset();
      }
      continue;
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(avail, frame_remaining_));
    if (frame_.masked) MaskInPlace(at, take, frame_.mask_key, frame_done_);
    in_pos_ += take;
    if (IsControlOpcode(frame_.opcode)) {
      absl::Span<const uint8_t> payload;
      if (control_len_ == 0 && take == frame_remaining_) {
        payload = absl::MakeConstSpan(at, take);
      } else {
        if (!control_buf_) control_buf_ = std::make_unique<uint8_t[]>(kMaxControlPayload);
        if (take > 0) std::memcpy(control_buf_.get() + control_len_, at, take);
        control_len_ = static_cast<uint8_t>(control_len_ + take);
        frame_remaining_ -= take;
        frame_done_ += take;
        if (frame_remaining_ > 0) return Event{};
        payload = absl::MakeConstSpan(control_buf_.get(), control_len_);
      }
      have_frame_ = false;
      return HandleControl(payload);
    }
    // Data: one whole uncompressed frame in the input is a view.
    if (frame_.fin && frame_.opcode != 0 && !message_compressed_ && frame_done_ == 0 &&
        take == frame_remaining_) {
      have_frame_ = false;
      in_message_ = false;
      const bool text = message_type_ == MessageType::kText;
      if (text && !IsValidUtf8(at, take)) return Fail(kCloseInvalidData, "invalid UTF-8");
      Event event;
      event.type = text ? Event::Type::kText : Event::Type::kBinary;
      event.data = absl::MakeConstSpan(at, take);
      event.zero_copy = true;
      return event;
    }
    if (absl::Status s = AppendData(at, take); !s.ok()) return Fail(CloseCodeOf(s), s.message());
    frame_remaining_ -= take;
    frame_done_ += take;
    if (frame_remaining_ > 0) return Event{};
    have_frame_ = false;
    if (frame_.fin) return Deliver();
  }
}

absl::Status Session::AppendData(uint8_t* data, size_t size) {
  const bool text = message_type_ == MessageType::kText;
  if (!message_compressed_) {
    if (size == 0) return absl::OkStatus();
    if (text && !utf8_.feed(data, size)) return MakeCloseStatus(kCloseInvalidData, "invalid UTF-8");
    if (frame_done_ == 0) {
      // The frame's length is known: one allocation for it (bounded, so that
      // a header alone cannot make us hold much).
      message_.reserve(message_.size() +
                       static_cast<size_t>(std::min<uint64_t>(frame_remaining_, kMaxReserve)));
    }
    message_.append(reinterpret_cast<const char*>(data), size);
    message_size_ += size;
    return absl::OkStatus();
  }
  const bool last = frame_.fin && frame_remaining_ == size;
  // The inflated bytes are checked before an inflate failure is reported, so
  // that the first bad byte decides the close code however the input is split.
  absl::Status inflated =
      inflater_->inflate(data, size, last, &message_, options_.max_message_size);
  message_size_ = message_.size();
  if (text) {
    const auto* p = reinterpret_cast<const uint8_t*>(message_.data());
    if (!utf8_.feed(p + validated_, message_.size() - validated_)) {
      return MakeCloseStatus(kCloseInvalidData, "invalid UTF-8");
    }
    validated_ = message_.size();
  }
  if (!inflated.ok()) return inflated;
  return absl::OkStatus();
}

absl::StatusOr<Event> Session::Deliver() {
  in_message_ = false;
  if (message_compressed_) {
    const DeflateParams& d = *options_.deflate;
    const bool peer_no_takeover = options_.role == Role::kServer ? d.client_no_context_takeover
                                                                 : d.server_no_context_takeover;
    if (peer_no_takeover) inflater_->reset();
  }
  const bool text = message_type_ == MessageType::kText;
  if (text && !utf8_.complete()) return Fail(kCloseInvalidData, "truncated UTF-8");
  Event event;
  event.type = text ? Event::Type::kText : Event::Type::kBinary;
  event.data =
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(message_.data()), message_.size());
  release_message_ = true;
  return event;
}

absl::StatusOr<Event> Session::HandleControl(absl::Span<const uint8_t> payload) {
  Event event;
  event.data = payload;
  switch (static_cast<Opcode>(frame_.opcode)) {
    case Opcode::kPing:
      event.type = Event::Type::kPing;
      if (options_.auto_pong && !close_sent_) {
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
  in_ = nullptr;
  in_size_ = in_pos_ = 0;
  return event;
}

size_t Session::buffered_bytes() const {
  // Capacity beyond the inline (small-string) buffer is on the heap.
  const size_t inline_capacity = std::string().capacity();
  size_t n = 0;
  if (message_.capacity() > inline_capacity) n += message_.capacity();
  if (out_.capacity() > inline_capacity) n += out_.capacity();
  return n;
}

size_t Session::compression_memory() const {
  size_t n = 0;
  if (inflater_) n += inflater_->memory();
  if (deflater_) n += deflater_->memory();
  return n;
}

}  // namespace gaio::ws
