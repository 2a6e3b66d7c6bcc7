// SwapBuffer: the memory that reads without a caller buffer land in.
//
// Two halves of `size` bytes, mapped by Allocate() before the first swap
// read is queued. Reads fill the current half; when the consumer takes a
// batch of completions (wait_io), the filled half is handed out with it and
// the other half, which the previous batch had and which the new wait_io()
// call released, becomes the one to fill. So swap bytes stay valid until the
// next wait_io(), and memory is 2 * size whatever the number of fds (pages
// never written are never resident). A read is offered the rest of the
// current half, but only when at least size / 4 is left: no tiny reads.
// Internal to //watcher; guarded by its Shard's mutex.
#ifndef GAIO_WATCHER_SWAP_BUFFER_H_
#define GAIO_WATCHER_SWAP_BUFFER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace gaio::internal {

class SwapBuffer {
 public:
  // Largest `size` accepted (WatcherOptions::swap_buffer_size).
  static constexpr size_t kMaxSize = size_t{1} << 30;

  explicit SwapBuffer(size_t size) : size_(size), min_offer_(size / 4 > 0 ? size / 4 : 1) {}
  ~SwapBuffer();
  SwapBuffer(const SwapBuffer&) = delete;
  SwapBuffer& operator=(const SwapBuffer&) = delete;

  // Maps both halves unless done already. ResourceExhausted when the system
  // refuses the memory.
  absl::Status Allocate();
  bool allocated() const { return memory_ != nullptr; }
  // Whether [p, p + n) lies in this swap buffer (either half). Any thread,
  // without the shard mutex: the memory, once mapped, stays until the
  // buffer is destroyed.
  bool Contains(const char* p, size_t n) const {
    const uintptr_t base = reinterpret_cast<uintptr_t>(base_.load(std::memory_order_acquire));
    const uintptr_t at = reinterpret_cast<uintptr_t>(p);
    return base != 0 && at >= base && at - base <= 2 * size_ && n <= 2 * size_ - (at - base);
  }

  // Space for one read in the current half: false when less than size / 4 is
  // left (the read must wait for Flip()). Requires allocated().
  bool Reserve(char** data, size_t* len) const {
    if (size_ - used_ < min_offer_) return false;
    *data = memory_ + half_ * size_ + used_;
    *len = size_ - used_;
    return true;
  }
  // Datagram reads (one whole message each) ignore the size / 4 rule: what
  // is left of the current half, and whether nothing of it is used yet.
  size_t available() const { return size_ - used_; }
  bool fresh() const { return used_ == 0; }
  // The rest of the current half (possibly empty). Requires allocated().
  void ReserveRest(char** data, size_t* len) const {
    *data = memory_ + half_ * size_ + used_;
    *len = size_ - used_;
  }
  // Marks `n` bytes of the last Reserve()d space as holding a completion.
  void Commit(size_t n) { used_ += n; }
  // The current half's bytes now belong to the batch just taken; the other
  // half becomes the one to fill.
  void Flip() {
    if (used_ == 0) return;
    half_ ^= 1;
    used_ = 0;
  }

 private:
  const size_t size_;
  const size_t min_offer_;
  char* memory_ = nullptr;
  std::atomic<const char*> base_{nullptr};  // memory_, for Contains()
  size_t half_ = 0;
  size_t used_ = 0;
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_SWAP_BUFFER_H_
