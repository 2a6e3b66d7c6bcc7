#include "coro/bytes.h"

#include <cstdio>
#include <cstdlib>

// The one place where the build mode decides whether the swap-bytes check
// is on (coro/internal/fiber.h): the headers read this at run time.
#ifndef GAIO_CORO_SWAP_CHECK
#ifdef NDEBUG
#define GAIO_CORO_SWAP_CHECK 0
#else
#define GAIO_CORO_SWAP_CHECK 1
#endif
#endif

namespace gaio::coro::internal {

extern const bool kSwapCheckEnabled = GAIO_CORO_SWAP_CHECK != 0;

void StaleSwapBytes(uint32_t made, uint32_t now) {
  std::fprintf(stderr,
               "gaio::coro: SwapBytes used after a co_await (made at await epoch %u, now %u): "
               "swap-buffer and line bytes are valid only until the task's next co_await; "
               "copy them first (docs/CORO.md)\n",
               made, now);
  std::abort();
}

}  // namespace gaio::coro::internal
