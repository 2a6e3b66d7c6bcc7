// coro::Signals: a signal raised before anyone waits is returned by the next
// next(), signals come one per call in delivery order, a signal sent from
// another thread wakes a waiting task, a deadline and a cancellation end a
// wait with their status, a second set for a held signal is refused, and a
// SIGTERM task that stops the loop ends a server's run.
#include "coro/signals.h"

#include <signal.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using ::gaio::coro::testing::NewLoop;
using ::gaio::coro::testing::RunBounded;

Task<std::vector<int>> RaiseThenRead(Signals* s) {
  raise(SIGUSR2);
  raise(SIGUSR1);
  raise(SIGUSR2);
  std::vector<int> got;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<int> n = co_await s->next();
    if (!n.ok()) co_return got;
    got.push_back(*n);
  }
  co_return got;
}

TEST(Signals, RaisedBeforeAnyWaitComeOnePerCallInOrder) {
  auto loop = NewLoop();
  absl::StatusOr<Signals> s = Signals::Create(*loop, {SIGUSR1, SIGUSR2});
  ASSERT_TRUE(s.ok()) << s.status();
  Result<std::vector<int>> got = RunBounded(*loop, RaiseThenRead(&*s));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<int>{SIGUSR2, SIGUSR1, SIGUSR2}));
}

Task<absl::StatusOr<int>> Next(Signals* s) { co_return co_await s->next(); }

TEST(Signals, ASignalFromAnotherThreadWakesTheWaitingTask) {
  for (int pollers : {0, 1}) {
    auto loop = NewLoop(pollers);
    absl::StatusOr<Signals> s = Signals::Create(*loop, {SIGUSR1});
    ASSERT_TRUE(s.ok()) << s.status();
    std::thread sender([] {
      absl::SleepFor(absl::Milliseconds(20));  // most likely waiting by then; either way it works
      kill(getpid(), SIGUSR1);
    });
    absl::StatusOr<int> n = RunBounded(*loop, Next(&*s));
    sender.join();
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, SIGUSR1) << pollers;
  }
}

Task<absl::StatusOr<int>> NextBy(Signals* s, absl::Duration d) {
  co_return co_await s->next(absl::Now() + d);
}

TEST(Signals, ADeadlineEndsAWaitWithNoSignal) {
  auto loop = NewLoop();
  absl::StatusOr<Signals> s = Signals::Create(*loop, {SIGUSR1});
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<int> n = RunBounded(*loop, NextBy(&*s, absl::Milliseconds(10)));
  EXPECT_EQ(n.status().code(), absl::StatusCode::kDeadlineExceeded) << n.status();
}

Task<absl::Status> CancelTheWaiter(Signals* s) {
  Scope scope;
  JoinHandle<absl::StatusOr<int>> h = scope.spawn(Next(s));
  co_await yield();  // the waiter is now suspended in next()
  h.cancel();
  absl::StatusOr<int> n = co_await h;
  co_await scope.join();
  co_return n.status();
}

TEST(Signals, ACancelledWaitReturnsCancelledAndTheNextSignalWaits) {
  auto loop = NewLoop();
  absl::StatusOr<Signals> s = Signals::Create(*loop, {SIGUSR1});
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Status cancelled = RunBounded(*loop, CancelTheWaiter(&*s));
  EXPECT_TRUE(absl::IsCancelled(cancelled)) << cancelled;
  raise(SIGUSR1);  // between runs: kept for the next next()
  absl::StatusOr<int> n = RunBounded(*loop, Next(&*s));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, SIGUSR1);
}

TEST(Signals, OneHolderPerSignal) {
  auto loop = NewLoop();
  absl::StatusOr<Signals> a = Signals::Create(*loop, {SIGUSR1});
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Signals> b = Signals::Create(*loop, {SIGUSR1});
  EXPECT_EQ(b.status().code(), absl::StatusCode::kAlreadyExists) << b.status();
  absl::StatusOr<Signals> bad = Signals::Create(*loop, {SIGKILL});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
}

// The shape of a server: a task waits for SIGTERM and stops the loop, which
// cancels the "serving" task (here a long sleep).
Task<> StopOnSignal(Signals* s, int* seen) {
  absl::StatusOr<int> n = co_await s->next();
  if (n.ok()) *seen = *n;
  EventLoop::current()->stop();
}
Task<absl::Status> Serve(Signals* s, int* seen) {
  spawn(StopOnSignal(s, seen));
  raise(SIGTERM);
  co_return co_await sleep(absl::Hours(1));
}

TEST(Signals, ASigtermTaskStopsTheLoop) {
  auto loop = NewLoop();
  absl::StatusOr<Signals> s = Signals::Create(*loop, {SIGTERM, SIGINT});
  ASSERT_TRUE(s.ok()) << s.status();
  int seen = 0;
  absl::Status served = RunBounded(*loop, Serve(&*s, &seen));
  EXPECT_TRUE(absl::IsCancelled(served)) << served;
  EXPECT_EQ(seen, SIGTERM);
}

}  // namespace
}  // namespace gaio::coro
