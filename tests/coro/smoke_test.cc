#include "coro/coro.h"
#include "gtest/gtest.h"

namespace gaio::coro {
namespace {

Task<int> Leaf(int x) { co_return x + 1; }
Task<absl::StatusOr<int>> Root() {
  int a = co_await Leaf(1);
  absl::Status s = co_await sleep(absl::Milliseconds(1));
  if (!s.ok()) co_return s;
  co_return a + 40;
}

TEST(Smoke, RunsTask) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  absl::StatusOr<int> r = (*loop)->run(Root());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 42);
}

}  // namespace
}  // namespace gaio::coro
