// Cancellation: exactly one outcome whether the cancel comes before the
// request is submitted (asio #1574), while it is in flight, or after its
// completion is already in the batch being handled (asio #423); propagation
// to what a task awaits; shield; the combinators' cancel-and-join rules; and
// an I/O completion and its timeout in the same batch.
#include <unistd.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::FdPair;
using testing::NewLoop;
using testing::Readable;
using testing::RunBounded;
using testing::UnixPair;
using testing::WriteAll;

struct ReadOutcome {
  absl::Status status;
  std::string data;
  int resumptions = 0;
  absl::Status next_await;  // what the task's following await returned
};

// Reads once into a buffer of its own and records what happened.
Task<> ReadOnce(Socket* s, ReadOutcome* out) {
  char buf[64];
  absl::StatusOr<size_t> n = co_await s->read(absl::MakeSpan(buf));
  ++out->resumptions;
  out->status = n.status();
  if (n.ok()) out->data.assign(buf, *n);
  out->next_await = co_await sleep(absl::Hours(1));
}

Task<int> CancelBeforeSubmit(int fd, ReadOutcome* out) {
  Socket s(*EventLoop::current(), fd);
  Scope scope;
  JoinHandle<> h = scope.spawn(ReadOnce(&s, out));
  h.cancel();  // the task has not started: its read is never submitted
  co_await h;
  co_await scope.join();
  co_return Readable(s.fd());  // the byte the peer sent is still there
}

TEST(Cancel, BeforeTheRequestIsSubmittedNoRequestIsMade) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ASSERT_TRUE(WriteAll(p.peer, "x").ok());
  ReadOutcome out;
  absl::StatusOr<int> left = RunBounded(*loop, CancelBeforeSubmit(p.watched, &out));
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 1);
  EXPECT_TRUE(absl::IsCancelled(out.status)) << out.status;
  EXPECT_EQ(out.resumptions, 1);
  EXPECT_TRUE(absl::IsCancelled(out.next_await));
  close(p.peer);
}

Task<int> CancelInFlight(int fd, int peer, ReadOutcome* out) {
  Socket s(*EventLoop::current(), fd);
  Scope scope;
  JoinHandle<> h = scope.spawn(ReadOnce(&s, out));
  // Let it submit its read and wait (no data yet).
  absl::Status slept = co_await sleep(absl::Milliseconds(2));
  EXPECT_TRUE(slept.ok());
  h.cancel();
  co_await h;
  co_await scope.join();
  // The read was cancelled, not left pending: bytes sent now stay unread.
  EXPECT_TRUE(WriteAll(peer, "late").ok());
  co_return Readable(s.fd());
}

TEST(Cancel, WhileInFlightTheRequestIsCancelled) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ReadOutcome out;
  absl::StatusOr<int> left = RunBounded(*loop, CancelInFlight(p.watched, p.peer, &out));
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 4);
  EXPECT_TRUE(absl::IsCancelled(out.status)) << out.status;
  EXPECT_EQ(out.resumptions, 1);
  close(p.peer);
}

// B's timer and A's read both complete at submission (caller-driven mode:
// timer after(0), data already there), in that order, so they arrive in one
// batch [B's timer, A's read]. B, resumed first, cancels A: Watcher::cancel
// finds nothing pending (NotFound) and A must get its read's real result,
// once.
Task<> SleepZeroThenCancel(JoinHandle<>* victim, std::vector<std::string>* log) {
  absl::Status s = co_await sleep(absl::ZeroDuration());
  log->push_back(absl::StrCat("B woke: ", s.ToString()));
  victim->cancel();
}

Task<> ReadOnceLogged(Socket* s, ReadOutcome* out, std::vector<std::string>* log) {
  char buf[64];
  absl::StatusOr<size_t> n = co_await s->read(absl::MakeSpan(buf));
  log->push_back("A resumed");
  ++out->resumptions;
  out->status = n.status();
  if (n.ok()) out->data.assign(buf, *n);
  out->next_await = co_await sleep(absl::Hours(1));
}

