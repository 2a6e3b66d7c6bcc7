// Scope, JoinHandle, spawn(), run() waiting for spawned tasks, stop().
#include "coro/scope.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "coro/socket.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::NewLoop;
using testing::RunBounded;

Task<> Record(std::vector<std::string>* log, std::string what) {
  log->push_back(std::move(what));
  co_return;
}

Task<> SpawnThenYield(std::vector<std::string>* log) {
  Scope scope;
  scope.spawn(Record(log, "child"));
  log->push_back("spawner goes on");
  co_await yield();
  log->push_back("spawner resumed");
  co_await scope.join();
}

TEST(Scope, SpawnedTaskStartsWhenTheSpawnerSuspends) {
  auto loop = NewLoop();
  std::vector<std::string> log;
  ASSERT_TRUE(RunBounded(*loop, SpawnThenYield(&log)).ok());
  EXPECT_EQ(log, (std::vector<std::string>{"spawner goes on", "child", "spawner resumed"}));
}

Task<> SleepAndCount(int* n, absl::Duration d) {
  absl::Status s = co_await sleep(d);
  if (s.ok()) ++*n;
}

Task<int> SpawnMany(int count) {
  int n = 0;
  Scope scope;
  for (int i = 0; i < count; ++i) scope.spawn(SleepAndCount(&n, absl::Microseconds(i % 7)));
  EXPECT_EQ(scope.live(), static_cast<size_t>(count));
  co_await scope.join();
  EXPECT_EQ(scope.live(), 0u);
  co_return n;
}

TEST(Scope, JoinWaitsForEveryTask) {
  auto loop = NewLoop();
  absl::StatusOr<int> r = RunBounded(*loop, SpawnMany(1000));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1000);
  EXPECT_EQ(loop->live_tasks(), 0u);
}

Task<int> Plus(int a, int b) {
  co_await yield();
  co_return a + b;
}

Task<int> AwaitHandles() {
  Scope scope;
  JoinHandle<int> a = scope.spawn(Plus(1, 2));
  JoinHandle<int> b = scope.spawn(Plus(3, 4));
  int sum = co_await b;  // in any order
  sum += co_await a;
  EXPECT_TRUE(a.done());
  co_await scope.join();
  co_return sum;
}

TEST(JoinHandle, AwaitReturnsTheValue) {
  auto loop = NewLoop();
  absl::StatusOr<int> r = RunBounded(*loop, AwaitHandles());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 10);
}

Task<absl::Status> SleepLong() { co_return co_await sleep(absl::Hours(1)); }

Task<absl::Status> CancelViaHandle() {
  Scope scope;
  JoinHandle<absl::Status> h = scope.spawn(SleepLong());
  co_await yield();  // let it start and suspend on its timer
  h.cancel();
  absl::Status s = co_await h;
  co_await scope.join();
  co_return s;
}

