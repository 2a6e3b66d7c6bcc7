#include "coro/bytes.h"

#include <cstdio>
#include <cstdlib>

namespace gaio::coro::internal {

void StaleSwapBytes(uint64_t made, uint64_t now) {
  std::fprintf(stderr,
               "gaio::coro: SwapBytes used after a co_await (made at await epoch %llu, now %llu): "
               "swap-buffer and line bytes are valid only until the task's next co_await; "
               "copy them first (docs/CORO.md)\n",
               static_cast<unsigned long long>(made), static_cast<unsigned long long>(now));
  std::abort();
}

}  // namespace gaio::coro::internal