Task<> CancelAfterCompletion(int fd, ReadOutcome* out, std::vector<std::string>* log) {
  Socket s(*EventLoop::current(), fd);
  Scope scope;
  JoinHandle<> a;
  scope.spawn(SleepZeroThenCancel(&a, log));
  a = scope.spawn(ReadOnceLogged(&s, out, log));
  co_await scope.join();
}

TEST(Cancel, AfterTheCompletionIsInTheBatchTheRealResultWins) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ASSERT_TRUE(WriteAll(p.peer, "hello").ok());
  ReadOutcome out;
  std::vector<std::string> log;
  ASSERT_TRUE(RunBounded(*loop, CancelAfterCompletion(p.watched, &out, &log)).ok());
  ASSERT_EQ(log, (std::vector<std::string>{"B woke: OK", "A resumed"}))
      << "the batch did not come in the order this test relies on";
  EXPECT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.data, "hello");
  EXPECT_EQ(out.resumptions, 1);
  EXPECT_TRUE(absl::IsCancelled(out.next_await)) << "the task stays cancelled";
  close(p.peer);
}

Task<> SleepZeroLogged(absl::Status* out, int* resumptions) {
  *out = co_await sleep(absl::ZeroDuration());
  ++*resumptions;
}

Task<> CancelTimerAfterExpiry(absl::Status* out, int* resumptions) {
  Scope scope;
  JoinHandle<> victim;
  std::vector<std::string> log;
  scope.spawn(SleepZeroThenCancel(&victim, &log));
  victim = scope.spawn(SleepZeroLogged(out, resumptions));
  co_await scope.join();
}

TEST(Cancel, ATimerThatFiredInTheSameBatchCompletesOnce) {
  auto loop = NewLoop();
  absl::Status out = absl::UnknownError("not run");
  int resumptions = 0;
  ASSERT_TRUE(RunBounded(*loop, CancelTimerAfterExpiry(&out, &resumptions)).ok());
  EXPECT_TRUE(out.ok()) << out;  // fired before the cancel came: OK, once
  EXPECT_EQ(resumptions, 1);
}

// ---- propagation ----

Task<absl::Status> Middle() {
  absl::Status s = co_await sleep(absl::Hours(1));
  co_return s;
}
Task<absl::Status> Outer() {
  absl::Status s = co_await Middle();
  co_return s;
}
Task<absl::Status> CancelOuter() {
  Scope scope;
  JoinHandle<absl::Status> h = scope.spawn(Outer());
  absl::Status slept = co_await sleep(absl::Milliseconds(1));
  EXPECT_TRUE(slept.ok());
  h.cancel();
  absl::Status s = co_await h;
  co_await scope.join();
  co_return s;
}

