// Timers, post, cancel, release, writev and pending_write_bytes, in every
// engine mode: order, exactly-once (also racing from other threads), and
// what each leaves behind.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/fault_util.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::Collect;
using ::gaio::testing::Completion;
using ::gaio::testing::FdIsOpen;
using ::gaio::testing::FdPair;
using ::gaio::testing::kAllModes;
using ::gaio::testing::MakeWatcher;
using ::gaio::testing::ModeName;
using ::gaio::testing::Pattern;
using ::gaio::testing::ReadExactly;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WaitFor;
using ::gaio::testing::WriteAll;

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }
intptr_t Id(const void* ctx) { return reinterpret_cast<intptr_t>(ctx); }

class EventLoop : public ::testing::TestWithParam<int> {};

// ---- Timers ----------------------------------------------------------------

TEST_P(EventLoop, TimersCompleteInDueOrderTiesInSubmissionOrder) {
  Watcher w = MakeWatcher(GetParam());
  std::mt19937 rng(7);
  constexpr int kTimers = 200;
  // Each timer is due `delay` after its after() call, somewhere between the
  // clock read just before the call and the one just after it.
  std::vector<int> delay_ms(kTimers);
  std::vector<absl::Time> earliest(kTimers), latest(kTimers);
  for (int i = 0; i < kTimers; ++i) {
    delay_ms[i] = static_cast<int>(rng() % 40);  // many equal delays
    const absl::Time before = absl::Now();
    GAIO_ASSERT_OK(w.after(Ctx(i), absl::Milliseconds(delay_ms[i])));
    earliest[i] = before + absl::Milliseconds(delay_ms[i]);
    latest[i] = absl::Now() + absl::Milliseconds(delay_ms[i]);
  }
  std::vector<Completion> c = Collect(w, kTimers);
  ASSERT_EQ(c.size(), static_cast<size_t>(kTimers));
  std::vector<int> order;
  for (const Completion& x : c) {
    EXPECT_EQ(x.op, OpType::kTimer);
    EXPECT_EQ(x.fd, -1);
    EXPECT_TRUE(x.status.ok()) << x.status;
    order.push_back(static_cast<int>(Id(x.ctx)));
  }
  // Due order: no timer completes after one that was certainly due later.
  // Equal delays: submission order exactly (their due times are too).
  for (int i = 0; i < kTimers; ++i) {
    for (int j = i + 1; j < kTimers; ++j) {
      const int a = order[i], b = order[j];  // a completed before b
      EXPECT_FALSE(latest[b] < earliest[a]) << "timer " << b << " was due before " << a;
      if (delay_ms[a] == delay_ms[b]) {
        EXPECT_LT(a, b) << "equal delays out of submission order";
      }
    }
  }
}

TEST_P(EventLoop, ZeroAndNegativeDelaysFireAtOnceInfiniteNever) {
  Watcher w = MakeWatcher(GetParam());
  GAIO_ASSERT_OK(w.after(Ctx(1), absl::InfiniteDuration()));
  GAIO_ASSERT_OK(w.after(Ctx(2), absl::ZeroDuration()));
  GAIO_ASSERT_OK(w.after(Ctx(3), absl::Seconds(-5)));
  std::vector<Completion> c = Collect(w, 2, absl::Seconds(5));
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_EQ(c[1].ctx, Ctx(3));
  absl::StatusOr<absl::Span<const OpResult>> none = w.wait_io(absl::Milliseconds(100));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "the infinite timer fired";
  GAIO_ASSERT_OK(w.cancel(-1, Ctx(1)));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsCancelled(c[0].status));
}

