// zlib streams for permessage-deflate (RFC 7692), internal to //ws.
// Each stream allocates its zlib state lazily on first use and frees it on
// reset() (no_context_takeover: after every message), so an idle session
// without context takeover holds no zlib memory. memory() is the zlib state
// bytes held now, counted by our zalloc/zfree.
#ifndef GAIO_WS_INTERNAL_ZSTREAM_H_
#define GAIO_WS_INTERNAL_ZSTREAM_H_

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace gaio::ws::internal {

class Inflater {
 public:
  explicit Inflater(int window_bits) : window_bits_(window_bits) {}
  ~Inflater() { reset(); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates in[0, size) appending to *out; `limit` bounds out->size()
  // (1009 status beyond it). With `finish`, appends the 00 00 ff ff tail of
  // RFC 7692 7.2.2 first-and-last. Corrupt data: a 1002 status.
  absl::Status inflate(const uint8_t* in, size_t size, bool finish, std::string* out,
                       uint64_t limit);
  // Frees the zlib state (the next inflate() starts a new context).
  void reset();
  size_t memory() const { return memory_; }

 private:
  int window_bits_;
  bool active_ = false;
  size_t memory_ = 0;
  z_stream strm_{};
};

class Deflater {
 public:
  Deflater(int window_bits, int mem_level) : window_bits_(window_bits), mem_level_(mem_level) {}
  ~Deflater() { reset(); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Compresses one whole message, appending to *out without the trailing
  // 00 00 ff ff (RFC 7692 7.2.1).
  absl::Status deflate(const uint8_t* in, size_t size, std::string* out);
  void reset();
  size_t memory() const { return memory_; }

 private:
  int window_bits_;
  int mem_level_;
  bool active_ = false;
  size_t memory_ = 0;
  z_stream strm_{};
};

// Both streams of a permessage-deflate session, in one heap block.
struct Zlib {
  Zlib(int inflate_window_bits, int deflate_window_bits, int mem_level)
      : inflater(inflate_window_bits), deflater(deflate_window_bits, mem_level) {}
  Inflater inflater;
  Deflater deflater;
};

}  // namespace gaio::ws::internal

#endif  // GAIO_WS_INTERNAL_ZSTREAM_H_
