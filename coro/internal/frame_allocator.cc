#include "coro/internal/frame_allocator.h"

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

// Under AddressSanitizer the pool poisons free blocks (and the unused rest
// of a slab), so that a use after free of a pooled frame is reported as
// AddressSanitizer reports one of a heap block ("use-after-poison").
#if defined(__SANITIZE_ADDRESS__)
#define GAIO_CORO_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GAIO_CORO_POOL_ASAN 1
#endif
#endif
#ifdef GAIO_CORO_POOL_ASAN
#include <sanitizer/asan_interface.h>
#define GAIO_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define GAIO_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define GAIO_POISON(p, n) ((void)(p), (void)(n))
#define GAIO_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace gaio::coro::internal {
namespace {

constexpr size_t kClasses = kMaxPooled / 16;  // class c: blocks of (c + 1) * 16 bytes

// Above kMaxPooled, blocks whose size is a power of two up to kMaxLarge
// (ByteBuffer's capacities) are kept on a free list per size when freed, up
// to kLargeKeepBytes per thread; other sizes, and the excess, go back to the
// heap.
constexpr size_t kMaxLarge = 64 * 1024;
constexpr size_t kLargeKeepBytes = 8 * 1024 * 1024;
constexpr int kLargeClasses = std::countr_zero(kMaxLarge) - std::countr_zero(kMaxPooled);
// The large class of `size`, or -1 if its blocks are not kept.
int LargeClassOf(size_t size) {
  if (size <= kMaxPooled || size > kMaxLarge || (size & (size - 1)) != 0) return -1;
  return std::countr_zero(size) - std::countr_zero(kMaxPooled) - 1;
}

// Debug builds (and ASan builds) mark free blocks, to catch a frame freed
// or destroyed twice.
#if !defined(NDEBUG) || defined(GAIO_CORO_POOL_ASAN)
constexpr bool kMarkFree = true;
#else
constexpr bool kMarkFree = false;
#endif

[[noreturn]] void DestroyedTwice(void* frame) {
  std::fprintf(stderr,
               "gaio::coro: coroutine frame %p destroyed (or freed) twice: its block is already "
               "free (docs/CORO.md, compiler notes)\n",
               frame);
  std::abort();
}

// A free block: the free-list link, then (kMarkFree) a mark in the second
// word. A coroutine frame begins with its resume and destroy function
// pointers (gcc's and clang's layout), so the mark is a function a second
// coroutine_handle::destroy() calls: it aborts with a message instead of
// running the frame's destructors again.
[[maybe_unused]] void FreedFrameDestroy(void* frame) { DestroyedTwice(frame); }
using DestroyFn = void (*)(void*);
struct FreeBlock {
  FreeBlock* next;
  DestroyFn mark;
};
static_assert(sizeof(FreeBlock) <= 16, "the smallest block holds a FreeBlock");

// Makes a block free: links it, marks it, poisons it.
void PushFree(FreeBlock** head, void* p, size_t bytes) {
  auto* b = static_cast<FreeBlock*>(p);
  if constexpr (kMarkFree) {
    if (b->mark == &FreedFrameDestroy) DestroyedTwice(p);
    b->mark = &FreedFrameDestroy;
  }
  b->next = *head;
  *head = b;
  GAIO_POISON(p, bytes);
}
// Takes the first block of a free list (nullptr if empty), unpoisoned and
// unmarked.
FreeBlock* PopFree(FreeBlock** head, size_t bytes) {
  FreeBlock* b = *head;
  if (b == nullptr) return nullptr;
  GAIO_UNPOISON(b, bytes);
  *head = b->next;
  b->mark = nullptr;
  return b;
}
// Moves a free block from one list to another (it stays free and poisoned).
void MoveFree(FreeBlock** from, FreeBlock** to) {
  FreeBlock* b = *from;
  GAIO_UNPOISON(b, sizeof(FreeBlock));
  *from = b->next;
  b->next = *to;
  *to = b;
  GAIO_POISON(b, sizeof(FreeBlock));
}

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
      GAIO_UNPOISON(cursor_, 16);
      Free(cursor_, 16);
      cursor_ += 16;
    }
    Shared& sh = TheShared();
    std::lock_guard<std::mutex> lock(sh.mu);
    for (size_t c = 0; c < kClasses; ++c) {
      while (heads_[c] != nullptr) MoveFree(&heads_[c], &sh.spare[c]);
    }
    for (int c = 0; c < kLargeClasses; ++c) {
      const size_t bytes = kMaxPooled << (c + 1);
      while (FreeBlock* b = PopFree(&large_[c], bytes)) ::operator delete(b);
    }
  }

  static size_t ClassOf(size_t size) { return (size + 15) / 16 - 1; }

  void* Allocate(size_t size) {
    stats_.last_size = size;
    if (size == 0) size = 1;
    if (size > kMaxPooled) {
      const int lc = LargeClassOf(size);
      if (lc >= 0) {
        if (FreeBlock* b = PopFree(&large_[lc], size)) {
          ++stats_.hits;
          large_kept_ -= size;
          return b;
        }
      }
      ++stats_.large;
      void* p = ::operator new(size, std::nothrow);
      if (p == nullptr) OutOfMemory(size);
      return p;
    }
    const size_t c = ClassOf(size);
    const size_t bytes = (c + 1) * 16;
    if (FreeBlock* b = PopFree(&heads_[c], bytes)) {
      ++stats_.hits;
      return b;
    }
    ++stats_.carved;
    if (void* p = TakeSpare(c)) return p;
    if (cursor_ + bytes > end_) NewSlab();
    void* p = cursor_;
    cursor_ += bytes;
    GAIO_UNPOISON(p, bytes);
    return p;
  }

  void Free(void* p, size_t size) {
    if (size == 0) size = 1;
    if (size > kMaxPooled) {
      const int lc = LargeClassOf(size);
      if (lc >= 0 && large_kept_ + size <= kLargeKeepBytes) {
        PushFree(&large_[lc], p, size);
        large_kept_ += size;
      } else {
        ::operator delete(p);
      }
      return;
    }
    const size_t c = ClassOf(size);
    PushFree(&heads_[c], p, (c + 1) * 16);
  }

  const FramePoolStats& stats() const { return stats_; }
  static bool alive() { return alive_; }

 private:
  void* TakeSpare(size_t c) {
    Shared& sh = TheShared();
    std::lock_guard<std::mutex> lock(sh.mu);
    return PopFree(&sh.spare[c], (c + 1) * 16);
  }
  void NewSlab() {
    // The tail of the old slab goes to the free lists in 16-byte blocks.
    while (cursor_ + 16 <= end_) {
      GAIO_UNPOISON(cursor_, 16);
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
    GAIO_POISON(slab, kSlabBytes);  // unpoisoned block by block as it is carved
  }

  FreeBlock* heads_[kClasses] = {};
  FreeBlock* large_[kLargeClasses] = {};  // freed large blocks, by size
  size_t large_kept_ = 0;                 // their bytes
  char* cursor_ = nullptr;                // the unused rest of the current slab
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
    if (FreeBlock* b = PopFree(&sh.spare[c], (c + 1) * 16)) return b;
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
  Shared& sh = TheShared();
  std::lock_guard<std::mutex> lock(sh.mu);
  const size_t c = Pool::ClassOf(size == 0 ? 1 : size);
  PushFree(&sh.spare[c], p, (c + 1) * 16);
}

FramePoolStats ThisThreadFramePoolStats() {
  if (!Pool::alive()) return {};
  return ThisThreadPool().stats();
}

}  // namespace gaio::coro::internal
