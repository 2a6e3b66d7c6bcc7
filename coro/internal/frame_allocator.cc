#include "coro/internal/frame_allocator.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace gaio::coro::internal {
namespace {

constexpr size_t kClasses = kMaxPooled / 16;  // class c: blocks of (c + 1) * 16 bytes

struct FreeBlock {
  FreeBlock* next;
};

[[noreturn]] void OutOfMemory(size_t size) {
  std::fprintf(stderr, "gaio::coro: out of memory for a coroutine frame of %zu bytes\n", size);
  std::abort();
}

// Slabs (never freed: reachable from here for the life of the process) and
// the free blocks of exited threads.
struct Shared {
  std::mutex mu;
  std::vector<void*> slabs;
  FreeBlock* spare[kClasses] = {};
};
Shared& TheShared() {
  static Shared* shared = new Shared();
  return *shared;
}

class Pool {
 public:
  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    alive_ = false;
    // Hand the free blocks (and the rest of the slab) to the other threads.
    while (cursor_ + 16 <= end_) {
      Free(cursor_, 16);
      cursor_ += 16;
    }
    Shared& sh = TheShared();
    std::lock_guard<std::mutex> lock(sh.mu);
    for (size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = heads_[c]) {
        heads_[c] = b->next;
        b->next = sh.spare[c];
        sh.spare[c] = b;
      }
    }
  }

  static size_t ClassOf(size_t size) { return (size + 15) / 16 - 1; }

  void* Allocate(size_t size) {
    stats_.last_size = size;
    if (size == 0) size = 1;
    if (size > kMaxPooled) {
      ++stats_.large;
      void* p = ::operator new(size, std::nothrow);
      if (p == nullptr) OutOfMemory(size);
      return p;
    }
    const size_t c = ClassOf(size);
    if (FreeBlock* b = heads_[c]) {
      heads_[c] = b->next;
      ++stats_.hits;
      return b;
    }
    ++stats_.carved;
    if (void* p = TakeSpare(c)) return p;
    const size_t bytes = (c + 1) * 16;
    if (cursor_ + bytes > end_) NewSlab();
    void* p = cursor_;
    cursor_ += bytes;
    return p;
  }

  void Free(void* p, size_t size) {
    if (size == 0) size = 1;
    if (size > kMaxPooled) {
      ::operator delete(p);
      return;
    }
    auto* b = static_cast<FreeBlock*>(p);
    const size_t c = ClassOf(size);
    b->next = heads_[c];
    heads_[c] = b;
  }

  const FramePoolStats& stats() const { return stats_; }
  static bool alive() { return alive_; }

 private:
  void* TakeSpare(size_t c) {
    Shared& sh = TheShared();
    std::lock_guard<std::mutex> lock(sh.mu);
    FreeBlock* b = sh.spare[c];
    if (b != nullptr) sh.spare[c] = b->next;
    return b;
  }
  void NewSlab() {
    // The tail of the old slab goes to the free lists in 16-byte blocks.
    while (cursor_ + 16 <= end_) {
      Free(cursor_, 16);
      cursor_ += 16;
    }
    void* slab = ::operator new(kSlabBytes, std::nothrow);
    if (slab == nullptr) OutOfMemory(kSlabBytes);
    ++stats_.slabs;
    {
      Shared& sh = TheShared();
      std::lock_guard<std::mutex> lock(sh.mu);
      sh.slabs.push_back(slab);
    }
    cursor_ = static_cast<char*>(slab);
    end_ = cursor_ + kSlabBytes;
  }

  FreeBlock* heads_[kClasses] = {};
  char* cursor_ = nullptr;  // the unused rest of the current slab
  char* end_ = nullptr;
  FramePoolStats stats_;
  // False once this thread's pool is destroyed (thread exit): frames freed
  // later on this thread go to the shared spare list.
  static thread_local bool alive_;
};

thread_local bool Pool::alive_ = true;

Pool& ThisThreadPool() {
  thread_local Pool pool;
  return pool;
}

}  // namespace

void* AllocateFrame(size_t size) {
  if (Pool::alive()) return ThisThreadPool().Allocate(size);
  // Thread exit under way: serve from the shared spare list or the heap.
  const size_t c = Pool::ClassOf(size == 0 ? 1 : size);
  if (size <= kMaxPooled) {
    Shared& sh = TheShared();
    std::lock_guard<std::mutex> lock(sh.mu);
    if (FreeBlock* b = sh.spare[c]) {
      sh.spare[c] = b->next;
      return b;
    }
  }
  // Freed later, it joins the spare list of its class (pooled sizes).
  void* p = ::operator new(size <= kMaxPooled ? (c + 1) * 16 : size, std::nothrow);
  if (p == nullptr) OutOfMemory(size);
  return p;
}

void FreeFrame(void* p, size_t size) noexcept {
  if (p == nullptr) return;
  if (Pool::alive()) {
    ThisThreadPool().Free(p, size);
    return;
  }
  if (size > kMaxPooled) {
    ::operator delete(p);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  Shared& sh = TheShared();
  std::lock_guard<std::mutex> lock(sh.mu);
  const size_t c = Pool::ClassOf(size == 0 ? 1 : size);
  b->next = sh.spare[c];
  sh.spare[c] = b;
}

FramePoolStats ThisThreadFramePoolStats() {
  if (!Pool::alive()) return {};
  return ThisThreadPool().stats();
}

}  // namespace gaio::coro::internal
