// WebSocket payload masking (RFC 6455 5.3): XOR with a 4-byte key, repeated.
// Masking and unmasking are the same operation. Pure functions; any thread.
#ifndef GAIO_WS_MASK_H_
#define GAIO_WS_MASK_H_

#include <cstddef>
#include <cstdint>

namespace gaio::ws {

// XORs data[0, size) in place with `key`, as if the payload began `offset`
// bytes before data (so a payload can be masked in pieces). Eight bytes at a
// time on aligned words; no allocation.
void MaskInPlace(uint8_t* data, size_t size, const uint8_t key[4], size_t offset = 0);

// Writes src XOR key into dst (dst and src may be equal, not overlap otherwise).
void MaskCopy(uint8_t* dst, const uint8_t* src, size_t size, const uint8_t key[4],
              size_t offset = 0);

}  // namespace gaio::ws

#endif  // GAIO_WS_MASK_H_
