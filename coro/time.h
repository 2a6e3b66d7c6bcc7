// sleep(d): suspends the task for `d` on a Watcher timer.
//
//   absl::Status s = co_await sleep(absl::Milliseconds(10));
//
// Returns OK once `d` has passed (zero or negative: at the loop's next wait
// for I/O; absl::InfiniteDuration(): only a cancellation ends it), Cancelled
// when the task is cancelled meanwhile (the timer is cancelled through
// Watcher::cancel and the task resumes when that is confirmed), or the
// Watcher's error if it refuses the timer. In a task that is already
// cancelled it returns Cancelled at once. Allocates nothing (the awaiter
// lives in the awaiting frame). Loop thread only, inside EventLoop::run().
#ifndef GAIO_CORO_TIME_H_
#define GAIO_CORO_TIME_H_

#include <coroutine>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coro/event_loop.h"
#include "coro/internal/fiber.h"

namespace gaio::coro {

class [[nodiscard]] SleepAwaiter : public internal::Operation {
 public:
  explicit SleepAwaiter(absl::Duration d) : d_(d) {}

  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    fiber_ = h.promise().fiber();
    return begin(h);
  }
  absl::Status await_resume() { return std::move(status_); }

  void complete(const OpResult& r) noexcept override;
  void request_cancel() noexcept override;

 private:
  bool begin(std::coroutine_handle<> h);

  absl::Duration d_;
  std::coroutine_handle<> waiter_ = nullptr;
  internal::Fiber* fiber_ = nullptr;
  EventLoop* loop_ = nullptr;
  absl::Status status_;
};

inline SleepAwaiter sleep(absl::Duration d) { return SleepAwaiter(d); }

}  // namespace gaio::coro

#endif  // GAIO_CORO_TIME_H_
