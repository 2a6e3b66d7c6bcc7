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
// PromiseBase: what every promise of the package has: frame allocation, the
// fiber, the continuation, and the coroutine's request slot. A coroutine
// waits for one thing at a time, so the state of the Watcher request it
// waits for (ctx, fd, who to resume) lives in its promise, and the I/O
// awaiters are a few bytes each: an idle connection's frame stays small.
#ifndef GAIO_CORO_INTERNAL_FIBER_H_
#define GAIO_CORO_INTERNAL_FIBER_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>

#include "absl/status/status.h"
#include "coro/internal/frame_allocator.h"
#include "watcher/op_result.h"

namespace gaio {
class Watcher;
}

namespace gaio::coro::internal {

// ---- The swap-bytes check (coro/bytes.h). ----
// Whether it is on is decided once, when the library is built (bytes.cc: on
// unless NDEBUG, -DGAIO_CORO_SWAP_CHECK=0/1 given to the library's build
// overrides), and read at run time by the inline code of every header. So a
// program compiled with or without NDEBUG gets the same answer as the
// library it links: no inline function of the package depends on the
// including file's macros (no ODR violation when build modes are mixed).
extern const bool kSwapCheckEnabled;
inline bool SwapCheckEnabled() { return kSwapCheckEnabled; }

// The per-thread epochs the check compares (always counted: a few
// increments per await; only the comparison is switched). Epochs step by 2:
// bit 0 of a stamp says "swap-buffer bytes".
struct SwapEpochs {
  // Bumped by every co_await of one of the package's awaitables (each
  // awaiter's await_ready), at each wait of the loop for completions, and
  // whenever the loop (or a finished spawned task) resumes a task: bytes
  // stamped with an older value are stale.
  uint32_t now = 0;
  // `now` at the loop's last wait for completions: swap-buffer bytes made
  // before it have been handed back to the Watcher.
  uint32_t wait_mark = 0;
  // A combinator (when_all, when_any, with_timeout, shield) that has just
  // returned to its awaiter: what its children made since it began
  // ([grace_from, grace_at]) belongs to the awaiter, fresh until the
  // awaiter's next co_await (while now == grace_at), except swap-buffer
  // bytes made before a wait of the loop (gone whatever the check says).
  uint32_t grace_from = 0;
  uint32_t grace_at = 0;
};
inline thread_local SwapEpochs tls_epochs;

inline void BumpAwaitEpoch() { tls_epochs.now += 2; }
inline uint32_t AwaitEpoch() { return tls_epochs.now; }
// The loop is about to wait for (or poll) completions.
inline void NoteLoopWait() { tls_epochs.wait_mark = tls_epochs.now += 2; }
// A combinator that began at epoch `from` returns to its awaiter.
inline void OpenGrace(uint32_t from) {
  tls_epochs.grace_from = from;
  tls_epochs.grace_at = tls_epochs.now;
}
// Swap-buffer bytes stamped `stamp` went back to the Watcher at a later
// wait of the loop.
inline bool SwapStampReleased(uint32_t stamp) {
  const uint32_t made = stamp & ~uint32_t{1};
  const uint32_t waited = tls_epochs.wait_mark - made;  // modular: wraps safely
  return (stamp & 1) != 0 && waited != 0 && waited <= tls_epochs.now - made;
}
// Whether bytes stamped `stamp` may still be used by the running task.
inline bool StampFresh(uint32_t stamp) {
  const SwapEpochs& e = tls_epochs;
  const uint32_t made = stamp & ~uint32_t{1};
  if (made == e.now) return true;
  if (e.now != e.grace_at || e.now - made > e.now - e.grace_from) return false;
  return !SwapStampReleased(stamp);
}

class CancelHook {
 public:
  // Asks what the fiber is suspended on to finish early. Never resumes a
  // coroutine inline: a resumption it causes goes through the loop.
  virtual void request_cancel() noexcept = 0;

