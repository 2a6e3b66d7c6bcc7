#include "tests/ws/ws_test_util.h"

#include "ws/frame.h"
#include "ws/mask.h"

namespace gaio::ws::testing {

std::string Frame(uint8_t opcode, absl::string_view payload, bool fin, bool masked, uint8_t rsv) {
  FrameHeader h;
  h.fin = fin;
  h.rsv = rsv;
  h.opcode = opcode;
  h.masked = masked;
  h.payload_size = payload.size();
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::copy(key, key + 4, h.mask_key);
  uint8_t header[kMaxFrameHeaderSize];
  const size_t n = WriteFrameHeader(h, header);
  std::string out(reinterpret_cast<const char*>(header), n);
  std::string body(payload);
  if (masked) MaskInPlace(reinterpret_cast<uint8_t*>(body.data()), body.size(), key);
  return out + body;
}

Outcome FeedAll(Session& session, absl::string_view bytes, size_t piece) {
  Outcome outcome;
  if (piece == 0) piece = bytes.size() > 0 ? bytes.size() : 1;
  std::string copy(bytes);
  size_t pos = 0;
  do {
    const size_t n = std::min(piece, copy.size() - pos);
    session.feed(absl::MakeSpan(reinterpret_cast<uint8_t*>(copy.data()) + pos, n));
    pos += n;
    for (;;) {
      absl::StatusOr<Event> event = session.next();
      if (!event.ok()) {
        outcome.status = event.status();
        return outcome;
      }
      if (event->type == Event::Type::kNone) break;
      outcome.events.push_back(
          {event->type, std::string(event->text()), event->close_code, event->zero_copy});
    }
  } while (pos < copy.size());
  return outcome;
}

std::string TakeOutput(Session& session) {
  absl::Span<const uint8_t> out = session.output();
  std::string bytes(reinterpret_cast<const char*>(out.data()), out.size());
  session.consume_output(out.size());
  return bytes;
}

std::vector<std::pair<int, std::string>> ParseFrames(absl::string_view bytes) {
  std::vector<std::pair<int, std::string>> frames;
  while (!bytes.empty()) {
    FrameHeader h;
    const int n =
        ParseFrameHeader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &h);
    if (n <= 0 || bytes.size() - n < h.payload_size) break;
    std::string payload(bytes.substr(n, h.payload_size));
    if (h.masked)
      MaskInPlace(reinterpret_cast<uint8_t*>(payload.data()), payload.size(), h.mask_key);
    frames.emplace_back(h.opcode | ((h.rsv & 4) ? 0x40 : 0), payload);
    bytes.remove_prefix(n + h.payload_size);
  }
  return frames;
}

}  // namespace gaio::ws::testing
