#include "watcher/request.h"

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace gaio::internal {

RequestId RequestPool::Get() {
  if (free_ == kNoRequest) {
    const auto base = static_cast<RequestId>(chunks_.size() << kChunkBits);
    if (chunks_.size() >= (size_t{1} << (32 - kChunkBits))) return kNoRequest;  // ids exhausted
    std::unique_ptr<Request[]> chunk(new (std::nothrow) Request[size_t{1} << kChunkBits]);
    if (!chunk) return kNoRequest;
    chunks_.push_back(std::move(chunk));
    for (uint32_t i = kChunkMask + 1; i-- > 0;) {
      const RequestId id = base + i;
      if (id == kNoRequest) continue;  // id 0 is never handed out
      (*this)[id].next = free_;
      free_ = id;
    }
  }
  const RequestId id = free_;
  Request& r = (*this)[id];
  free_ = r.next;
  r = Request{};
  return id;
}

void RequestPool::Put(RequestId id) {
  (*this)[id].next = free_;
  free_ = id;
}

void RequestPool::PushBack(RequestQueue* q, RequestId id) {
  Request& r = (*this)[id];
  if (q->head == kNoRequest) {
    r.prev = r.next = id;
    q->head = id;
    return;
  }
  Request& head = (*this)[q->head];
  const RequestId tail = head.prev;
  r.prev = tail;
  r.next = q->head;
  (*this)[tail].next = id;
  head.prev = id;
}

void RequestPool::Remove(RequestQueue* q, RequestId id) {
  Request& r = (*this)[id];
  if (r.next == id) {  // the only one
    q->head = kNoRequest;
  } else {
    (*this)[r.prev].next = r.next;
    (*this)[r.next].prev = r.prev;
    if (q->head == id) q->head = r.next;
  }
  r.prev = r.next = kNoRequest;
}

void TimerHeap::Place(size_t i, const Entry& e) {
  heap_[i] = e;
  (*pool_)[e.id].heap_index = static_cast<uint32_t>(i);
}

void TimerHeap::SiftUp(size_t i) {
  const Entry e = heap_[i];
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!Before(e, heap_[parent])) break;
    Place(i, heap_[parent]);
    i = parent;
  }
  Place(i, e);
}

void TimerHeap::SiftDown(size_t i) {
  const Entry e = heap_[i];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], e)) break;
    Place(i, heap_[child]);
    i = child;
  }
  Place(i, e);
}

void TimerHeap::Push(RequestId id, int fd, MonoTime deadline) {
  heap_.push_back(Entry{deadline, pushed_++, id, fd});
  SiftUp(heap_.size() - 1);
}

void TimerHeap::Remove(RequestId id) {
  const size_t i = (*pool_)[id].heap_index;
  (*pool_)[id].heap_index = kNotInHeap;
  const Entry last = heap_.back();
  heap_.pop_back();
  if (last.id == id) return;
  Place(i, last);
  SiftUp(i);
  SiftDown((*pool_)[last.id].heap_index);
}

}  // namespace gaio::internal
