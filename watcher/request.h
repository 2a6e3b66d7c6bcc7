// Request records, the per-fd FIFO queues that hold them, the pool that
// recycles them so that steady-state submission allocates nothing, and the
// heap of their deadlines. Internal to //watcher; every object here is
// guarded by its Shard's mutex.
#ifndef GAIO_WATCHER_REQUEST_H_
#define GAIO_WATCHER_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "watcher/clock.h"
#include "watcher/op_result.h"

namespace gaio::internal {

inline constexpr uint32_t kNotInHeap = ~uint32_t{0};

struct Request {
  Request* prev = nullptr;  // links in the fd's queue
  Request* next = nullptr;
  void* ctx = nullptr;
  char* data = nullptr;  // caller's buffer; nullptr for a swap-buffer read
  size_t len = 0;        // caller's buffer length (0 for swap reads)
  size_t done = 0;       // bytes transferred so far
  MonoTime deadline = kMonoNever;
  uint32_t heap_index = kNotInHeap;  // position in the TimerHeap, if any
  int fd = -1;
  OpType op = OpType::kRead;
  bool fill = false;  // read_full / write: complete only when len bytes moved
};

// Intrusive FIFO of Requests, with O(1) removal from the middle (deadlines).
class RequestQueue {
 public:
  bool empty() const { return head_ == nullptr; }
  Request* front() const { return head_; }
  void PushBack(Request* r);
  void Remove(Request* r);

 private:
  Request* head_ = nullptr;
  Request* tail_ = nullptr;
};

// Recycles Requests. Grows in chunks to the peak number in flight and keeps
// them; never returns memory until destroyed. Allocation failure is reported
// (Get() returns nullptr), never thrown.
class RequestPool {
 public:
  Request* Get();
  void Put(Request* r);
  size_t allocated() const { return allocated_; }

 private:
  static constexpr size_t kChunk = 64;
  std::vector<std::unique_ptr<Request[]>> chunks_;
  Request* free_ = nullptr;  // singly linked through Request::next
  size_t allocated_ = 0;
};

// Min-heap of the requests that carry a deadline, earliest first.
class TimerHeap {
 public:
  bool empty() const { return heap_.empty(); }
  Request* top() const { return heap_.front(); }
  // The earliest deadline, kMonoNever when empty.
  MonoTime earliest() const { return heap_.empty() ? kMonoNever : heap_.front()->deadline; }
  void Push(Request* r);
  void Remove(Request* r);  // r must be in the heap

 private:
  void SiftUp(size_t i);
  void SiftDown(size_t i);
  void Place(size_t i, Request* r);
  std::vector<Request*> heap_;
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_REQUEST_H_
