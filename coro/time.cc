#include "coro/time.h"

namespace gaio::coro {

bool SleepAwaiter::begin(std::coroutine_handle<> h) {
  if (fiber_->cancelled()) {
    status_ = absl::CancelledError("sleep: task cancelled");
    return false;
  }
  loop_ = EventLoop::current();
  absl::Status s = loop_->watcher().after(ctx(), d_);
  if (!s.ok()) {
    status_ = std::move(s);
    return false;
  }
  waiter_ = h;
  fiber_->set_hook(this);
  return true;
}

void SleepAwaiter::complete(const OpResult& r) noexcept {
  fiber_->clear_hook();
  status_ = r.status;
  waiter_.resume();
}

void SleepAwaiter::request_cancel() noexcept {
  // OK: the timer completes with Cancelled; NotFound: it has fired and its
  // OK is on its way (maybe in this very batch). Either way exactly one
  // completion resumes the task.
  loop_->watcher().cancel(-1, ctx()).IgnoreError();
}

}  // namespace gaio::coro
