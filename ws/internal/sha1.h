// SHA-1 (FIPS 180-4), only for Sec-WebSocket-Accept (RFC 6455 4.2.2), where it
// is a checksum, not a security property. Our own ~60 lines rather than
// OpenSSL's libcrypto, so that users of ws:// link no OpenSSL (//ws depends on
// Abseil and zlib only); verified against FIPS test vectors in tests/ws.
#ifndef GAIO_WS_INTERNAL_SHA1_H_
#define GAIO_WS_INTERNAL_SHA1_H_

#include <array>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace gaio::ws::internal {

std::array<uint8_t, 20> Sha1(absl::string_view data);

}  // namespace gaio::ws::internal

#endif  // GAIO_WS_INTERNAL_SHA1_H_
