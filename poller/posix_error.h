// The one place where errno becomes an absl::Status.
#ifndef GAIO_POLLER_POSIX_ERROR_H_
#define GAIO_POLLER_POSIX_ERROR_H_

#include "absl/status/status.h"

namespace gaio::internal {

// The status of a failed call `op` ("read", "epoll_ctl") with errno `err`:
// message "op: strerror(err)", the errno attached as a payload (ErrnoOf), and
// absl's canonical code for `err`, except where that code is one the Watcher
// reserves for a request's own outcome: an errno never makes an EOF
// (OutOfRange), a DeadlineExceeded or a Cancelled status. Those errnos map to
// ETIMEDOUT, ETIME -> Unavailable; ECANCELED -> Aborted; EFBIG ->
// ResourceExhausted; ERANGE, EOVERFLOW, ECHRNG -> InvalidArgument.
absl::Status PosixError(int err, const char* op);

// The errno carried by a status PosixError() built, or 0.
int ErrnoOf(const absl::Status& status);

}  // namespace gaio::internal

#endif  // GAIO_POLLER_POSIX_ERROR_H_
