#include "watcher/request.h"

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace gaio::internal {

void RequestQueue::PushBack(Request* r) {
  r->next = nullptr;
  r->prev = tail_;
  if (tail_) {
    tail_->next = r;
  } else {
    head_ = r;
  }
  tail_ = r;
}

void RequestQueue::Remove(Request* r) {
  if (r->prev) {
    r->prev->next = r->next;
  } else {
    head_ = r->next;
  }
  if (r->next) {
    r->next->prev = r->prev;
  } else {
    tail_ = r->prev;
  }
  r->prev = r->next = nullptr;
}

Request* RequestPool::Get() {
  if (free_ == nullptr) {
    std::unique_ptr<Request[]> chunk(new (std::nothrow) Request[kChunk]);
    if (!chunk) return nullptr;
    for (size_t i = 0; i < kChunk; ++i) {
      chunk[i].next = free_;
      free_ = &chunk[i];
    }
    chunks_.push_back(std::move(chunk));
    allocated_ += kChunk;
  }
  Request* r = free_;
  free_ = r->next;
  *r = Request{};
  return r;
}

void RequestPool::Put(Request* r) {
  r->next = free_;
  free_ = r;
}

void TimerHeap::Place(size_t i, Request* r) {
  heap_[i] = r;
  r->heap_index = static_cast<uint32_t>(i);
}

void TimerHeap::SiftUp(size_t i) {
  Request* r = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_[parent]->deadline <= r->deadline) break;
    Place(i, heap_[parent]);
    i = parent;
  }
  Place(i, r);
}

void TimerHeap::SiftDown(size_t i) {
  Request* r = heap_[i];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->deadline < heap_[child]->deadline) ++child;
    if (r->deadline <= heap_[child]->deadline) break;
    Place(i, heap_[child]);
    i = child;
  }
  Place(i, r);
}

void TimerHeap::Push(Request* r) {
  heap_.push_back(r);
  SiftUp(heap_.size() - 1);
}

void TimerHeap::Remove(Request* r) {
  size_t i = r->heap_index;
  r->heap_index = kNotInHeap;
  Request* last = heap_.back();
  heap_.pop_back();
  if (last == r) return;
  Place(i, last);
  SiftUp(i);
  SiftDown(last->heap_index);
}

}  // namespace gaio::internal
