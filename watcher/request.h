// Request records, the per-fd FIFO queues that hold them, the pool that
// recycles them so that steady-state submission allocates nothing, and the
// heap of their deadlines. Internal to //watcher; every object here is
// guarded by its Shard's mutex.
//
// Memory is what an idle connection costs, so records are small: a Request
// is 48 bytes and names its neighbours by 32-bit pool index (RequestId), a
// queue is one index (a circular list: the head's prev is the tail), and a
// deadline lives in the heap entry, not in the request.
#ifndef GAIO_WATCHER_REQUEST_H_
#define GAIO_WATCHER_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "watcher/clock.h"
#include "watcher/op_result.h"

namespace gaio::internal {

// A Request's index in its RequestPool. kNoRequest (0) is no request.
using RequestId = uint32_t;
inline constexpr RequestId kNoRequest = 0;
inline constexpr uint32_t kNotInHeap = ~uint32_t{0};

struct Request {
  RequestId prev = kNoRequest;  // links in the fd's queue (circular)
  RequestId next = kNoRequest;  // also the free list's link
  uint32_t heap_index = kNotInHeap;  // position in the TimerHeap, if any
  OpType op = OpType::kRead;
  bool fill : 1 = false;      // read_full / write: complete only when len bytes moved
  bool vectored : 1 = false;  // writev: data is a WriteVector (write_vector.h)
  // A write of swap-buffer bytes that did not finish in its submitting call:
  // data is a KeptBytes copy of the rest (write_vector.h), which the request
  // owns; len and done count within it.
  bool kept : 1 = false;
  bool want_peer : 1 = false;  // recv_from: report the sender's address
  // send_to: data is a SendTarget (datagram_storage.h) with the address and
  // the caller's buffer.
  bool addressed : 1 = false;
  // A write whose unwritten bytes (len - done) are in its Shard's count for
  // the fd (Shard::unwritten_): one that stayed queued after its submitting
  // call.
  bool counted : 1 = false;
  void* ctx = nullptr;
  char* data = nullptr;  // caller's buffer; nullptr for a swap-buffer read
  size_t len = 0;        // caller's buffer length (0 for swap reads)
  size_t done = 0;       // bytes transferred so far
};
static_assert(sizeof(Request) <= 48, "a Request is part of every idle connection's cost");

// A FIFO of Requests with O(1) removal from the middle (deadlines): the
// head's index; operations are RequestPool's.
struct RequestQueue {
  RequestId head = kNoRequest;
  bool empty() const { return head == kNoRequest; }
};

// Owns every Request of a shard. Grows in chunks to the peak number in
// flight and keeps them; never returns memory until destroyed. Allocation
// failure is reported (Get() returns kNoRequest), never thrown.
class RequestPool {
 public:
  RequestId Get();  // a default-initialized Request
  void Put(RequestId id);
  Request& operator[](RequestId id) { return chunks_[id >> kChunkBits][id & kChunkMask]; }

  void PushBack(RequestQueue* q, RequestId id);
  void Remove(RequestQueue* q, RequestId id);
  // Calls f(id) for the requests of q, in order, while f returns true. f
  // must not change q.
  template <typename F>
  void ForEachWhile(const RequestQueue& q, F f) {
    if (q.empty()) return;
    RequestId id = q.head;
    do {
      if (!f(id)) return;
      id = (*this)[id].next;
    } while (id != q.head);
  }
  // Calls f(id) for each request of q, in order. f must not change q.
  template <typename F>
  void ForEach(const RequestQueue& q, F f) {
    if (q.empty()) return;
    RequestId id = q.head;
    do {
      f(id);
      id = (*this)[id].next;
    } while (id != q.head);
  }

 private:
  static constexpr uint32_t kChunkBits = 8;
  static constexpr uint32_t kChunkMask = (1u << kChunkBits) - 1;
  std::vector<std::unique_ptr<Request[]>> chunks_;
  RequestId free_ = kNoRequest;  // linked through Request::next
};

// Min-heap of the requests that carry a deadline, earliest first; equal
// deadlines come out in the order they were pushed.
class TimerHeap {
 public:
  struct Entry {
    MonoTime deadline;
    uint64_t seq;  // push order, to break ties
    RequestId id;
    int fd;  // the request's fd
  };
  explicit TimerHeap(RequestPool* pool) : pool_(pool) {}

  bool empty() const { return heap_.empty(); }
  const Entry& top() const { return heap_.front(); }
  // The earliest deadline, kMonoNever when empty.
  MonoTime earliest() const { return heap_.empty() ? kMonoNever : heap_.front().deadline; }
  void Push(RequestId id, int fd, MonoTime deadline);
  void Remove(RequestId id);  // id must be in the heap
  // True when request a (in the heap) comes out before request b.
  bool Before(RequestId a, RequestId b) const {
    return Before(heap_[(*pool_)[a].heap_index], heap_[(*pool_)[b].heap_index]);
  }

 private:
  static bool Before(const Entry& a, const Entry& b) {
    return a.deadline < b.deadline || (a.deadline == b.deadline && a.seq < b.seq);
  }
  void SiftUp(size_t i);
  void SiftDown(size_t i);
  void Place(size_t i, const Entry& e);

  RequestPool* const pool_;
  std::vector<Entry> heap_;
  uint64_t pushed_ = 0;
};

}  // namespace gaio::internal

#endif  // GAIO_WATCHER_REQUEST_H_
