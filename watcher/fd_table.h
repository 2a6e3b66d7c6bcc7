// FdState, the table that holds it by fd number, and FdLine, the line of fds
// whose swap-buffer read waits. Internal to //watcher; guarded by the Shard's
// mutex.
#ifndef GAIO_WATCHER_FD_TABLE_H_
#define GAIO_WATCHER_FD_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "watcher/request.h"

namespace gaio::internal {

inline constexpr uint32_t kNoSlot = ~uint32_t{0};

// 24 bytes: with one Request (48), what an idle connection costs.
struct FdState {
  RequestQueue reads;
  RequestQueue writes;
  // Links (table slots) in the Shard's FdLine while in_line.
  uint32_t line_prev = kNoSlot;
  uint32_t line_next = kNoSlot;
  int fd = -1;
  // Low bits of Shard::batch_ when the fd last completed a swap read: one
  // per batch. (It wraps: an fd idle for exactly 256 batches waits one more.)
  uint8_t swap_turn = 0;
  bool active : 1 = false;
  bool is_socket : 1 = false;
  bool is_stream : 1 = false;       // see FdInfo::is_stream
  bool is_unix_stream : 1 = false;  // see FdInfo::is_unix_stream
  // Readiness as far as we know: set by a readiness edge (and at
  // registration), cleared when a syscall finds the fd drained or full.
  // A request is only attempted while its direction is ready, which saves
  // the syscall that would return EAGAIN.
  bool readable : 1 = true;
  bool writable : 1 = true;
  // The poller reported a hang-up or error: EOF (or an error) is pending
  // behind any data, with no further edge to come, so a short read no
  // longer means "drained".
  bool hangup : 1 = false;
  // The poller reported urgent (out-of-band) data: a TCP read stops short at
  // the urgent mark with bytes still queued and no new edge to come, so a
  // short read no longer means "drained" until a read finds the fd empty.
  bool urgent : 1 = false;
  bool in_line : 1 = false;
  // A connect is under way: the requests queued behind it wait.
  bool connecting : 1 = false;
  // O_NONBLOCK was set before registration (release() restores it).
  bool was_nonblocking : 1 = false;
  // A connect on it failed (Shard::connect_failures_ has its status).
  bool connect_failed : 1 = false;
  bool is_datagram : 1 = false;   // see FdInfo::is_datagram
  bool is_seqpacket : 1 = false;  // see FdInfo::is_seqpacket
  bool is_udp : 1 = false;        // see FdInfo::is_udp
};
static_assert(sizeof(FdState) <= 24, "an FdState is part of every idle connection's cost");

// fd slot -> FdState, in chunks allocated on first use: pointers stay valid
// for the table's life, and memory follows the highest slot in use by at
// most one chunk.
class FdTable {
 public:
  // The state at `slot`, or nullptr if its chunk was never allocated.
  FdState* Find(size_t slot) const {
    const size_t chunk = slot / kChunk;
    if (chunk >= chunks_.size() || !chunks_[chunk]) return nullptr;
    return &chunks_[chunk][slot % kChunk];
  }
  // The state at `slot`, allocating its chunk; nullptr if that fails.
  FdState* Get(size_t slot) {
    const size_t chunk = slot / kChunk;
    if (chunk >= chunks_.size()) chunks_.resize(chunk + 1);
    if (!chunks_[chunk]) {
      chunks_[chunk].reset(new (std::nothrow) FdState[kChunk]);
      if (!chunks_[chunk]) return nullptr;
    }
    return &chunks_[chunk][slot % kChunk];
  }
  template <typename F>
  void ForEachActive(F f) {
    for (const std::unique_ptr<FdState[]>& chunk : chunks_) {
      if (!chunk) continue;
      for (size_t i = 0; i < kChunk; ++i) {
        if (chunk[i].active) f(&chunk[i]);
      }
    }
  }

 private:
  static constexpr size_t kChunk = 256;
  std::vector<std::unique_ptr<FdState[]>> chunks_;
};

// Intrusive FIFO of the FdStates of a table, linked by slot, with O(1)
// removal from anywhere.
class FdLine {
 public:
  explicit FdLine(FdTable* table) : table_(table) {}
  bool empty() const { return head_ == kNoSlot; }
  FdState* front() const { return At(head_); }
  FdState* back() const { return At(tail_); }
  // `slot` is s's slot in the table.
  void PushBack(FdState* s, uint32_t slot) {
    s->in_line = true;
    s->line_next = kNoSlot;
    s->line_prev = tail_;
    (tail_ != kNoSlot ? At(tail_)->line_next : head_) = slot;
    tail_ = slot;
  }
  void PushFront(FdState* s, uint32_t slot) {
    s->in_line = true;
    s->line_prev = kNoSlot;
    s->line_next = head_;
    (head_ != kNoSlot ? At(head_)->line_prev : tail_) = slot;
    head_ = slot;
  }
  void Remove(FdState* s) {
    (s->line_prev != kNoSlot ? At(s->line_prev)->line_next : head_) = s->line_next;
    (s->line_next != kNoSlot ? At(s->line_next)->line_prev : tail_) = s->line_prev;
    s->line_prev = s->line_next = kNoSlot;
    s->in_line = false;
  }

 private:
  FdState* At(uint32_t slot) const { return slot == kNoSlot ? nullptr : table_->Find(slot); }
  FdTable* const table_;
  uint32_t head_ = kNoSlot;
  uint32_t tail_ = kNoSlot;
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_FD_TABLE_H_
