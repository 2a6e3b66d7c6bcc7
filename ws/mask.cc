#include "ws/mask.h"

#include <cstring>

namespace gaio::ws {

// The key is rotated so that byte i of the payload meets key[(offset+i)%4];
// unaligned head bytes one at a time, then 8-byte words (which the compiler
// vectorizes at -O2), then the tail.
void MaskCopy(uint8_t* dst, const uint8_t* src, size_t size, const uint8_t key[4], size_t offset) {
  uint8_t k[4];
  for (size_t i = 0; i < 4; ++i) k[i] = key[(offset + i) & 3];
  size_t i = 0;
  // Head: up to the 8-byte alignment of dst.
  while (i < size && (reinterpret_cast<uintptr_t>(dst + i) & 7) != 0) {
    dst[i] = src[i] ^ k[i & 3];
    ++i;
  }
  if (size - i >= 8) {
    uint8_t rotated[8];
    for (size_t j = 0; j < 8; ++j) rotated[j] = k[(i + j) & 3];
    uint64_t word_key;
    std::memcpy(&word_key, rotated, 8);
    // Four words per iteration: independent XORs the CPU overlaps.
    for (; size - i >= 32; i += 32) {
      uint64_t w[4];
      std::memcpy(w, src + i, 32);
      w[0] ^= word_key;
      w[1] ^= word_key;
      w[2] ^= word_key;
      w[3] ^= word_key;
      std::memcpy(dst + i, w, 32);
    }
    for (; size - i >= 8; i += 8) {
      uint64_t w;
      std::memcpy(&w, src + i, 8);
      w ^= word_key;
      std::memcpy(dst + i, &w, 8);
    }
  }
  for (; i < size; ++i) dst[i] = src[i] ^ k[i & 3];
}

void MaskInPlace(uint8_t* data, size_t size, const uint8_t key[4], size_t offset) {
  MaskCopy(data, data, size, key, offset);
}

}  // namespace gaio::ws
