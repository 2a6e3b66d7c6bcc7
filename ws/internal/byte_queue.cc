#include "ws/internal/byte_queue.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace gaio::ws::internal {

uint8_t* ByteQueue::Extend(size_t n) {
  if (n == 0) return nullptr;
  if (b_ != nullptr && b_->capacity - b_->size >= n) {
    uint8_t* at = Bytes() + b_->size;
    b_->size += n;
    return at;
  }
  const size_t held = size();
  const size_t need = held + n;
  const size_t capacity = b_ == nullptr ? need : std::max(need, 2 * b_->capacity);
  auto* block = static_cast<Block*>(::operator new(sizeof(Block) + capacity));
  block->size = need;
  block->pos = 0;
  block->capacity = capacity;
  auto* bytes = reinterpret_cast<uint8_t*>(block + 1);
  if (held > 0) std::memcpy(bytes, data(), held);
  Release();
  b_ = block;
  return bytes + held;
}

void ByteQueue::Append(const void* bytes, size_t n) {
  if (n > 0) std::memcpy(Extend(n), bytes, n);
}

void ByteQueue::Assign(const void* bytes, size_t n) {
  if (n == 0 || (b_ != nullptr && b_->capacity < n)) Release();
  Clear();
  Append(bytes, n);
}

void ByteQueue::Consume(size_t n) {
  if (b_ != nullptr) b_->pos += std::min(n, b_->size - b_->pos);
}

void ByteQueue::Clear() {
  if (b_ != nullptr) b_->size = b_->pos = 0;
}

void ByteQueue::Release() {
  if (b_ != nullptr) ::operator delete(std::exchange(b_, nullptr));
}

}  // namespace gaio::ws::internal
