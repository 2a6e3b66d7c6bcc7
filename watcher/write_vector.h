// Storage a write request owns. WriteVector: the list of buffers of a
// writev request, copied at submission
// into one allocation (the caller's list may be a temporary; only the bytes
// must stay valid). A Request of a writev holds it in `data` (`vectored`).
// Internal to //watcher.
#ifndef GAIO_WATCHER_WRITE_VECTOR_H_
#define GAIO_WATCHER_WRITE_VECTOR_H_

#include <cstddef>
#include <cstring>
#include <new>

#include "absl/types/span.h"

namespace gaio::internal {

class WriteVector {
 public:
  using Spans = absl::Span<const absl::Span<const char>>;

  // A copy of `bufs` as an opaque pointer, nullptr if memory is short.
  static char* Make(Spans bufs) {
    // Element 0 holds the count; the spans follow.
    auto* v = new (std::nothrow) absl::Span<const char>[bufs.size() + 1];
    if (v == nullptr) return nullptr;
    v[0] = absl::Span<const char>(nullptr, bufs.size());
    for (size_t i = 0; i < bufs.size(); ++i) v[i + 1] = bufs[i];
    return reinterpret_cast<char*>(v);
  }
  static Spans Get(const char* data) {
    const auto* v = reinterpret_cast<const absl::Span<const char>*>(data);
    return Spans(v + 1, v[0].size());
  }
  static void Free(char* data) { delete[] reinterpret_cast<absl::Span<const char>*>(data); }
  // Total bytes of `bufs`.
  static size_t Bytes(Spans bufs) {
    size_t n = 0;
    for (absl::Span<const char> b : bufs) n += b.size();
    return n;
  }
};

// KeptBytes: the unsent rest of a write whose bytes were in the swap buffer,
// copied before the swap bytes are reused, with the count of bytes already
// written ahead of it (for OpResult::size). One allocation.
class KeptBytes {
 public:
  // A copy of `rest` after `written` bytes, as the new data pointer; nullptr
  // if memory is short.
  static char* Make(const char* rest, size_t n, size_t written) {
    auto* p = new (std::nothrow) char[kHeader + n];
    if (p == nullptr) return nullptr;
    std::memcpy(p, &written, sizeof(written));
    std::memcpy(p + kHeader, rest, n);
    return p + kHeader;
  }
  static size_t Written(const char* data) {
    size_t written;
    std::memcpy(&written, data - kHeader, sizeof(written));
    return written;
  }
  static void Free(char* data) { delete[] (data - kHeader); }

 private:
  static constexpr size_t kHeader = alignof(std::max_align_t);
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_WRITE_VECTOR_H_
