// Promise<T> / Future<T>: a value produced anywhere (another thread, another
// task, a callback) and awaited by one task.
//
//   Promise<std::string> p;
//   Future<std::string> f = p.get_future();
//   std::thread([p = std::move(p)]() mutable { p.set_value("done"); }).detach();
//   absl::StatusOr<std::string> v = co_await f;          // in a task
//
// co_await on a Future<T> returns Result<T> (result.h): the value, the status
// given to set_error(), Cancelled, or Aborted ("broken promise") when the
// Promise was destroyed unset. A Future is awaited by one task at a time; the
// value is moved out by the await that returns it.
//
// Cancellation. Cancelling the task that awaits a Future cancels the Future
// too (asyncio's rule): the await returns Cancelled and a later set_value()
// returns false. To wait without that, co_await shield(std::move(future))
// (sync.h). A task that is already cancelled gets Cancelled at once and
// leaves the Future untouched.
//
// Threads. Promise's members may be called from any thread; set_value() and
// set_error() from another thread wake the waiting task's loop through
// Watcher::post(). Future's members are for the loop thread of the task that
// awaits it. The shared state is reference-counted: Promise and Future may
// be destroyed in any order, on any thread. The loop of a task waiting on a
// Future must not be destroyed before the wait ends (it cannot be: run() only
// returns once every task has finished).
#ifndef GAIO_CORO_FUTURE_H_
#define GAIO_CORO_FUTURE_H_

#include <atomic>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "coro/event_loop.h"
#include "coro/internal/fiber.h"
#include "coro/internal/mutex.h"
#include "coro/result.h"

namespace gaio::coro {

template <class T>
class Future;

namespace internal {

enum class FuturePhase : uint8_t { kPending, kValue, kError, kCancelled };

class FutureStateBase {
 public:
  void ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // True when this was the last reference.
  bool unref() { return refs_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

  // Moves from pending to `phase` with `error` (OK for a value, which
  // `store`, called under mu, puts in place). Returns false, storing
  // nothing, if not pending any more. Wakes the waiter, if any, after
  // unlocking.
  template <class Store>
  bool finish(FuturePhase new_phase, absl::Status new_error, Store&& store)
      ABSL_LOCKS_EXCLUDED(mu) {
    std::coroutine_handle<> h = nullptr;
    EventLoop* loop = nullptr;
    {
      internal::MutexLock lock(&mu);
      if (phase != FuturePhase::kPending) return false;
      store();
      phase = new_phase;
      error = std::move(new_error);
      h = std::exchange(waiter, nullptr);
      loop = waiter_loop;
    }
    if (h) Wake(h, loop);
    return true;
  }
  bool finish(FuturePhase new_phase, absl::Status new_error) ABSL_LOCKS_EXCLUDED(mu) {
    return finish(new_phase, std::move(new_error), [] {});
  }
  // Resumes `h` on `loop`: queued if this is the loop's thread, else through
  // the loop's remote queue. The waiter stays suspended until then: nothing
  // else can resume it (the cancel hook finds no waiter any more).
  static void Wake(std::coroutine_handle<> h, EventLoop* loop);

  Mutex mu;
  FuturePhase phase ABSL_GUARDED_BY(mu) = FuturePhase::kPending;
  absl::Status error ABSL_GUARDED_BY(mu);
  std::coroutine_handle<> waiter ABSL_GUARDED_BY(mu) = nullptr;
  EventLoop* waiter_loop ABSL_GUARDED_BY(mu) = nullptr;

 private:
  std::atomic<int> refs_{1};  // the Promise; get_future() adds the Future
};

template <class T>
class FutureState : public FutureStateBase {
 public:
  std::optional<ValueOf<T>> value ABSL_GUARDED_BY(mu);
};

}  // namespace internal

template <class T = void>
class Promise {
 public:
  Promise() : state_(new internal::FutureState<T>()) {}
  Promise(Promise&& o) noexcept
      : state_(std::exchange(o.state_, nullptr)), future_taken_(o.future_taken_) {}
  Promise& operator=(Promise&& o) noexcept {
    if (this != &o) {
      reset();
      state_ = std::exchange(o.state_, nullptr);
      future_taken_ = o.future_taken_;
    }
    return *this;
  }
  Promise(const Promise&) = delete;
  Promise& operator=(const Promise&) = delete;
  // An unset Promise completes its Future with Aborted ("broken promise").
  ~Promise() { reset(); }

  // The Future of this Promise; an empty Future after the first call.
  Future<T> get_future();