TEST(Cancel, PropagatesDownTheChainOfAwaitedTasks) {
  auto loop = NewLoop();
  const absl::Time start = absl::Now();
  absl::Status s = RunBounded(*loop, CancelOuter());
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

Task<absl::Status> ShieldedSleep(absl::Duration d, absl::Status* after) {
  absl::Status s = co_await shield(sleep(d));
  *after = co_await sleep(absl::Hours(1));  // our own cancellation is still pending
  co_return s;
}
Task<absl::Status> CancelShielded(absl::Status* after, absl::Duration* took) {
  Scope scope;
  const absl::Time start = absl::Now();
  JoinHandle<absl::Status> h = scope.spawn(ShieldedSleep(absl::Milliseconds(30), after));
  absl::Status slept = co_await sleep(absl::Milliseconds(2));
  EXPECT_TRUE(slept.ok());
  h.cancel();
  absl::Status s = co_await h;
  *took = absl::Now() - start;
  co_await scope.join();
  co_return s;
}

TEST(Cancel, ShieldStopsThePropagationAndTheCancelStaysPending) {
  auto loop = NewLoop();
  absl::Status after;
  absl::Duration took;
  absl::Status s = RunBounded(*loop, CancelShielded(&after, &took));
  EXPECT_TRUE(s.ok()) << "the shielded sleep ran its course: " << s;
  EXPECT_GE(took, absl::Milliseconds(30));
  EXPECT_TRUE(absl::IsCancelled(after)) << after;
}

// ---- combinators ----

Task<absl::Status> FailAfter(absl::Duration d) {
  absl::Status s = co_await sleep(d);
  if (!s.ok()) co_return s;
  co_return absl::DataLossError("boom");
}
Task<absl::Status> SleepLong() {
  absl::Status s = co_await sleep(absl::Hours(1));
  co_return s;
}

Task<absl::Status> AllWithOneFailing() {
  auto [a, b, c] = co_await when_all(SleepLong(), FailAfter(absl::Milliseconds(1)), SleepLong());
  EXPECT_TRUE(absl::IsCancelled(a)) << a;
  EXPECT_TRUE(absl::IsDataLoss(b)) << b;
  EXPECT_TRUE(absl::IsCancelled(c)) << c;
  co_return FirstError(std::make_tuple(a, b, c));
}

TEST(WhenAll, AnErrorCancelsTheSiblings) {
  auto loop = NewLoop();
  absl::Status s = RunBounded(*loop, AllWithOneFailing());
  EXPECT_TRUE(absl::IsDataLoss(s))
      << "FirstError reports the cause, not a Cancelled sibling: " << s;
}

Task<int> AllOk() {
  auto [a, b] = co_await when_all(FailAfter(absl::Hours(1)), Middle());
  (void)a;
  (void)b;
  co_return 0;
}
Task<absl::Status> CancelWhenAll() {
  Scope scope;
  JoinHandle<int> h = scope.spawn(AllOk());
  absl::Status slept = co_await sleep(absl::Milliseconds(1));
  EXPECT_TRUE(slept.ok());
  h.cancel();
  co_await h;
  co_await scope.join();
  co_return absl::OkStatus();
}

TEST(WhenAll, CancellingTheAwaiterCancelsEveryChild) {
  auto loop = NewLoop();
  const absl::Time start = absl::Now();
  EXPECT_TRUE(RunBounded(*loop, CancelWhenAll()).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

Task<absl::Status> LoserWithCleanup(bool* cleaned_up) {
  absl::Status s = co_await sleep(absl::Hours(1));
  // Cancelled: clean up with I/O that our cancellation does not reach.
  absl::Status cleanup = co_await shield(sleep(absl::Milliseconds(5)));
  *cleaned_up = cleanup.ok();
  co_return s;
}

Task<size_t> AnyJoinsLosers(bool* cleaned_up) {
  AnyResult<absl::Status, absl::Status> r =
      co_await when_any(sleep(absl::Milliseconds(1)), LoserWithCleanup(cleaned_up));
  EXPECT_TRUE(*cleaned_up) << "when_any returned before its loser finished";
  EXPECT_TRUE(std::get<0>(r.results).ok());
  EXPECT_TRUE(absl::IsCancelled(std::get<1>(r.results)));
  co_return r.index;
}

TEST(WhenAny, CancelsAndJoinsTheLosersBeforeReturning) {
  auto loop = NewLoop();
  bool cleaned_up = false;
  absl::StatusOr<size_t> r = RunBounded(*loop, AnyJoinsLosers(&cleaned_up));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  EXPECT_TRUE(cleaned_up);
}

Task<absl::StatusOr<std::string>> ReadSome(Socket* s) {
  char buf[64];
  absl::StatusOr<size_t> n = co_await s->read(absl::MakeSpan(buf));
  if (!n.ok()) co_return n.status();
  co_return std::string(buf, *n);
}

// when_any(read, sleep(0)) with the data already there: both complete at
// submission, in argument order, into one batch. Whichever wins, the read's
// bytes are in the results: never lost.
Task<> AnyOfReadAndTimeout(int fd, bool read_first,
                           AnyResult<absl::StatusOr<std::string>, absl::Status>* out) {
  Socket s(*EventLoop::current(), fd);
  if (read_first) {
    *out = co_await when_any(ReadSome(&s), sleep(absl::ZeroDuration()));
  } else {
    AnyResult<absl::Status, absl::StatusOr<std::string>> r =
        co_await when_any(sleep(absl::ZeroDuration()), ReadSome(&s));
    out->index = 1 - r.index;
    out->results = std::make_tuple(std::get<1>(r.results), std::get<0>(r.results));
  }
}

TEST(WhenAny, ReadAndTimeoutInOneBatchLoseNoBytes) {
  for (bool read_first : {true, false}) {
    auto loop = NewLoop();
    FdPair p = UnixPair();
    ASSERT_TRUE(WriteAll(p.peer, "data").ok());
    AnyResult<absl::StatusOr<std::string>, absl::Status> r;
    ASSERT_TRUE(RunBounded(*loop, AnyOfReadAndTimeout(p.watched, read_first, &r)).ok());
    // The first in the batch wins; the other had completed too.
    EXPECT_EQ(r.index, read_first ? 0u : 1u);
    const absl::StatusOr<std::string>& read = std::get<0>(r.results);
    ASSERT_TRUE(read.ok()) << read.status() << " read_first=" << read_first;
    EXPECT_EQ(*read, "data");
    EXPECT_TRUE(std::get<1>(r.results).ok());
    close(p.peer);
  }
}

// with_timeout(read, 0): the timer is armed first and fires at once; the read
// completes at submission too. Batch [timer, read]: the timer cancels the read
// too late (NotFound) and the outcome is the data, not DeadlineExceeded.
Task<absl::StatusOr<std::string>> TimeoutInSameBatch(int fd) {
  Socket s(*EventLoop::current(), fd);
  absl::StatusOr<std::string> r = co_await with_timeout(ReadSome(&s), absl::ZeroDuration());
  co_return r;
}

TEST(WithTimeout, ACompletionInTheSameBatchAsItsTimeoutIsKept) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ASSERT_TRUE(WriteAll(p.peer, "abc").ok());
  absl::StatusOr<std::string> r = RunBounded(*loop, TimeoutInSameBatch(p.watched));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "abc");
  close(p.peer);
}

// The child's own sleep(0) comes in the batch right behind with_timeout's
// timer, which cancels the child first: its read is then never submitted.
Task<absl::StatusOr<std::string>> SleepThenRead(Socket* s) {
  absl::Status slept = co_await sleep(absl::ZeroDuration());
  (void)slept;
  absl::StatusOr<std::string> r = co_await ReadSome(s);
  co_return r;
}
Task<int> TimeoutBeforeSubmission(int fd, absl::Status* status) {
  Socket s(*EventLoop::current(), fd);
  absl::StatusOr<std::string> r = co_await with_timeout(SleepThenRead(&s), absl::ZeroDuration());
  *status = r.status();
  co_return Readable(s.fd());
}

TEST(WithTimeout, ADeadlineBeforeTheReadIsSubmittedLeavesTheBytes) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ASSERT_TRUE(WriteAll(p.peer, "abc").ok());
  absl::Status status;
  absl::StatusOr<int> left = RunBounded(*loop, TimeoutBeforeSubmission(p.watched, &status));
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_EQ(*left, 3);
  close(p.peer);
}

