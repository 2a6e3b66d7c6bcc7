#include "tls/status.h"

#include <array>
#include <string>

#include "absl/strings/cord.h"

namespace gaio::tls {
namespace {

struct ErrorInfo {
  TlsError error;
  absl::string_view name;
  absl::StatusCode code;
};

// Indexed by TlsError.
constexpr std::array<ErrorInfo, 18> kErrors = {{
    {TlsError::kNone, "kNone", absl::StatusCode::kUnknown},
    {TlsError::kClosed, "kClosed", absl::StatusCode::kOutOfRange},
    {TlsError::kTruncated, "kTruncated", absl::StatusCode::kDataLoss},
    {TlsError::kCorruptRecord, "kCorruptRecord", absl::StatusCode::kDataLoss},
    {TlsError::kProtocol, "kProtocol", absl::StatusCode::kInvalidArgument},
    {TlsError::kUnknownCa, "kUnknownCa", absl::StatusCode::kUnauthenticated},
    {TlsError::kCertificateExpired, "kCertificateExpired", absl::StatusCode::kUnauthenticated},
    {TlsError::kHostnameMismatch, "kHostnameMismatch", absl::StatusCode::kUnauthenticated},
    {TlsError::kBadCertificate, "kBadCertificate", absl::StatusCode::kUnauthenticated},
    {TlsError::kCertificateRequired, "kCertificateRequired", absl::StatusCode::kUnauthenticated},
    {TlsError::kPeerRejectedCertificate, "kPeerRejectedCertificate",
     absl::StatusCode::kUnauthenticated},
    {TlsError::kNoSharedVersion, "kNoSharedVersion", absl::StatusCode::kFailedPrecondition},
    {TlsError::kNoSharedCipher, "kNoSharedCipher", absl::StatusCode::kFailedPrecondition},
    {TlsError::kNoSharedApplicationProtocol, "kNoSharedApplicationProtocol",
     absl::StatusCode::kFailedPrecondition},
    {TlsError::kRenegotiationRefused, "kRenegotiationRefused",
     absl::StatusCode::kFailedPrecondition},
    {TlsError::kPeerAlert, "kPeerAlert", absl::StatusCode::kAborted},
    {TlsError::kInvalidConfiguration, "kInvalidConfiguration", absl::StatusCode::kInvalidArgument},
    {TlsError::kInternal, "kInternal", absl::StatusCode::kInternal},
}};

const ErrorInfo& Info(TlsError error) { return kErrors[static_cast<size_t>(error)]; }

}  // namespace

TlsError GetTlsError(const absl::Status& status) {
  if (status.ok()) return TlsError::kNone;
  const absl::optional<absl::Cord> payload = status.GetPayload(kTlsErrorPayloadUrl);
  if (!payload.has_value()) return TlsError::kNone;
  const std::string name(*payload);
  for (const ErrorInfo& info : kErrors) {
    if (info.name == name) return info.error;
  }
  return TlsError::kNone;
}

absl::string_view TlsErrorName(TlsError error) { return Info(error).name; }

absl::Status MakeTlsStatus(TlsError error, absl::string_view message) {
  const ErrorInfo& info = Info(error);
  absl::Status status(info.code, message);
  if (error != TlsError::kNone) {
    status.SetPayload(kTlsErrorPayloadUrl, absl::Cord(info.name));
  }
  return status;
}

}  // namespace gaio::tls
