#include "poller/posix_error.h"

#include <cerrno>
#include <string>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gaio::internal {
namespace {

constexpr char kErrnoUrl[] = "gaio/errno";

absl::StatusCode CodeFor(int err) {
  const absl::StatusCode code = absl::ErrnoToStatusCode(err);
  switch (code) {
    case absl::StatusCode::kDeadlineExceeded:  // ETIMEDOUT, ETIME
      return absl::StatusCode::kUnavailable;
    case absl::StatusCode::kCancelled:  // ECANCELED
      return absl::StatusCode::kAborted;
    case absl::StatusCode::kOutOfRange:  // EFBIG, ERANGE, EOVERFLOW, ECHRNG
      return err == EFBIG ? absl::StatusCode::kResourceExhausted
                          : absl::StatusCode::kInvalidArgument;
    default:
      return code;
  }
}

}  // namespace

absl::Status PosixError(int err, const char* op) {
  // absl::ErrnoToStatus builds the message with a thread-safe strerror.
  absl::Status status(CodeFor(err), absl::ErrnoToStatus(err, op).message());
  status.SetPayload(kErrnoUrl, absl::Cord(absl::StrCat(err)));
  return status;
}

int ErrnoOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kErrnoUrl);
  int err = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &err)) return 0;
  return err;
}

}  // namespace gaio::internal
