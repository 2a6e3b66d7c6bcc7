#include "tls/internal/openssl_error.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace gaio::tls::internal {
namespace {

// OpenSSL's errors of the queue as text, oldest first; the oldest error of
// the SSL library (the root cause) in *first_ssl_reason (0 when none).
std::string DrainQueue(int* first_ssl_reason) {
  *first_ssl_reason = 0;
  std::string text;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    if (*first_ssl_reason == 0 && ERR_GET_LIB(e) == ERR_LIB_SSL) {
      *first_ssl_reason = ERR_GET_REASON(e);
    }
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&text, text.empty() ? "" : "; ", buf);
  }
  return text;
}

TlsError FromVerifyResult(long result) {
  switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return TlsError::kUnknownCa;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return TlsError::kCertificateExpired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return TlsError::kHostnameMismatch;
    default:
      return TlsError::kBadCertificate;
  }
}

// An alert the peer sent (OpenSSL reports it as reason 1000 + the alert).
TlsError FromAlert(int alert) {
  switch (alert) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED:
      return TlsError::kPeerRejectedCertificate;
    case SSL_AD_HANDSHAKE_FAILURE:
    case SSL_AD_INSUFFICIENT_SECURITY:
      return TlsError::kNoSharedCipher;
    case SSL_AD_PROTOCOL_VERSION:
      return TlsError::kNoSharedVersion;
    case SSL_AD_NO_APPLICATION_PROTOCOL:
      return TlsError::kNoSharedApplicationProtocol;
    case SSL_AD_NO_RENEGOTIATION:
      return TlsError::kRenegotiationRefused;
    default:
      return TlsError::kPeerAlert;
  }
}

TlsError FromReason(int reason, bool handshaking) {
  if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
    return FromAlert(reason - SSL_AD_REASON_OFFSET);
  }
  switch (reason) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return TlsError::kCertificateRequired;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_WRONG_SSL_VERSION:
      return TlsError::kNoSharedVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
      return TlsError::kNoSharedCipher;
    case SSL_R_NO_APPLICATION_PROTOCOL:
      return TlsError::kNoSharedApplicationProtocol;
    case SSL_R_NO_RENEGOTIATION:
      return TlsError::kRenegotiationRefused;
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
      return TlsError::kTruncated;
    case SSL_R_DECRYPTION_FAILED:
    case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
      return TlsError::kCorruptRecord;
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_ENCRYPTED_LENGTH_TOO_LONG:
    case SSL_R_DATA_LENGTH_TOO_LONG:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_BAD_RECORD_TYPE:
    case SSL_R_UNEXPECTED_RECORD:
      // Garbage in place of a first record is not TLS at all; once the
      // handshake is done, the same is a damaged record.
      return handshaking ? TlsError::kProtocol : TlsError::kCorruptRecord;
    default:
      return TlsError::kProtocol;
  }
}

}  // namespace

ErrorScope::ErrorScope() { ERR_clear_error(); }
ErrorScope::~ErrorScope() { ERR_clear_error(); }

absl::Status QueueStatus(TlsError error, absl::string_view what) {
  int reason = 0;
  const std::string text = DrainQueue(&reason);
  return MakeTlsStatus(error, text.empty() ? std::string(what) : absl::StrCat(what, ": ", text));
}

absl::Status SessionStatus(const SSL* ssl, int ssl_error, bool handshaking) {
  int reason = 0;
  std::string text = DrainQueue(&reason);
  switch (ssl_error) {
    case SSL_ERROR_ZERO_RETURN:
      return MakeTlsStatus(TlsError::kClosed, "the peer closed the TLS stream (close_notify)");
    case SSL_ERROR_SSL:
      break;
    case SSL_ERROR_SYSCALL:
      if (reason == 0) {  // our BIO fails only at the end of its input
        return MakeTlsStatus(TlsError::kTruncated,
                             "the transport ended without close_notify (truncated)");
      }
      break;
    default:
      return MakeTlsStatus(TlsError::kInternal,
                           absl::StrCat("unexpected SSL_get_error ", ssl_error, ": ", text));
  }
  if (reason == 0)
    return MakeTlsStatus(TlsError::kInternal, text.empty() ? "OpenSSL failed" : text);
  TlsError error = FromReason(reason, handshaking);
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    const long verify = SSL_get_verify_result(ssl);
    error = FromVerifyResult(verify);
    text = absl::StrCat(X509_verify_cert_error_string(verify), " (", text, ")");
  }
  return MakeTlsStatus(error, absl::StrCat(handshaking ? "TLS handshake: " : "TLS: ", text));
}

}  // namespace gaio::tls::internal
