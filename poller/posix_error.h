// The one place where errno becomes an absl::Status.
#ifndef GAIO_POLLER_POSIX_ERROR_H_
#define GAIO_POLLER_POSIX_ERROR_H_

#include "absl/status/status.h"

namespace gaio::internal {

// Returns absl::ErrnoToStatus(err, op): the canonical code for `err` with a
// message "op: strerror(err)". `op` names the failed call ("read", "epoll_ctl").
absl::Status PosixError(int err, const char* op);

}  // namespace gaio::internal

#endif  // GAIO_POLLER_POSIX_ERROR_H_