// cancel(-1, ctx) takes every pending timer with ctx and no other; a timer
// that fired or was cancelled is no longer found by its ctx.
TEST_P(EventLoop, CancelTimersByCtxTakesExactlyThoseWithCtx) {
  Watcher w = MakeWatcher(GetParam());
  // ctx 1 three times (due in 3 h, 1 h, 2 h), among 100 timers with other ctxs.
  for (int i = 0; i < 100; ++i) {
    GAIO_ASSERT_OK(w.after(Ctx(10 + i), absl::Hours(1) + absl::Seconds(i)));
    if (i == 10) GAIO_ASSERT_OK(w.after(Ctx(1), absl::Hours(3)));
    if (i == 50) GAIO_ASSERT_OK(w.after(Ctx(1), absl::Hours(1)));
    if (i == 90) GAIO_ASSERT_OK(w.after(Ctx(1), absl::Hours(2)));
  }
  GAIO_ASSERT_OK(w.after(Ctx(2), absl::Milliseconds(1)));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_TRUE(c[0].status.ok());
  EXPECT_EQ(w.cancel(-1, Ctx(2)).code(), absl::StatusCode::kNotFound);  // fired

  GAIO_ASSERT_OK(w.cancel(-1, Ctx(1)));
  c = Collect(w, 3);
  ASSERT_EQ(c.size(), 3u);
  for (const Completion& x : c) {
    EXPECT_EQ(x.ctx, Ctx(1));
    EXPECT_TRUE(absl::IsCancelled(x.status)) << x.status;
  }
  EXPECT_EQ(w.cancel(-1, Ctx(1)).code(), absl::StatusCode::kNotFound);  // all taken
  absl::StatusOr<absl::Span<const OpResult>> none = w.wait_io(absl::Milliseconds(50));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "a timer with another ctx completed";
  // Every other timer is still there, found by its own ctx, exactly once.
  for (int i = 0; i < 100; ++i) GAIO_ASSERT_OK(w.cancel(-1, Ctx(10 + i)));
  c = Collect(w, 100);
  ASSERT_EQ(c.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(c[i].ctx, Ctx(10 + i));
    EXPECT_TRUE(absl::IsCancelled(c[i].status));
  }
}

TEST_P(EventLoop, TimerAndIoInOneBatch) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.after(Ctx(1), absl::Milliseconds(30)));
  GAIO_ASSERT_OK(w.read(Ctx(2), p->watched, nullptr));
  absl::SleepFor(absl::Milliseconds(60));  // both ready before the next wait_io()
  GAIO_ASSERT_OK(WriteAll(p->peer, "io"));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  std::map<intptr_t, Completion> by_id;
  for (const Completion& x : c) by_id.emplace(Id(x.ctx), x);
  EXPECT_EQ(by_id.at(1).op, OpType::kTimer);
  EXPECT_EQ(by_id.at(2).data, "io");
}

// 100k pending timers: each fires exactly once, in order, and the ones not
// yet due cost no CPU (the poll sleeps until the earliest).
TEST_P(EventLoop, HundredThousandTimers) {
  Watcher w = MakeWatcher(GetParam());
  constexpr int kTimers = 100'000;
  for (int i = 0; i < kTimers; ++i) {
    GAIO_ASSERT_OK(w.after(Ctx(i), absl::Milliseconds(200) + absl::Microseconds(i % 1000)));
  }
  std::vector<bool> seen(kTimers);
  int count = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (count < kTimers && absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Seconds(1));
    ASSERT_TRUE(batch.ok());
    for (const OpResult& r : *batch) {
      const intptr_t id = Id(r.ctx);
      ASSERT_TRUE(r.status.ok());
      ASSERT_FALSE(seen[id]) << "timer " << id << " twice";
      seen[id] = true;
      ++count;
    }
  }
  EXPECT_EQ(count, kTimers);
}

// cancel() from another thread racing the timer's expiry: exactly one
// outcome, and cancel() says which (OK: Cancelled was delivered; NotFound:
// the timer had fired).
TEST_P(EventLoop, CancelRacingExpiryFromAnotherThread) {
  Watcher w = MakeWatcher(GetParam());
  for (int round = 0; round < 200; ++round) {
    GAIO_ASSERT_OK(w.after(Ctx(round), absl::Microseconds(200 + (round % 7) * 50)));
    absl::Status cancel_status;
    std::thread canceller([&] {
      absl::SleepFor(absl::Microseconds(150 + (round % 5) * 50));
      cancel_status = w.cancel(-1, Ctx(round));
    });
    std::vector<Completion> c = Collect(w, 1);
    canceller.join();
    ASSERT_EQ(c.size(), 1u) << round;
    if (cancel_status.ok()) {
      EXPECT_TRUE(absl::IsCancelled(c[0].status)) << round << " " << c[0].status;
    } else {
      EXPECT_EQ(cancel_status.code(), absl::StatusCode::kNotFound) << cancel_status;
      EXPECT_TRUE(c[0].status.ok()) << round << " " << c[0].status;
    }
    absl::StatusOr<absl::Span<const OpResult>> extra = w.poll_io();
    ASSERT_TRUE(extra.ok());
    EXPECT_TRUE(extra->empty()) << "round " << round << ": a second outcome";
  }
}

// ---- post ------------------------------------------------------------------

