// SpawnRecord: the bookkeeping of one spawned task (scope.h), 48 bytes from
// the frame allocator: the task's fiber, its place in its scope's list, the
// JoinHandle's waiter and three flags (in the low bits of the scope
// pointer). It lives until the task has finished AND its JoinHandle (if any)
// is gone; the frame lives as long, so that the result stays available to
// the handle. The promise names it as its finisher (PromiseBase::finish).
#ifndef GAIO_CORO_INTERNAL_SPAWN_RECORD_H_
#define GAIO_CORO_INTERNAL_SPAWN_RECORD_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "coro/internal/fiber.h"
#include "coro/internal/frame_allocator.h"

namespace gaio::coro {
class Scope;
}

namespace gaio::coro::internal {

class SpawnRecord final {
 public:
  static void* operator new(size_t size) { return AllocateFrame(size); }
  static void operator delete(void* p, size_t size) noexcept { FreeFrame(p, size); }

  explicit SpawnRecord(Scope* scope)
      : scope_word_(reinterpret_cast<uintptr_t>(scope) | kRunning | kHandle) {}

  std::coroutine_handle<> on_finish(std::coroutine_handle<> task) noexcept;
  // Drops the JoinHandle's reference; `task` is the frame.
  void release_handle(std::coroutine_handle<> task) noexcept;
  // The task never started and never will (its loop is destroyed): unlinks
  // it, destroys the frame and drops the running reference.
  void discard(std::coroutine_handle<> task) noexcept;

  Fiber& fiber() { return fiber_; }
  bool done() const { return (scope_word_ & kRunning) == 0; }
  void set_waiter(std::coroutine_handle<> h) { waiter_ = h; }

 private:
  friend class gaio::coro::Scope;
  static constexpr uintptr_t kRunning = 1;    // the task has not finished
  static constexpr uintptr_t kHandle = 2;     // a JoinHandle still refers to it
  static constexpr uintptr_t kFrameGone = 4;  // discard() destroyed the frame
  Scope* scope() const { return reinterpret_cast<Scope*>(scope_word_ & ~uintptr_t{7}); }
  void set_scope(Scope* s) { scope_word_ = reinterpret_cast<uintptr_t>(s) | (scope_word_ & 7); }
  // Clears `flag`; when neither kRunning nor kHandle is left, frees the
  // frame (unless gone) and the record.
  void drop(uintptr_t flag, std::coroutine_handle<> task) noexcept;

  Fiber fiber_;
  uintptr_t scope_word_;
  SpawnRecord* prev_ = nullptr;
  SpawnRecord* next_ = nullptr;
  std::coroutine_handle<> waiter_ = nullptr;  // a JoinHandle's awaiter
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_SPAWN_RECORD_H_
