// gaio::codec::LineCodec: lines ending in "\n" (a preceding "\r" is dropped
// from the frame). A line longer than max_line bytes without its newline
// fails decode() with ResourceExhausted as soon as that many bytes are seen
// without a newline. See decoder.h.
#ifndef GAIO_CODEC_LINE_H_
#define GAIO_CODEC_LINE_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "codec/byte_buffer.h"
#include "codec/decoder.h"

namespace gaio::codec {

class LineCodec : public Decoder {
 public:
  explicit LineCodec(size_t max_line = 8192) : max_line_(max_line) {}

  absl::StatusOr<Decoded> decode(absl::Span<const uint8_t> input) const override;

  // Appends `line` and "\n"; InvalidArgument if it contains a newline or is
  // longer than max_line.
  absl::Status encode(absl::string_view line, ByteBuffer* out) const;

 private:
  size_t max_line_;
};

}  // namespace gaio::codec

#endif  // GAIO_CODEC_LINE_H_
