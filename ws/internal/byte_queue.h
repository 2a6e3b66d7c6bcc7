// ByteQueue: bytes appended at the back and consumed from the front, in one
// heap block that exists only while the queue holds one: the handle is a
// single pointer (8 bytes, where a std::string and its position take 40), so
// an idle connection's empty queues cost 8 bytes each and no heap. For the
// output of gaio::ws::Session and the held input and queued output of the
// WsSocket adapter (coro/internal/ws_impl.h).
//
// Consumed bytes stay where they are until the queue grows, is assigned or is
// released: a view of them (a message handed out) stays valid until then.
// Append() and Extend() may move every byte (pointers into the queue go
// stale). Allocation failure aborts (operator new). One thread at a time.
#ifndef GAIO_WS_INTERNAL_BYTE_QUEUE_H_
#define GAIO_WS_INTERNAL_BYTE_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/strings/string_view.h"

namespace gaio::ws::internal {

class ByteQueue {
 public:
  ByteQueue() = default;
  ByteQueue(ByteQueue&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  ByteQueue& operator=(ByteQueue&& o) noexcept {
    if (this != &o) {
      Release();
      b_ = std::exchange(o.b_, nullptr);
    }
    return *this;
  }
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;
  ~ByteQueue() { Release(); }

  // The bytes not consumed yet.
  uint8_t* data() const { return b_ == nullptr ? nullptr : Bytes() + b_->pos; }
  size_t size() const { return b_ == nullptr ? 0 : b_->size - b_->pos; }
  bool empty() const { return size() == 0; }
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(data()), size());
  }
  // Heap bytes held (the block and its header); 0 when there is no block.
  size_t memory() const { return b_ == nullptr ? 0 : sizeof(Block) + b_->capacity; }

  // Appends n bytes (uninitialized) and returns where they go; nullptr for 0.
  // A new block is sized for the bytes held exactly; growing at least
  // doubles it, keeping only the bytes not consumed.
  uint8_t* Extend(size_t n);
  void Append(const void* bytes, size_t n);
  // Replaces the contents (consumed bytes too) by bytes[0, n): no block for 0.
  void Assign(const void* bytes, size_t n);
  // Consumes min(n, size()) bytes; the block stays (see above).
  void Consume(size_t n);
  // Drops every byte and keeps the block for reuse.
  void Clear();
  // Drops every byte and frees the block.
  void Release();
  void swap(ByteQueue& o) noexcept { std::swap(b_, o.b_); }

 private:
  struct Block {
    size_t size;      // bytes written, consumed ones included
    size_t pos;       // bytes consumed
    size_t capacity;  // bytes that fit after the header
  };
  uint8_t* Bytes() const { return reinterpret_cast<uint8_t*>(b_ + 1); }

  Block* b_ = nullptr;
};

}  // namespace gaio::ws::internal

#endif  // GAIO_WS_INTERNAL_BYTE_QUEUE_H_
