// Mutex and Semaphore: mutual exclusion and FIFO hand-over, try_lock while
// tasks wait, the guard, cancel of a waiter (the next waiter gets the lock),
// unlock racing cancel (one outcome), semaphore counts.
#include "coro/lock.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::NewLoop;
using testing::RunBounded;

struct Shared {
  int inside = 0;
  int max_inside = 0;
  std::vector<int> order;
};

Task<absl::Status> Critical(Mutex* mu, int id, Shared* sh) {
  absl::StatusOr<Mutex::Guard> g = co_await mu->scoped_lock();
  if (!g.ok()) co_return g.status();
  ++sh->inside;
  sh->max_inside = std::max(sh->max_inside, sh->inside);
  sh->order.push_back(id);
  co_await yield();
  co_await yield();
  --sh->inside;
  co_return absl::OkStatus();
}

Task<absl::Status> FifoExclusion() {
  Mutex mu;
  Shared sh;
  Scope scope;
  EXPECT_TRUE(mu.try_lock());
  std::vector<JoinHandle<absl::Status>> hs;
  for (int i = 0; i < 5; ++i) hs.push_back(scope.spawn(Critical(&mu, i, &sh)));
  co_await yield();
  EXPECT_TRUE(sh.order.empty());
  EXPECT_FALSE(mu.try_lock()) << "held";
  mu.unlock();
  EXPECT_TRUE(mu.is_locked()) << "handed to the first waiter, not released";
  EXPECT_FALSE(mu.try_lock()) << "no barging while tasks wait";
  for (auto& h : hs) {
    absl::Status s = co_await h;
    EXPECT_TRUE(s.ok()) << s;
  }
  co_await scope.join();
  EXPECT_EQ(sh.max_inside, 1);
  EXPECT_EQ(sh.order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(mu.is_locked());
  co_return absl::OkStatus();
}

TEST(Mutex, ExclusiveAndFifo) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, FifoExclusion()).ok());
}

Task<absl::Status> LockOnce(Mutex* mu, std::vector<int>* got, int id) {
  absl::Status s = co_await mu->lock();
  if (s.ok()) {
    got->push_back(id);
    mu->unlock();
  }
  co_return s;
}

// order 0: cancel the first waiter, then unlock: the second gets the lock.
// order 1: unlock (hands to the first), then cancel it: it keeps the lock.
Task<absl::Status> CancelWaiter(int order) {
  Mutex mu;
  std::vector<int> got;
  Scope scope;
  EXPECT_TRUE(mu.try_lock());
  JoinHandle<absl::Status> a = scope.spawn(LockOnce(&mu, &got, 1));
  JoinHandle<absl::Status> b = scope.spawn(LockOnce(&mu, &got, 2));
  co_await yield();
  if (order == 0) {
    a.cancel();
    mu.unlock();
  } else {
    mu.unlock();
    a.cancel();
  }
  absl::Status sa = co_await a;
  absl::Status sb = co_await b;
  co_await scope.join();
  if (order == 0) {
    EXPECT_TRUE(absl::IsCancelled(sa)) << sa;
    EXPECT_EQ(got, (std::vector<int>{2}));
  } else {
    EXPECT_TRUE(sa.ok()) << sa;
    EXPECT_EQ(got, (std::vector<int>{1, 2}));
  }
  EXPECT_TRUE(sb.ok()) << sb;
  EXPECT_FALSE(mu.is_locked()) << "no lock lost or leaked";
  co_return absl::OkStatus();
}

TEST(Mutex, CancelledWaiterPassesTheLockOnAndUnlockBeforeCancelWins) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, CancelWaiter(0)).ok());
  EXPECT_TRUE(RunBounded(*loop, CancelWaiter(1)).ok());
}

Task<absl::Status> GuardUnlocks() {
  Mutex mu;
  {
    absl::StatusOr<Mutex::Guard> g = co_await mu.scoped_lock();
    EXPECT_TRUE(g.ok());
    EXPECT_TRUE(g->owns_lock());
    EXPECT_TRUE(mu.is_locked());
    Mutex::Guard moved = *std::move(g);
    EXPECT_TRUE(mu.is_locked());
  }
  EXPECT_FALSE(mu.is_locked());
  mu.unlock();  // a free mutex: ignored
  EXPECT_FALSE(mu.is_locked());
  co_return absl::OkStatus();
}

TEST(Mutex, GuardUnlocksOnceOnDestruction) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, GuardUnlocks()).ok());
}

Task<absl::Status> Acquire(Semaphore* sem, int* held, int* max_held) {
  absl::Status s = co_await sem->acquire();
  if (!s.ok()) co_return s;
  ++*held;
  *max_held = std::max(*max_held, *held);
  co_await yield();
  --*held;
  sem->release();
  co_return absl::OkStatus();
}

Task<absl::Status> SemaphoreCounts() {
  Semaphore sem(3);
  int held = 0, max_held = 0;
  Scope scope;
  for (int i = 0; i < 10; ++i) scope.spawn(Acquire(&sem, &held, &max_held));
  co_await scope.join();
  EXPECT_EQ(max_held, 3);
  EXPECT_EQ(sem.available(), 3u);
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  // A waiter cancelled while waiting takes no permit.
  JoinHandle<absl::Status> h = scope.spawn(Acquire(&sem, &held, &max_held));
  co_await yield();
  EXPECT_EQ(sem.waiters(), 1u);
  h.cancel();
  absl::Status s = co_await h;
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_EQ(sem.waiters(), 0u);
  sem.release();
  EXPECT_EQ(sem.available(), 1u);
  co_await scope.join();
  co_return absl::OkStatus();
}

TEST(Semaphore, CountsPermitsAndCancelledWaiterTakesNone) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, SemaphoreCounts()).ok());
}

}  // namespace
}  // namespace gaio::coro
