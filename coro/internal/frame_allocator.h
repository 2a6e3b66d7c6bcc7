// The recycling allocator behind every coroutine frame of gaio::coro (tasks,
// generators) and the records of spawned tasks.
//
// Per thread, one free list per size class (16-byte steps up to kMaxPooled
// bytes). A block freed on a thread goes to that thread's list and is handed
// out again for the next frame of its class, so a steady state of tasks
// coming and going allocates nothing. Misses go to ::operator new (so a
// counting operator new sees them), larger frames too. Each list keeps at
// most kMaxCachedBytes worth of blocks; beyond that, blocks go back to
// ::operator delete. A thread's cached blocks are released when it exits.
//
// Allocation failure aborts the process (there is no Status to return from a
// coroutine call that could not allocate its frame).
#ifndef GAIO_CORO_INTERNAL_FRAME_ALLOCATOR_H_
#define GAIO_CORO_INTERNAL_FRAME_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>

namespace gaio::coro::internal {

inline constexpr size_t kMaxPooled = 2048;
inline constexpr size_t kMaxCachedBytes = 4 << 20;  // per size class and thread

void* AllocateFrame(size_t size);
void FreeFrame(void* p, size_t size) noexcept;

// Counters of the calling thread's pool, for tests and benchmarks.
struct FramePoolStats {
  uint64_t hits = 0;     // served from a free list
  uint64_t misses = 0;   // went to ::operator new
  uint64_t cached = 0;   // blocks now on the free lists
};
FramePoolStats ThisThreadFramePoolStats();

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_FRAME_ALLOCATOR_H_
