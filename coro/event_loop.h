// EventLoop: one thread, one gaio::Watcher, and the tasks that run on them.
//
//   absl::StatusOr<std::unique_ptr<gaio::coro::EventLoop>> loop = gaio::coro::EventLoop::Create();
//   absl::StatusOr<int> v = (*loop)->run(Answer());   // Task<absl::StatusOr<int>> Answer();
//
// run(task) runs `task` on the calling thread, together with every task
// spawned while it runs (Scope::spawn, spawn()), and returns when the task
// and all of those have finished: no task outlives run(). The loop waits in
// Watcher::wait_io() and resumes, in batch order, the tasks whose requests
// completed in that batch, each straight from the dispatch; tasks made ready
// otherwise (spawned, woken by a Promise or a cancellation, yield()) run in
// FIFO rounds between waits: what becomes ready during a round runs in the
// next one, after a poll_io() instead of a blocking wait, so that no task
// starves the I/O. Steady state allocates nothing.
//
// Threads. A loop is used by the thread that calls run(); only stop() and the
// Promise<T> setters (future.h) may be called from other threads, and stop()
// also from a signal handler. One loop
// per thread may run at a time; EventLoop::current() is the one running on
// the calling thread.
//
// Shutdown. stop() (any thread, or a signal handler) cancels every task of
// the run in progress when it is called (or, between runs, of the next run):
// what
// each one is suspended on ends with Cancelled (I/O and timers through
// Watcher::cancel), and every later I/O, sleep or future await in a
// cancelled task returns Cancelled at once. Tasks are expected to return when
// they see Cancelled; run() returns once they all have. If the Watcher fails
// (wait_io() returns an error), the loop cancels every task, closes the
// Watcher, delivers the outstanding completions and returns that error unless
// the task given to run() finished anyway; the loop is unusable afterwards.
//
// Destruction. Destroy the loop after run() returned, on any thread; it
// closes the Watcher (and so every fd it owns). Sockets and Listeners of the
// loop may outlive it (socket.h): they then touch no loop. Tasks left
// suspended by a failed run() (see Shutdown) are leaked, not destroyed (also
// those of the root scope); a Promise they wait for must be set or
// destroyed before the loop is, not after (it would wake a dead loop).
#ifndef GAIO_CORO_EVENT_LOOP_H_
#define GAIO_CORO_EVENT_LOOP_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coro/internal/fiber.h"
#include "coro/internal/mutex.h"
#include "coro/internal/spawn_record.h"
#include "coro/result.h"
#include "coro/task.h"
#include "watcher/watcher.h"

namespace gaio::coro {

class Scope;
class EventLoop;

namespace internal {
// What the Sockets and Listeners of a loop hold instead of the loop itself:
// a reference-counted cell that lives until the loop and every one of them
// are gone, and says whether the loop still exists (nullptr once it is
// destroyed). So a Socket may outlive its loop without touching it.
class LoopAnchor {
 public:
  explicit LoopAnchor(EventLoop* loop) : loop_(loop) {}
  LoopAnchor(const LoopAnchor&) = delete;
  LoopAnchor& operator=(const LoopAnchor&) = delete;
  static LoopAnchor* Ref(LoopAnchor* a) {
    if (a != nullptr) a->refs_.fetch_add(1, std::memory_order_relaxed);
    return a;
  }
  static void Unref(LoopAnchor* a) {
    if (a != nullptr && a->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete a;
  }
  EventLoop* loop() const { return loop_.load(std::memory_order_acquire); }
  void detach() { loop_.store(nullptr, std::memory_order_release); }

 private:
  std::atomic<EventLoop*> loop_;
  std::atomic<uint32_t> refs_{1};  // the loop's own and one per Socket/Listener
};

// Resumption depth. Where the compiler does not make symmetric transfer a
// tail call (gcc 12 at -O0..-O2, sanitizers), every coroutine that resumes
// another from its final suspension (a spawned task resuming its
// JoinHandle's waiter, which finishes and resumes the next, ...) adds stack
// frames. True once the calling thread's stack is more than
// kMaxResumeStack bytes deeper than where the running loop's run() began:
// a resumption is then queued on the loop instead (SpawnRecord::on_finish).
inline constexpr size_t kMaxResumeStack = 64 * 1024;
bool PastResumeDepth() noexcept;

// Work deferred to just before the loop next looks for I/O completions
// (EventLoop::defer): e.g. a BufferedWriter's write, so that every send a
// batch of completions caused goes out in one request.
class Deferred {
 public:
  virtual void run_deferred() noexcept = 0;

