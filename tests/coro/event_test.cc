// Event: set wakes every waiter in order, a set event returns at once,
// cancel of a waiter, set racing cancel (one outcome each), destruction
// with waiters.
#include "coro/event.h"

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::NewLoop;
using testing::RunBounded;

Task<absl::Status> WaitAndRecord(Event* e, int id, std::vector<int>* order) {
  absl::Status s = co_await e->wait();
  if (s.ok()) order->push_back(id);
  co_return s;
}

Task<absl::Status> SetWakesAllInOrder() {
  Event e;
  std::vector<int> order;
  Scope scope;
  std::vector<JoinHandle<absl::Status>> hs;
  for (int i = 0; i < 3; ++i) hs.push_back(scope.spawn(WaitAndRecord(&e, i, &order)));
  co_await yield();
  EXPECT_EQ(e.waiters(), 3u);
  EXPECT_TRUE(order.empty());
  e.set();
  EXPECT_EQ(e.waiters(), 0u);
  e.clear();  // those already woken still return OK
  for (auto& h : hs) {
    absl::Status s = co_await h;
    EXPECT_TRUE(s.ok()) << s;
  }
  co_await scope.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  co_return absl::OkStatus();
}

TEST(Event, SetWakesEveryWaiterInOrder) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, SetWakesAllInOrder()).ok());
}

Task<absl::Status> SetAndClear() {
  Event e;
  EXPECT_FALSE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  absl::Status s = co_await e.wait();
  EXPECT_TRUE(s.ok()) << s;
  s = co_await e.wait();
  EXPECT_TRUE(s.ok()) << s;
  e.clear();
  EXPECT_FALSE(e.is_set());
  co_return absl::OkStatus();
}

TEST(Event, ASetEventReturnsAtOnceAndClearResets) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, SetAndClear()).ok());
}

Task<absl::Status> Wait(Event* e) {
  absl::Status s = co_await e->wait();
  co_return s;
}

// kOrder 0: cancel, then set in the same round; 1: set, then cancel.
Task<absl::Status> CancelRacingSet(int order) {
  Event e;
  Scope scope;
  JoinHandle<absl::Status> a = scope.spawn(Wait(&e));
  JoinHandle<absl::Status> b = scope.spawn(Wait(&e));
  co_await yield();
  EXPECT_EQ(e.waiters(), 2u);
  if (order == 0) {
    a.cancel();
    EXPECT_EQ(e.waiters(), 1u) << "a cancelled waiter leaves the queue at once";
    e.set();
  } else {
    e.set();
    a.cancel();  // too late: a was woken by the set
  }
  absl::Status sa = co_await a;
  absl::Status sb = co_await b;
  co_await scope.join();
  if (order == 0) {
    EXPECT_TRUE(absl::IsCancelled(sa)) << sa;
  } else {
    EXPECT_TRUE(sa.ok()) << sa;
  }
  EXPECT_TRUE(sb.ok()) << sb;
  co_return absl::OkStatus();
}

TEST(Event, CancelBeforeSetIsCancelledAndSetBeforeCancelWins) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, CancelRacingSet(0)).ok());
  EXPECT_TRUE(RunBounded(*loop, CancelRacingSet(1)).ok());
}

Task<absl::Status> AlreadyCancelled() {
  Event e;
  e.set();
  Scope scope;
  JoinHandle<absl::Status> h = scope.spawn(Wait(&e));
  h.cancel();  // before it starts: its first wait sees the flag
  absl::Status s = co_await h;
  co_await scope.join();
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  co_return absl::OkStatus();
}

TEST(Event, ACancelledTaskGetsCancelledAtOnce) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, AlreadyCancelled()).ok());
}

Task<absl::Status> DestroyWithWaiter() {
  auto e = std::make_unique<Event>();
  Scope scope;
  JoinHandle<absl::Status> h = scope.spawn(Wait(e.get()));
  co_await yield();
  e.reset();
  absl::Status s = co_await h;
  co_await scope.join();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  co_return absl::OkStatus();
}

TEST(Event, DestroyedWithAWaiterWakesItWithFailedPrecondition) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, DestroyWithWaiter()).ok());
}

}  // namespace
}  // namespace gaio::coro
