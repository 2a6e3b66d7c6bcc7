// gaio::internal::OwningTemporary: the buffer arguments a request must not
// borrow. Internal to //watcher (watcher.h uses it to delete overloads); the
// rationale is in docs/BUFFER_LIFETIME.md.
//
// A request keeps pointing at its buffer until its OpResult is returned, long
// after the submitting call. An rvalue that owns its bytes (std::string&&,
// std::vector<char>&&, std::array<char, N>&&, a std::move()d container) is
// destroyed at the end of that call's full-expression. Views (absl::Span,
// absl::string_view, std::string_view, std::span) only borrow bytes that live
// elsewhere, so their temporaries are fine.
//
// Reuse: a new call taking a buffer gets a deleted twin whose buffer parameter
// is `internal::OwningTemporary auto&&`, e.g.
//   absl::Status send_to(void*, int, internal::OwningTemporary auto&&,
//                        const sockaddr*, socklen_t) = delete;
#ifndef GAIO_WATCHER_BUFFER_TRAITS_H_
#define GAIO_WATCHER_BUFFER_TRAITS_H_

#include <ranges>
#include <type_traits>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace gaio::internal {

// absl's views do not opt in to std::ranges::enable_borrowed_range (in this
// build absl::string_view is its own class, not std::string_view).
template <typename T>
inline constexpr bool kIsAbslView = false;
template <typename T>
inline constexpr bool kIsAbslView<absl::Span<T>> = true;
template <>
inline constexpr bool kIsAbslView<absl::string_view> = true;

// B as deduced for a forwarding reference B&&: true when the argument is an
// rvalue contiguous range that owns its elements. An lvalue deduces B as a
// reference, which std::ranges::borrowed_range accepts, so it never matches.
// A view type of another library opts out the standard way, by specializing
// std::ranges::enable_borrowed_range.
template <typename B>
concept OwningTemporary = std::ranges::contiguous_range<B> && !std::ranges::borrowed_range<B> &&
                          !kIsAbslView<std::remove_cv_t<B>>;

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_BUFFER_TRAITS_H_
