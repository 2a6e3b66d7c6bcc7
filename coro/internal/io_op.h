// IoOp: the state of one Watcher request awaited by a task (read, write,
// accept, connect). It lives in the awaiting frame: I/O allocates no frame.
//
// Exact cancellation: a cancel request calls Watcher::cancel(fd, this). Either
// it cancelled the request (OK: the request completes with Cancelled, exactly
// once) or the request had already completed (NotFound: its real result is on
// its way, possibly in the batch being handled). Either way the task resumes
// only when the request's one OpResult arrives, so the frame and the buffer
// stay valid until the Watcher is done with them.
#ifndef GAIO_CORO_INTERNAL_IO_OP_H_
#define GAIO_CORO_INTERNAL_IO_OP_H_

#include <coroutine>
#include <cstddef>
#include <utility>

#include "absl/status/status.h"
#include "coro/internal/fiber.h"
#include "watcher/watcher.h"

namespace gaio::coro::internal {

class IoOp : public Operation {
 public:
  IoOp(Watcher* watcher, int fd) : watcher_(watcher), fd_(fd) {}

  bool await_ready() const noexcept { return false; }

  void complete(const OpResult& r) noexcept override {
    fiber_->clear_hook();
    status_ = r.status;
    size_ = r.size;
    data_ = r.buffer.data();
    accepted_fd_ = r.accepted_fd;
    waiter_.resume();
  }
  void request_cancel() noexcept override { watcher_->cancel(fd_, ctx()).IgnoreError(); }

 protected:
  // Submits through `submit` unless the fiber is cancelled; true to suspend.
  template <class P, class Submit>
  bool begin(std::coroutine_handle<P> h, const char* what, Submit&& submit) {
    fiber_ = h.promise().fiber();
    if (fiber_->cancelled()) {
      status_ = absl::CancelledError(what);
      return false;
    }
    absl::Status s = submit();
    if (!s.ok()) {
      status_ = std::move(s);
      return false;
    }
    waiter_ = h;
    fiber_->set_hook(this);
    return true;
  }

  Watcher* watcher_;
  int fd_;
  int accepted_fd_ = -1;
  std::coroutine_handle<> waiter_ = nullptr;
  Fiber* fiber_ = nullptr;
  absl::Status status_;
  size_t size_ = 0;
  char* data_ = nullptr;
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_IO_OP_H_