  // Any thread. Completes the Future with `value` (or, for void, with OK).
  // False when it was already completed or cancelled (nothing is stored).
  template <class U = T>
  requires(!std::is_void_v<U>) bool set_value(U value) {
    if (state_ == nullptr) return false;
    internal::FutureState<T>* s = state_;
    return s->finish(internal::FuturePhase::kValue, absl::OkStatus(),
                     [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { s->value.emplace(std::move(value)); });
  }
  template <class U = T>
  requires std::is_void_v<U>
  bool set_value() {
    if (state_ == nullptr) return false;
    return state_->finish(internal::FuturePhase::kValue, absl::OkStatus());
  }
  // Any thread. Completes the Future with `error` (an OK status becomes
  // InvalidArgument). False when it was already completed or cancelled.
  bool set_error(absl::Status error) {
    if (state_ == nullptr) return false;
    if (error.ok()) error = absl::InvalidArgumentError("Promise::set_error with an OK status");
    return state_->finish(internal::FuturePhase::kError, std::move(error));
  }
  // Any thread. True once the Future was cancelled.
  bool cancelled() const {
    if (state_ == nullptr) return false;
    internal::MutexLock lock(&state_->mu);
    return state_->phase == internal::FuturePhase::kCancelled;
  }

 private:
  void reset() {
    if (state_ == nullptr) return;
    state_->finish(internal::FuturePhase::kError,
                   absl::AbortedError("broken promise: destroyed without a value"));
    if (state_->unref()) delete state_;
    state_ = nullptr;
  }
  internal::FutureState<T>* state_;
  bool future_taken_ = false;
};

template <class T = void>
class Future {
 public:
  Future() = default;
  Future(Future&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  Future& operator=(Future&& o) noexcept {
    if (this != &o) {
      reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  Future(const Future&) = delete;
  Future& operator=(const Future&) = delete;
  ~Future() { reset(); }

  // False for an empty Future (default-constructed, moved-from, or from a
  // second get_future()): awaiting it returns FailedPrecondition at once.
  bool valid() const { return state_ != nullptr; }
  // True once set, failed or cancelled; true for an empty Future too (an
  // await of it returns at once).
  bool ready() const {
    if (state_ == nullptr) return true;
    internal::MutexLock lock(&state_->mu);
    return state_->phase != internal::FuturePhase::kPending;
  }
  // Loop thread. Cancels the Future if still pending: its awaiter (if any)
  // resumes with Cancelled, the Promise's setters return false.
  void cancel() {
    if (state_ != nullptr) {
      state_->finish(internal::FuturePhase::kCancelled, absl::CancelledError("future cancelled"));
    }
  }

  class Awaiter : public internal::CancelHook {
   public:
    explicit Awaiter(internal::FutureState<T>* s) : s_(s) {}
    bool await_ready() const {
      internal::BumpAwaitEpoch();
      if (s_ == nullptr) return true;
      internal::MutexLock lock(&s_->mu);
      return s_->phase != internal::FuturePhase::kPending;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      internal::Fiber* fiber = h.promise().fiber();
      if (fiber->cancelled()) {
        cancelled_early_ = true;
        return false;
      }
      {
        internal::MutexLock lock(&s_->mu);
        if (s_->phase != internal::FuturePhase::kPending) return false;
        s_->waiter = h;
        s_->waiter_loop = EventLoop::current();
      }
      fiber_ = fiber;
      fiber_->set_hook(this);
      return true;
    }
    Result<T> await_resume() {
      if (fiber_ != nullptr) fiber_->clear_hook();
      if (cancelled_early_) return absl::CancelledError("future: task cancelled");
      if (s_ == nullptr) return absl::FailedPreconditionError("awaiting an empty Future");
      internal::MutexLock lock(&s_->mu);
      switch (s_->phase) {
        case internal::FuturePhase::kValue:
          if constexpr (std::is_void_v<T>) {
            return absl::OkStatus();
          } else {
            if (!s_->value.has_value()) {
              return absl::FailedPreconditionError("future: value already taken");
            }
            Result<T> r(std::move(*s_->value));
            s_->value.reset();
            return r;
          }
        case internal::FuturePhase::kPending:
          return absl::InternalError("future: resumed while pending");
        default:
          return s_->error;
      }
    }
    void request_cancel() noexcept override {
      s_->finish(internal::FuturePhase::kCancelled, absl::CancelledError("future: task cancelled"));
    }

   private:
    internal::FutureState<T>* s_;
    internal::Fiber* fiber_ = nullptr;
    bool cancelled_early_ = false;
  };
  Awaiter operator co_await() const& noexcept { return Awaiter(state_); }
  Awaiter operator co_await() && noexcept { return Awaiter(state_); }

 private:
  friend class Promise<T>;
  explicit Future(internal::FutureState<T>* s) : state_(s) {}
  void reset() {
    if (state_ != nullptr && state_->unref()) delete state_;
    state_ = nullptr;
  }
  internal::FutureState<T>* state_ = nullptr;
};

template <class T>
Future<T> Promise<T>::get_future() {
  if (state_ == nullptr || future_taken_) return Future<T>();
  future_taken_ = true;
  state_->ref();
  return Future<T>(state_);
}

}  // namespace gaio::coro

#endif  // GAIO_CORO_FUTURE_H_
