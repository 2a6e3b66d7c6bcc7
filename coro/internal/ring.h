// Ring<T>: a fixed-capacity FIFO of T, allocated once at construction
// (Channel's buffer and remote inbox). Not thread-safe.
#ifndef GAIO_CORO_INTERNAL_RING_H_
#define GAIO_CORO_INTERNAL_RING_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

namespace gaio::coro::internal {

template <class T>
class Ring {
 public:
  explicit Ring(size_t capacity)
      : slots_(std::make_unique<std::optional<T>[]>(capacity)), capacity_(capacity) {}
  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == capacity_; }
  // The oldest item (not empty).
  T& front() { return *slots_[head_]; }
  void pop() {
    slots_[head_].reset();
    head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
    --size_;
  }
  // Not full.
  void push(T&& item) {
    size_t tail = head_ + size_;
    if (tail >= capacity_) tail -= capacity_;
    slots_[tail].emplace(std::move(item));
    ++size_;
  }

 private:
  std::unique_ptr<std::optional<T>[]> slots_;
  size_t capacity_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_RING_H_