 protected:
  ~Deferred() = default;

 private:
  friend class gaio::coro::EventLoop;
  Deferred* next_deferred_ = nullptr;
};

// A heap block the loop frees when it is destroyed, unless released first
// (EventLoop::adopt): the Operation of a request still in flight when its
// owner went, which its completion frees if the loop delivers it.
class Orphan {
 public:
  virtual void loop_gone() noexcept = 0;  // frees the block (no completion will come)

 protected:
  ~Orphan() = default;

 private:
  friend class gaio::coro::EventLoop;
  Orphan* prev_orphan_ = nullptr;
  Orphan* next_orphan_ = nullptr;
};

// Ready tasks resumed between two looks for I/O completions (at least one
// round of what was ready runs between looks): the loop does not poll the
// Watcher (a syscall in caller-driven mode) after every round while tasks
// hand work to each other, yet no task keeps the I/O waiting for longer
// than this many resumptions.
inline constexpr size_t kResumesPerPoll = 256;
}  // namespace internal

class EventLoop {
 public:
  // Caller-driven mode: no poller thread; wait_io() in run() does the I/O.
  static WatcherOptions DefaultOptions();

  // Creates the Watcher (any options) and the loop. Returns the Watcher's
  // error if it cannot be created, or pipe()'s for the loop's self-pipe.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(
      const WatcherOptions& options = DefaultOptions());

  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // Runs `task` and everything spawned meanwhile to completion (see above)
  // and returns the task's value as a Result<T>. FailedPrecondition, without
  // running the task, when this loop is already running, another loop runs
  // on this thread, or the loop has failed before.
  template <class T>
  Result<T> run(Task<T> task);

  // Cancels every task of the run in progress (see Shutdown). A stop() while
  // the loop is not running applies to the next run(). A stop() made during a
  // run applies to that run only: if the run ends before the loop sees it,
  // it is dropped, not carried over to the next run(). Any thread, and
  // async-signal-safe (lock-free atomics and one write(2) to the loop's
  // self-pipe; errno is preserved), so a signal handler may call it; the
  // loop must not be destroyed meanwhile.
  void stop();

  // The loop running on the calling thread (inside run()), else nullptr.
  static EventLoop* current();

  Watcher& watcher() { return watcher_; }
  // The scope of spawn() (scope.h): tasks spawned outside any Scope.
  Scope& root_scope() { return *root_scope_; }
  // The same, or nullptr while the loop is being destroyed.
  Scope* root_scope_if_any() { return root_scope_.get(); }
  // Spawned tasks not yet finished, over all scopes of this loop.
  size_t live_tasks() const { return live_tasks_; }

  // ---- For the package's awaitables (loop thread only unless said). ----
  // Queues `h` to be resumed before the next wait for I/O.
  void schedule(std::coroutine_handle<> h);
  // Any thread: the same, waking the loop if it waits for I/O.
  void schedule_remote(std::coroutine_handle<> h);
  // Runs d->run_deferred() once, before the loop next looks for I/O
  // completions (or when the run ends). `d` must stay valid until then and
  // must not be deferred again before it ran.
  void defer(internal::Deferred* d);
  // Loop thread. `o` is freed (loop_gone()) by ~EventLoop, after the Watcher
  // is closed, unless release(o) came first.
  void adopt(internal::Orphan* o);
  void release(internal::Orphan* o);
  void task_spawned() { ++live_tasks_; }
  void task_finished() { --live_tasks_; }
  // Starts a spawned task: at once if running, else at the next run().
  void start_spawned(std::coroutine_handle<> task, internal::SpawnRecord* rec);
  void register_scope(Scope* scope);
  void unregister_scope(Scope* scope);
  // For Socket and Listener (socket.h): see LoopAnchor.
  internal::LoopAnchor* anchor() { return anchor_; }

 private:
  class RootBase : public internal::FinishHook {
   public:
    std::coroutine_handle<> on_finish(std::coroutine_handle<>) noexcept override {
      done = true;
      return std::noop_coroutine();
    }
    internal::Fiber fiber;
    bool started = false;
    bool done = false;
  };
  template <class T>
  class Root : public RootBase {
   public:
    explicit Root(Task<T> t) : task(std::move(t)) {}
    Task<T> task;
  };
  // The loop's own Watcher requests: the wake-up post of schedule_remote()
  // and the post of stop().
  class RemoteWake : public internal::Operation {
   public:
    explicit RemoteWake(EventLoop* loop) : loop_(loop) {}
    void complete(const OpResult& r) noexcept override;
    void request_cancel() noexcept override {}

