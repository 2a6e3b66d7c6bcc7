// gaio::ws statuses: how a WebSocket session or handshake fails, as absl::Status.
//
// A failure of the session carries the close code RFC 6455 requires the
// endpoint to send (CloseCodeOf()); the session has already queued that close
// frame in its output, so the adapter writes the output and closes the socket.
// A failure of the HTTP upgrade carries the HTTP status (HttpStatusOf()): on
// the server, the status to answer with (ServerHandshake::reject() builds the
// response); on the client, the status the server answered with.
//
//   condition                                   absl code           close / HTTP
//   protocol violation (bad opcode, RSV bits,   InvalidArgument     1002
//     unmasked client frame, bad fragmentation,
//     control frame > 125 bytes, bad close code)
//   invalid UTF-8 in a text message or reason   InvalidArgument     1007
//   message larger than max_message_size        ResourceExhausted   1009
//     (after inflation with permessage-deflate)
//   corrupt compressed data                     InvalidArgument     1002
//   misuse (send after close, ...)              FailedPrecondition  0 (nothing sent)
//   handshake: malformed request / response     InvalidArgument     400
//   handshake: header block too large           ResourceExhausted   431
//   handshake: unsupported version              FailedPrecondition  426
//   handshake: server answered 3xx              FailedPrecondition  the 3xx (Location in message
//                                                                   and
//                                                                   ClientHandshake::location())
//   handshake: server answered another status   FailedPrecondition  that status
//   handshake: bad Sec-WebSocket-Accept, bad    InvalidArgument     the 101 received
//     extension or subprotocol in the answer
// The message is for humans; do not parse it.
#ifndef GAIO_WS_STATUS_H_
#define GAIO_WS_STATUS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gaio::ws {

// RFC 6455 section 7.4.1 close codes used by this package.
enum CloseCode : uint16_t {
  kCloseNormal = 1000,
  kCloseGoingAway = 1001,
  kCloseProtocolError = 1002,
  kCloseUnsupportedData = 1003,
  kCloseNoStatus = 1005,  // never on the wire: a close frame without a code
  kCloseAbnormal = 1006,  // never on the wire: the transport ended without a close
  kCloseInvalidData = 1007,
  kClosePolicyViolation = 1008,
  kCloseTooBig = 1009,
  kCloseMandatoryExtension = 1010,
  kCloseInternalError = 1011,
  kCloseTlsHandshake = 1015,  // never on the wire
};

inline constexpr absl::string_view kCloseCodePayloadUrl = "gaio.ws/close_code";
inline constexpr absl::string_view kHttpStatusPayloadUrl = "gaio.ws/http_status";

// The close code a failed session status asks to send; 0 for OK and for
// statuses not made by a Session.
uint16_t CloseCodeOf(const absl::Status& status);

// The HTTP status of a handshake failure; 0 for OK and other statuses.
int HttpStatusOf(const absl::Status& status);

// A session failure: the absl code follows from `close_code` (table above).
absl::Status MakeCloseStatus(uint16_t close_code, absl::string_view message);

// A handshake failure with HTTP status `http_status` and absl code `code`.
absl::Status MakeHttpStatus(absl::StatusCode code, int http_status, absl::string_view message);

// Whether `code` may appear in a close frame on the wire (RFC 6455 7.4):
// 1000-1003, 1007-1011 (and 1012-1014, registered since), 3000-4999.
bool IsValidWireCloseCode(uint16_t code);

}  // namespace gaio::ws

#endif  // GAIO_WS_STATUS_H_
