// AsyncGenerator<T>: a coroutine that co_yields values and may co_await in
// between (an asynchronous iterator, Python's async generator).
//
//   AsyncGenerator<int> Count(int n) {
//     for (int i = 0; i < n; ++i) {
//       co_await sleep(absl::Milliseconds(1));
//       co_yield i;
//     }
//     co_return absl::OkStatus();          // the generator's final status
//   }
//   ...
//   AsyncGenerator<int> g = Count(3);
//   while (std::optional<int> v = co_await g.next()) Use(*v);
//   if (!g.status().ok()) ...              // why it ended
//
// The body ends with `co_return status;` (OK for a normal end, an error
// otherwise); falling off its end is undefined behaviour, as for any coroutine
// whose promise returns a value. next() runs the body up to its next co_yield
// (returning the value, moved into the optional) or its end (returning
// std::nullopt; status() then says why). Nothing runs before the first
// next(). After the end, next() returns std::nullopt at once.
//
// The body runs as part of the task that calls next(): in its fiber, so
// cancelling that task cancels what the body waits for. Values yielded
// without an await in between cost no suspension and no stack (a million
// synchronous yields are fine at -O0). Destroying a generator destroys its
// frame (it must not be inside next() at that moment: it cannot be, the
// caller is suspended there).
//
// One consumer at a time, on the loop thread. A yielded SwapBytes (lines())
// is valid until the consumer's next co_await. Frames come from the
// recycling frame allocator. Exceptions escaping the body terminate.
#ifndef GAIO_CORO_GENERATOR_H_
#define GAIO_CORO_GENERATOR_H_

#include <coroutine>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "coro/internal/fiber.h"

namespace gaio::coro {

template <class T>
class [[nodiscard]] AsyncGenerator {
 public:
  class promise_type : public internal::PromiseBase {
   public:
    AsyncGenerator get_return_object() noexcept {
      return AsyncGenerator(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    internal::FinalAwaiter final_suspend() noexcept { return {}; }
    // A yield hands the value over like a task's end hands its result: back
    // to the consumer's next() (inline, or by symmetric transfer).
    internal::FinalAwaiter yield_value(T value) {
      current_.emplace(std::move(value));
      return {};
    }
    void return_value(absl::Status status) { status_ = std::move(status); }

   private:
    friend class AsyncGenerator;
    std::optional<T> current_;
    absl::Status status_;
  };
  using Handle = std::coroutine_handle<promise_type>;

  AsyncGenerator() = default;
  AsyncGenerator(AsyncGenerator&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  AsyncGenerator& operator=(AsyncGenerator&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  AsyncGenerator(const AsyncGenerator&) = delete;
  AsyncGenerator& operator=(const AsyncGenerator&) = delete;
  ~AsyncGenerator() { reset(); }

  bool valid() const { return static_cast<bool>(h_); }
  // True once the body has ended.
  bool done() const { return !h_ || h_.done(); }
  // Why the body ended (meaningful once done()): OK for a normal end;
  // FailedPrecondition for an empty generator (default-constructed or
  // moved-from), whose next() returns std::nullopt at once.
  const absl::Status& status() const {
    if (!h_) return EmptyStatus();
    return h_.promise().status_;
  }

  class NextAwaiter {
   public:
    explicit NextAwaiter(Handle h) : h_(h) {}
    bool await_ready() const noexcept {
      internal::BumpAwaitEpoch();
      return !h_ || h_.done();
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> consumer) {
      h_.promise().set_fiber(consumer.promise().fiber());
      return internal::RunInline(h_, consumer);
    }
    std::optional<T> await_resume() {
      if (!h_ || h_.done()) return std::nullopt;
      std::optional<T> out = std::move(h_.promise().current_);
      h_.promise().current_.reset();
      return out;
    }

   private:
    Handle h_;
  };
  // The next value, or std::nullopt at the end.
  NextAwaiter next() { return NextAwaiter(h_); }

 private:
  explicit AsyncGenerator(Handle h) : h_(h) {}
  static const absl::Status& EmptyStatus() {
    static const absl::Status* const empty =
        new absl::Status(absl::FailedPreconditionError("empty AsyncGenerator"));
    return *empty;
  }
  void reset() {
    if (h_) h_.destroy();
    h_ = nullptr;
  }
  Handle h_ = nullptr;
};

// The values of each generator in turn; ends at the first that ends with an
// error (with that status), else OK after the last.
template <class T>
AsyncGenerator<T> chain(std::vector<AsyncGenerator<T>> generators) {
  for (AsyncGenerator<T>& g : generators) {
    while (std::optional<T> v = co_await g.next()) co_yield std::move(*v);
    if (!g.status().ok()) co_return g.status();
  }
  co_return absl::OkStatus();
}
template <class T, class... More>
AsyncGenerator<T> chain(AsyncGenerator<T> first, More... more) {
  std::vector<AsyncGenerator<T>> all;
  all.reserve(1 + sizeof...(More));
  all.push_back(std::move(first));
  (all.push_back(std::move(more)), ...);
  return chain(std::move(all));
}

}  // namespace gaio::coro

#endif  // GAIO_CORO_GENERATOR_H_
