// The recycling allocator behind every coroutine frame of gaio::coro (tasks,
// generators) and the records of spawned tasks.
//
// Blocks come in 16-byte size classes up to kMaxPooled bytes, carved from
// 64 KiB slabs (no per-block header: an idle connection's frame costs its
// size rounded up to 16 bytes, nothing more). Each thread keeps a free list
// per class: a block freed on a thread goes to that thread's list and is
// handed out again for the next frame of its class, so a steady state of
// tasks coming and going allocates nothing. Slabs come from ::operator new
// (so a counting operator new sees them) and are never returned: the pool
// keeps the peak. When a thread exits, its free blocks go to a shared spare
// list that other threads draw from before taking a new slab. Larger blocks
// come from ::operator new; freed, those of a power-of-two size up to 64 KiB
// (ByteBuffer's) are kept for reuse on a per-thread list, up to 8 MiB per
// thread, and the rest go back to the heap.
//
// Allocation failure aborts the process (there is no Status to return from a
// coroutine call that could not allocate its frame).
#ifndef GAIO_CORO_INTERNAL_FRAME_ALLOCATOR_H_
#define GAIO_CORO_INTERNAL_FRAME_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>

namespace gaio::coro::internal {

inline constexpr size_t kMaxPooled = 1024;
inline constexpr size_t kSlabBytes = 64 * 1024;

void* AllocateFrame(size_t size);
void FreeFrame(void* p, size_t size) noexcept;

// Counters of the calling thread's pool, for tests and benchmarks.
struct FramePoolStats {
  uint64_t hits = 0;       // served from a free list
  uint64_t carved = 0;     // carved from a slab (or taken from the spare list)
  uint64_t slabs = 0;      // slabs taken from ::operator new
  uint64_t large = 0;      // frames above kMaxPooled (::operator new)
  uint64_t last_size = 0;  // the size asked for by the latest allocation
};
FramePoolStats ThisThreadFramePoolStats();

}  // namespace gaio::coro::internal

#endif  // GAIO_CORO_INTERNAL_FRAME_ALLOCATOR_H_
