// Task<T> and EventLoop::run(): laziness, values of every kind, ownership of
// arguments, nesting, run()'s refusals, frame recycling.
#include "coro/task.h"

#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coro/coro.h"
#include "coro/internal/frame_allocator.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::NewLoop;
using testing::RunBounded;

static_assert(!std::is_copy_constructible_v<Task<int>>);
static_assert(std::is_nothrow_move_constructible_v<Task<int>>);
static_assert(std::is_same_v<Result<void>, absl::Status>);
static_assert(std::is_same_v<Result<int>, absl::StatusOr<int>>);
static_assert(std::is_same_v<Result<absl::Status>, absl::Status>);
static_assert(std::is_same_v<Result<absl::StatusOr<int>>, absl::StatusOr<int>>);

Task<> Count(int* n) {
  ++*n;
  co_return;
}

Task<int> Plus(int a, int b) { co_return a + b; }

Task<std::unique_ptr<std::string>> MakeString(std::string s) {
  co_return std::make_unique<std::string>(std::move(s));
}

Task<absl::Status> Fails() { co_return absl::NotFoundError("nope"); }

Task<absl::StatusOr<std::string>> Concat() {
  int three = co_await Plus(1, 2);
  std::unique_ptr<std::string> s = co_await MakeString("x");
  absl::Status f = co_await Fails();
  if (!absl::IsNotFound(f)) co_return absl::InternalError("wrong status");
  co_return *s + std::to_string(three);
}

TEST(Task, DoesNotRunUntilAwaited) {
  int n = 0;
  {
    Task<> t = Count(&n);
    EXPECT_TRUE(t.valid());
    EXPECT_EQ(n, 0);
  }  // destroyed unstarted
  EXPECT_EQ(n, 0);
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, Count(&n)).ok());
  EXPECT_EQ(n, 1);
}

TEST(Task, ReturnsValuesOfEveryKind) {
  auto loop = NewLoop();
  absl::StatusOr<int> i = RunBounded(*loop, Plus(40, 2));
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(*i, 42);
  absl::StatusOr<std::string> s = RunBounded(*loop, Concat());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, "x3");
  absl::Status f = RunBounded(*loop, Fails());
  EXPECT_TRUE(absl::IsNotFound(f)) << f;
  absl::StatusOr<std::unique_ptr<std::string>> p = RunBounded(*loop, MakeString("y"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(**p, "y");
}

Task<> HoldsArgument(std::shared_ptr<int> p) {
  (void)p;
  co_return;
}

TEST(Task, DestroyingAnUnstartedTaskReleasesItsArguments) {
  auto p = std::make_shared<int>(7);
  {
    Task<> t = HoldsArgument(p);
    EXPECT_EQ(p.use_count(), 2);
  }
  EXPECT_EQ(p.use_count(), 1);
  Task<> a = HoldsArgument(p);
  Task<> b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(p.use_count(), 2);
  b = Task<>();
  EXPECT_EQ(p.use_count(), 1);
}

Task<int> Depth(int n) {
  if (n == 0) co_return 0;
  int below = co_await Depth(n - 1);
  absl::Status s = co_await sleep(absl::ZeroDuration());  // suspend at every level
  if (!s.ok()) co_return -1;
  co_return below + 1;
}

TEST(Task, NestedTasksResumeTheirAwaiters) {
  auto loop = NewLoop();
  absl::StatusOr<int> r = RunBounded(*loop, Depth(200));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 200);
}

Task<absl::Status> RunsAnotherLoop(EventLoop* other) { co_return other->run(Plus(1, 1)).status(); }
Task<absl::Status> RunsItsOwnLoop(EventLoop* self) { co_return self->run(Plus(1, 1)).status(); }

TEST(EventLoop, RefusesNestedRuns) {
  auto loop = NewLoop();
  auto other = NewLoop();
  absl::Status s = RunBounded(*loop, RunsItsOwnLoop(loop.get()));
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  s = RunBounded(*loop, RunsAnotherLoop(other.get()));
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(absl::IsInvalidArgument(loop->run(Task<int>()).status()));
  // Still usable afterwards.
  EXPECT_TRUE(RunBounded(*loop, Plus(1, 1)).ok());
}