 protected:
  ~CancelHook() = default;
};

class PromiseBase;

class Fiber {
 public:
  bool cancelled() const { return (word_ & kCancelled) != 0; }
  // Sticky. Cancels what the fiber is suspended on, if anything.
  void cancel() noexcept;
  void set_hook(CancelHook* hook) {
    word_ = (word_ & kCancelled) | reinterpret_cast<uintptr_t>(hook);
  }
  // The fiber waits for the Watcher request of `slot`'s coroutine on `fd`.
  void set_request(PromiseBase* slot, int fd) {
    word_ = (word_ & kCancelled) | reinterpret_cast<uintptr_t>(slot) | kRequest;
    fd_ = fd;
  }
  void clear_hook() { word_ &= kCancelled; }

 private:
  static constexpr uintptr_t kCancelled = 1;
  static constexpr uintptr_t kRequest = 2;  // the hook is a request slot
  uintptr_t word_ = 0;                      // CancelHook* or PromiseBase*, and the two flags
  int fd_ = -1;                             // the request's fd (kRequest)
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

// A Watcher request in flight that is not a coroutine's request slot (the
// loop's own posts, with_timeout's timer); `this` is its ctx.
class Operation : public CancelHook {
 public:
  virtual void complete(const OpResult& result) noexcept = 0;
  void* ctx() { return static_cast<Operation*>(this); }

 protected:
  ~Operation() = default;
};

// Hands an OpResult to whatever its ctx names: a request slot (tagged ctx,
// see PromiseBase::ctx()) or an Operation.
void Dispatch(const OpResult& result) noexcept;

// The OpResult a coroutine resumed from its request slot reads in
// await_resume (set just before the resumption; the batch it points into is
// valid until the loop's next wait), or the synthetic one of a request that
// never went to the Watcher.
inline thread_local const OpResult* tls_completion = nullptr;
const OpResult* SyntheticCompletion(absl::Status status);
inline const OpResult& TakeCompletion() { return *tls_completion; }

// How a coroutine started inline by its awaiter got on (see task.h): still
// running inside the awaiter's await_suspend, finished (or yielded) there,
// or suspended for real.
enum class InlineState : uint8_t { kNone, kRunningInline, kDoneInline, kDetached };

class SpawnRecord;
std::coroutine_handle<> FinishSpawned(SpawnRecord* rec, std::coroutine_handle<> task) noexcept;

// No virtual functions: the promise is 24 bytes (the request slot, the
// fiber and the continuation), as it sits in the frame of every idle
// connection.
class PromiseBase {
 public:
  static void* operator new(size_t size) { return AllocateFrame(size); }
  static void operator delete(void* p, size_t size) noexcept { FreeFrame(p, size); }

  Fiber* fiber() const { return reinterpret_cast<Fiber*>(fiber_word_ & ~uintptr_t{3}); }
  void set_fiber(Fiber* fiber) {
    fiber_word_ = reinterpret_cast<uintptr_t>(fiber) | (fiber_word_ & 3);
  }
  InlineState inline_state() const { return static_cast<InlineState>(fiber_word_ & 3); }
  void set_inline_state(InlineState s) {
    fiber_word_ = (fiber_word_ & ~uintptr_t{3}) | static_cast<uintptr_t>(s);
  }

  std::suspend_always initial_suspend() noexcept { return {}; }
  // No exceptions cross the API: a coroutine body that throws terminates.
  void unhandled_exception() noexcept { std::terminate(); }

