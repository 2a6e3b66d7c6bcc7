// RFC 6455 frame headers: parsing and writing, all three length encodings.
// Pure functions; any thread; no allocation.
#ifndef GAIO_WS_FRAME_H_
#define GAIO_WS_FRAME_H_

#include <cstddef>
#include <cstdint>

namespace gaio::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

inline constexpr size_t kMaxFrameHeaderSize = 14;  // 2 + 8 (length) + 4 (mask key)
inline constexpr size_t kMaxControlPayload = 125;

struct FrameHeader {
  bool fin = true;
  uint8_t rsv = 0;     // RSV1..RSV3 as bits 2..0 (RSV1 = 4: permessage-deflate)
  uint8_t opcode = 0;  // raw 4 bits; may be a reserved value after parsing
  bool masked = false;
  uint8_t mask_key[4] = {0, 0, 0, 0};
  uint64_t payload_size = 0;
};

inline bool IsControlOpcode(uint8_t opcode) { return (opcode & 0x8) != 0; }

// Parses a header from data[0, size). Returns the header's size in bytes and
// fills *header; returns 0 when more bytes are needed; returns -1 for a
// 64-bit length with its top bit set (RFC 6455 5.2). Non-minimal length
// encodings are accepted. Semantic checks (opcode, RSV, masking) are the
// Session's.
int ParseFrameHeader(const uint8_t* data, size_t size, FrameHeader* header);

// Writes `header` (the shortest length encoding) into out, which has room for
// kMaxFrameHeaderSize bytes; returns the bytes written.
size_t WriteFrameHeader(const FrameHeader& header, uint8_t* out);

}  // namespace gaio::ws

#endif  // GAIO_WS_FRAME_H_
