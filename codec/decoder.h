// gaio::codec::Decoder: splits a byte stream into frames, sans-I/O. A decoder
// looks at the front of the bytes received so far (e.g. ByteBuffer::data())
// and says how long the first complete frame is; it keeps no pointer to them.
//
//   decode(input) -> Decoded{consumed, frame}:
//     consumed == 0: no complete frame yet (read more and call again);
//     consumed  > 0: `frame` (a view into input, valid as long as input) is
//                    the first frame; drop `consumed` bytes (frame plus its
//                    length prefix or delimiter) before the next call.
//   A failed status (a frame over the decoder's maximum: ResourceExhausted)
//   means the stream cannot be framed; close the connection.
// Implementations are value types used by one thread at a time.
#ifndef GAIO_CODEC_DECODER_H_
#define GAIO_CODEC_DECODER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace gaio::codec {

struct Decoded {
  size_t consumed = 0;
  absl::Span<const uint8_t> frame;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual absl::StatusOr<Decoded> decode(absl::Span<const uint8_t> input) const = 0;
};

}  // namespace gaio::codec

#endif  // GAIO_CODEC_DECODER_H_
