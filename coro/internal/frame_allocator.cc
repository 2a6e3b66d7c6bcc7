#include "coro/internal/frame_allocator.h"

#include <cstdio>
#include <cstdlib>
#include <new>

namespace gaio::coro::internal {
namespace {

// Classes are 16-byte steps: class c holds blocks of (c + 1) * 16 bytes.
constexpr size_t kClasses = kMaxPooled / 16;

struct FreeBlock {
  FreeBlock* next;
};

class Pool {
 public:
  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    alive_ = false;
    for (size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = heads_[c]) {
        heads_[c] = b->next;
        ::operator delete(b);
      }
    }
  }

  static size_t ClassOf(size_t size) { return (size + 15) / 16 - 1; }

  void* Allocate(size_t size) {
    if (size == 0) size = 1;
    if (size > kMaxPooled) return Fresh(size);
    const size_t c = ClassOf(size);
    if (FreeBlock* b = heads_[c]) {
      heads_[c] = b->next;
      --counts_[c];
      ++stats_.hits;
      --stats_.cached;
      return b;
    }
    return Fresh((c + 1) * 16);
  }

  void Free(void* p, size_t size) {
    if (size == 0) size = 1;
    if (size > kMaxPooled) {
      ::operator delete(p);
      return;
    }
    const size_t c = ClassOf(size);
    if ((counts_[c] + 1) * (c + 1) * 16 > kMaxCachedBytes) {
      ::operator delete(p);
      return;
    }
    auto* b = static_cast<FreeBlock*>(p);
    b->next = heads_[c];
    heads_[c] = b;
    ++counts_[c];
    ++stats_.cached;
  }

  const FramePoolStats& stats() const { return stats_; }
  static bool alive() { return alive_; }

 private:
  void* Fresh(size_t size) {
    ++stats_.misses;
    void* p = ::operator new(size, std::nothrow);
    if (p == nullptr) {
      std::fprintf(stderr, "gaio::coro: out of memory for a coroutine frame of %zu bytes\n", size);
      std::abort();
    }
    return p;
  }

  FreeBlock* heads_[kClasses] = {};
  size_t counts_[kClasses] = {};
  FramePoolStats stats_;
  // False once this thread's pool is destroyed (thread exit): frames freed
  // later on this thread go straight to ::operator delete.
  static thread_local bool alive_;
};

thread_local bool Pool::alive_ = true;

Pool& ThisThreadPool() {
  thread_local Pool pool;
  return pool;
}

}  // namespace

void* AllocateFrame(size_t size) {
  if (!Pool::alive()) {
    void* p = ::operator new(size <= kMaxPooled ? (Pool::ClassOf(size) + 1) * 16 : size,
                             std::nothrow);
    if (p == nullptr) std::abort();
    return p;
  }
  return ThisThreadPool().Allocate(size);
}

void FreeFrame(void* p, size_t size) noexcept {
  if (p == nullptr) return;
  if (!Pool::alive()) {
    ::operator delete(p);
    return;
  }
  ThisThreadPool().Free(p, size);
}

FramePoolStats ThisThreadFramePoolStats() {
  if (!Pool::alive()) return {};
  return ThisThreadPool().stats();
}

}  // namespace gaio::coro::internal