// The read and its timer fall due during one wait_io(): the loop thread is
// kept busy past the deadline while the bytes arrive, so the next poll finds
// both. Whatever their order in the batch, exactly one outcome: the bytes.
Task<> Busy(absl::Duration d) {
  absl::SleepFor(d);  // blocks the loop thread on purpose
  co_return;
}
Task<absl::StatusOr<std::string>> ReadAndTimerDueTogether(int fd, int peer) {
  Socket s(*EventLoop::current(), fd);
  Scope scope;
  scope.spawn(Busy(absl::Milliseconds(20)));
  absl::Status wrote = WriteAll(peer, "xyz");
  EXPECT_TRUE(wrote.ok());
  absl::StatusOr<std::string> r = co_await with_timeout(ReadSome(&s), absl::Milliseconds(5));
  co_await scope.join();
  co_return r;
}

TEST(WithTimeout, ReadAndTimerDueInTheSameWaitGiveOneOutcome) {
  for (int i = 0; i < 20; ++i) {
    auto loop = NewLoop();
    FdPair p = UnixPair();
    absl::StatusOr<std::string> r = RunBounded(*loop, ReadAndTimerDueTogether(p.watched, p.peer));
    // The bytes were there when the read was tried: tried at once in the
    // submitting call, it completed before the timer could cancel it.
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, "xyz");
    close(p.peer);
  }
}

