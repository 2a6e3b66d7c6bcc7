// permessage-deflate (RFC 7692) negotiation: the parameters both sides agree
// on in the HTTP upgrade, as Sec-WebSocket-Extensions values. The Session
// compresses and inflates with zlib according to the agreed DeflateParams
// (SessionOptions::deflate). Pure functions; any thread.
//
// Window bits are 9..15 here: zlib's raw deflate cannot produce an 8-bit
// window, so an offer that would make us compress with 8 is declined (the
// connection proceeds uncompressed) and a client answer that asks us for 8 is
// a handshake failure. Inflating accepts any window the peer uses.
#ifndef GAIO_WS_DEFLATE_H_
#define GAIO_WS_DEFLATE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gaio::ws {

struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

// Client: the extension offer for `wanted` (client_max_window_bits is always
// announced, so that the server may lower it).
std::string DeflateOffer(const DeflateParams& wanted);

// Server: the agreed parameters for the first acceptable permessage-deflate
// offer in `extensions` (the request's Sec-WebSocket-Extensions values,
// comma-joined), given the server's own limits `server` (its no-context-
// takeover wishes and largest windows). nullopt when none is acceptable.
std::optional<DeflateParams> NegotiateDeflate(absl::string_view extensions,
                                              const DeflateParams& server);

// Server: the response's extension value for `agreed`.
std::string DeflateResponse(const DeflateParams& agreed);

// Client: the agreed parameters from the server's Sec-WebSocket-Extensions
// value, checked against the offer; an InvalidArgument status (HTTP status
// 101 in its payload) for an extension or parameter not offered.
absl::StatusOr<DeflateParams> ParseDeflateResponse(absl::string_view value,
                                                   const DeflateParams& offered);

}  // namespace gaio::ws

#endif  // GAIO_WS_DEFLATE_H_
