// Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing
// above U+10FFFF), for text messages that arrive in pieces. A code point may
// be split across calls. Fails on the first byte that cannot start or continue
// a valid sequence, so a bad message is refused as soon as it is seen.
// A value type: 1 byte of state, no allocation, one thread at a time.
#ifndef GAIO_WS_UTF8_H_
#define GAIO_WS_UTF8_H_

#include <cstddef>
#include <cstdint>

namespace gaio::ws {

class Utf8Validator {
 public:
  // Validates the next bytes; false once any byte so far was invalid.
  bool feed(const uint8_t* data, size_t size);
  // True when everything fed is valid and no code point is left incomplete.
  bool complete() const { return state_ == kAccept; }
  void reset() { state_ = kAccept; }

 private:
  static constexpr uint8_t kAccept = 0;
  static constexpr uint8_t kReject = 12;
  uint8_t state_ = kAccept;
};

// Whole-buffer validation.
bool IsValidUtf8(const uint8_t* data, size_t size);

}  // namespace gaio::ws

#endif  // GAIO_WS_UTF8_H_