Task<bool> CurrentIs(EventLoop* loop) { co_return EventLoop::current() == loop; }

TEST(EventLoop, CurrentIsTheRunningLoop) {
  auto loop = NewLoop();
  EXPECT_EQ(EventLoop::current(), nullptr);
  absl::StatusOr<bool> r = RunBounded(*loop, CurrentIs(loop.get()));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(EventLoop::current(), nullptr);
}

Task<int> SleepyCount(int n) {
  int done = 0;
  for (int i = 0; i < n; ++i) {
    absl::Status s = co_await sleep(absl::Microseconds(50));
    if (s.ok()) ++done;
  }
  co_return done;
}

TEST(EventLoop, LoopsOnSeveralThreadsRunIndependently) {
  std::vector<std::thread> threads;
  std::vector<int> results(4, -1);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &results] {
      auto loop = NewLoop(t % 2);  // caller-driven and threaded
      absl::StatusOr<int> r = loop->run(SleepyCount(50));
      results[t] = r.ok() ? *r : -2;
    });
  }
  for (std::thread& th : threads) th.join();
  for (int r : results) EXPECT_EQ(r, 50);
}

TEST(FrameAllocator, RecyclesFrames) {
  auto loop = NewLoop();
  ASSERT_TRUE(RunBounded(*loop, Depth(10)).ok());  // warm up the size classes
  const internal::FramePoolStats before = internal::ThisThreadFramePoolStats();
  ASSERT_TRUE(RunBounded(*loop, Depth(10)).ok());
  const internal::FramePoolStats after = internal::ThisThreadFramePoolStats();
  EXPECT_EQ(after.carved, before.carved) << "a warm pool takes no new block";
  EXPECT_EQ(after.slabs, before.slabs);
  EXPECT_GE(after.hits - before.hits, 11u);
}

TEST(FrameAllocator, RoundTripsEverySize) {
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t n = 1; n < 3000; n += 37) {
    void* p = internal::AllocateFrame(n);
    std::memset(p, 0xab, n);
    blocks.emplace_back(p, n);
  }
  for (auto [p, n] : blocks) internal::FreeFrame(p, n);
  for (size_t n = 1; n < 3000; n += 37) internal::FreeFrame(internal::AllocateFrame(n), n);
}

// ---- Awaiting an empty Task ----

Task<absl::StatusOr<int>> Seven() { co_return 7; }

Task<absl::Status> AwaitMovedFromTask() {
  Task<absl::StatusOr<int>> t = Seven();
  Task<absl::StatusOr<int>> taken = std::move(t);
  absl::StatusOr<int> a = co_await std::move(t);  // NOLINT(bugprone-use-after-move)
  if (!absl::IsFailedPrecondition(a.status())) co_return absl::InternalError("moved-from Task");
  Task<absl::Status> none;
  absl::Status b = co_await std::move(none);
  if (!absl::IsFailedPrecondition(b)) co_return absl::InternalError("default Task");
  absl::StatusOr<int> c = co_await std::move(taken);
  co_return c.ok() && *c == 7 ? absl::OkStatus() : absl::InternalError("the real task");
}

TEST(Task, AwaitingAnEmptyTaskIsFailedPrecondition) {
  auto loop = NewLoop();
  absl::Status r = testing::RunBounded(*loop, AwaitMovedFromTask());
  EXPECT_TRUE(r.ok()) << r;
}

Task<int> AwaitEmptyTaskOfInt() {
  Task<int> none;
  int v = co_await std::move(none);
  co_return v;
}

TEST(TaskDeathTest, AwaitingAnEmptyTaskWithNoStatusAborts) {
  EXPECT_DEATH(
      {
        auto loop = NewLoop();
        (void)loop->run(AwaitEmptyTaskOfInt());
      },
      "awaiting an empty Task");
}

}  // namespace
}  // namespace gaio::coro
