#include "codec/line.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace gaio::codec {

absl::StatusOr<Decoded> LineCodec::decode(absl::Span<const uint8_t> input) const {
  // Look no further than a maximal line and its "\r\n".
  const size_t window = std::min(input.size(), max_line_ + 2);
  const void* nl = window > 0 ? std::memchr(input.data(), '\n', window) : nullptr;
  if (nl == nullptr) {
    if (input.size() > max_line_ + 1) {
      return absl::ResourceExhaustedError(absl::StrCat("line over ", max_line_, " bytes"));
    }
    return Decoded{};
  }
  const size_t at = static_cast<size_t>(static_cast<const uint8_t*>(nl) - input.data());
  size_t length = at;
  if (length > 0 && input[length - 1] == '\r') --length;
  if (length > max_line_) {
    return absl::ResourceExhaustedError(absl::StrCat("line over ", max_line_, " bytes"));
  }
  return Decoded{at + 1, input.first(length)};
}

absl::Status LineCodec::encode(absl::string_view line, ByteBuffer* out) const {
  if (line.size() > max_line_) return absl::InvalidArgumentError("line too long");
  if (line.find('\n') != absl::string_view::npos) {
    return absl::InvalidArgumentError("a newline inside the line");
  }
  out->append(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(line.data()), line.size()));
  const uint8_t nl = '\n';
  out->append(absl::MakeConstSpan(&nl, 1));
  return absl::OkStatus();
}

}  // namespace gaio::codec
