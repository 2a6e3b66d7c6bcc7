// Compiled twice (tests/coro/BUILD.bazel): GAIO_SIDE_NAME is NdebugSide with
// -DNDEBUG, DebugSide with -UNDEBUG.
#include "tests/coro/swap_check_modes_side.h"

#include <optional>
#include <string>

namespace gaio::coro::testing {
namespace {

AsyncGenerator<SwapBytes> SideLines(Socket& socket) {
  std::string buf;
  for (;;) {
    absl::StatusOr<SwapBytes> in = co_await socket.read();
    if (!in.ok()) co_return IsEof(in.status()) ? absl::OkStatus() : in.status();
    buf.append(in->data(), in->size());
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      co_yield SwapBytes(buf.data() + start, nl - start);
    }
    buf.erase(0, start);
  }
}

Task<std::string> SideConsume(AsyncGenerator<SwapBytes>* g, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    std::optional<SwapBytes> line = co_await g->next();
    if (!line.has_value()) break;
    out += line->ToString() + ";";
  }
  co_return out;
}

bool SideFresh(const SwapBytes& bytes) { return bytes.fresh(); }

}  // namespace

ModeSide GAIO_SIDE_NAME() {
#ifdef NDEBUG
  constexpr bool kNdebug = true;
#else
  constexpr bool kNdebug = false;
#endif
  return ModeSide{&SideLines, &SideConsume, &SideFresh, kNdebug};
}

}  // namespace gaio::coro::testing
