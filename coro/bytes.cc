#include "coro/bytes.h"

#include <cstdio>
#include <cstdlib>

namespace gaio::coro::internal {

void StaleSwapBytes(uint32_t made, uint32_t now) {
  std::fprintf(stderr,
               "gaio::coro: SwapBytes used after a co_await (made at await epoch %u, now %u): "
               "swap-buffer and line bytes are valid only until the task's next co_await; "
               "copy them first (docs/CORO.md)\n",
               made, now);
  std::abort();
}

}  // namespace gaio::coro::internal
