// OpType, OpResult and IsEof: what wait_io() hands back for each request.
#ifndef GAIO_WATCHER_OP_RESULT_H_
#define GAIO_WATCHER_OP_RESULT_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace gaio {

enum class OpType : uint8_t { kRead, kWrite };

// The completion of one request. Produced exactly once for every request that
// a read*/write* call accepted. Valid until the next wait_io() call.
struct OpResult {
  OpType op;
  int fd;
  // Exactly the ctx given when the request was submitted.
  void* ctx;
  // The caller's buffer (whole span as submitted), or, for a swap-buffer read,
  // exactly the bytes read inside the swap buffer.
  absl::Span<char> buffer;
  // Bytes read or written. For reads the data is buffer.data()[0, size).
  // On DeadlineExceeded, Cancelled and errors it is the progress made before.
  size_t size;
  // True when `buffer` points into the Watcher's swap buffer: the bytes stay
  // valid and unchanged until the next wait_io() call, and no longer.
  bool is_swap_buffer;
  // OK; EOF (IsEof); DeadlineExceeded; Cancelled (free/close); otherwise the
  // errno-mapped status of the failed read or write (e.g. ECONNRESET,
  // EPIPE), its message starting with "read" or "write".
  absl::Status status;
};

// True when `status` reports end of file: an OutOfRange status. A plain read
// at EOF completes with size 0; read_full reports the bytes it had filled.
bool IsEof(const absl::Status& status);

}  // namespace gaio

#endif  // GAIO_WATCHER_OP_RESULT_H_
