#include "poller/posix_error.h"

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

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

// strerror_r comes in two shapes: GNU's returns the message (which may or
// may not be in buf), XSI's fills buf and returns 0 or an error (macOS
// still writes "Unknown error: N" into buf then). nullptr: no message.
[[maybe_unused]] const char* MessageOf(const char* gnu_result, const char* /*buf*/) {
  return gnu_result;
}
[[maybe_unused]] const char* MessageOf(int xsi_result, const char* buf) {
  return xsi_result == 0 || buf[0] != '\0' ? buf : nullptr;
}

}  // namespace

absl::Status PosixError(int err, const char* op) {
  // libc's strerror_r, not absl::ErrnoToStatus: Debian's prebuilt Abseil
  // fills a lazily built message table that ThreadSanitizer cannot see being
  // published (the library is not instrumented), so the first errors raised
  // on two poller threads at once were reported as a race.
  char buf[256];
  buf[0] = '\0';
  const char* message = MessageOf(strerror_r(err, buf, sizeof(buf)), buf);
  absl::Status status(CodeFor(err), message != nullptr ? absl::StrCat(op, ": ", message)
                                                       : absl::StrCat(op, ": Unknown error ", err));
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