   private:
    EventLoop* loop_;
  };
  // The read of the self-pipe that stop() writes to: pending while the loop
  // runs (and possibly between runs).
  class StopRead : public internal::Operation {
   public:
    explicit StopRead(EventLoop* loop) : loop_(loop) {}
    void complete(const OpResult& r) noexcept override;
    void request_cancel() noexcept override {}

   private:
    EventLoop* loop_;
  };

  EventLoop(Watcher watcher, int stop_read_fd, int stop_write_fd);
  // Submits the StopRead unless it is pending.
  void arm_stop_read();
  // True when a stop() applies to the current run.
  bool stop_applies() const { return stop_target_.load(std::memory_order_acquire) >= run_serial_; }
  // Runs the loop with `root` started; returns when it and every spawned task
  // have finished, or the error that ended the loop.
  absl::Status run_root(RootBase& root, std::coroutine_handle<> start);
  void drain_ready();
  void run_ready_round();
  void run_deferred();
  // Moves the handles of schedule_remote() to the ready queue.
  void take_remote();
  void cancel_all();
  absl::Status fail(absl::Status error, RootBase& root);
  bool finished(const RootBase& root) const { return root.done && live_tasks_ == 0; }

  Watcher watcher_;
  internal::LoopAnchor* anchor_;
  std::unique_ptr<Scope> root_scope_;
  // Ready queue: a ring buffer of handles (capacity a power of two).
  std::vector<std::coroutine_handle<>> ready_;
  size_t ready_head_ = 0;
  size_t ready_size_ = 0;
  size_t resumed_since_poll_ = 0;
  internal::Deferred* deferred_head_ = nullptr;  // FIFO of defer()
  internal::Deferred* deferred_tail_ = nullptr;
  internal::Orphan* orphans_ = nullptr;  // adopt(), intrusive list
  size_t live_tasks_ = 0;
  Scope* scopes_ = nullptr;  // every Scope of the loop (intrusive list)
  // Tasks spawned while the loop was not running, started by the next run().
  std::vector<std::pair<std::coroutine_handle<>, internal::SpawnRecord*>> pending_;
  RootBase* root_ = nullptr;  // the running root, if any
  bool running_ = false;
  bool failed_ = false;
  RemoteWake remote_wake_{this};
  // stop(): the serial number of the run it applies to (runs count from 1),
  // and the self-pipe it wakes the loop through. run_word_ is the serial of
  // the current or last run, times two, plus one while it runs.
  StopRead stop_read_{this};
  int stop_read_fd_;   // owned by the Watcher from the first run on
  int stop_write_fd_;  // non-blocking; closed by the destructor
  bool stop_read_pending_ = false;
  bool stop_read_registered_ = false;  // the Watcher owns stop_read_fd_
  char stop_buf_[64];
  uint64_t run_serial_ = 0;  // loop thread
  std::atomic<uint64_t> run_word_{0};
  std::atomic<uint64_t> stop_target_{0};
  static_assert(std::atomic<uint64_t>::is_always_lock_free, "stop() must be signal-safe");

  internal::Mutex remote_mu_;
  std::vector<std::coroutine_handle<>> remote_ ABSL_GUARDED_BY(remote_mu_);
  std::vector<std::coroutine_handle<>> remote_taken_;  // loop thread only
  bool remote_posted_ ABSL_GUARDED_BY(remote_mu_) = false;
};

template <class T>
Result<T> EventLoop::run(Task<T> task) {
  if (!task.valid()) return absl::InvalidArgumentError("run: empty task");
  Root<T> root(std::move(task));
  auto h = root.task.handle();
  h.promise().set_finish_hook(&root);
  h.promise().set_fiber(&root.fiber);
  absl::Status status = run_root(root, h);
  if (root.done) return internal::TakeResult(h.promise());
  // Stuck after a failure: leak the suspended frame rather than destroy it
  // under whatever it waits for.
  if (root.started) (void)root.task.release();
  return status.ok() ? absl::InternalError("run: the task did not finish") : status;
}

// Lets the other ready tasks run, then resumes (asyncio's `await sleep(0)`).
// Always suspends; never fails.
class Yield {
 public:
  bool await_ready() const noexcept {
    internal::BumpAwaitEpoch();
    return false;
  }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    EventLoop::current()->schedule(h);
  }
  void await_resume() const noexcept {}
};
inline Yield yield() { return {}; }

}  // namespace gaio::coro

#endif  // GAIO_CORO_EVENT_LOOP_H_
