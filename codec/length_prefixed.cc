#include "codec/length_prefixed.h"

#include "absl/strings/str_cat.h"

namespace gaio::codec {

absl::StatusOr<Decoded> LengthPrefixedCodec::decode(absl::Span<const uint8_t> input) const {
  if (input.size() < kPrefixSize) return Decoded{};
  const uint32_t size = (uint32_t{input[0]} << 24) | (uint32_t{input[1]} << 16) |
                        (uint32_t{input[2]} << 8) | input[3];
  if (size > max_size_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("frame of ", size, " bytes over the maximum of ", max_size_));
  }
  if (input.size() - kPrefixSize < size) return Decoded{};
  return Decoded{kPrefixSize + size, input.subspan(kPrefixSize, size)};
}

absl::Status LengthPrefixedCodec::encode_prefix(size_t size, uint8_t out[kPrefixSize]) const {
  if (size > max_size_ || size > UINT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame of ", size, " bytes over the maximum of ", max_size_));
  }
  out[0] = static_cast<uint8_t>(size >> 24);
  out[1] = static_cast<uint8_t>(size >> 16);
  out[2] = static_cast<uint8_t>(size >> 8);
  out[3] = static_cast<uint8_t>(size);
  return absl::OkStatus();
}

absl::Status LengthPrefixedCodec::encode(absl::Span<const uint8_t> payload, ByteBuffer* out) const {
  uint8_t prefix[kPrefixSize];
  if (absl::Status s = encode_prefix(payload.size(), prefix); !s.ok()) return s;
  out->append(absl::MakeConstSpan(prefix, kPrefixSize));
  out->append(payload);
  return absl::OkStatus();
}

}  // namespace gaio::codec
