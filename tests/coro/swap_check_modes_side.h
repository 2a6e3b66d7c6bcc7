// One side of swap_check_modes_test: the same source compiled twice, once
// with NDEBUG and once without (and -O2, so that the package's inline code
// is inlined with the macros of each side), as a Release library and a Debug
// program are.
#ifndef GAIO_TESTS_CORO_SWAP_CHECK_MODES_SIDE_H_
#define GAIO_TESTS_CORO_SWAP_CHECK_MODES_SIDE_H_

#include <string>

#include "coro/coro.h"

namespace gaio::coro::testing {

struct ModeSide {
  // Yields each line of the socket as SwapBytes made on this side, after a
  // co_await (as lines() does inside the library).
  AsyncGenerator<SwapBytes> (*lines)(Socket& socket);
  // Takes the next `n` values of `g` on this side and uses each before the
  // next co_await (correct code), "a;b;" for lines a and b.
  Task<std::string> (*consume)(AsyncGenerator<SwapBytes>* g, int n);
  // SwapBytes::fresh() as compiled on this side.
  bool (*fresh)(const SwapBytes& bytes);
  // Whether this side was compiled with NDEBUG.
  bool ndebug;
};

ModeSide NdebugSide();
ModeSide DebugSide();

}  // namespace gaio::coro::testing

#endif  // GAIO_TESTS_CORO_SWAP_CHECK_MODES_SIDE_H_