Task<absl::StatusOr<std::string>> SlowRead(int fd) {
  Socket s(*EventLoop::current(), fd);
  absl::StatusOr<std::string> r = co_await with_timeout(ReadSome(&s), absl::Milliseconds(5));
  co_return r;
}

TEST(WithTimeout, ExpiresWithDeadlineExceeded) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  absl::StatusOr<std::string> r = RunBounded(*loop, SlowRead(p.watched));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  close(p.peer);
}

// ---- the asyncigo cancellation sequence ----

Task<absl::StatusOr<int>> AwaitTen(std::vector<Future<int>>* futs, std::vector<std::string>* log) {
  absl::Status last;
  for (size_t i = 0; i < futs->size(); ++i) {
    absl::StatusOr<int> v = co_await (*futs)[i];
    log->push_back(absl::StrCat(i, ": ", v.ok() ? absl::StrCat(*v) : v.status().ToString()));
    if (!v.ok()) last = v.status();
  }
  if (!last.ok()) co_return last;
  co_return 0;
}

Task<absl::Status> CancellationSequence(std::vector<std::string>* log) {
  std::vector<Promise<int>> promises(10);
  std::vector<Future<int>> futs;
  for (Promise<int>& p : promises) futs.push_back(p.get_future());
  Scope scope;
  JoinHandle<absl::StatusOr<int>> task = scope.spawn(AwaitTen(&futs, log));
  for (int i = 0; i < 10; ++i) {
    if (i == 5) task.cancel();
    co_await yield();
    // The task is cancelled while it is queued with future 4's value: it
    // gets that value, then every later await returns Cancelled at once,
    // leaving futures 5-9 untouched (so they can still be set).
    EXPECT_TRUE(promises[i].set_value(i)) << i;
  }
  absl::StatusOr<int> r = co_await task;
  co_await scope.join();
  co_return r.status();
}

TEST(Cancel, AsyncigoSequenceResolvesFiveAndCancelsFive) {
  auto loop = NewLoop();
  std::vector<std::string> log;
  absl::Status s = RunBounded(*loop, CancellationSequence(&log));
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  ASSERT_EQ(log.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    if (i < 5) {
      EXPECT_EQ(log[i], absl::StrCat(i, ": ", i));
    } else {
      EXPECT_TRUE(absl::StrContains(log[i], "CANCELLED")) << log[i];
    }
  }
}

// ---- a storm: readers, sleepers and future waiters cancelled at random
// moments while a peer thread writes. No hang, every task ends once, and no
// byte is lost or doubled: read + left unread == written. ----

struct StormStats {
  size_t bytes_read = 0;
  int finished = 0;
};

