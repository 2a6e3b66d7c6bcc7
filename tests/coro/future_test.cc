// Promise<T> / Future<T>: values, errors, broken promises, cancellation both
// ways, and setters on other threads (run under --config=tsan).
#include "coro/future.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::NewLoop;
using testing::RunBounded;

static_assert(
    std::is_same_v<decltype(std::declval<Future<int>&>().operator co_await().await_resume()),
                   absl::StatusOr<int>>);
static_assert(std::is_same_v<decltype(std::declval<Future<>&>().operator co_await().await_resume()),
                             absl::Status>);
static_assert(
    std::is_same_v<
        decltype(std::declval<Future<absl::StatusOr<int>>&>().operator co_await().await_resume()),
        absl::StatusOr<int>>);

Task<absl::StatusOr<std::string>> Await(Future<std::string>* f) {
  absl::StatusOr<std::string> v = co_await *f;
  co_return v;
}

TEST(Future, ValueSetBeforeTheAwait) {
  auto loop = NewLoop();
  Promise<std::string> p;
  Future<std::string> f = p.get_future();
  EXPECT_FALSE(p.get_future().valid()) << "one Future per Promise";
  EXPECT_TRUE(p.set_value("v"));
  EXPECT_FALSE(p.set_value("again"));
  EXPECT_TRUE(f.ready());
  absl::StatusOr<std::string> r = RunBounded(*loop, Await(&f));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "v");
}

TEST(Future, ErrorAndBrokenPromise) {
  auto loop = NewLoop();
  {
    Promise<std::string> p;
    Future<std::string> f = p.get_future();
    EXPECT_TRUE(p.set_error(absl::UnavailableError("down")));
    EXPECT_FALSE(p.set_value("late"));
    absl::StatusOr<std::string> r = RunBounded(*loop, Await(&f));
    EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  }
  {
    Future<std::string> f;
    {
      Promise<std::string> p;
      f = p.get_future();
    }  // destroyed unset
    absl::StatusOr<std::string> r = RunBounded(*loop, Await(&f));
    EXPECT_TRUE(absl::IsAborted(r.status())) << r.status();
  }
  {
    Promise<std::string> p;  // never asked for its Future: nothing leaks
    EXPECT_TRUE(p.set_value("x"));
  }
}

Task<absl::Status> AwaitVoid(Future<>* f) {
  absl::Status s = co_await *f;
  co_return s;
}

TEST(Future, VoidAndStatusOrValues) {
  auto loop = NewLoop();
  Promise<> p;
  Future<> f = p.get_future();
  std::thread t([&p] { p.set_value(); });
  EXPECT_TRUE(RunBounded(*loop, AwaitVoid(&f)).ok());
  t.join();
}

Task<absl::StatusOr<std::string>> SetLaterFromThread(std::string value) {
  Promise<std::string> p;
  Future<std::string> f = p.get_future();
  std::thread t([p = std::move(p), value]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    p.set_value(value);
  });
  absl::StatusOr<std::string> r = co_await f;  // the loop waits in wait_io(); post() wakes it
  t.join();
  co_return r;
}

TEST(Future, SetFromAnotherThreadWakesTheLoop) {
  for (int pollers : {0, 1}) {
    auto loop = NewLoop(pollers);
    absl::StatusOr<std::string> r = RunBounded(*loop, SetLaterFromThread("from afar"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, "from afar");
  }
}

Task<> AddValue(Future<int>* f, std::atomic<long>* sum) {
  absl::StatusOr<int> v = co_await *f;
  if (v.ok()) sum->fetch_add(*v);
}

Task<long> ManyFromManyThreads(int n) {
  std::vector<Promise<int>> promises(n);
  std::vector<Future<int>> futures;
  for (Promise<int>& p : promises) futures.push_back(p.get_future());
  std::atomic<long> sum{0};
  Scope scope;
  for (Future<int>& f : futures) scope.spawn(AddValue(&f, &sum));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&promises, t, n] {
      for (int i = t; i < n; i += 4) promises[i].set_value(i);
    });
  }
  co_await scope.join();
  for (std::thread& t : threads) t.join();
  co_return sum.load();
}

TEST(Future, ManySettersOnManyThreads) {
  for (int pollers : {0, 1}) {
    auto loop = NewLoop(pollers);
    constexpr int kN = 2000;
    absl::StatusOr<long> r = RunBounded(*loop, ManyFromManyThreads(kN));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, static_cast<long>(kN) * (kN - 1) / 2);
  }
}

Task<absl::Status> AwaitForever(Future<int>* f) {
  absl::StatusOr<int> v = co_await *f;
  co_return v.status();
}

