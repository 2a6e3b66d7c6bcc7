#include "poller/posix_error.h"

#include "absl/status/status.h"

namespace gaio::internal {

absl::Status PosixError(int err, const char* op) {
  return absl::ErrnoToStatus(err, op);
}

}  // namespace gaio::internal
