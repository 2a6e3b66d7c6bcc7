// A minimal HTTP/1.1 head reader for the WebSocket upgrade, internal to //ws:
// collects bytes up to the blank line (with a size limit), then splits the
// start line and the header fields. No allocation beyond the head's bytes.
#ifndef GAIO_WS_INTERNAL_HTTP_H_
#define GAIO_WS_INTERNAL_HTTP_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace gaio::ws::internal {

struct HttpHead {
  std::string bytes;  // the head, up to and including the blank line
  absl::string_view start_line;
  std::vector<std::pair<absl::string_view, absl::string_view>> fields;  // into bytes

  // All values of `name` (case-insensitive), comma-joined.
  std::string Get(absl::string_view name) const;
  bool Has(absl::string_view name) const;
  // Whether a comma-separated value of `name` equals `token` (case-insensitive).
  bool HasToken(absl::string_view name, absl::string_view token) const;
};

// Appends bytes of `in` to head->bytes up to the end of the head. Returns true
// once the head is complete (then parsed into start_line/fields), false when
// more is needed; *consumed is the bytes of `in` used. Errors carry an HTTP
// status: 431 over max_size, 400 for a malformed field.
absl::StatusOr<bool> ReadHead(absl::Span<const uint8_t> in, size_t max_size, HttpHead* head,
                              size_t* consumed);

}  // namespace gaio::ws::internal

#endif  // GAIO_WS_INTERNAL_HTTP_H_
