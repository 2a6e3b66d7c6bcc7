// TimeoutGroup: with_timeout's state. One child task and one Watcher timer;
// the awaiter resumes once both have reported (the child finished AND the
// timer completed or was confirmed cancelled), so neither can outlive it.
#ifndef GAIO_CORO_INTERNAL_TIMEOUT_H_
#define GAIO_CORO_INTERNAL_TIMEOUT_H_

#include <coroutine>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coro/event_loop.h"
#include "coro/internal/fiber.h"
#include "coro/internal/group.h"
#include "coro/result.h"
#include "coro/task.h"

namespace gaio::coro::internal {

class TimeoutBase : public GroupBase {
 public:
  bool ready() const noexcept { return false; }
  void await_resume() { resumed(); }
  bool timed_out() const { return timed_out_; }
  bool parent_cancelled() const { return parent_cancelled_; }
  const absl::Status& timer_error() const { return timer_error_; }

 protected:
  explicit TimeoutBase(absl::Duration d) : d_(d) {}
  virtual void cancel_child() noexcept = 0;
  virtual bool child_finished() const = 0;

  void on_child_done(size_t, const absl::Status&) noexcept override {
    // The timer is still pending (or its completion is on its way): cancel
    // it; its one completion arrives either way.
    if (timer_pending_) loop_->watcher().cancel(-1, timer_.ctx()).IgnoreError();
  }
  void cancel_children() noexcept override { cancel_child(); }
  // Submits the timer; false (with timer_error_) if the Watcher refuses it.
  bool arm() {
    loop_ = EventLoop::current();
    timer_error_ = loop_->watcher().after(timer_.ctx(), d_);
    timer_pending_ = timer_error_.ok();
    return timer_pending_;
  }

 private:
  class Timer final : public Operation {
   public:
    explicit Timer(TimeoutBase* g) : g_(g) {}
    void complete(const OpResult& r) noexcept override {
      g_->timer_pending_ = false;
      if (r.status.ok() && !g_->child_finished()) {
        g_->timed_out_ = true;
        g_->cancel_child();
      }
      std::coroutine_handle<> next = g_->arrive();
      next.resume();  // the awaiter, or a no-op
    }
    void request_cancel() noexcept override {}

   private:
    TimeoutBase* g_;
  };

  absl::Duration d_;
  EventLoop* loop_ = nullptr;
  Timer timer_{this};
  absl::Status timer_error_;
  bool timer_pending_ = false;
  bool timed_out_ = false;
};

template <class T>
class TimeoutGroup final : public TimeoutBase {
 public:
  TimeoutGroup(Task<T> task, absl::Duration d) : TimeoutBase(d), child_(std::move(task)) {}
  TimeoutGroup(const TimeoutGroup&) = delete;
  TimeoutGroup& operator=(const TimeoutGroup&) = delete;
  GroupAwaiter<TimeoutGroup> wait() { return GroupAwaiter<TimeoutGroup>(this); }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (!arm()) return false;  // the Watcher refused the timer: nothing runs
    return suspend(h, 2);
  }
  Result<T> take_result() { return child_.take_result(); }

 private:
  void cancel_child() noexcept override { child_.cancel(); }
  bool child_finished() const override { return child_.done(); }
  void start_children() noexcept override { child_.start(this, 0); }

  Child<T> child_;
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_TIMEOUT_H_
