// ByteBuffer: a growable byte buffer of 16 bytes (a std::string takes 32 and a
// std::vector 24), that appends without zero-filling and gives its memory
// back when released: for the buffers that sit in every connection's state
// (Reader, BufferedWriter). Sizes fit 32 bits. Memory comes from the frame
// pool (frame_allocator.h): a buffer of up to 1 KiB that comes and goes with
// every burst of writes is recycled, not malloc'ed.
#ifndef GAIO_CORO_INTERNAL_BYTE_BUFFER_H_
#define GAIO_CORO_INTERNAL_BYTE_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/strings/string_view.h"

namespace gaio::coro::internal {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        cap_(std::exchange(o.cap_, 0)) {}
  ByteBuffer& operator=(ByteBuffer&& o) noexcept {
    swap(o);
    return *this;
  }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer() { Release(); }

  const char* data() const { return p_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return cap_; }
  absl::string_view view() const { return absl::string_view(p_, size_); }

  // Grows in powers of two (at least 64 bytes); aborts past 4 GiB.
  void Append(absl::string_view bytes);
  // Makes room for at least n bytes in all (a power of two), keeping the
  // contents: appends up to n then allocate nothing.
  void Reserve(size_t n);
  void DropFront(size_t n);  // n <= size()
  void Clear() { size_ = 0; }
  void Release();  // empty, and no memory held
  void swap(ByteBuffer& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(size_, o.size_);
    std::swap(cap_, o.cap_);
  }

 private:
  void Grow(size_t need);

  char* p_ = nullptr;
  uint32_t size_ = 0;
  uint32_t cap_ = 0;
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_BYTE_BUFFER_H_
