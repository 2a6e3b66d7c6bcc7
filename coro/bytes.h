// SwapBytes: a view of bytes the caller does not own and may use only until
// its task's next co_await.
//
// Socket::read() (no buffer) returns one pointing into the Watcher's swap
// buffer, which the loop reuses once every ready task has suspended; lines()
// yields one pointing into the generator's line buffer. Either way: use the
// bytes, or copy them (ToString(), or into a buffer of your own), before the
// next co_await of the task that received them. Passing them straight to
// Socket::write() is fine: the write takes them at once and the Watcher copies
// what it cannot send immediately.
//
// Debug builds of the library check it: each view records the await epoch
// of its thread (bumped by every co_await of one of this package's
// awaitables: tasks, I/O, sleep, futures, handles, joins, combinators,
// next(), yield()), and reading the bytes (data(), view(), span(),
// ToString(), operator[]) after a later co_await aborts with a message.
// A combinator is one co_await: what its children returned is fresh for its
// awaiter, whatever the combinator awaited meanwhile (its timer's cancel, the
// other children), except swap-buffer bytes the Watcher took back at a wait
// of the loop in between (with_timeout(s.read(), d) and the like: the bytes
// are really gone; use s.read(deadline), or copy them inside the child).
// Socket::write(SwapBytes) checks the bytes again when it submits the write
// (a lazy combinator may submit it long after the call).
//
// Whether the check is on is decided when the library is built (on unless
// NDEBUG; -DGAIO_CORO_SWAP_CHECK=0/1 given to the library's build
// overrides) and read at run time (internal::SwapCheckEnabled()): a program
// compiled in any mode, against a library built in any mode, gets the
// library's answer, never a false abort. The check cannot follow copies you
// make of the pointer (a string_view taken from view() is on its own), nor
// co_awaits of foreign awaitables. size() and empty() are always fine.
// Sizes fit 32 bits (swap reads and lines() are far smaller).
#ifndef GAIO_CORO_BYTES_H_
#define GAIO_CORO_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "coro/internal/fiber.h"

namespace gaio::coro {

namespace internal {
[[noreturn]] void StaleSwapBytes(uint32_t made, uint32_t now);
// Marks bytes that point into the Watcher's swap buffer (Socket::read()).
struct SwapBufferTag {};
}  // namespace internal

class SwapBytes {
 public:
  SwapBytes() = default;
  // A view stamped with the calling thread's current await epoch.
  // `size` must fit 32 bits (swap reads and lines() do).
  SwapBytes(const char* data, size_t size)
      : data_(data), size_(static_cast<uint32_t>(size)), epoch_(internal::AwaitEpoch()) {}
  // The same, for bytes in the Watcher's swap buffer (the package's reads).
  SwapBytes(internal::SwapBufferTag, const char* data, size_t size)
      : data_(data), size_(static_cast<uint32_t>(size)), epoch_(internal::AwaitEpoch() | 1) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const char* data() const {
    check();
    return data_;
  }
  absl::string_view view() const {
    check();
    return absl::string_view(data_, size_);
  }
  absl::Span<const char> span() const {
    check();
    return absl::Span<const char>(data_, size_);
  }
  std::string ToString() const { return std::string(view()); }
  // The first n bytes (n <= size()), with the same validity.
  SwapBytes first(size_t n) const {
    SwapBytes b = *this;
    b.size_ = static_cast<uint32_t>(n < size_ ? n : size_);
    return b;
  }
  char operator[](size_t i) const {
    check();
    return data_[i];
  }
  // For the package's awaiters that take the bytes in the co_await's own
  // expression (checked there with span()) and hand them over after the
  // awaiter has bumped the epoch.
  absl::Span<const char> span_unchecked() const { return absl::Span<const char>(data_, size_); }
  // True while the bytes may still be used (always true in release builds).
  bool fresh() const { return !internal::SwapCheckEnabled() || internal::StampFresh(epoch_); }
  // For Socket::write(SwapBytes) when it submits: aborts (checked builds) if
  // these are swap-buffer bytes the Watcher has taken back since.
  void check_not_released() const {
    if (internal::SwapCheckEnabled() && internal::SwapStampReleased(epoch_)) stale();
  }

 private:
  void check() const {
    if (internal::SwapCheckEnabled() && !internal::StampFresh(epoch_)) stale();
  }
  [[noreturn]] void stale() const {
    internal::StaleSwapBytes(epoch_ >> 1, internal::AwaitEpoch() >> 1);
  }
  // 16 bytes (it sits in the frames of idle connections); the stamp (the
  // await epoch, bit 0: swap-buffer bytes) is kept in every build, so that
  // every build has one layout.
  const char* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t epoch_ = 0;
};

}  // namespace gaio::coro

#endif  // GAIO_CORO_BYTES_H_
