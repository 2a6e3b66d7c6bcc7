// gaio::codec::LengthPrefixedCodec: frames of a 4-byte big-endian length then
// that many bytes (Sonic's length-prefixed codec). Frames longer than
// max_size fail decode() with ResourceExhausted as soon as the length is
// read; encode() refuses them with InvalidArgument. See decoder.h.
#ifndef GAIO_CODEC_LENGTH_PREFIXED_H_
#define GAIO_CODEC_LENGTH_PREFIXED_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "codec/byte_buffer.h"
#include "codec/decoder.h"

namespace gaio::codec {

class LengthPrefixedCodec : public Decoder {
 public:
  static constexpr size_t kPrefixSize = 4;

  explicit LengthPrefixedCodec(size_t max_size = size_t{1} << 20) : max_size_(max_size) {}

  absl::StatusOr<Decoded> decode(absl::Span<const uint8_t> input) const override;

  // Writes the prefix for a payload of `size` bytes into out[0, 4) (for a
  // writev of prefix + payload without copying the payload).
  absl::Status encode_prefix(size_t size, uint8_t out[kPrefixSize]) const;
  // Appends prefix and payload to *out.
  absl::Status encode(absl::Span<const uint8_t> payload, ByteBuffer* out) const;

 private:
  size_t max_size_;
};

}  // namespace gaio::codec

#endif  // GAIO_CODEC_LENGTH_PREFIXED_H_
