// Task<T>: a lazy coroutine producing a T (T = void by default).
//
//   Task<absl::StatusOr<int>> Answer() { co_await sleep(absl::Seconds(1)); co_return 42; }
//   Task<> Main() { absl::StatusOr<int> v = co_await Answer(); ... }
//
// A Task is move-only and [[nodiscard]]: calling a Task function only creates
// the frame; nothing runs until the Task is co_awaited (as an rvalue:
// `co_await F()` or `co_await std::move(t)`), spawned in a Scope, given to a
// combinator (when_all, ...), or to EventLoop::run(). Awaiting a Task runs it
// as part of the awaiting task: same fiber, so cancelling the awaiter cancels
// what the Task is suspended on. A Task that finishes resumes its awaiter by
// symmetric transfer; a Task that finishes without suspending lets its awaiter
// go on without suspending at all, so a loop of a million such awaits uses no
// stack (also at -O0 and under sanitizers).
//
// Destroying a Task that was never started destroys its frame (and the
// arguments stored in it). A started Task is owned by whatever runs it.
// Awaiting an empty Task (default-constructed or moved-from) returns
// FailedPrecondition when T is a Status or StatusOr, and aborts with a message
// otherwise (there is no T to return).
//
// Errors and exceptions. Tasks report errors in their value (absl::Status,
// absl::StatusOr<U>); see result.h. A coroutine body that lets an exception
// escape calls std::terminate(). Frames come from a per-thread recycling
// allocator (internal/frame_allocator.h); running out of memory aborts.
//
// Lifetimes. Arguments are copied or moved into the frame, but references and
// pointers stay references: whatever they point to must outlive the task.
// Never make a capturing lambda a coroutine: the lambda object (and with it the
// captures) is usually a temporary that dies at the task's first suspension
// (clang-tidy cppcoreguidelines-avoid-capturing-lambda-coroutines). Pass what
// it needs as parameters of a plain function instead.
//
// Threads. A Task runs on the thread of the EventLoop that runs it.
#ifndef GAIO_CORO_TASK_H_
#define GAIO_CORO_TASK_H_

#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include "coro/internal/fiber.h"
#include "coro/result.h"

namespace gaio::coro {

template <class T = void>
class Task;

namespace internal {

template <class T>
class TaskPromise : public PromiseBase {
 public:
  Task<T> get_return_object() noexcept;
  FinalAwaiter final_suspend() noexcept { return {}; }
  void return_value(T value) { value_.emplace(std::move(value)); }
  T& result() { return *value_; }
  bool has_result() const { return value_.has_value(); }

 private:
  std::optional<T> value_;
};

template <>
class TaskPromise<void> : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  FinalAwaiter final_suspend() noexcept { return {}; }
  void return_void() noexcept {}
  void result() {}
};

}  // namespace internal

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = internal::TaskPromise<T>;
  using Handle = std::coroutine_handle<promise_type>;
  using value_type = T;

  Task() = default;
  Task(Task&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  // False for a default-constructed or moved-from Task.
  bool valid() const { return static_cast<bool>(h_); }

  class Awaiter {
   public:
    explicit Awaiter(Handle h) : h_(h) {}
    bool await_ready() const noexcept {
      internal::BumpAwaitEpoch();
      return !h_ || h_.done();
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> parent) {
      h_.promise().set_fiber(parent.promise().fiber());
      return internal::RunInline(h_, parent);
    }
    T await_resume() {
      if (!h_) return internal::EmptyHandleValue<T>("awaiting an empty Task");
      if constexpr (!std::is_void_v<T>) return std::move(h_.promise().result());
    }

   private:
    Handle h_;
  };

  // Runs the task as part of the awaiting coroutine and returns its value.
  Awaiter operator co_await() && noexcept { return Awaiter(h_); }

  // For the package's runners (scope, combinators, run()): gives up the frame.
  Handle release() { return std::exchange(h_, nullptr); }
  Handle handle() const { return h_; }

 private:
  friend class internal::TaskPromise<T>;
  explicit Task(Handle h) : h_(h) {}
  void reset() {
    if (h_) h_.destroy();
    h_ = nullptr;
  }
  Handle h_ = nullptr;
};

namespace internal {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

// Moves the result out of a finished task's promise as a Result<T>.
template <class T>
Result<T> TakeResult(TaskPromise<T>& p) {
  if constexpr (std::is_void_v<T>) {
    return absl::OkStatus();
  } else {
    return Result<T>(std::move(p.result()));
  }
}
// ... or as ValueOf<T> (std::monostate for void).
template <class T>
ValueOf<T> TakeValue(TaskPromise<T>& p) {
  if constexpr (std::is_void_v<T>) {
    return std::monostate{};
  } else {
    return std::move(p.result());
  }
}
template <class T>
absl::Status StatusOfResult(TaskPromise<T>& p) {
  if constexpr (std::is_void_v<T>) {
    return absl::OkStatus();
  } else {
    return StatusOf(p.result());
  }
}
}  // namespace internal

}  // namespace gaio::coro

#endif  // GAIO_CORO_TASK_H_