TEST(JoinHandle, CancelCancelsWhatTheTaskWaitsFor) {
  auto loop = NewLoop();
  const absl::Time start = absl::Now();
  absl::Status s = RunBounded(*loop, CancelViaHandle());
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

Task<> SetFlagLater(bool* flag) {
  absl::Status s = co_await sleep(absl::Milliseconds(5));
  if (s.ok()) *flag = true;
}

Task<> DetachAndLeave(bool* flag) {
  spawn(SetFlagLater(flag));  // root scope; handle dropped
  co_return;
}

TEST(EventLoop, RunWaitsForSpawnedTasks) {
  auto loop = NewLoop();
  bool flag = false;
  ASSERT_TRUE(RunBounded(*loop, DetachAndLeave(&flag)).ok());
  EXPECT_TRUE(flag);
  EXPECT_EQ(loop->live_tasks(), 0u);
}

Task<> SleepRecordingStatus(absl::Status* out) { *out = co_await sleep(absl::Hours(1)); }

Task<> LeaveScopeUnjoined(absl::Status* seen) {
  {
    Scope scope;
    scope.spawn(SleepRecordingStatus(seen));
    co_await yield();
  }  // no join: the task is cancelled and handed to the loop
  co_return;
}

TEST(Scope, DestroyedUnjoinedCancelsItsTasksAndTheLoopStillJoinsThem) {
  auto loop = NewLoop();
  absl::Status seen;
  ASSERT_TRUE(RunBounded(*loop, LeaveScopeUnjoined(&seen)).ok());
  EXPECT_TRUE(absl::IsCancelled(seen)) << seen;
}

Task<int> JoinManySleepers(int* finished) {
  Scope scope;
  for (int i = 0; i < 10; ++i) scope.spawn(SleepAndCount(finished, absl::Hours(1)));
  co_await scope.join();  // cancelled while here: the scope's tasks are cancelled
  co_return 0;
}

Task<absl::Status> CancelTheJoiner(int* finished) {
  Scope scope;
  JoinHandle<int> h = scope.spawn(JoinManySleepers(finished));
  co_await yield();
  co_await yield();
  h.cancel();
  (void)co_await h;
  co_await scope.join();
  co_return absl::OkStatus();
}

TEST(Scope, CancellingTheJoinerCancelsTheScope) {
  auto loop = NewLoop();
  int finished = 0;
  ASSERT_TRUE(RunBounded(*loop, CancelTheJoiner(&finished)).ok());
  EXPECT_EQ(finished, 0);  // every sleep was cancelled, none completed
}

Task<absl::Status> AwaitSpawnedLongSleep() {
  Scope scope;
  JoinHandle<absl::Status> h = scope.spawn(SleepLong());
  absl::Status s = co_await h;  // this task gets cancelled while here
  co_await scope.join();
  co_return s;
}

Task<absl::Status> CancelAwaiterOfHandle() {
  Scope scope;
  JoinHandle<absl::Status> outer = scope.spawn(AwaitSpawnedLongSleep());
  co_await yield();
  co_await yield();
  outer.cancel();
  absl::Status s = co_await outer;
  co_await scope.join();
  co_return s;
}

TEST(JoinHandle, CancellingTheAwaiterCancelsTheAwaitedTask) {
  auto loop = NewLoop();
  absl::Status s = RunBounded(*loop, CancelAwaiterOfHandle());
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
}

Task<absl::Status> ForeverSleeping(std::atomic<int>* started) {
  Scope scope;
  for (int i = 0; i < 5; ++i) scope.spawn(SleepLong());
  started->fetch_add(1);
  absl::Status s;
  while ((s = co_await sleep(absl::Milliseconds(1))).ok()) {
  }
  co_await scope.join();
  co_return s;
}

TEST(EventLoop, StopFromAnotherThreadCancelsEveryTask) {
  auto loop = NewLoop();
  std::atomic<int> started{0};
  std::thread stopper([&] {
    while (started.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    loop->stop();
  });
  absl::Status s = RunBounded(*loop, ForeverSleeping(&started));
  stopper.join();
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_EQ(loop->live_tasks(), 0u);
  // The loop is usable again.
  absl::StatusOr<int> again = RunBounded(*loop, Plus(1, 1));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 2);
}

TEST(EventLoop, StopBeforeRunCancelsThatRun) {
  auto loop = NewLoop();
  loop->stop();
  std::atomic<int> started{0};
  absl::Status s = RunBounded(*loop, ForeverSleeping(&started));
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
}

Task<int> StopAndReturn() {
  EventLoop::current()->stop();  // the run ends before the loop sees the stop
  co_return 1;
}

Task<absl::Status> SleepBriefly() { co_return co_await sleep(absl::Milliseconds(5)); }

// ---- join() returns only when the scope is empty at that moment ----

Task<int> ShortWorker() {
  co_await yield();
  co_return 1;
}

// Resumed by the worker's finish (the JoinHandle's waiter), it restarts the
// worker in the same scope before the joiner runs.
Task<> Supervisor(Scope* workers, JoinHandle<int> first) {
  int v = co_await first;
  (void)v;
  workers->spawn(ShortWorker());
}

Task<size_t> JoinWhileASupervisorRestarts() {
  Scope workers;
  Scope supervisors;
  JoinHandle<int> w = workers.spawn(ShortWorker());
  supervisors.spawn(Supervisor(&workers, std::move(w)));
  co_await workers.join();
  const size_t live_after_join = workers.live();
  co_await supervisors.join();
  co_await workers.join();
  co_return live_after_join;
}

TEST(Scope, JoinReturnsOnlyWhenTheScopeIsEmpty) {
  auto loop = NewLoop();
  absl::StatusOr<size_t> live = RunBounded(*loop, JoinWhileASupervisorRestarts());
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(*live, 0u);
}

TEST(EventLoop, AStopAppliesToTheRunItWasMadeIn) {
  for (int pollers : {0, 1}) {
    auto loop = NewLoop(pollers);
    absl::StatusOr<int> first = RunBounded(*loop, StopAndReturn());
    ASSERT_TRUE(first.ok());
    // The stop of the first run does not carry over into this one.
    absl::Status second = RunBounded(*loop, SleepBriefly());
    EXPECT_TRUE(second.ok()) << second << " pollers=" << pollers;
    absl::Status third = RunBounded(*loop, SleepBriefly());
    EXPECT_TRUE(third.ok()) << third << " pollers=" << pollers;
  }
}

// ---- stop() from a signal handler ----

std::atomic<EventLoop*> g_signal_loop{nullptr};
std::atomic<int> g_signals{0};

void StopOnSignal(int) {
  g_signal_loop.load()->stop();
  g_signals.fetch_add(1);
}

// Installs StopOnSignal for SIGUSR1 while it lives.
class SignalStopsLoop {
 public:
  explicit SignalStopsLoop(EventLoop* loop) {
    g_signal_loop.store(loop);
    g_signals.store(0);
    struct sigaction sa = {};
    sa.sa_handler = StopOnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old_);
  }
  ~SignalStopsLoop() { sigaction(SIGUSR1, &old_, nullptr); }

 private:
  struct sigaction old_ = {};
};

