// Scope: structured concurrency. Tasks spawned in a Scope run concurrently
// with the spawner; join() waits for all of them; no task outlives its loop's
// run().
//
//   Task<> Serve(Listener& listener) {
//     Scope scope;                                   // in the loop's thread
//     for (;;) {
//       absl::StatusOr<Socket> s = co_await listener.accept();
//       if (!s.ok()) break;                           // Cancelled at shutdown
//       scope.spawn(Echo(*std::move(s)));             // handle discarded: detached
//     }
//     scope.cancel();
//     co_await scope.join();                          // always join before leaving
//   }
//
// spawn(task) queues the task to start when the spawner next suspends (FIFO
// with other ready tasks, like asyncio.create_task) and returns a
// JoinHandle<T>: `co_await handle` waits for the task and returns its value
// (once); handle.cancel() cancels it; dropping the handle detaches it (it
// still belongs to the scope). Each spawned task runs in a fiber of its own:
// cancelling the spawner does not cancel it, except through the scope
// (cancel(), or a cancelled join()) or a cancelled await of its handle.
//
// join() returns once no task of the scope is running at that moment: a task
// spawned into the scope while join() waits (also by a JoinHandle's waiter
// that the scope's last task resumed) is waited for too. Cancelling the task
// that waits in join() cancels every task of the scope, and join() still
// waits for them to finish. cancel() cancels every running task and every
// task spawned later.
//
// Destroying a Scope that still has running tasks (a missing join) cancels
// them and hands them to the loop's root scope, so they still finish before
// run() returns; whatever they reference in the frame that held the Scope is
// gone, though: always co_await join().
//
// Threads: a Scope and its handles are used on its loop's thread only. A
// Scope must not outlive its loop; a JoinHandle must not be moved while a
// task awaits it. cancel() may be called outside the loop's run() (before
// it, after it, from a task of another loop): no task of the scope is then
// waiting for I/O (run() returns only once every task has finished), so the
// cancel reaches each task as its sticky flag when it runs.
#ifndef GAIO_CORO_SCOPE_H_
#define GAIO_CORO_SCOPE_H_

#include <coroutine>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "coro/event_loop.h"
#include "coro/internal/fiber.h"
#include "coro/internal/spawn_record.h"
#include "coro/task.h"

