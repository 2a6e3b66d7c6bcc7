// OpType, OpResult and IsEof: what wait_io() hands back for each request.
#ifndef GAIO_WATCHER_OP_RESULT_H_
#define GAIO_WATCHER_OP_RESULT_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace gaio {

// What a request was: read*/recv_from (kRead), write*/writev/send_to
// (kWrite), accept, connect, after (kTimer), post, wait_readable
// (kReadable), wait_writable (kWritable).
enum class OpType : uint8_t {
  kRead,
  kWrite,
  kAccept,
  kConnect,
  kTimer,
  kPost,
  kReadable,
  kWritable
};

// The completion of one request. Produced exactly once for every request that
// a read*/write* call accepted. Valid until the next wait_io() call.
struct OpResult {
  OpType op;
  // The request's fd; -1 for kTimer and kPost.
  int fd;
  // Exactly the ctx given when the request was submitted.
  void* ctx;
  // The caller's buffer (whole span as submitted), or, for a swap-buffer read,
  // exactly the bytes read inside the swap buffer. Empty for writev, accept,
  // connect, timers, posts and readiness requests.
  absl::Span<char> buffer;
  // Bytes read or written (writev: all its buffers). For reads the data is
  // buffer.data()[0, size). On DeadlineExceeded, Cancelled and errors it is
  // the progress made before. 0 for the other kinds.
  size_t size;
  // True when `buffer` points into the Watcher's swap buffer: the bytes stay
  // valid and unchanged until the next wait_io() call, and no longer.
  bool is_swap_buffer;
  // The request's own outcomes: OK; EOF (IsEof, an OutOfRange status);
  // DeadlineExceeded (its deadline passed); Cancelled (free/close).
  // Otherwise the read or write failed: a status carrying the errno
  // (ErrnoOf, e.g. ECONNRESET, EPIPE), its message starting with "read" or
  // "write"; or, if the Watcher's poller failed, that failure's status
  // (its errno too). An errno never yields OutOfRange, DeadlineExceeded or
  // Cancelled: ETIMEDOUT (a TCP retransmission timeout) and ETIME are
  // Unavailable, ECANCELED is Aborted, EFBIG ResourceExhausted, ERANGE and
  // EOVERFLOW InvalidArgument. kAccept and kConnect failures carry their
  // errno the same way, with "accept" or "connect" in the message. Cancelled
  // also comes from cancel() and release().
  absl::Status status;
  // kAccept with OK: the new connection, non-blocking and close-on-exec, not
  // yet owned by any Watcher (the caller closes it or submits a request on
  // it). -1 otherwise.
  int accepted_fd = -1;
  // recv_from: the sender's address, in memory the Watcher owns, valid until
  // the next wait_io() call. nullptr otherwise.
  const sockaddr* peer = nullptr;
  socklen_t peer_len = 0;
};

// True when `status` reports end of file: an OutOfRange status. A plain read
// at EOF completes with size 0; read_full reports the bytes it had filled.
bool IsEof(const absl::Status& status);

// The errno behind a failed completion (or a failed call of the Watcher), 0
// when the status does not come from an errno (OK, EOF, DeadlineExceeded,
// Cancelled, InvalidArgument for bad arguments, ...).
int ErrnoOf(const absl::Status& status);

}  // namespace gaio

#endif  // GAIO_WATCHER_OP_RESULT_H_
