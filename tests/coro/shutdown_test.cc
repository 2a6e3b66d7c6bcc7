// Shutdown neither hangs nor leaks (libcoro #393/#360 are the bugs to avoid):
// stop() with pending I/O, sleeps, future waits, generators and spawned tasks
// in flight; a Watcher that fails under the loop; setters on other threads
// during and after shutdown. --config=asan turns these into leak checks.
#include <unistd.h>

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

using testing::CountOpenFds;
using testing::CountOpenFdsAfterFirstLoop;
using testing::ListOpenFds;
using testing::NewLoop;
using testing::RunBounded;

Task<> Echo(Socket s) {
  for (;;) {
    absl::StatusOr<SwapBytes> in = co_await s.read();
    if (!in.ok()) break;
    absl::Status w = co_await s.write(*in);
    if (!w.ok()) break;
  }
}

Task<> AcceptLoop(Listener* l, Scope* sessions) {
  for (;;) {
    absl::StatusOr<Socket> s = co_await l->accept();
    if (!s.ok()) break;
    sessions->spawn(Echo(*std::move(s)));
  }
}

Task<> Sleeper() {
  for (;;) {
    absl::Status s = co_await sleep(absl::Milliseconds(1));
    if (!s.ok()) break;
  }
}

Task<> Waiter(Future<int>* f) {
  absl::StatusOr<int> v = co_await *f;
  (void)v;
}

Task<> LineReader(std::string address) {
  AsyncGenerator<SwapBytes> g = dial_lines(address);
  while (std::optional<SwapBytes> line = co_await g.next()) {
  }
}

Task<> Client(std::string address) {
  absl::StatusOr<Socket> c = co_await dial(address);
  if (!c.ok()) co_return;
  char buf[16];
  for (;;) {
    absl::Status w = co_await c->write(absl::string_view("ping"));
    if (!w.ok()) break;
    absl::Status r = co_await c->read_full(absl::MakeSpan(buf, 4));
    if (!r.ok()) break;
  }
}

Task<absl::Status> Busy(std::atomic<bool>* ready, std::vector<Future<int>>* futures) {
  absl::StatusOr<Listener> l = listen("127.0.0.1:0");
  if (!l.ok()) co_return l.status();
  Scope sessions;
  Scope scope;
  scope.spawn(AcceptLoop(&*l, &sessions));
  for (int i = 0; i < 20; ++i) scope.spawn(Client(l->address()));
  for (int i = 0; i < 10; ++i) scope.spawn(LineReader(l->address()));  // echo sends no line
  for (int i = 0; i < 10; ++i) scope.spawn(Sleeper());
  for (Future<int>& f : *futures) scope.spawn(Waiter(&f));
  spawn(Sleeper());  // the root scope too
  ready->store(true);
  absl::Status s = co_await sleep(absl::Hours(1));  // until stop()
  co_await scope.join();
  co_await sessions.join();
  co_return s;
}

