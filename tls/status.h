// gaio::tls statuses: how a TLS session ends or fails, as absl::Status.
//
// Every failure of a Context or a Session is an absl::Status whose code is the
// coarse class below and whose payload (kTlsErrorPayloadUrl) names the precise
// TlsError; GetTlsError() reads it back. The message carries OpenSSL's reason
// text (and the certificate verification result when there is one) for humans;
// do not parse it. Statuses are values: nothing of OpenSSL's per-thread error
// queue outlives the call that produced them (see docs/TLS.md).
//
//   TlsError                    code               when
//   kClosed                     OutOfRange         the peer sent close_notify: a clean end of
//   stream kTruncated                  DataLoss           the transport ended without close_notify
//   (also in
//                                                  the middle of a record or of the handshake)
//   kCorruptRecord              DataLoss           a record failed its integrity check (bad MAC,
//                                                  decryption failure, impossible length)
//   kProtocol                   InvalidArgument    bytes that are not TLS, or a message out of
//   place
//                                                  (garbage instead of a ClientHello, ...)
//   kUnknownCa                  Unauthenticated    the peer's chain does not lead to a trusted CA
//   kCertificateExpired         Unauthenticated    the peer's certificate is expired or not yet
//   valid kHostnameMismatch           Unauthenticated    the peer's certificate is not for the name
//   asked kBadCertificate             Unauthenticated    any other verification failure of the
//   peer's chain kCertificateRequired        Unauthenticated    the server requires a client
//   certificate, none came kPeerRejectedCertificate    Unauthenticated    the peer refused our
//   certificate (its alert) kNoSharedVersion            FailedPrecondition no protocol version both
//   sides allow kNoSharedCipher             FailedPrecondition no cipher suite (or group) both
//   sides allow; on a
//                                                  client, also the peer's generic
//                                                  handshake_failure
//   kNoSharedApplicationProtocol FailedPrecondition ALPN: the server supports none of the offered
//   kRenegotiationRefused       FailedPrecondition the peer tried a TLS 1.2 renegotiation
//   kPeerAlert                  Aborted            the peer ended the connection with another alert
//   kInvalidConfiguration       InvalidArgument    Context: a bad PEM, a key that does not match,
//   ... kInternal                   Internal           anything else from OpenSSL (out of memory,
//   ...)
// Misuse of a Session (writing after shutdown()) is FailedPrecondition with
// kNone.
#ifndef GAIO_TLS_STATUS_H_
#define GAIO_TLS_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gaio::tls {

enum class TlsError {
  kNone,  // OK, or a status that does not come from gaio::tls
  kClosed,
  kTruncated,
  kCorruptRecord,
  kProtocol,
  kUnknownCa,
  kCertificateExpired,
  kHostnameMismatch,
  kBadCertificate,
  kCertificateRequired,
  kPeerRejectedCertificate,
  kNoSharedVersion,
  kNoSharedCipher,
  kNoSharedApplicationProtocol,
  kRenegotiationRefused,
  kPeerAlert,
  kInvalidConfiguration,
  kInternal,
};

// The payload type URL under which a gaio::tls status names its TlsError.
inline constexpr absl::string_view kTlsErrorPayloadUrl = "gaio.tls/TlsError";

// The TlsError of `status`: kNone for OK and for statuses not made here.
TlsError GetTlsError(const absl::Status& status);

// "kClosed", "kTruncated", ...
absl::string_view TlsErrorName(TlsError error);

// A status of the class above for `error`, with `message`.
absl::Status MakeTlsStatus(TlsError error, absl::string_view message);

// The peer closed cleanly (close_notify): GetTlsError(status) == kClosed.
inline bool IsCleanClose(const absl::Status& status) {
  return GetTlsError(status) == TlsError::kClosed;
}

}  // namespace gaio::tls

#endif  // GAIO_TLS_STATUS_H_