  // Who runs when this coroutine finishes (or yields): the awaiter's
  // coroutine, a FinishHook or a SpawnRecord (the root of a fiber). One
  // tagged word (frames and records are 16-byte aligned, hooks 8).
  void set_continuation(std::coroutine_handle<> h) {
    next_ = reinterpret_cast<uintptr_t>(h.address());
  }
  void set_finish_hook(FinishHook* hook) { next_ = reinterpret_cast<uintptr_t>(hook) | kHook; }
  void set_spawn_record(SpawnRecord* rec) { next_ = reinterpret_cast<uintptr_t>(rec) | kRecord; }
  // Where to go from the final suspension (or a yield); see FinalAwaiter.
  std::coroutine_handle<> finish(std::coroutine_handle<> self) noexcept {
    switch (next_ & 3) {
      case kHook:
        return reinterpret_cast<FinishHook*>(next_ & ~uintptr_t{3})->on_finish(self);
      case kRecord:
        BumpAwaitEpoch();  // whoever runs next is another task
        return FinishSpawned(reinterpret_cast<SpawnRecord*>(next_ & ~uintptr_t{3}), self);
      default:
        if (inline_state() == InlineState::kRunningInline) {
          set_inline_state(InlineState::kDoneInline);
          return std::noop_coroutine();
        }
        return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(next_));
    }
  }

  // ---- The request slot. ----
  // The ctx of the slot's requests: the promise's address, tagged.
  void* ctx() { return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(this) | 1); }
  static PromiseBase* FromCtx(void* ctx) {
    return reinterpret_cast<PromiseBase*>(reinterpret_cast<uintptr_t>(ctx) & ~uintptr_t{1});
  }
  // Submits a request made by `submit(ctx)` for coroutine `self`, which waits
  // for it (true: suspend). Returns false, with the synthetic completion set
  // (Cancelled, or the submission's error), when the fiber is already
  // cancelled or the Watcher refuses the request. `fd` is the request's fd
  // (-1 for a timer), for Watcher::cancel.
  template <class Submit>
  bool submit(std::coroutine_handle<> self, int fd, const char* cancelled_message,
              Submit&& submit_fn) {
    Fiber* f = fiber();
    if (f->cancelled()) {
      tls_completion = SyntheticCompletion(absl::CancelledError(cancelled_message));
      return false;
    }
    absl::Status s = submit_fn(ctx());
    if (!s.ok()) {
      tls_completion = SyntheticCompletion(std::move(s));
      return false;
    }
    self_ = self;
    f->set_request(this, fd);
    return true;
  }
  void complete(const OpResult& r) noexcept {
    fiber()->clear_hook();
    tls_completion = &r;
    self_.resume();
  }
  // Watcher::cancel(fd, ctx): OK, the request completes with Cancelled;
  // NotFound, it has completed and its result is on its way (maybe in this
  // very batch). Either way exactly one completion resumes the coroutine.
  void cancel_request(int fd) noexcept;

 private:
  static constexpr uintptr_t kHook = 1;
  static constexpr uintptr_t kRecord = 2;
  std::coroutine_handle<> self_ = nullptr;  // the coroutine waiting in the slot
  uintptr_t fiber_word_ = 0;                // Fiber* | InlineState
  uintptr_t next_ = 0;
};

// The final suspension of a task (and a generator's yield): hand over to the
// finish hook, or to the awaiting coroutine (symmetric transfer), or, when
// the awaiter started the coroutine inline and is still inside its
// await_suspend, back to that awaiter (which then goes on without suspending:
// no stack growth, also where the compiler does not turn symmetric transfer
// into a tail call).
struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    return h.promise().finish(h);
  }
  void await_resume() const noexcept {}
};

// Starts (or resumes) `child` inline from an awaiter's await_suspend. Returns
// true when the awaiter must suspend (the child suspended for real and will
// resume `parent` when done), false when the child finished (or yielded)
// inline and the awaiter goes on at once.
template <class ChildPromise>
bool RunInline(std::coroutine_handle<ChildPromise> child, std::coroutine_handle<> parent) {
  PromiseBase& p = child.promise();
  p.set_continuation(parent);
  p.set_inline_state(InlineState::kRunningInline);
  child.resume();
  if (p.inline_state() == InlineState::kDoneInline) {
    p.set_inline_state(InlineState::kNone);
    return false;
  }
  p.set_inline_state(InlineState::kDetached);
  return true;
}

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_FIBER_H_