TEST(Shutdown, StopWithEverythingInFlightEndsAndFreesAll) {
  for (int pollers : {0, 1, 2}) {
    const int fds = CountOpenFdsAfterFirstLoop();
    const std::string before = ListOpenFds();
    {
      auto loop = NewLoop(pollers);
      std::vector<Promise<int>> promises(10);  // never set before the stop
      std::vector<Future<int>> futures;
      for (Promise<int>& p : promises) futures.push_back(p.get_future());
      std::atomic<bool> ready{false};
      std::thread stopper([&] {
        while (!ready.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        loop->stop();
      });
      const absl::Time start = absl::Now();
      absl::Status s = RunBounded(*loop, Busy(&ready, &futures));
      stopper.join();
      EXPECT_TRUE(absl::IsCancelled(s)) << s;
      EXPECT_LT(absl::Now() - start, absl::Seconds(10));
      EXPECT_EQ(loop->live_tasks(), 0u);
      for (Promise<int>& p : promises) EXPECT_TRUE(p.cancelled());
    }
    EXPECT_EQ(CountOpenFds(), fds) << "pollers=" << pollers << "\nbefore:\n"
                                   << before << "after:\n"
                                   << ListOpenFds();
  }
}

Task<absl::Status> CloseTheWatcherUnderTheLoop(std::vector<Future<int>>* futures) {
  absl::StatusOr<Listener> l = listen("127.0.0.1:0");
  if (!l.ok()) co_return l.status();
  Scope sessions;
  Scope scope;
  scope.spawn(AcceptLoop(&*l, &sessions));
  for (int i = 0; i < 5; ++i) scope.spawn(Client(l->address()));
  for (int i = 0; i < 5; ++i) scope.spawn(Sleeper());
  for (Future<int>& f : *futures) scope.spawn(Waiter(&f));
  absl::Status slept = co_await sleep(absl::Milliseconds(20));
  (void)slept;
  // As if the engine failed: wait_io() now drains and then fails.
  absl::Status closed = EventLoop::current()->watcher().close();
  EXPECT_TRUE(closed.ok());
  absl::Status after = co_await sleep(absl::Hours(1));
  co_await scope.join();
  co_await sessions.join();
  co_return after;
}

TEST(Shutdown, AFailingWatcherEndsTheRunWithoutAHang) {
  const int fds = CountOpenFdsAfterFirstLoop();
  {
    auto loop = NewLoop();
    std::vector<Promise<int>> promises(5);
    std::vector<Future<int>> futures;
    for (Promise<int>& p : promises) futures.push_back(p.get_future());
    absl::Status s = RunBounded(*loop, CloseTheWatcherUnderTheLoop(&futures));
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(loop->live_tasks(), 0u);
    // The loop is unusable from now on, and says so.
    absl::Status again = loop->run(Sleeper());
    EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  }
  EXPECT_EQ(CountOpenFds(), fds);
}

Task<long> WaitForRemoteValues(std::vector<Future<int>>* futures, std::atomic<bool>* ready) {
  long sum = 0;
  ready->store(true);
  for (Future<int>& f : *futures) {
    absl::StatusOr<int> v = co_await f;
    if (!v.ok()) break;
    sum += *v;
  }
  co_return sum;
}

TEST(Shutdown, SettersOnOtherThreadsDuringAndAfterTheStop) {
  for (int round = 0; round < 20; ++round) {
    std::vector<Promise<int>> promises(200);
    std::vector<Future<int>> futures;
    for (Promise<int>& p : promises) futures.push_back(p.get_future());
    std::atomic<bool> ready{false};
    {
      auto loop = NewLoop(round % 2);
      std::thread setter([&] {
        while (!ready.load()) std::this_thread::yield();
        for (Promise<int>& p : promises) {
          p.set_value(1);
          if (&p == &promises[50]) loop->stop();
        }
      });
      absl::StatusOr<long> r = RunBounded(*loop, WaitForRemoteValues(&futures, &ready));
      setter.join();
      ASSERT_TRUE(r.ok());
      EXPECT_LE(*r, 200);
    }
    // The loop is gone; the remaining promises can still be set or dropped.
    for (Promise<int>& p : promises) p.set_value(2);
  }
}

// ---- Destroying a loop that a failure left with suspended tasks ----

Task<absl::StatusOr<int>> StuckOnAShieldedFuture(Future<int>* f) {
  // The shielded wait is not cancelled by the failure, and nothing sets f.
  absl::StatusOr<int> v = co_await shield(std::move(*f));
  co_return v;
}

Task<absl::Status> LeaveAStuckTaskAndFail(Future<int>* f) {
  spawn(StuckOnAShieldedFuture(f));  // in the loop's root scope
  co_await yield();
  co_return EventLoop::current()->watcher().close();  // wait_io() fails next
}

TEST(Shutdown, DestroyingALoopWithATaskAFailureLeftSuspended) {
  auto loop = NewLoop();
  {
    Promise<int> p;
    Future<int> f = p.get_future();
    absl::Status s = RunBounded(*loop, LeaveAStuckTaskAndFail(&f));
    EXPECT_TRUE(s.ok()) << s;  // the main task finished: its value
    EXPECT_EQ(loop->live_tasks(), 1u);
    absl::Status again = loop->run(Sleeper());
    EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  }              // the broken promise queues its waiter on the loop, which never runs it
  loop.reset();  // the root scope still has a live task: it stays leaked
}
}  // namespace
}  // namespace gaio::coro
