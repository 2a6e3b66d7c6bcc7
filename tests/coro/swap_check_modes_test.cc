// The swap-bytes check gives one answer whatever mix of build modes links
// together: bytes made in code compiled with NDEBUG (a Release library's
// lines()) and used in code compiled without (a Debug program), and the
// reverse, never abort correct code, and agree on freshness.
#include <unistd.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/coro/swap_check_modes_side.h"

namespace gaio::coro {
namespace {

using testing::DebugSide;
using testing::FdPair;
using testing::ModeSide;
using testing::NdebugSide;
using testing::NewLoop;
using testing::UnixPair;
using testing::WriteAll;

TEST(SwapCheckModes, TheSidesAreCompiledInTheirModes) {
  EXPECT_TRUE(NdebugSide().ndebug);
  EXPECT_FALSE(DebugSide().ndebug);
}

Task<std::string> Produce(ModeSide producer, ModeSide consumer, int fd) {
  Socket s(*EventLoop::current(), fd);
  AsyncGenerator<SwapBytes> g = producer.lines(s);
  std::string out = co_await consumer.consume(&g, 2);
  // Both sides agree on a value made by either once it is stale.
  std::optional<SwapBytes> third = co_await g.next();
  if (!third.has_value()) co_return out + "no third line";
  const bool fresh_here = producer.fresh(*third) && consumer.fresh(*third);
  EXPECT_TRUE(fresh_here);
  out += third->ToString() + ";";
  absl::Status slept = co_await sleep(absl::ZeroDuration());
  (void)slept;
  EXPECT_EQ(producer.fresh(*third), !internal::SwapCheckEnabled());
  EXPECT_EQ(consumer.fresh(*third), !internal::SwapCheckEnabled());
  co_return out;
}

std::string RunSides(ModeSide producer, ModeSide consumer) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  if (!WriteAll(p.peer, "a\nb\nc\n").ok()) return "write failed";
  absl::StatusOr<std::string> r = loop->run(Produce(producer, consumer, p.watched));
  close(p.peer);
  return r.ok() ? *r : r.status().ToString();
}

TEST(SwapCheckModes, ReleaseBytesInDebugCode) {
  EXPECT_EQ(RunSides(NdebugSide(), DebugSide()), "a;b;c;");
}
TEST(SwapCheckModes, DebugBytesInReleaseCode) {
  EXPECT_EQ(RunSides(DebugSide(), NdebugSide()), "a;b;c;");
}
TEST(SwapCheckModes, ReleaseBytesInReleaseCode) {
  EXPECT_EQ(RunSides(NdebugSide(), NdebugSide()), "a;b;c;");
}
TEST(SwapCheckModes, DebugBytesInDebugCode) {
  EXPECT_EQ(RunSides(DebugSide(), DebugSide()), "a;b;c;");
}

}  // namespace
}  // namespace gaio::coro
