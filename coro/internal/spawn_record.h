// SpawnRecord: the bookkeeping of one spawned task (scope.h), allocated with
// the frame allocator next to the task's frame. It is the task's FinishHook
// and owns its fiber. It lives until the task has finished AND its JoinHandle
// (if any) is gone; the frame lives as long, so that the result stays
// available to the handle.
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

class SpawnRecord final : public FinishHook {
 public:
  static void* operator new(size_t size) { return AllocateFrame(size); }
  static void operator delete(void* p, size_t size) noexcept { FreeFrame(p, size); }

  explicit SpawnRecord(Scope* scope) : scope_(scope) {}

  std::coroutine_handle<> on_finish(std::coroutine_handle<> task) noexcept override;
  // Drops the JoinHandle's reference; `task` is the frame.
  void release_handle(std::coroutine_handle<> task) noexcept;
  // The task never started and never will (its loop is destroyed): unlinks
  // it, destroys the frame and drops the running reference.
  void discard(std::coroutine_handle<> task) noexcept;

  Fiber& fiber() { return fiber_; }
  bool done() const { return done_; }
  void set_waiter(std::coroutine_handle<> h) { waiter_ = h; }
  void clear_waiter() { waiter_ = nullptr; }

 private:
  friend class gaio::coro::Scope;
  void unref(std::coroutine_handle<> task) noexcept;

  Fiber fiber_;
  Scope* scope_;
  SpawnRecord* prev_ = nullptr;
  SpawnRecord* next_ = nullptr;
  std::coroutine_handle<> waiter_ = nullptr;  // a JoinHandle's awaiter
  uint8_t refs_ = 2;                          // running + JoinHandle
  bool done_ = false;
  bool frame_gone_ = false;                   // discard() destroyed it
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_SPAWN_RECORD_H_
