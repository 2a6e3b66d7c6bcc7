// Time: sleep(d), sleep_until(t), and every(period), a drift-free ticker.
//
//   absl::Status s = co_await sleep(absl::Milliseconds(10));
//   s = co_await sleep_until(deadline);
//   Ticker tick = every(absl::Seconds(1));
//   for (;;) {
//     absl::StatusOr<Tick> t = co_await tick.next();   // t->index, t->missed
//     if (!t.ok()) break;                              // Cancelled
//   }
//
// sleep(d) returns OK once `d` has passed (zero or negative: at the loop's
// next wait for I/O; absl::InfiniteDuration(): only a cancellation ends it),
// Cancelled when the task is cancelled meanwhile (the timer is cancelled
// through Watcher::cancel and the task resumes when that is confirmed), or the
// Watcher's error if it refuses the timer. In a task that is already
// cancelled it returns Cancelled at once. Allocates nothing (the timer's
// state lives in the awaiting coroutine's frame). sleep_until(t) is
// sleep(t - absl::Now()) with the difference taken when the await begins
// (a past `t` returns at the next wait; InfiniteFuture(): never).
//
// every(period[, start]) -> Ticker: tick k (k = 1, 2, ...) is due at
// start + k * period (start defaults to now), computed from `start` each
// time, so late wake-ups never accumulate drift. next() waits for the first
// tick not yet delivered and returns Tick{index, missed}. A consumer that
// falls behind does not get a burst of stale ticks: next() returns at once
// with the LATEST due tick and `missed` = the due ticks it skipped since the
// previous one delivered (Go's time.Ticker drops them too; tokio's
// MissedTickBehavior::Skip), so sum(missed + 1) == index always. Errors:
// Cancelled (as sleep), the Watcher's error, InvalidArgument for a period
// that is not positive and finite. A Ticker is a plain value (no timer
// between next() calls); one task awaits it at a time.
//
// Loop thread only, inside EventLoop::run().
#ifndef GAIO_CORO_TIME_H_
#define GAIO_CORO_TIME_H_

#include <coroutine>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
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

class [[nodiscard]] SleepUntilAwaiter : public internal::IoAwaiter {
 public:
  explicit SleepUntilAwaiter(absl::Time t) : t_(t) {}
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    const absl::Duration d = t_ - absl::Now();
    return Begin(h, -1, "sleep_until: task cancelled",
                 [d](void* ctx) { return EventLoop::current()->watcher().after(ctx, d); });
  }
  absl::Status await_resume() const { return Completion().status; }

 private:
  absl::Time t_;
};

inline SleepUntilAwaiter sleep_until(absl::Time t) { return SleepUntilAwaiter(t); }

struct Tick {
  uint64_t index = 0;   // k: this tick was due at start + k * period
  uint64_t missed = 0;  // due ticks skipped since the previous one delivered
};

namespace internal {
// The ticker's arithmetic, apart for tests: the tick to deliver at `now`
// after tick `last` (the latest due tick, at least last + 1), and when tick
// last + 1 is due.
struct TickPlan {
  absl::Time due;  // of tick last + 1
  bool ready;      // now >= due
  Tick tick;       // valid when ready
};
inline TickPlan PlanTick(absl::Time start, absl::Duration period, uint64_t last, absl::Time now) {
  TickPlan p;
  p.due = start + period * static_cast<int64_t>(last + 1);
  p.ready = now >= p.due;
  if (p.ready) {
    absl::Duration rem;
    const uint64_t k = static_cast<uint64_t>(absl::IDivDuration(now - start, period, &rem));
    p.tick.index = k > last ? k : last + 1;
    p.tick.missed = p.tick.index - last - 1;
  }
  return p;
}
}  // namespace internal

class Ticker {
 public:
  Ticker(absl::Duration period, absl::Time start) : start_(start), period_(period) {}

  absl::Duration period() const { return period_; }
  absl::Time start() const { return start_; }
  // The index of the last tick delivered (0 before the first).
  uint64_t last() const { return last_; }

  class [[nodiscard]] Awaiter : public internal::IoAwaiter {
   public:
    explicit Awaiter(Ticker* t) : t_(t) {}
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      if (!(t_->period_ > absl::ZeroDuration()) || t_->period_ == absl::InfiniteDuration()) {
        early_ = absl::InvalidArgumentError("every: the period must be positive and finite");
        return false;
      }
      const internal::TickPlan p =
          internal::PlanTick(t_->start_, t_->period_, t_->last_, absl::Now());
      if (p.ready && !h.promise().fiber()->cancelled()) {
        ready_ = true;
        t_->last_ = p.tick.index;
        tick_ = p.tick;
        return false;
      }
      const absl::Duration d = p.due - absl::Now();
      return Begin(h, -1, "every: task cancelled",
                   [d](void* ctx) { return EventLoop::current()->watcher().after(ctx, d); });
    }
    absl::StatusOr<Tick> await_resume() {
      if (!early_.ok()) return early_;
      if (ready_) return tick_;
      const absl::Status& s = Completion().status;
      if (!s.ok()) return s;
      const internal::TickPlan p =
          internal::PlanTick(t_->start_, t_->period_, t_->last_, absl::Now());
      Tick t{t_->last_ + 1, 0};
      if (p.ready) t = p.tick;  // woke late: the latest due tick
      t_->last_ = t.index;
      return t;
    }

   private:
    Ticker* t_;
    absl::Status early_;
    Tick tick_;
    bool ready_ = false;
  };
  Awaiter next() { return Awaiter(this); }

 private:
  absl::Time start_;
  absl::Duration period_;
  uint64_t last_ = 0;
};

inline Ticker every(absl::Duration period, absl::Time start = absl::Now()) {
  return Ticker(period, start);
}

}  // namespace gaio::coro

#endif  // GAIO_CORO_TIME_H_