Task<> StormReader(Socket* s, StormStats* st) {
  for (;;) {
    absl::StatusOr<SwapBytes> b = co_await s->read();
    if (!b.ok()) break;
    st->bytes_read += b->size();
  }
  ++st->finished;
}
Task<> StormSleeper(StormStats* st, int i) {
  for (;;) {
    absl::Status s = co_await sleep(absl::Microseconds(i % 50));
    if (!s.ok()) break;
  }
  ++st->finished;
}
Task<> StormWaiter(Future<int>* f, StormStats* st) {
  absl::StatusOr<int> v = co_await *f;
  (void)v;
  ++st->finished;
}

Task<size_t> Storm(std::vector<int>* fds, std::vector<Promise<int>>* promises, StormStats* st,
                   unsigned seed, std::atomic<bool>* stop_writer, Future<>* writer_done) {
  std::mt19937 rng(seed);
  std::vector<Socket> sockets;
  for (int fd : *fds) sockets.emplace_back(*EventLoop::current(), fd);
  std::vector<Future<int>> futures;
  for (Promise<int>& p : *promises) futures.push_back(p.get_future());
  Scope scope;
  std::vector<JoinHandle<>> handles;
  for (Socket& s : sockets) handles.push_back(scope.spawn(StormReader(&s, st)));
  for (int i = 0; i < 20; ++i) handles.push_back(scope.spawn(StormSleeper(st, i)));
  for (Future<int>& f : futures) handles.push_back(scope.spawn(StormWaiter(&f, st)));
  std::shuffle(handles.begin(), handles.end(), rng);
  for (JoinHandle<>& h : handles) {
    absl::Status s = co_await sleep(absl::Microseconds(rng() % 300));
    EXPECT_TRUE(s.ok());
    h.cancel();
  }
  co_await scope.join();
  // Stop the writer and wait for it (a Future set from its thread) before
  // counting what is left unread.
  stop_writer->store(true);
  absl::Status writer = co_await *writer_done;
  EXPECT_TRUE(writer.ok()) << writer;
  size_t left = 0;
  for (Socket& s : sockets) {
    int n = Readable(s.fd());
    left += n > 0 ? static_cast<size_t>(n) : 0;
  }
  co_return left;
}

TEST(Cancel, StormLosesNoByteAndEndsEveryTask) {
  for (int pollers : {0, 1}) {
    auto loop = NewLoop(pollers);
    constexpr int kPairs = 8;
    std::vector<FdPair> pairs;
    std::vector<int> watched;
    for (int i = 0; i < kPairs; ++i) {
      pairs.push_back(UnixPair());
      watched.push_back(pairs.back().watched);
    }
    std::vector<Promise<int>> promises(20);
    std::atomic<bool> stop{false};
    std::atomic<size_t> written{0};
    Promise<> writer_promise;
    Future<> writer_done = writer_promise.get_future();
    std::thread writer([&, done = std::move(writer_promise)]() mutable {
      std::mt19937 rng(7);
      while (!stop.load()) {
        const FdPair& p = pairs[rng() % kPairs];
        std::string chunk(1 + rng() % 100, 'z');
        ssize_t n = send(p.peer, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) written.fetch_add(static_cast<size_t>(n));
        if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      done.set_value();
    });
    std::thread setter([&] {
      for (size_t i = 0; i < promises.size(); ++i) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        promises[i].set_value(static_cast<int>(i));
      }
    });
    StormStats st;
    absl::StatusOr<size_t> left =
        RunBounded(*loop, Storm(&watched, &promises, &st, 42 + pollers, &stop, &writer_done));
    stop.store(true);
    writer.join();
    setter.join();
    ASSERT_TRUE(left.ok());
    EXPECT_EQ(st.finished, kPairs + 20 + 20);
    EXPECT_EQ(st.bytes_read + *left, written.load()) << "pollers=" << pollers;
    for (FdPair& p : pairs) close(p.peer);
  }
}

}  // namespace
}  // namespace gaio::coro
