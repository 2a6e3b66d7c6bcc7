// Combinators: when_all, when_any, when_all_settled, first_success,
// with_timeout, shield.
//
//   auto [a, b] = co_await when_all(FetchA(), FetchB());          // both values
//   AnyResult<absl::Status, absl::Status> r = co_await when_any(Read(s), sleep(d));
//   absl::StatusOr<Bytes> x = co_await with_timeout(ReadMessage(s), absl::Seconds(5));
//   absl::Status s = co_await shield(SendGoodbye(s));            // not cancelled by ours
//
// Each takes tasks (Task<T>) or awaitables of this package (sleep(),
// Future, JoinHandle, Socket's operations...), which are wrapped in a task.
// Every child runs in a fiber of its own, started in argument order when the
// combinator is awaited, concurrently with the others; each returns a Task,
// so it runs when awaited (or spawned) like any task. The value of a void
// child is std::monostate.
//
// Structured: none of them returns before every child it started has
// finished. Cancelling the awaiting task cancels every child (except under
// shield) and still waits for them.
//
// when_all(...) -> std::tuple<V...>: every child's value. The first child to
// finish with an error (a Status or StatusOr value that is not OK, Cancelled
// included) cancels the others. FirstError() picks the error to report.
// when_all(std::vector<Task<T>>) -> std::vector<V>, in the same order.
//
// when_any(...) -> AnyResult<V...>{index, results}: `index` is the first
// child to finish (whatever its value); the others are then cancelled and
// joined, and their values are in `results` too: a child that finished in the
// same batch as the winner (a read that had its bytes) reports its real value,
// not Cancelled, so nothing that completed is lost.
// when_any(std::vector<Task<T>>) -> AnyResults<V>{index, results}; for an
// empty vector, index = kNone at once.
//
// when_all_settled(...) -> std::tuple<V...>: waits for every child and
// returns every value; a failing child cancels none of the others (only the
// awaiter's own cancellation reaches them). Vector form: std::vector<V>.
//
// first_success(...) -> AnyResult<V...>{index, results}: `index` is the first
// child to finish with an OK value (a Status/StatusOr that is OK, or any T
// that carries no status); the others are then cancelled and joined. When
// none succeeds, index == kNone and `results` holds every child's error
// (FirstError() picks one to report). Vector form: AnyResults<V>; an empty
// vector gives kNone at once.
//
// with_timeout(task, d) -> Result<T>: runs the task with a Watcher timer of
// `d`. If the timer fires first, the task is cancelled and awaited. The
// outcome is exactly one: the task's own value if it finished without the
// deadline's cancellation getting in (also when it completed in the same
// batch as the timer: a completed read is never thrown away), else
// DeadlineExceeded. Precisely: the deadline fired before the task finished
// and the task's value is a Cancelled status (or T carries no status) ->
// DeadlineExceeded; otherwise the task's value. If the awaiting task itself
// is cancelled, the value is returned as it is (usually Cancelled). The timer
// is always cancelled or fired before with_timeout returns. Zero or negative
// `d`: the timer fires at the loop's next wait; InfiniteDuration(): the task
// alone. If the Watcher refuses the timer, that error (the task is not run).
//
// shield(task) -> T: runs the task in a fiber the awaiting task's
// cancellation does not reach. The awaiter still waits for it (a cancel does
// not abandon it); the awaiter's own cancellation stays pending, so its next
// cancellable await returns Cancelled. Use it for cleanup that must run in a
// cancelled task, or to wait on a Future without cancelling it.
//
// Loop thread only, inside EventLoop::run(). Each combinator costs one frame
// (two with an awaitable wrapped) from the recycling frame allocator.
#ifndef GAIO_CORO_SYNC_H_
#define GAIO_CORO_SYNC_H_

#include <cstddef>
#include <initializer_list>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coro/internal/group.h"
#include "coro/internal/timeout.h"
#include "coro/result.h"
#include "coro/task.h"

