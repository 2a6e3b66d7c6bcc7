#include "ws/utf8.h"

#include <cstring>

namespace gaio::ws {
namespace {

// Bjoern Hoehrmann's DFA (http://bjoern.hoehrmann.de/utf-8/decoder/dfa/,
// MIT): byte classes, then transitions in multiples of 12.
constexpr uint8_t kClass[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 9,
    9, 9, 9, 9, 9, 9, 9, 9, 9,  9, 9, 9, 9, 9, 9, 7, 7, 7, 7, 7, 7, 7,  7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7,  7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 8, 2, 2,  2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2,  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 10, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 4, 3, 3, 11, 6, 6, 6, 5, 8, 8, 8, 8, 8, 8, 8, 8, 8,  8, 8,
};

constexpr uint8_t kTransition[108] = {
    0,  12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 0,  12, 12, 12, 12, 12, 0,  12, 0,  12, 12, 12, 24, 12, 12, 12, 12, 12, 24,
    12, 24, 12, 12, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12,
    12, 12, 12, 24, 12, 12, 12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, 12, 36, 12, 12,
    12, 12, 12, 36, 12, 36, 12, 12, 12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
};

}  // namespace

bool Utf8Validator::feed(const uint8_t* data, size_t size) {
  uint8_t state = state_;
  size_t i = 0;
  while (i < size) {
    // ASCII fast path, 8 bytes at a time, between code points.
    if (state == kAccept) {
      while (size - i >= 8) {
        uint64_t w;
        std::memcpy(&w, data + i, 8);
        if ((w & 0x8080808080808080ULL) != 0) break;
        i += 8;
      }
      if (i == size) break;
    }
    state = kTransition[state + kClass[data[i]]];
    ++i;
    if (state == kReject) break;
  }
  state_ = state;
  return state != kReject;
}

bool IsValidUtf8(const uint8_t* data, size_t size) {
  Utf8Validator v;
  return v.feed(data, size) && v.complete();
}

}  // namespace gaio::ws