TEST_P(EventLoop, PostsFromManyThreadsArriveOnceInEachThreadsOrder) {
  Watcher w = MakeWatcher(GetParam());
  constexpr int kThreads = 4, kPosts = 2000;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i) ASSERT_TRUE(w.post(Ctx(t * kPosts + i)).ok());
    });
  }
  std::vector<int> next(kThreads, 0);
  int count = 0;
  const absl::Time give_up = absl::Now() + testing::kPatience;
  while (count < kThreads * kPosts && absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Seconds(1));
    ASSERT_TRUE(batch.ok());
    for (const OpResult& r : *batch) {
      ASSERT_EQ(r.op, OpType::kPost);
      ASSERT_EQ(r.fd, -1);
      const intptr_t id = Id(r.ctx);
      const int t = static_cast<int>(id / kPosts);
      ASSERT_EQ(id % kPosts, next[t]) << "thread " << t << " out of order";
      ++next[t];
      ++count;
    }
  }
  for (std::thread& t : posters) t.join();
  EXPECT_EQ(count, kThreads * kPosts);
}

TEST_P(EventLoop, PostWakesABlockedWaitIo) {
  Watcher w = MakeWatcher(GetParam());
  std::thread poster([&] {
    absl::SleepFor(absl::Milliseconds(100));
    ASSERT_TRUE(w.post(Ctx(7)).ok());
  });
  std::vector<Completion> c = Collect(w, 1);
  poster.join();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(7));
}

// ---- cancel ----------------------------------------------------------------

TEST_P(EventLoop, CancelByCtxKeepsTheOthersInOrder) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  char bufs[4][4];
  const intptr_t ctx[4] = {1, 2, 1, 3};
  for (int i = 0; i < 4; ++i) {
    GAIO_ASSERT_OK(w.read_full(Ctx(ctx[i]), p->watched, absl::MakeSpan(bufs[i])));
  }
  const std::string out = "wxyz";
  GAIO_ASSERT_OK(w.write(Ctx(1), p->watched, out));  // completes at once
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, OpType::kWrite);
  GAIO_ASSERT_OK(w.cancel(p->watched, Ctx(1)));
  c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  for (const Completion& x : c) {
    EXPECT_EQ(x.ctx, Ctx(1));
    EXPECT_TRUE(absl::IsCancelled(x.status)) << x.status;
  }
  GAIO_ASSERT_OK(WriteAll(p->peer, "abcdefgh"));
  c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_EQ(c[0].data, "abcd");
  EXPECT_EQ(c[1].ctx, Ctx(3));
  EXPECT_EQ(c[1].data, "efgh");
  EXPECT_EQ(w.cancel(p->watched, Ctx(1)).code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::string> got = ReadExactly(p->peer, 4);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "wxyz");
}

TEST_P(EventLoop, CancelAfterCompletionIsNotFoundAndLeavesTheResult) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(WriteAll(p->peer, "done"));
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));  // completes in the call
  EXPECT_EQ(w.cancel(p->watched, Ctx(1)).code(), absl::StatusCode::kNotFound);
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(c[0].status.ok());
  EXPECT_EQ(c[0].data, "done");
  EXPECT_EQ(w.cancel(p->peer, Ctx(1)).code(), absl::StatusCode::kNotFound);  // not owned
  EXPECT_EQ(w.cancel(-1, Ctx(1)).code(), absl::StatusCode::kNotFound);       // no timer
}

// Threads submit reads and cancel them while the consumer collects: every
// request reported exactly once, with OK only if it got data (there is
// none), i.e. always Cancelled. TSan checks the races.
TEST_P(EventLoop, CancelRacingSubmissionFromOtherThreads) {
  Watcher w = MakeWatcher(GetParam());
  constexpr int kThreads = 3, kEach = 300;
  std::vector<FdPair> pairs;
  for (int t = 0; t < kThreads; ++t) {
    absl::StatusOr<FdPair> p = UnixPair();
    ASSERT_TRUE(p.ok());
    pairs.push_back(*p);
  }
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const intptr_t id = t * kEach + i;
        if (!w.read(Ctx(id), pairs[t].watched, nullptr).ok()) continue;
        accepted.fetch_add(1);
        ASSERT_TRUE(w.cancel(pairs[t].watched, Ctx(id)).ok());
      }
    });
  }
  std::vector<int> seen(kThreads * kEach);
  int count = 0;
  const absl::Time give_up = absl::Now() + testing::kPatience;
  while (absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Milliseconds(50));
    ASSERT_TRUE(batch.ok());
    for (const OpResult& r : *batch) {
      ASSERT_TRUE(absl::IsCancelled(r.status)) << r.status;
      ++seen[Id(r.ctx)];
      ++count;
    }
    if (count == kThreads * kEach) break;
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(count, accepted.load());
  for (int n : seen) EXPECT_LE(n, 1);
}

// ---- release ---------------------------------------------------------------

