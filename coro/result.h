// Result<T>: how gaio::coro reports "a T, or why not" without exceptions.
//
//   Result<void>              = absl::Status
//   Result<absl::Status>      = absl::Status
//   Result<absl::StatusOr<U>> = absl::StatusOr<U>
//   Result<T> (any other T)   = absl::StatusOr<T>
//
// EventLoop::run(), with_timeout() and a Future's co_await return Result<T>,
// so a task that already returns a Status or StatusOr is not wrapped twice.
// StatusOf(x) is the status a value carries (OK for a plain T); when_all()
// treats a non-OK StatusOf(result) as the error that cancels the siblings.
#ifndef GAIO_CORO_RESULT_H_
#define GAIO_CORO_RESULT_H_

#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gaio::coro {

namespace internal {
template <class T>
struct IsStatusOr : std::false_type {};
template <class U>
struct IsStatusOr<absl::StatusOr<U>> : std::true_type {};

template <class T>
struct ResultOf {
  using type = absl::StatusOr<T>;
};
template <>
struct ResultOf<void> {
  using type = absl::Status;
};
template <>
struct ResultOf<absl::Status> {
  using type = absl::Status;
};
template <class U>
struct ResultOf<absl::StatusOr<U>> {
  using type = absl::StatusOr<U>;
};
}  // namespace internal

// True for absl::Status and absl::StatusOr<U>: values that can carry an error.
template <class T>
inline constexpr bool kCarriesStatus = std::is_same_v<std::remove_cvref_t<T>, absl::Status> ||
                                       internal::IsStatusOr<std::remove_cvref_t<T>>::value;

template <class T>
using Result = typename internal::ResultOf<T>::type;

// The value a task of T produces, as stored in tuples and vectors:
// std::monostate for void.
template <class T>
using ValueOf = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// The status `value` carries: its own for Status/StatusOr, OK otherwise.
template <class T>
absl::Status StatusOf(const T& value) {
  if constexpr (std::is_same_v<T, absl::Status>) {
    return value;
  } else if constexpr (internal::IsStatusOr<T>::value) {
    return value.status();
  } else {
    return absl::OkStatus();
  }
}

namespace internal {
// Awaiting an empty handle (a default-constructed or moved-from Task, an
// empty JoinHandle): a T that carries a status gets FailedPrecondition; any
// other T has no way to say so, and the process aborts with `what`.
[[noreturn]] inline void DieOfEmptyHandle(const char* what) {
  std::fprintf(stderr, "gaio::coro: %s\n", what);
  std::abort();
}
template <class T>
T EmptyHandleValue(const char* what) {
  if constexpr (kCarriesStatus<T>) {
    return T(absl::FailedPreconditionError(what));
  } else {
    DieOfEmptyHandle(what);
  }
}

// Builds a Result<T> from a T (moved).
template <class T>
Result<T> ToResult(T&& value) {
  return Result<T>(std::forward<T>(value));
}
}  // namespace internal

}  // namespace gaio::coro

#endif  // GAIO_CORO_RESULT_H_