Task<absl::Status> CancelTheAwaiter(Promise<int>* p, Future<int>* f) {
  Scope scope;
  JoinHandle<absl::Status> h = scope.spawn(AwaitForever(f));
  co_await yield();
  h.cancel();
  absl::Status s = co_await h;
  co_await scope.join();
  EXPECT_TRUE(p->cancelled());
  EXPECT_FALSE(p->set_value(1)) << "a cancelled Future takes no value";
  co_return s;
}

TEST(Future, CancellingTheAwaitingTaskCancelsTheFuture) {
  auto loop = NewLoop();
  Promise<int> p;
  Future<int> f = p.get_future();
  absl::Status s = RunBounded(*loop, CancelTheAwaiter(&p, &f));
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
}

Task<absl::StatusOr<int>> ShieldedWait(Future<int>* f) {
  absl::StatusOr<int> v = co_await shield(std::move(*f));
  co_return v;
}

Task<absl::StatusOr<int>> CancelAShieldedWait(Promise<int>* p, Future<int>* f) {
  Scope scope;
  JoinHandle<absl::StatusOr<int>> h = scope.spawn(ShieldedWait(f));
  co_await yield();
  h.cancel();
  co_await yield();
  EXPECT_FALSE(p->cancelled()) << "shield kept the cancel away from the Future";
  EXPECT_TRUE(p->set_value(5));
  absl::StatusOr<int> v = co_await h;
  co_await scope.join();
  co_return v;
}

TEST(Future, ShieldWaitsWithoutCancellingTheFuture) {
  auto loop = NewLoop();
  Promise<int> p;
  Future<int> f = p.get_future();
  absl::StatusOr<int> v = RunBounded(*loop, CancelAShieldedWait(&p, &f));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 5);
}

// A cancel on the loop thread races set_value() on another thread: each
// round has exactly one outcome, and both sides agree on which.
Task<absl::Status> AwaitAndReport(Future<int>* f, int* got) {
  absl::StatusOr<int> v = co_await *f;
  *got = v.ok() ? *v : -1;
  co_return v.status();
}

Task<int> CancelRacesSet(int rounds) {
  int disagreements = 0;
  for (int i = 0; i < rounds; ++i) {
    Promise<int> p;
    Future<int> f = p.get_future();
    std::atomic<int> set_result{-1};
    Scope scope;
    int got = -2;
    JoinHandle<absl::Status> h = scope.spawn(AwaitAndReport(&f, &got));
    co_await yield();  // it now waits on f
    std::thread setter([&p, &set_result, i] { set_result.store(p.set_value(i) ? 1 : 0); });
    if (i % 3 != 0) std::this_thread::yield();
    h.cancel();
    absl::Status s = co_await h;
    co_await scope.join();
    setter.join();
    const bool value_won = set_result.load() == 1;
    if (value_won != s.ok() || (value_won && got != i)) ++disagreements;
  }
  co_return disagreements;
}

TEST(Future, CancelRacingASetterFromAnotherThreadHasOneOutcome) {
  for (int pollers : {0, 1}) {
    auto loop = NewLoop(pollers);
    absl::StatusOr<int> r = RunBounded(*loop, CancelRacesSet(300));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 0);
  }
}

TEST(Future, PromiseAndFutureDieInAnyOrderOnAnyThread) {
  for (int i = 0; i < 200; ++i) {
    auto p = std::make_unique<Promise<std::string>>();
    auto f = std::make_unique<Future<std::string>>(p->get_future());
    std::thread a([&p] {
      p->set_value("x");
      p.reset();
    });
    std::thread b([&f] { f.reset(); });
    a.join();
    b.join();
  }
}

// ---- Empty Futures: FailedPrecondition, never a null dereference ----

Task<absl::Status> AwaitEmptyFutures() {
  Promise<int> p;
  Future<int> first = p.get_future();
  Future<int> second = p.get_future();  // empty: the first call took it
  if (second.valid()) co_return absl::InternalError("second get_future() is not empty");
  if (!second.ready()) co_return absl::InternalError("an empty Future is not ready");
  absl::StatusOr<int> a = co_await second;
  if (!absl::IsFailedPrecondition(a.status())) co_return a.status();
  Future<int> moved = std::move(first);
  Future<int> empty;
  // NOLINTNEXTLINE(bugprone-use-after-move): a moved-from Future is empty
  absl::StatusOr<int> b = co_await std::move(first);
  if (!absl::IsFailedPrecondition(b.status())) co_return b.status();
  Future<void> none;
  absl::Status c = co_await none;
  if (!absl::IsFailedPrecondition(c)) co_return c;
  empty.cancel();  // no effect
  co_return absl::OkStatus();
}

TEST(Future, EmptyFuturesAreFailedPrecondition) {
  auto loop = NewLoop();
  absl::Status s = testing::RunBounded(*loop, AwaitEmptyFutures());
  EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace gaio::coro
