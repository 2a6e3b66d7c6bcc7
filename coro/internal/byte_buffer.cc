#include "coro/internal/byte_buffer.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "coro/internal/frame_allocator.h"

namespace gaio::coro::internal {

void ByteBuffer::Grow(size_t need) {
  if (need > UINT32_MAX) std::abort();  // callers cap their sizes far below
  // Powers of two (the frame pool keeps freed blocks of those sizes).
  const size_t cap =
      std::min<size_t>(std::bit_ceil(std::max<size_t>({size_t{cap_} * 2, 64, need})), UINT32_MAX);
  char* p = static_cast<char*>(AllocateFrame(cap));
  if (size_ > 0) std::memcpy(p, p_, size_);
  if (p_ != nullptr) FreeFrame(p_, cap_);
  p_ = p;
  cap_ = static_cast<uint32_t>(cap);
}

void ByteBuffer::Append(absl::string_view bytes) {
  const size_t need = size_t{size_} + bytes.size();
  if (need > cap_) Grow(need);
  if (!bytes.empty()) std::memcpy(p_ + size_, bytes.data(), bytes.size());
  size_ = static_cast<uint32_t>(need);
}

void ByteBuffer::Reserve(size_t n) {
  if (n > cap_) Grow(n);
}

void ByteBuffer::DropFront(size_t n) {
  if (n < size_) std::memmove(p_, p_ + n, size_ - n);
  size_ -= static_cast<uint32_t>(n);
}

void ByteBuffer::Release() {
  if (p_ != nullptr) FreeFrame(std::exchange(p_, nullptr), cap_);
  size_ = cap_ = 0;
}

}  // namespace gaio::coro::internal
