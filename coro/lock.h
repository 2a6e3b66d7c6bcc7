// Mutex and Semaphore for tasks of one loop (asyncio.Lock / Semaphore).
//
//   Mutex mu;
//   absl::StatusOr<Mutex::Guard> g = co_await mu.scoped_lock();
//   if (!g.ok()) co_return g.status();        // Cancelled
//   ...                                       // unlocked when *g is destroyed
//
// Mutex: lock() returns OK once the task holds the lock; unlock() hands it
// straight to the longest waiting task (FIFO: no barging, a try_lock() while
// tasks wait fails), which is resumed through the loop. try_lock() takes it
// only when free. The mutex is not owned by a task: any task of the loop may
// unlock it (unlocking a free mutex is a bug; it is ignored).
//
// Semaphore(n): acquire() takes one of the permits, waiting (FIFO) while none
// is left; release() hands a permit to the first waiter or puts it back;
// try_acquire() takes one only when one is free and nobody waits.
//
// Outcomes of lock() / acquire(): OK (the lock or the permit is the task's:
// a cancel that arrives after the hand-over changes nothing, the task's next
// cancellable await returns Cancelled), Cancelled when the task was cancelled
// before it got it (nothing is taken: the next waiter gets the lock/permit),
// FailedPrecondition when the Mutex/Semaphore is destroyed while the task
// waits (a bug of the caller, not a crash). A task that is already cancelled
// gets Cancelled at once (use try_lock() or shield() for cleanup).
//
// Waiting allocates nothing. Threads: loop thread only, inside run().
#ifndef GAIO_CORO_LOCK_H_
#define GAIO_CORO_LOCK_H_

#include <coroutine>
#include <cstddef>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coro/internal/fiber.h"
#include "coro/internal/wait_queue.h"

namespace gaio::coro {

class Semaphore {
 public:
  explicit Semaphore(size_t permits) : permits_(permits) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  bool try_acquire() {
    if (permits_ == 0 || !waiters_.empty()) return false;
    --permits_;
    return true;
  }
  void release() {
    if (!waiters_.empty()) {
      waiters_.wake_front(internal::Waiter::Outcome::kGranted);
    } else {
      ++permits_;
    }
  }
  size_t available() const { return permits_; }
  size_t waiters() const { return waiters_.size(); }

  class [[nodiscard]] Awaiter : public internal::QueueAwaiter<Awaiter> {
   public:
    Awaiter(Semaphore* s, const char* what) : s_(s), what_(what) {}
    absl::Status await_resume() {
      switch (finish()) {
        case Outcome::kGranted:
          return absl::OkStatus();
        case Outcome::kCancelled:
          return absl::CancelledError(what_);
        default:
          return absl::FailedPreconditionError("lock destroyed while waiting");
      }
    }

   private:
    friend class internal::QueueAwaiter<Awaiter>;
    Outcome try_now() { return s_->try_acquire() ? Outcome::kGranted : Outcome::kNone; }
    internal::WaitQueue* queue() { return &s_->waiters_; }
    Semaphore* s_;
    const char* what_;
  };
  Awaiter acquire() { return Awaiter(this, "semaphore: task cancelled"); }

 private:
  internal::WaitQueue waiters_;
  size_t permits_;
};

class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // Unlocks on destruction (unless moved from or released).
  class [[nodiscard]] Guard {
   public:
    Guard() = default;
    explicit Guard(Mutex* mu) : mu_(mu) {}
    Guard(Guard&& o) noexcept : mu_(std::exchange(o.mu_, nullptr)) {}
    Guard& operator=(Guard&& o) noexcept {
      if (this != &o) {
        unlock();
        mu_ = std::exchange(o.mu_, nullptr);
      }
      return *this;
    }
    ~Guard() { unlock(); }
    bool owns_lock() const { return mu_ != nullptr; }
    void unlock() {
      if (mu_ != nullptr) std::exchange(mu_, nullptr)->unlock();
    }

   private:
    Mutex* mu_ = nullptr;
  };

  bool try_lock() { return sem_.try_acquire(); }
  void unlock() {
    if (!is_locked()) return;  // a free mutex: ignored
    sem_.release();
  }
  bool is_locked() const { return sem_.available() == 0; }
  Semaphore::Awaiter lock() { return Semaphore::Awaiter(&sem_, "mutex: task cancelled"); }

  class [[nodiscard]] GuardAwaiter {
   public:
    explicit GuardAwaiter(Mutex* mu) : mu_(mu), inner_(mu->lock()) {}
    bool await_ready() const noexcept { return inner_.await_ready(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      return inner_.await_suspend(h);
    }
    absl::StatusOr<Guard> await_resume() {
      absl::Status s = inner_.await_resume();
      if (!s.ok()) return s;
      return Guard(mu_);
    }

   private:
    Mutex* mu_;
    Semaphore::Awaiter inner_;
  };
  // lock() that returns a Guard.
  GuardAwaiter scoped_lock() { return GuardAwaiter(this); }

 private:
  Semaphore sem_{1};
};

}  // namespace gaio::coro

#endif  // GAIO_CORO_LOCK_H_
