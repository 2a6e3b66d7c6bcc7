#include "ws/frame.h"

#include <cstring>

namespace gaio::ws {

int ParseFrameHeader(const uint8_t* data, size_t size, FrameHeader* header) {
  if (size < 2) return 0;
  const uint8_t b0 = data[0];
  const uint8_t b1 = data[1];
  header->fin = (b0 & 0x80) != 0;
  header->rsv = (b0 >> 4) & 0x7;
  header->opcode = b0 & 0x0F;
  header->masked = (b1 & 0x80) != 0;
  size_t need = 2;
  const uint8_t len7 = b1 & 0x7F;
  if (len7 == 126) need += 2;
  if (len7 == 127) need += 8;
  if (header->masked) need += 4;
  if (size < need) return 0;
  size_t pos = 2;
  if (len7 < 126) {
    header->payload_size = len7;
  } else if (len7 == 126) {
    header->payload_size = (uint64_t{data[2]} << 8) | data[3];
    pos = 4;
  } else {
    uint64_t n = 0;
    for (size_t i = 0; i < 8; ++i) n = (n << 8) | data[2 + i];
    if ((n >> 63) != 0) return -1;
    header->payload_size = n;
    pos = 10;
  }
  if (header->masked) {
    std::memcpy(header->mask_key, data + pos, 4);
    pos += 4;
  }
  return static_cast<int>(pos);
}

size_t WriteFrameHeader(const FrameHeader& header, uint8_t* out) {
  out[0] = static_cast<uint8_t>((header.fin ? 0x80 : 0) | ((header.rsv & 7) << 4) |
                                (header.opcode & 0x0F));
  const uint8_t mask_bit = header.masked ? 0x80 : 0;
  size_t pos = 2;
  const uint64_t n = header.payload_size;
  if (n < 126) {
    out[1] = static_cast<uint8_t>(mask_bit | n);
  } else if (n <= 0xFFFF) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<uint8_t>(n >> 8);
    out[3] = static_cast<uint8_t>(n);
    pos = 4;
  } else {
    out[1] = mask_bit | 127;
    for (size_t i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(n >> (56 - 8 * i));
    pos = 10;
  }
  if (header.masked) {
    std::memcpy(out + pos, header.mask_key, 4);
    pos += 4;
  }
  return pos;
}

}  // namespace gaio::ws
