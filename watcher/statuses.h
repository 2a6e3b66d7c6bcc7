// The statuses of a request's own outcomes, shared and immutable: copying
// one into an OpResult costs a reference-count increment instead of an
// allocation per completion. Internal to //watcher.
#ifndef GAIO_WATCHER_STATUSES_H_
#define GAIO_WATCHER_STATUSES_H_

#include "absl/status/status.h"

namespace gaio::internal {

inline const absl::Status& EofStatus() {
  static const absl::Status* const kEof = new absl::Status(absl::OutOfRangeError("EOF"));
  return *kEof;
}

inline const absl::Status& DeadlineStatus() {
  static const absl::Status* const kDeadline =
      new absl::Status(absl::DeadlineExceededError("deadline exceeded"));
  return *kDeadline;
}

inline const absl::Status& CancelledStatus() {
  static const absl::Status* const kCancelled = new absl::Status(absl::CancelledError("cancelled"));
  return *kCancelled;
}

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_STATUSES_H_