TEST_P(EventLoop, ReleaseCancelsAndGivesTheFdBackAsItWas) {
  for (bool was_nonblocking : {false, true}) {
    Watcher w = MakeWatcher(GetParam());
    absl::StatusOr<FdPair> p = UnixPair();
    ASSERT_TRUE(p.ok());
    if (was_nonblocking) {
      ASSERT_EQ(fcntl(p->watched, F_SETFL, O_NONBLOCK), 0);
    }
    // A write the peer does not read, so it stays pending, and two reads.
    const std::string big = Pattern(8 << 20);
    GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));
    GAIO_ASSERT_OK(w.write(Ctx(2), p->watched, big));
    GAIO_ASSERT_OK(w.read(Ctx(3), p->watched, nullptr));
    GAIO_ASSERT_OK(w.release(p->watched));
    std::vector<Completion> c = Collect(w, 3);
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0].ctx, Ctx(1));  // reads, then writes
    EXPECT_EQ(c[1].ctx, Ctx(3));
    EXPECT_EQ(c[2].ctx, Ctx(2));
    for (const Completion& x : c) EXPECT_TRUE(absl::IsCancelled(x.status)) << x.status;
    const size_t sent = c[2].size;
    ASSERT_TRUE(FdIsOpen(p->watched));
    EXPECT_EQ((fcntl(p->watched, F_GETFL) & O_NONBLOCK) != 0, was_nonblocking);
    EXPECT_EQ(w.free(p->watched).code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(w.release(p->watched).code(), absl::StatusCode::kNotFound);
    // Usable directly: drain what the write sent, then a plain round trip.
    absl::StatusOr<std::string> drained = ReadExactly(p->peer, sent);
    ASSERT_TRUE(drained.ok());
    EXPECT_EQ(*drained, big.substr(0, sent));
    ASSERT_EQ(write(p->watched, "plain", 5), 5);
    absl::StatusOr<std::string> got = ReadExactly(p->peer, 5);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "plain");
    // And the same fd may be submitted again.
    GAIO_ASSERT_OK(WriteAll(p->peer, "again"));
    GAIO_ASSERT_OK(w.read(Ctx(4), p->watched, nullptr));
    c = Collect(w, 1);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].data, "again");
    GAIO_EXPECT_OK(w.free(p->watched));
    close(p->peer);
  }
}

// ---- writev and pending_write_bytes ------------------------------------------

TEST_P(EventLoop, WritevSendsEveryBufferInOrder) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  const std::string header = "HDR:";
  const std::string payload = Pattern(6 << 20, 3);  // more than a socket buffer
  const std::string empty;
  GAIO_ASSERT_OK(w.writev(Ctx(1), p->watched, {header, empty, payload, header}));
  std::string got;
  std::thread reader([&] {
    absl::StatusOr<std::string> r = ReadExactly(p->peer, payload.size() + 2 * header.size());
    if (r.ok()) got = *r;
  });
  std::vector<Completion> c = Collect(w, 1);
  reader.join();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(c[0].status.ok()) << c[0].status;
  EXPECT_EQ(c[0].size, payload.size() + 2 * header.size());
  EXPECT_EQ(got, header + payload + header);
  EXPECT_EQ(w.writev(Ctx(2), p->watched, {empty, empty}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.writev(Ctx(2), p->watched, {}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(EventLoop, PendingWriteBytesFollowsTheQueue) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(w.pending_write_bytes(p->watched), 0u);  // not owned
  const std::string chunk = Pattern(4 << 20, 5);
  for (int i = 0; i < 3; ++i) GAIO_ASSERT_OK(w.write(Ctx(i), p->watched, chunk));
  const size_t pending = w.pending_write_bytes(p->watched);
  EXPECT_GT(pending, 2 * chunk.size());  // the socket took less than one chunk
  EXPECT_LE(pending, 3 * chunk.size());
  std::thread reader([&] { ASSERT_TRUE(ReadExactly(p->peer, 3 * chunk.size()).ok()); });
  std::vector<Completion> c = Collect(w, 3);
  reader.join();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(w.pending_write_bytes(p->watched), 0u);
}

TEST_P(EventLoop, CallsAfterCloseAreRefused) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));
  GAIO_ASSERT_OK(w.close());
  EXPECT_EQ(w.post(Ctx(2)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.after(Ctx(2), absl::ZeroDuration()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.cancel(p->watched, Ctx(1)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.release(p->watched).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.accept(Ctx(3), p->peer).code(), absl::StatusCode::kFailedPrecondition);
  close(p->peer);
}

INSTANTIATE_TEST_SUITE_P(AllModes, EventLoop, ::testing::ValuesIn(kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return ModeName(info.param);
                         });

}  // namespace
}  // namespace gaio