TEST(EventLoop, AStopFromASignalHandlerCancelsTheRun) {
  auto loop = NewLoop();
  SignalStopsLoop handler(loop.get());
  std::atomic<int> started{0};
  const pthread_t loop_thread = pthread_self();
  std::thread sender([&] {
    while (started.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    pthread_kill(loop_thread, SIGUSR1);  // interrupts the loop's thread, wherever it is
  });
  absl::Status s = RunBounded(*loop, ForeverSleeping(&started));
  sender.join();
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_EQ(g_signals.load(), 1);
  EXPECT_EQ(loop->live_tasks(), 0u);
}

// A signal handler may interrupt a thread anywhere, also inside stop() of the
// same loop: stop() takes no lock (a mutex there would deadlock).
TEST(EventLoop, StopIsAsyncSignalSafe) {
  auto loop = NewLoop();
  SignalStopsLoop handler(loop.get());
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    for (int i = 0; i < 100000; ++i) loop->stop();  // signalled all along
    done.store(true);
  });
  std::thread sender([&] {
    const pthread_t target = stopper.native_handle();
    while (!done.load()) pthread_kill(target, SIGUSR1);
  });
  const absl::Time deadline = absl::Now() + testing::kPatience;
  while (!done.load() && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!done.load()) {
    std::fprintf(stderr, "stop() deadlocked in a signal handler\n");
    std::abort();  // the stopper cannot be joined
  }
  stopper.join();
  sender.join();
  EXPECT_GT(g_signals.load(), 0);
  // Those stops were made between runs: they apply to the next run.
  std::atomic<int> started{0};
  absl::Status s = RunBounded(*loop, ForeverSleeping(&started));
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
}

TEST(EventLoop, TasksSpawnedBeforeRunStartInRun) {
  auto loop = NewLoop();
  bool flag = false;
  Scope outside(*loop);
  JoinHandle<> h = outside.spawn(SetFlagLater(&flag));
  EXPECT_EQ(loop->live_tasks(), 1u);
  ASSERT_TRUE(RunBounded(*loop, Plus(0, 0)).ok());
  EXPECT_TRUE(flag);
  EXPECT_TRUE(h.done());
}

// ---- cancel() outside the loop's run() ----
// A task waits for a Watcher request only while its loop's run() is in
// progress (run() returns once every task finished; a failed run closed the
// Watcher, which completes every request), and Scopes and JoinHandles are
// used on the loop's thread: so a cancel() made outside that run (before
// it, after it, or inside another loop's run) never finds a request to
// cancel; it reaches the task as its sticky flag, and its first I/O returns
// Cancelled without submitting anything.

