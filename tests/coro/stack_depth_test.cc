// A million awaits that complete without suspending, in a loop, on a thread
// with a 1 MiB stack: none of them may grow the stack (cppcoro #31/#55); and a
// chain of 100,000 spawned tasks each awaiting the previous one's JoinHandle,
// whose resumptions may not stack up either. Built
// twice: as is, and at -O0 (stack_depth_O0_test), where compilers do not
// turn symmetric transfer into a tail call; `--config=asan` runs both under
// AddressSanitizer.
#include <pthread.h>

#include <optional>

#include "absl/status/status.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

constexpr int kAwaits = 1000000;

// Runs `f` on a thread with a 1 MiB stack.
template <class F>
void OnSmallStack(F f) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1 << 20);
  pthread_t th;
  auto* heap_f = new F(std::move(f));
  ASSERT_EQ(pthread_create(
                &th, &attr,
                [](void* arg) -> void* {
                  auto* fn = static_cast<F*>(arg);
                  (*fn)();
                  delete fn;
                  return nullptr;
                },
                heap_f),
            0);
  pthread_join(th, nullptr);
  pthread_attr_destroy(&attr);
}

Task<int> Ready(int i) { co_return i & 1; }

Task<long> ManyTaskAwaits() {
  long sum = 0;
  for (int i = 0; i < kAwaits; ++i) sum += co_await Ready(i);
  co_return sum;
}

TEST(StackDepth, MillionSynchronousTaskAwaits) {
  long result = -1;
  OnSmallStack([&result] {
    auto loop = testing::NewLoop();
    absl::StatusOr<long> r = loop->run(ManyTaskAwaits());
    result = r.ok() ? *r : -2;
  });
  EXPECT_EQ(result, kAwaits / 2);
}

AsyncGenerator<int> Numbers(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
  co_return absl::OkStatus();
}

Task<long> ManyYields() {
  AsyncGenerator<int> g = Numbers(kAwaits);
  long count = 0;
  while (std::optional<int> v = co_await g.next()) count += (*v == count) ? 1 : 0;
  co_return g.status().ok() ? count : -1;
}

TEST(StackDepth, MillionSynchronousYields) {
  long result = -1;
  OnSmallStack([&result] {
    auto loop = testing::NewLoop();
    absl::StatusOr<long> r = loop->run(ManyYields());
    result = r.ok() ? *r : -2;
  });
  EXPECT_EQ(result, kAwaits);
}

Task<long> ManyReadyFutures() {
  long sum = 0;
  for (int i = 0; i < kAwaits; ++i) {
    Promise<int> p;
    Future<int> f = p.get_future();
    p.set_value(1);
    absl::StatusOr<int> v = co_await f;
    sum += v.ok() ? *v : 0;
  }
  co_return sum;
}

TEST(StackDepth, MillionReadyFutures) {
  long result = -1;
  OnSmallStack([&result] {
    auto loop = testing::NewLoop();
    absl::StatusOr<long> r = loop->run(ManyReadyFutures());
    result = r.ok() ? *r : -2;
  });
  EXPECT_EQ(result, kAwaits);
}

// In a cancelled task every sleep returns Cancelled without suspending.
Task<long> ManyCancelledSleeps() {
  long cancelled = 0;
  for (int i = 0; i < kAwaits; ++i) {
    absl::Status s = co_await sleep(absl::Seconds(1));
    if (absl::IsCancelled(s)) ++cancelled;
  }
  co_return cancelled;
}

Task<long> CancelThenSleep() {
  Scope scope;
  JoinHandle<long> h = scope.spawn(ManyCancelledSleeps());
  h.cancel();  // before it starts: all its awaits complete at once
  long n = co_await h;
  co_await scope.join();
  co_return n;
}

TEST(StackDepth, MillionAwaitsInACancelledTask) {
  long result = -1;
  OnSmallStack([&result] {
    auto loop = testing::NewLoop();
    absl::StatusOr<long> r = loop->run(CancelThenSleep());
    result = r.ok() ? *r : -2;
  });
  EXPECT_EQ(result, kAwaits);
}

Task<long> ManyWhenAlls() {
  long sum = 0;
  for (int i = 0; i < kAwaits / 4; ++i) {
    auto [a, b] = co_await when_all(Ready(1), Ready(1));
    sum += a + b;
  }
  co_return sum;
}

TEST(StackDepth, QuarterMillionSynchronousWhenAlls) {
  long result = -1;
  OnSmallStack([&result] {
    auto loop = testing::NewLoop();
    absl::StatusOr<long> r = loop->run(ManyWhenAlls());
    result = r.ok() ? *r : -2;
  });
  EXPECT_EQ(result, kAwaits / 2);
}

// A chain of spawned tasks, each awaiting the JoinHandle of the one before:
// when the first finishes, each finish resumes the next waiter. The depth of
// those resumptions is bounded (past a bound they go through the loop), so
// the chain's length does not reach the stack.
constexpr int kChain = 100000;

Task<int> FirstLink() {
  co_await yield();  // finishes once every link waits
  co_return 0;
}

Task<int> Link(JoinHandle<int> previous) {
  int v = co_await previous;
  previous.detach();  // else the frames would go as a recursive chain at the end
  co_return v + 1;
}

Task<int> JoinHandleChain() {
  Scope scope;
  JoinHandle<int> last = scope.spawn(FirstLink());
  for (int i = 0; i < kChain; ++i) last = scope.spawn(Link(std::move(last)));
  int v = co_await last;
  co_await scope.join();
  co_return v;
}

TEST(StackDepth, HundredThousandChainedJoinHandleAwaits) {
  long result = -1;
  OnSmallStack([&result] {
    auto loop = testing::NewLoop();
    absl::StatusOr<int> r = loop->run(JoinHandleChain());
    result = r.ok() ? *r : -2;
  });
  EXPECT_EQ(result, kChain);
}

}  // namespace
}  // namespace gaio::coro