namespace gaio::coro {

inline constexpr size_t kNone = internal::kNoWinner;

template <class... Vs>
struct AnyResult {
  size_t index = kNone;  // the child that finished first
  std::tuple<Vs...> results;
};

template <class V>
struct AnyResults {
  size_t index = kNone;
  std::vector<V> results;
};

namespace internal {

template <class A>
decltype(auto) GetAwaiter(A&& a) {
  if constexpr (requires { static_cast<A&&>(a).operator co_await(); }) {
    return static_cast<A&&>(a).operator co_await();
  } else {
    return static_cast<A&&>(a);
  }
}
template <class A>
using AwaitResultT = decltype(GetAwaiter(std::declval<A>()).await_resume());

template <class T>
struct IsTask : std::false_type {};
template <class T>
struct IsTask<Task<T>> : std::true_type {};

template <class A>
requires(!std::is_void_v<AwaitResultT<A>>) Task<AwaitResultT<A>> AsTask(A awaitable) {
  co_return co_await std::move(awaitable);
}
template <class A>
requires std::is_void_v<AwaitResultT<A>> Task<> AsTask(A awaitable) {
  co_await std::move(awaitable);
}

template <class A>
auto ToTask(A&& a) {
  static_assert(!std::is_lvalue_reference_v<A>,
                "pass tasks and awaitables to combinators as rvalues (std::move)");
  if constexpr (IsTask<std::remove_cvref_t<A>>::value) {
    return std::forward<A>(a);  // an rvalue (asserted above): moved
  } else {
    return AsTask<std::remove_cvref_t<A>>(std::forward<A>(a));
  }
}
template <class A>
using TaskOf = decltype(ToTask(std::declval<A>()));

template <class... Ts>
Task<std::tuple<ValueOf<Ts>...>> WhenAllTasks(Task<Ts>... tasks) {
  TupleGroup<GroupMode::kAll, Ts...> group(std::move(tasks)...);
  co_await group.wait();
  co_return group.values();
}

template <class... Ts>
Task<AnyResult<ValueOf<Ts>...>> WhenAnyTasks(Task<Ts>... tasks) {
  TupleGroup<GroupMode::kAny, Ts...> group(std::move(tasks)...);
  co_await group.wait();
  co_return AnyResult<ValueOf<Ts>...>{group.winner(), group.values()};
}

template <class... Ts>
Task<std::tuple<ValueOf<Ts>...>> WhenAllSettledTasks(Task<Ts>... tasks) {
  TupleGroup<GroupMode::kSettled, Ts...> group(std::move(tasks)...);
  co_await group.wait();
  co_return group.values();
}

template <class... Ts>
Task<AnyResult<ValueOf<Ts>...>> FirstSuccessTasks(Task<Ts>... tasks) {
  TupleGroup<GroupMode::kFirstOk, Ts...> group(std::move(tasks)...);
  co_await group.wait();
  co_return AnyResult<ValueOf<Ts>...>{group.winner(), group.values()};
}

template <class T>
Task<T> ShieldTask(Task<T> task) {
  TupleGroup<GroupMode::kShield, T> group(std::move(task));
  co_await group.wait();
  if constexpr (!std::is_void_v<T>) co_return std::move(std::get<0>(group.values()));
}

template <class T>
Task<Result<T>> WithTimeoutTask(Task<T> task, absl::Duration d) {
  TimeoutGroup<T> group(std::move(task), d);
  co_await group.wait();
  if (!group.timer_error().ok()) co_return group.timer_error();
  Result<T> r = group.take_result();
  if (group.timed_out() && !group.parent_cancelled()) {
    if (!kCarriesStatus<T> || absl::IsCancelled(StatusOf(r))) {
      absl::Status deadline = absl::DeadlineExceededError("with_timeout: deadline exceeded");
      // What the cancelled task said of its progress (its payloads, e.g. a
      // write's BytesWritten) stays with the result.
      if constexpr (kCarriesStatus<T>) {
        StatusOf(r).ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
          deadline.SetPayload(url, payload);
        });
      }
      co_return deadline;
    }
  }
  co_return r;
}

}  // namespace internal

template <class... As>
requires(sizeof...(As) > 0) auto when_all(As&&... as) {
  return internal::WhenAllTasks(internal::ToTask(std::forward<As>(as))...);
}
template <class T>
Task<std::vector<ValueOf<T>>> when_all(std::vector<Task<T>> tasks) {
  internal::VectorGroup<internal::GroupMode::kAll, T> group(std::move(tasks));
  co_await group.wait();
  co_return group.values();
}

template <class... As>
requires(sizeof...(As) > 0) auto when_any(As&&... as) {
  return internal::WhenAnyTasks(internal::ToTask(std::forward<As>(as))...);
}
template <class T>
Task<AnyResults<ValueOf<T>>> when_any(std::vector<Task<T>> tasks) {
  internal::VectorGroup<internal::GroupMode::kAny, T> group(std::move(tasks));
  co_await group.wait();
  co_return AnyResults<ValueOf<T>>{group.winner(), group.values()};
}

template <class... As>
requires(sizeof...(As) > 0) auto when_all_settled(As&&... as) {
  return internal::WhenAllSettledTasks(internal::ToTask(std::forward<As>(as))...);
}
template <class T>
Task<std::vector<ValueOf<T>>> when_all_settled(std::vector<Task<T>> tasks) {
  internal::VectorGroup<internal::GroupMode::kSettled, T> group(std::move(tasks));
  co_await group.wait();
  co_return group.values();
}

template <class... As>
requires(sizeof...(As) > 0) auto first_success(As&&... as) {
  return internal::FirstSuccessTasks(internal::ToTask(std::forward<As>(as))...);
}
template <class T>
Task<AnyResults<ValueOf<T>>> first_success(std::vector<Task<T>> tasks) {
  internal::VectorGroup<internal::GroupMode::kFirstOk, T> group(std::move(tasks));
  co_await group.wait();
  co_return AnyResults<ValueOf<T>>{group.winner(), group.values()};
}

template <class A>
auto with_timeout(A&& a, absl::Duration d) {
  return internal::WithTimeoutTask(internal::ToTask(std::forward<A>(a)), d);
}

template <class A>
auto shield(A&& a) {
  return internal::ShieldTask(internal::ToTask(std::forward<A>(a)));
}

// The error to report from when_all's values: the first non-OK status that is
// not Cancelled (the cause), else the first Cancelled, else OK.
template <class... Vs>
absl::Status FirstError(const std::tuple<Vs...>& values) {
  absl::Status cause, cancelled;
  std::apply(
      [&](const auto&... v) {
        (
            [&] {
              absl::Status s = StatusOf(v);
              if (s.ok()) return;
              if (absl::IsCancelled(s)) {
                if (cancelled.ok()) cancelled = s;
              } else if (cause.ok()) {
                cause = s;
              }
            }(),
            ...);
      },
      values);
  return !cause.ok() ? cause : cancelled;
}
template <class V>
absl::Status FirstError(const std::vector<V>& values) {
  absl::Status cancelled;
  for (const V& v : values) {
    absl::Status s = StatusOf(v);
    if (s.ok()) continue;
    if (!absl::IsCancelled(s)) return s;
    if (cancelled.ok()) cancelled = s;
  }
  return cancelled;
}

}  // namespace gaio::coro

#endif  // GAIO_CORO_SYNC_H_
