// Internal machinery shared by every coroutine type of gaio::coro.
//
// Fiber: the cancellation context of one logical thread of execution (a
// spawned task, the task given to run(), a child of when_all/when_any/
// with_timeout/shield) and every Task it awaits directly. A fiber that is
// suspended on something cancellable has a CancelHook; cancelling the fiber
// sets its sticky flag and asks the hook to cancel (an I/O request, a timer,
// a future wait, the children of a combinator).
//
// Operation: a request submitted to the Watcher; its address is the
// request's ctx, and the loop hands it the request's one OpResult.
//
// PromiseBase: what every promise of the package has (frame allocation,
// fiber, continuation, the swap-epoch bump of every co_await).
#ifndef GAIO_CORO_INTERNAL_FIBER_H_
#define GAIO_CORO_INTERNAL_FIBER_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>

#include "coro/internal/frame_allocator.h"
#include "watcher/op_result.h"

// Debug builds check that swap-buffer bytes (SwapBytes) are not used after
// the task's next co_await; -DGAIO_CORO_SWAP_CHECK=0/1 overrides.
#ifndef GAIO_CORO_SWAP_CHECK
#ifdef NDEBUG
#define GAIO_CORO_SWAP_CHECK 0
#else
#define GAIO_CORO_SWAP_CHECK 1
#endif
#endif

namespace gaio::coro::internal {

inline constexpr bool kSwapCheck = GAIO_CORO_SWAP_CHECK != 0;

// Bumped by every co_await in a gaio::coro coroutine on this thread (debug
// builds only): bytes stamped with an older value are stale.
inline thread_local uint64_t tls_await_epoch = 0;
inline void BumpAwaitEpoch() {
  if constexpr (kSwapCheck) ++tls_await_epoch;
}

class CancelHook {
 public:
  // Asks what the fiber is suspended on to finish early. Never resumes a
  // coroutine inline: a resumption it causes goes through the loop.
  virtual void request_cancel() noexcept = 0;

 protected:
  ~CancelHook() = default;
};

class Fiber {
 public:
  bool cancelled() const { return cancelled_; }
  // Sticky. Cancels what the fiber is suspended on, if anything.
  void cancel() noexcept {
    if (cancelled_) return;
    cancelled_ = true;
    if (hook_ != nullptr) hook_->request_cancel();
  }
  void set_hook(CancelHook* hook) { hook_ = hook; }
  void clear_hook() { hook_ = nullptr; }

 private:
  CancelHook* hook_ = nullptr;
  bool cancelled_ = false;
};

// What runs when a task that is the root of a fiber finishes.
class FinishHook {
 public:
  // Called from the task's final suspension with its handle; returns the
  // coroutine to transfer to (std::noop_coroutine() for none). May destroy
  // `task` (which is suspended at its final point).
  virtual std::coroutine_handle<> on_finish(std::coroutine_handle<> task) noexcept = 0;

 protected:
  ~FinishHook() = default;
};

// A Watcher request in flight; `this` is its ctx.
class Operation : public CancelHook {
 public:
  virtual void complete(const OpResult& result) noexcept = 0;
  void* ctx() { return static_cast<Operation*>(this); }
  static Operation* FromCtx(void* ctx) { return static_cast<Operation*>(ctx); }

 protected:
  ~Operation() = default;
};

// How a task started inline by its awaiter got on (see task.h): still running
// inside the awaiter's await_suspend, finished there, or suspended for real.
enum class InlineState : uint8_t { kNone, kRunningInline, kDoneInline, kDetached };

class PromiseBase {
 public:
  static void* operator new(size_t size) { return AllocateFrame(size); }
  static void operator delete(void* p, size_t size) noexcept { FreeFrame(p, size); }

  Fiber* fiber() const { return fiber_; }
  void set_fiber(Fiber* fiber) { fiber_ = fiber; }

  std::suspend_always initial_suspend() noexcept { return {}; }
  // No exceptions cross the API: a coroutine body that throws terminates.
  void unhandled_exception() noexcept { std::terminate(); }

  // Every co_await in a gaio::coro coroutine passes here.
  template <class A>
  A&& await_transform(A&& awaitable) noexcept {
    BumpAwaitEpoch();
    return static_cast<A&&>(awaitable);
  }

  // Set by the awaiter (plain co_await) or by the owner of a fiber root.
  std::coroutine_handle<> continuation = nullptr;
  FinishHook* finish_hook = nullptr;
  InlineState inline_state = InlineState::kNone;

 private:
  Fiber* fiber_ = nullptr;
};

// The final suspension of a task: hand over to the finish hook, or to the
// awaiting coroutine (symmetric transfer), or, when the awaiter started the
// task inline and is still inside its await_suspend, back to that awaiter
// (which then continues without suspending: no stack growth, also where the
// compiler does not turn symmetric transfer into a tail call).
struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    PromiseBase& p = h.promise();
    if (p.finish_hook != nullptr) return p.finish_hook->on_finish(h);
    if (p.inline_state == InlineState::kRunningInline) {
      p.inline_state = InlineState::kDoneInline;
      return std::noop_coroutine();
    }
    return p.continuation;
  }
  void await_resume() const noexcept {}
};

// Starts `child` (suspended at its start, or at a point it will resume from)
// inline from an awaiter's await_suspend. Returns true when the awaiter must
// suspend (the child suspended for real and will resume `parent` when done),
// false when the child finished inline (the awaiter goes on at once).
template <class ChildPromise>
bool RunInline(std::coroutine_handle<ChildPromise> child, std::coroutine_handle<> parent) {
  PromiseBase& p = child.promise();
  p.continuation = parent;
  p.inline_state = InlineState::kRunningInline;
  child.resume();
  if (p.inline_state == InlineState::kDoneInline) {
    p.inline_state = InlineState::kNone;
    return false;
  }
  p.inline_state = InlineState::kDetached;
  return true;
}

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_FIBER_H_
