// Session: the send side (frames into output(), prepare()).
#include <cstring>

#include "absl/random/random.h"
#include "ws/internal/zstream.h"
#include "ws/mask.h"
#include "ws/session.h"

namespace gaio::ws {
namespace {

// Client mask keys (RFC 6455 10.3: unpredictable): absl::BitGen, seeded from
// the OS once per thread, so a session carries no generator state.
void RandomMaskKey(uint8_t key[4]) {
  thread_local absl::BitGen gen;
  const uint32_t k = absl::Uniform<uint32_t>(gen);
  std::memcpy(key, &k, 4);
}

}  // namespace

absl::Status Session::CheckCanSend() const {
  if (!status_.ok()) return absl::FailedPreconditionError("session failed");
  if (close_sent_) return absl::FailedPreconditionError("close already sent");
  return absl::OkStatus();
}

void Session::QueueFrame(uint8_t opcode, bool rsv1, absl::Span<const uint8_t> payload) {
  FrameHeader h;
  h.fin = true;
  h.rsv = rsv1 ? 4 : 0;
  h.opcode = opcode;
  h.masked = role_ == Role::kClient;
  h.payload_size = payload.size();
  if (h.masked) RandomMaskKey(h.mask_key);
  uint8_t header[kMaxFrameHeaderSize];
  const size_t n = WriteFrameHeader(h, header);
  uint8_t* const dst = out_.Extend(n + payload.size());
  std::memcpy(dst, header, n);
  if (payload.empty()) return;
  if (h.masked) {
    MaskCopy(dst + n, payload.data(), payload.size(), h.mask_key);
  } else {
    std::memcpy(dst + n, payload.data(), payload.size());
  }
}

absl::Status Session::send(MessageType type, absl::Span<const uint8_t> data) {
  if (absl::Status s = CheckCanSend(); !s.ok()) return s;
  if (sending_fragmented_) return absl::FailedPreconditionError("a prepare()d message is open");
  const auto opcode = static_cast<uint8_t>(type);
  if (zlib_ == nullptr) {
    QueueFrame(opcode, false, data);
    return absl::OkStatus();
  }
  std::string compressed;
  if (absl::Status s = zlib_->deflater.deflate(data.data(), data.size(), &compressed); !s.ok()) {
    return s;
  }
  if (own_no_takeover_) zlib_->deflater.reset();
  QueueFrame(
      opcode, true,
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(compressed.data()), compressed.size()));
  return absl::OkStatus();
}

absl::Status Session::send_text(absl::string_view text) {
  return send(MessageType::kText,
              absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

absl::Status Session::send_binary(absl::Span<const uint8_t> data) {
  return send(MessageType::kBinary, data);
}

absl::StatusOr<PreparedFrame> Session::prepare(MessageType type, absl::Span<uint8_t> payload,
                                               bool fin) {
  if (absl::Status s = CheckCanSend(); !s.ok()) return s;
  FrameHeader h;
  h.fin = fin;
  h.opcode = sending_fragmented_ ? 0 : static_cast<uint8_t>(type);
  h.masked = role_ == Role::kClient;
  h.payload_size = payload.size();
  if (h.masked) {
    RandomMaskKey(h.mask_key);
    MaskInPlace(payload.data(), payload.size(), h.mask_key);
  }
  PreparedFrame frame;
  frame.header_size = static_cast<uint8_t>(WriteFrameHeader(h, frame.header_bytes));
  frame.payload = payload;
  sending_fragmented_ = !fin;
  return frame;
}

absl::Status Session::ping(absl::Span<const uint8_t> payload) {
  if (absl::Status s = CheckCanSend(); !s.ok()) return s;
  if (payload.size() > kMaxControlPayload) return absl::InvalidArgumentError("ping over 125 bytes");
  QueueFrame(static_cast<uint8_t>(Opcode::kPing), false, payload);
  return absl::OkStatus();
}

absl::Status Session::pong(absl::Span<const uint8_t> payload) {
  if (absl::Status s = CheckCanSend(); !s.ok()) return s;
  if (payload.size() > kMaxControlPayload) return absl::InvalidArgumentError("pong over 125 bytes");
  QueueFrame(static_cast<uint8_t>(Opcode::kPong), false, payload);
  return absl::OkStatus();
}

absl::Status Session::close(uint16_t code, absl::string_view reason) {
  if (absl::Status s = CheckCanSend(); !s.ok()) return s;
  if (code == kCloseNoStatus) {
    if (!reason.empty()) return absl::InvalidArgumentError("a reason needs a code");
    QueueFrame(static_cast<uint8_t>(Opcode::kClose), false, {});
    close_sent_ = true;
    return absl::OkStatus();
  }
  if (!IsValidWireCloseCode(code)) return absl::InvalidArgumentError("close code not for the wire");
  if (reason.size() > kMaxControlPayload - 2) {
    return absl::InvalidArgumentError("close reason over 123 bytes");
  }
  const auto* r = reinterpret_cast<const uint8_t*>(reason.data());
  if (!IsValidUtf8(r, reason.size())) return absl::InvalidArgumentError("reason is not UTF-8");
  uint8_t payload[kMaxControlPayload];
  payload[0] = static_cast<uint8_t>(code >> 8);
  payload[1] = static_cast<uint8_t>(code);
  if (!reason.empty()) std::memcpy(payload + 2, r, reason.size());
  QueueFrame(static_cast<uint8_t>(Opcode::kClose), false,
             absl::MakeConstSpan(payload, 2 + reason.size()));
  close_sent_ = true;
  return absl::OkStatus();
}

absl::Span<const uint8_t> Session::output() const {
  return absl::MakeConstSpan(out_.data(), out_.size());
}

void Session::consume_output(size_t n) {
  out_.Consume(n);
  if (out_.empty()) out_.Release();  // no buffer while idle
}

}  // namespace gaio::ws