Task<absl::Status> ReadOnce(int fd) {
  Socket s(*EventLoop::current(), fd);
  char buf[8];
  absl::StatusOr<size_t> n = co_await s.read(absl::MakeSpan(buf));
  (void)s.release();
  co_return n.status();
}

Task<absl::Status> AwaitHandle(JoinHandle<absl::Status>* h) {
  absl::Status s = co_await *h;
  co_return s;
}

Task<absl::Status> CancelAScopeOfAnotherLoop(Scope* other) {
  other->cancel();  // inside this loop's run, on a Scope of a loop not running
  co_return absl::OkStatus();
}

TEST(Scope, CancelOutsideTheLoopsRunReachesTheTaskWhenItRuns) {
  auto loop = NewLoop();
  auto other = NewLoop();
  testing::FdPair a = testing::UnixPair();
  testing::FdPair b = testing::UnixPair();
  ASSERT_TRUE(testing::WriteAll(a.peer, "a").ok());
  ASSERT_TRUE(testing::WriteAll(b.peer, "b").ok());
  Scope outside(*loop);
  JoinHandle<absl::Status> h1 = outside.spawn(ReadOnce(a.watched));
  h1.cancel();  // before the run: no request yet
  Scope scope_b(*loop);
  JoinHandle<absl::Status> h2 = scope_b.spawn(ReadOnce(b.watched));
  ASSERT_TRUE(RunBounded(*other, CancelAScopeOfAnotherLoop(&scope_b)).ok());
  absl::Status r1 = RunBounded(*loop, AwaitHandle(&h1));
  EXPECT_TRUE(absl::IsCancelled(r1)) << r1;
  EXPECT_TRUE(h2.done());
  absl::Status r2 = RunBounded(*loop, AwaitHandle(&h2));
  EXPECT_TRUE(absl::IsCancelled(r2)) << r2;
  // Nothing was submitted: the bytes are still there.
  EXPECT_EQ(testing::Readable(a.watched), 1);
  EXPECT_EQ(testing::Readable(b.watched), 1);
  // After the run: the tasks have finished; cancel() changes nothing.
  h1.cancel();
  outside.cancel();
  EXPECT_EQ(loop->live_tasks(), 0u);
  for (int fd : {a.watched, a.peer, b.watched, b.peer}) close(fd);
}

TEST(EventLoop, TasksSpawnedButNeverRunAreFreedWithTheLoop) {
  auto p = std::make_shared<int>(1);
  {
    auto loop = NewLoop();
    bool flag = false;
    loop->root_scope().spawn(SetFlagLater(&flag));
    Scope outside(*loop);
    JoinHandle<int> h = outside.spawn(Plus(1, 2));
    (void)h;
  }  // loop destroyed: LeakSanitizer checks the frames went with it
}

Task<int> CancelScopeThenSpawn() {
  Scope scope;
  scope.cancel();
  JoinHandle<absl::Status> h = scope.spawn(SleepLong());
  absl::Status s = co_await h;
  co_await scope.join();
  co_return absl::IsCancelled(s) ? 1 : 0;
}

TEST(Scope, CancelAppliesToTasksSpawnedLater) {
  auto loop = NewLoop();
  absl::StatusOr<int> r = RunBounded(*loop, CancelScopeThenSpawn());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1);
}

// ---- Awaiting an empty JoinHandle ----

Task<absl::Status> AwaitEmptyJoinHandles() {
  Scope scope;
  JoinHandle<absl::Status> of_empty = scope.spawn(Task<absl::Status>());
  if (of_empty.valid()) co_return absl::InternalError("spawn of an empty Task gave a handle");
  absl::Status a = co_await of_empty;
  JoinHandle<absl::StatusOr<int>> none;
  absl::StatusOr<int> b = co_await none;
  co_await scope.join();
  if (!absl::IsFailedPrecondition(a)) co_return absl::InternalError("empty handle (spawn)");
  if (!absl::IsFailedPrecondition(b.status())) co_return absl::InternalError("empty handle");
  co_return absl::OkStatus();
}

TEST(Scope, AwaitingAnEmptyJoinHandleIsFailedPrecondition) {
  auto loop = NewLoop();
  absl::Status s = testing::RunBounded(*loop, AwaitEmptyJoinHandles());
  EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace gaio::coro