namespace gaio::coro {

template <class T = void>
class JoinHandle {
 public:
  JoinHandle() = default;
  JoinHandle(JoinHandle&& o) noexcept
      : rec_(std::exchange(o.rec_, nullptr)), h_(std::exchange(o.h_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& o) noexcept {
    if (this != &o) {
      reset();
      rec_ = std::exchange(o.rec_, nullptr);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { reset(); }

  bool valid() const { return rec_ != nullptr; }
  // True once the task has finished (its value is ready).
  bool done() const { return rec_ != nullptr && rec_->done(); }
  // Cancels the task (no effect once it has finished).
  void cancel() {
    if (rec_ != nullptr && !rec_->done()) rec_->fiber().cancel();
  }
  // Gives up the handle; the task runs on in its scope.
  void detach() { reset(); }

  class Awaiter : public internal::CancelHook {
   public:
    explicit Awaiter(JoinHandle* j) : j_(j) {}
    bool await_ready() const noexcept {
      internal::BumpAwaitEpoch();
      return j_->rec_ == nullptr || j_->rec_->done();
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      fiber_ = h.promise().fiber();
      j_->rec_->set_waiter(h);
      fiber_->set_hook(this);
      if (fiber_->cancelled()) j_->rec_->fiber().cancel();
      return true;
    }
    T await_resume() {
      if (fiber_ != nullptr) fiber_->clear_hook();
      if (j_->rec_ == nullptr) return internal::EmptyHandleValue<T>("awaiting an empty JoinHandle");
      if constexpr (!std::is_void_v<T>) return std::move(j_->h_.promise().result());
    }
    void request_cancel() noexcept override { j_->rec_->fiber().cancel(); }

   private:
    JoinHandle* j_;
    internal::Fiber* fiber_ = nullptr;
  };
  // Waits for the task and returns its value (moved out: await once). If the
  // awaiting task is cancelled meanwhile, the spawned task is cancelled and
  // still awaited. An empty handle (default-constructed, moved-from, detached,
  // or the spawn of an empty Task) returns FailedPrecondition at once when T
  // is a Status or StatusOr, and aborts with a message otherwise.
  Awaiter operator co_await() & noexcept { return Awaiter(this); }
  Awaiter operator co_await() && noexcept { return Awaiter(this); }

 private:
  friend class Scope;
  JoinHandle(internal::SpawnRecord* rec, std::coroutine_handle<internal::TaskPromise<T>> h)
      : rec_(rec), h_(h) {}
  void reset() {
    if (rec_ != nullptr) rec_->release_handle(h_);
    rec_ = nullptr;
    h_ = nullptr;
  }
  internal::SpawnRecord* rec_ = nullptr;
  std::coroutine_handle<internal::TaskPromise<T>> h_ = nullptr;
};

class Scope {
 public:
  // A scope of the loop running on this thread (call inside run()).
  Scope();
  explicit Scope(EventLoop& loop);
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  ~Scope();

  // Starts `task` in this scope (see above). An empty task gives an empty
  // handle.
  template <class T>
  JoinHandle<T> spawn(Task<T> task);

  // Waits until no task of the scope is running (see above). One joiner at a
  // time.
  [[nodiscard]] Task<> join();

  // Cancels every running task of the scope, and every task spawned later.
  void cancel();
  bool cancelled() const { return cancelled_; }
  // Tasks of the scope that have not finished.
  size_t live() const { return live_; }
  EventLoop& loop() const { return *loop_; }

 private:
  friend class internal::SpawnRecord;
  friend class EventLoop;
  // One wait of join(): until the scope's last task finishes.
  class JoinWait : public internal::CancelHook {
   public:
    explicit JoinWait(Scope* s) : s_(s) {}
    bool await_ready() const noexcept {
      internal::BumpAwaitEpoch();
      return s_->live_ == 0;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
      fiber_ = h.promise().fiber();
      s_->joiner_ = h;
      fiber_->set_hook(this);
      if (fiber_->cancelled()) s_->cancel();
      return true;
    }
    void await_resume() noexcept {
      if (fiber_ != nullptr) fiber_->clear_hook();
    }
    void request_cancel() noexcept override { s_->cancel(); }

   private:
    Scope* s_;
    internal::Fiber* fiber_ = nullptr;
  };
  void add(internal::SpawnRecord* rec);
  // Unlinks a finished task; returns the joiner to wake, if this was the last.
  std::coroutine_handle<> remove(internal::SpawnRecord* rec);
  void start(std::coroutine_handle<> task, internal::SpawnRecord* rec);

  EventLoop* loop_;
  Scope* loop_prev_ = nullptr;  // the loop's list of scopes
  Scope* loop_next_ = nullptr;
  internal::SpawnRecord* head_ = nullptr;
  size_t live_ = 0;
  std::coroutine_handle<> joiner_ = nullptr;
  bool cancelled_ = false;
};

template <class T>
JoinHandle<T> Scope::spawn(Task<T> task) {
  if (!task.valid()) return {};
  auto h = task.release();
  auto* rec = new internal::SpawnRecord(this);
  h.promise().set_spawn_record(rec);
  h.promise().set_fiber(&rec->fiber());
  if (cancelled_) rec->fiber().cancel();
  add(rec);
  start(h, rec);
  return JoinHandle<T>(rec, h);
}

namespace internal {
[[noreturn]] void NoLoopForSpawn();
}

// Spawns `task` in the root scope of the loop running on this thread (call
// it inside EventLoop::run(); elsewhere it aborts: use a Scope of the loop).
template <class T>
JoinHandle<T> spawn(Task<T> task) {
  EventLoop* loop = EventLoop::current();
  if (loop == nullptr) internal::NoLoopForSpawn();
  return loop->root_scope().spawn(std::move(task));
}

}  // namespace gaio::coro

#endif  // GAIO_CORO_SCOPE_H_
