// IoAwaiter: the base of the awaiters of Watcher requests (socket operations,
// sleep). The request's state lives in the awaiting coroutine's promise
// (PromiseBase's request slot), so an awaiter holds only its arguments: I/O
// allocates no frame and adds a few bytes to the awaiting one.
//
// Exact cancellation: a cancel request calls Watcher::cancel(fd, ctx). Either
// it cancelled the request (OK: the request completes with Cancelled,
// exactly once) or the request had already completed (NotFound: its real
// result is on its way, possibly in the batch being handled). Either way the
// coroutine resumes only when the request's one OpResult arrives, so the
// frame and the buffer stay valid until the Watcher is done with them.
#ifndef GAIO_CORO_INTERNAL_IO_OP_H_
#define GAIO_CORO_INTERNAL_IO_OP_H_

#include <coroutine>

#include "coro/internal/fiber.h"
#include "watcher/op_result.h"

namespace gaio::coro::internal {

class IoAwaiter {
 public:
  bool await_ready() const noexcept {
    BumpAwaitEpoch();
    return false;
  }

 protected:
  // Submits through `submit(ctx)` from the awaiting coroutine's request slot.
  template <class P, class Submit>
  static bool Begin(std::coroutine_handle<P> h, int fd, const char* cancelled_message,
                    Submit&& submit) {
    return h.promise().submit(h, fd, cancelled_message, static_cast<Submit&&>(submit));
  }
  // In await_resume: the request's OpResult (valid until the loop's next wait).
  static const OpResult& Completion() { return TakeCompletion(); }
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_IO_OP_H_
