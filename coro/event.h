// Event: a flag that tasks can wait for (asyncio.Event).
//
//   Event ready;
//   absl::Status s = co_await ready.wait();   // in a task: OK once set
//   ready.set();                              // elsewhere on the loop
//
// set() makes the flag true and wakes every waiting task (each is resumed
// through the loop, in the order they began to wait); clear() makes it false
// again (tasks already woken still return OK). wait() returns OK at once when
// the flag is set, else suspends until set(). Cancelled when the awaiting
// task is cancelled before it was woken (also at once when the task is
// already cancelled: a cancelled task's every wait returns Cancelled).
// Destroying an Event wakes its waiters with FailedPrecondition (destroying
// it while tasks wait is a bug of the caller, but not a crash).
//
// Waiting allocates nothing (the waiter lives in the awaiting frame).
// Threads: loop thread only, inside EventLoop::run(); one Event serves the
// tasks of one loop.
#ifndef GAIO_CORO_EVENT_H_
#define GAIO_CORO_EVENT_H_

#include <coroutine>

#include "absl/status/status.h"
#include "coro/internal/fiber.h"
#include "coro/internal/wait_queue.h"

namespace gaio::coro {

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void set() {
    set_ = true;
    waiters_.wake_all(internal::Waiter::Outcome::kGranted);
  }
  void clear() { set_ = false; }
  bool is_set() const { return set_; }
  // Tasks waiting now.
  size_t waiters() const { return waiters_.size(); }

  class [[nodiscard]] Awaiter : public internal::QueueAwaiter<Awaiter> {
   public:
    explicit Awaiter(Event* e) : e_(e) {}
    absl::Status await_resume() {
      switch (finish()) {
        case Outcome::kGranted:
          return absl::OkStatus();
        case Outcome::kCancelled:
          return absl::CancelledError("event: task cancelled");
        default:
          return absl::FailedPreconditionError("event destroyed");
      }
    }

   private:
    friend class internal::QueueAwaiter<Awaiter>;
    Outcome try_now() { return e_->set_ ? Outcome::kGranted : Outcome::kNone; }
    internal::WaitQueue* queue() { return &e_->waiters_; }
    Event* e_;
  };
  Awaiter wait() { return Awaiter(this); }

 private:
  internal::WaitQueue waiters_;
  bool set_ = false;
};

}  // namespace gaio::coro

#endif  // GAIO_CORO_EVENT_H_
