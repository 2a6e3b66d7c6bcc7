// sleep(d): suspends the task for `d` on a Watcher timer.
//
//   absl::Status s = co_await sleep(absl::Milliseconds(10));
//
// Returns OK once `d` has passed (zero or negative: at the loop's next wait
// for I/O; absl::InfiniteDuration(): only a cancellation ends it), Cancelled
// when the task is cancelled meanwhile (the timer is cancelled through
// Watcher::cancel and the task resumes when that is confirmed), or the
// Watcher's error if it refuses the timer. In a task that is already
// cancelled it returns Cancelled at once. Allocates nothing (the timer's
// state lives in the awaiting coroutine's frame). Loop thread only, inside
// EventLoop::run().
#ifndef GAIO_CORO_TIME_H_
#define GAIO_CORO_TIME_H_

#include <coroutine>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coro/event_loop.h"
#include "coro/internal/io_op.h"

namespace gaio::coro {

class [[nodiscard]] SleepAwaiter : public internal::IoAwaiter {
 public:
  explicit SleepAwaiter(absl::Duration d) : d_(d) {}
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    const absl::Duration d = d_;
    return Begin(h, -1, "sleep: task cancelled",
                 [d](void* ctx) { return EventLoop::current()->watcher().after(ctx, d); });
  }
  absl::Status await_resume() const { return Completion().status; }

 private:
  absl::Duration d_;
};

inline SleepAwaiter sleep(absl::Duration d) { return SleepAwaiter(d); }

}  // namespace gaio::coro

#endif  // GAIO_CORO_TIME_H_
