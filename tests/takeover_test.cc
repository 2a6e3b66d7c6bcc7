// Threaded mode with one poller (WatcherOptions::poller_takeover): wait_io()
// polls while it waits, the poller thread takes the I/O over while the caller
// stays away, hands it back when the caller waits again, and sleeps while the
// caller is idle inside wait_io(). Behaviour only; what it saves is measured
// by the benchmarks (docs/BENCHMARKS.md).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
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
using ::gaio::testing::FdPair;
using ::gaio::testing::Pattern;
using ::gaio::testing::ReadExactly;
using ::gaio::testing::ThreadsNamed;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WaitFor;
using ::gaio::testing::WriteAll;

Watcher MakeWatcher(absl::Duration takeover) {
  WatcherOptions o;
  o.num_pollers = 1;
  o.poller_takeover = takeover;
  absl::StatusOr<Watcher> w = Watcher::Create(o);
  EXPECT_TRUE(w.ok()) << w.status();
  return *std::move(w);
}

// The peer sends `data`; the next batch must be exactly one read of it.
::testing::AssertionResult PeerSendsAndWatcherReads(Watcher& w, int peer, absl::string_view data) {
  if (absl::Status s = WriteAll(peer, data); !s.ok()) {
    return ::testing::AssertionFailure() << "peer write: " << s;
  }
  std::vector<Completion> c = Collect(w, 1);
  if (c.size() != 1) return ::testing::AssertionFailure() << c.size() << " completions";
  if (!c[0].status.ok() || c[0].data != data) {
    return ::testing::AssertionFailure() << "read " << c[0].status << " '" << c[0].data << "'";
  }
  return ::testing::AssertionSuccess();
}

// Context switches of thread `tid` of this process so far (-1 if unknown).
long ContextSwitches(pid_t tid) {
  std::ifstream status(absl::StrCat("/proc/self/task/", tid, "/status"));
  long total = -1;
  std::string line;
  while (std::getline(status, line)) {
    for (const char* key : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
      if (line.rfind(key, 0) == 0) total = (total < 0 ? 0 : total) + std::stol(line.substr(strlen(key)));
    }
  }
  return total;
}

TEST(Takeover, RefusesANegativePeriod) {
  WatcherOptions o;
  o.poller_takeover = absl::Microseconds(-1);
  EXPECT_EQ(Watcher::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

// The caller never calls wait_io() while 4 MiB go each way: the poller thread
// must take over and do the I/O, or the peer's blocking write and read never
// finish. Then wait_io() hands back both completions, with every byte.
TEST(Takeover, IoProgressesWhileTheCallerStaysAway) {
  for (absl::Duration takeover : {absl::Microseconds(50), WatcherOptions().poller_takeover}) {
    SCOPED_TRACE(absl::StrCat("takeover ", absl::FormatDuration(takeover)));
    Watcher w = MakeWatcher(takeover);
    absl::StatusOr<FdPair> p = UnixPair();
    ASSERT_TRUE(p.ok());
    constexpr size_t kSize = 4 << 20;
    const std::string out = Pattern(kSize, 7);
    const std::string in = Pattern(kSize, 8);
    std::string got(kSize, '\0');
    ASSERT_TRUE(w.write(nullptr, p->watched, out).ok());
    ASSERT_TRUE(w.read_full(&got, p->watched, absl::Span<char>(got), absl::InfiniteFuture()).ok());

    std::atomic<bool> peer_done{false};
    absl::Status peer_write;
    absl::StatusOr<std::string> peer_read;
    std::thread peer([&] {
      std::thread reader([&] { peer_read = ReadExactly(p->peer, kSize); });
      peer_write = WriteAll(p->peer, in);
      reader.join();
      peer_done = true;
    });
    // No wait_io() here: only the poller thread can move the bytes.
    const bool moved = WaitFor([&] { return peer_done.load(); });
    peer.join();
    ASSERT_TRUE(moved) << "the poller thread did not take the I/O over";
    ASSERT_TRUE(peer_write.ok()) << peer_write;
    ASSERT_TRUE(peer_read.ok()) << peer_read.status();
    EXPECT_TRUE(*peer_read == out) << "the peer read other bytes than were written";

    EXPECT_GE(w.stats().takeovers, 1u);
    std::vector<Completion> c = Collect(w, 2);
    ASSERT_EQ(c.size(), 2u);
    for (const Completion& r : c) {
      EXPECT_TRUE(r.status.ok()) << r.status;
      EXPECT_EQ(r.size, kSize);
    }
    EXPECT_TRUE(got == in) << "read_full filled other bytes than the peer wrote";
    close(p->peer);
  }
}

// True while the poller thread holds the set: every takeover ends with one
// hand-back (no deadlines here, and the watcher is open).
bool ThreadHoldsTheSet(const Watcher& w) {
  const WatcherStats s = w.stats();
  return s.takeovers > s.handbacks;
}

// The set changes hands many times: every fourth round the caller stays
// away until the thread holds it, two rounds later the caller waits with
// nothing pending (which asks for it back) until it holds it again. Every
// round's bytes arrive once, in order.
// A caller that stays out of wait_io() but keeps submitting requests from
// its own thread (handling a long batch: each submission does its I/O at
// once) is busy, not away: no takeover for a few periods (up to four). The
// same absence without submissions is taken over (the test above).
TEST(Takeover, CallerBusySubmittingIsNotTakenOver) {
  const absl::Duration period = absl::Milliseconds(100);
  Watcher w = MakeWatcher(period);
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(w.wait_io(absl::ZeroDuration()).ok());  // this thread is the caller
  const std::string byte = "b";
  int written = 0;
  const absl::Time end = absl::Now() + 2.5 * period;  // well under four periods
  while (absl::Now() < end) {
    ASSERT_TRUE(w.write(nullptr, p->watched, byte).ok());  // completes in the call
    ++written;
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(w.stats().takeovers, 0u) << "a caller busy submitting was taken over";
  // Then away for good: taken over.
  ASSERT_TRUE(WaitFor([&] { return w.stats().takeovers >= 1; }));
  std::vector<Completion> c = Collect(w, static_cast<size_t>(written));
  EXPECT_EQ(c.size(), static_cast<size_t>(written));
  close(p->peer);
}

TEST(Takeover, HandsBackAndForthWithoutLosingACompletion) {
  Watcher w = MakeWatcher(absl::Microseconds(50));
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  int completed = 0;
  for (int round = 0; round < 200; ++round) {
    const std::string msg = absl::StrCat("round ", round);
    ASSERT_TRUE(w.read(nullptr, p->watched, nullptr).ok());
    ASSERT_TRUE(WriteAll(p->peer, msg).ok());
    if (round % 4 == 0) {
      // Away: the thread takes over within two periods, and keeps the set
      // while nobody asks for it.
      ASSERT_TRUE(WaitFor([&] { return ThreadHoldsTheSet(w); })) << "round " << round;
    }
    std::vector<Completion> c = Collect(w, 1);
    ASSERT_EQ(c.size(), 1u) << "round " << round;
    ASSERT_TRUE(c[0].status.ok()) << c[0].status;
    ASSERT_EQ(c[0].data, msg);
    ASSERT_TRUE(w.write(nullptr, p->watched, msg).ok());
    c = Collect(w, 1);
    ASSERT_EQ(c.size(), 1u) << "round " << round;
    ASSERT_TRUE(c[0].status.ok()) << c[0].status;
    if (round % 4 == 2) {
      // Nothing pending: each wait asks for the set (waking the thread) and
      // then polls it; a takeover right after the wait is asked back by the
      // next one.
      ASSERT_TRUE(WaitFor([&] {
        absl::StatusOr<absl::Span<const OpResult>> none = w.wait_io(absl::Milliseconds(1));
        EXPECT_TRUE(none.ok() && none->empty());
        return !ThreadHoldsTheSet(w);
      })) << "round " << round;
    }
    absl::StatusOr<std::string> echoed = ReadExactly(p->peer, msg.size());
    ASSERT_TRUE(echoed.ok());
    ASSERT_EQ(*echoed, msg);
    ++completed;
  }
  EXPECT_EQ(completed, 200);
  const WatcherStats stats = w.stats();
  // Between each fourth round and two rounds later the set went to the
  // thread and came back: at least 50 times each way.
  EXPECT_GE(stats.takeovers, 50u);
  EXPECT_GE(stats.handbacks, 50u);
  EXPECT_LE(stats.handbacks, stats.takeovers + stats.deadline_polls);
  // Nothing else is pending: a short wait returns an empty batch.
  absl::StatusOr<absl::Span<const OpResult>> rest = w.wait_io(absl::Milliseconds(5));
  ASSERT_TRUE(rest.ok());
  EXPECT_TRUE(rest->empty());
  close(p->peer);
}

// A caller blocked in wait_io() with nothing to do lets the poller thread
// sleep: it stops ticking within a couple of periods. (Ticking every 1 ms
// would cost about 2 context switches per ms: 400 in the 200 ms below.)
TEST(Takeover, PollerThreadSleepsWhileTheCallerIsIdle) {
  Watcher w = MakeWatcher(absl::Milliseconds(1));
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(w.read(nullptr, p->watched, nullptr).ok());
  std::vector<pid_t> pollers = ThreadsNamed("gaio-poll-");
  ASSERT_EQ(pollers.size(), 1u);
  // Idle for 50 periods so that the thread has disarmed, then count.
  ASSERT_TRUE(w.wait_io(absl::Milliseconds(50)).ok());
  const long before = ContextSwitches(pollers[0]);
  ASSERT_GE(before, 0);
  absl::StatusOr<absl::Span<const OpResult>> none = w.wait_io(absl::Milliseconds(200));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  const long during = ContextSwitches(pollers[0]) - before;
  EXPECT_LE(during, 10) << "the poller thread kept waking while the caller was idle";
  // And the caller still gets what arrives next.
  EXPECT_TRUE(PeerSendsAndWatcherReads(w, p->peer, "late"));
  close(p->peer);
}

// With a takeover period far longer than the test, the thread still polls
// once when a deadline falls due while the caller is away: the read expires
// at its deadline, and bytes that arrive later are left for the next read
// (a late expiry would have completed the read with them).
TEST(Takeover, DeadlineFiresWhileTheCallerIsAway) {
  Watcher w = MakeWatcher(absl::Seconds(100));
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  int ctx = 0;
  ASSERT_TRUE(w.read_timeout(&ctx, p->watched, nullptr, absl::Now() + absl::Milliseconds(20)).ok());
  // Away until well after the deadline, as the thread's stats tell.
  ASSERT_TRUE(WaitFor([&] { return w.stats().deadline_polls >= 1; }));
  ASSERT_TRUE(WriteAll(p->peer, "after").ok());
  absl::SleepFor(absl::Milliseconds(20));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, &ctx);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  EXPECT_EQ(c[0].size, 0u);
  EXPECT_EQ(w.stats().takeovers, 0u);
  ASSERT_TRUE(w.read(nullptr, p->watched, nullptr).ok());
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].data, "after");
  close(p->peer);
}

// The caller's own poll expires the first deadline and it leaves: the next
// deadline is the thread's, and it must not wait for the next tick (here
// 100 s away) to fire it.
TEST(Takeover, NextDeadlineAfterTheCallerLeftFiresOnTime) {
  Watcher w = MakeWatcher(absl::Seconds(100));
  absl::StatusOr<FdPair> a = UnixPair();
  absl::StatusOr<FdPair> b = UnixPair();
  ASSERT_TRUE(a.ok() && b.ok());
  int first = 1, second = 2;
  const absl::Time now = absl::Now();
  ASSERT_TRUE(w.read_timeout(&first, a->watched, nullptr, now + absl::Milliseconds(20)).ok());
  ASSERT_TRUE(w.read_timeout(&second, b->watched, nullptr, now + absl::Milliseconds(60)).ok());
  std::vector<Completion> c = Collect(w, 1);  // the caller polls until the first expires
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, &first);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  ASSERT_TRUE(WaitFor([&] { return w.stats().deadline_polls >= 1; }))
      << "the second deadline waited for the takeover tick";
  ASSERT_TRUE(WriteAll(b->peer, "late").ok());
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, &second);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  close(a->peer);
  close(b->peer);
}

// poll_io() takes what the thread has without asking for the set back (it
// would be gone before the set came); a blocking wait_io() asks, and gets it.
TEST(Takeover, PollIoLeavesTheSetWithTheThreadAndWaitIoTakesItBack) {
  Watcher w = MakeWatcher(absl::Microseconds(50));
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(w.read(nullptr, p->watched, nullptr).ok());
  ASSERT_TRUE(WaitFor([&] { return w.stats().takeovers >= 1; }));
  const uint64_t handbacks = w.stats().handbacks;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<absl::Span<const OpResult>> none = w.poll_io();
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
  }
  EXPECT_EQ(w.stats().handbacks, handbacks);
  absl::StatusOr<absl::Span<const OpResult>> none = w.wait_io(absl::Milliseconds(50));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_GT(w.stats().handbacks, handbacks);
  EXPECT_TRUE(PeerSendsAndWatcherReads(w, p->peer, "x"));
  close(p->peer);
}

// A wait_io() that finds completions at once still asks for the set back,
// so that a caller that never runs dry does not leave it with the thread.
TEST(Takeover, WaitIoThatFindsCompletionsStillTakesTheSetBack) {
  Watcher w = MakeWatcher(absl::Microseconds(50));
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(w.read(nullptr, p->watched, nullptr).ok());
  ASSERT_TRUE(WaitFor([&] { return w.stats().takeovers >= 1; }));
  const uint64_t handbacks = w.stats().handbacks;
  int ctx = 0;
  ASSERT_TRUE(w.write(&ctx, p->watched, absl::string_view("now")).ok());  // completes inline
  absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Seconds(5));
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ((*batch)[0].ctx, &ctx);
  // The thread is not woken for that; it hands the set back after its next
  // poll, here the one that reads these bytes.
  ASSERT_TRUE(WriteAll(p->peer, "y").ok());
  ASSERT_TRUE(WaitFor([&] { return w.stats().handbacks > handbacks; }))
      << "the thread kept the set after the caller came back";
  close(p->peer);
}

// close() after the thread took the set over: wait_io() asks for it back
// (or is handed it) and close() still ends the wait with the read cancelled.
TEST(Takeover, CloseWhileTheThreadOwnsTheSet) {
  Watcher w = MakeWatcher(absl::Microseconds(50));
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  int ctx = 0;
  ASSERT_TRUE(w.read(&ctx, p->watched, nullptr).ok());
  ASSERT_TRUE(WaitFor([&] { return w.stats().takeovers >= 1; }));
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_TRUE(w.close().ok());
  });
  absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Seconds(30));
  closer.join();
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ((*batch)[0].ctx, &ctx);
  EXPECT_TRUE(absl::IsCancelled((*batch)[0].status)) << (*batch)[0].status;
  EXPECT_EQ(w.wait_io().status().code(), absl::StatusCode::kFailedPrecondition);
  close(p->peer);
}

// close() from another thread ends a wait_io() that polls, and a poller
// thread that watches, promptly and with the pending read cancelled.
TEST(Takeover, CloseWhileTheCallerPolls) {
  Watcher w = MakeWatcher(absl::Milliseconds(1));
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  int ctx = 0;
  ASSERT_TRUE(w.read(&ctx, p->watched, nullptr).ok());
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_TRUE(w.close().ok());
  });
  absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Seconds(30));
  closer.join();
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ((*batch)[0].ctx, &ctx);
  EXPECT_TRUE(absl::IsCancelled((*batch)[0].status)) << (*batch)[0].status;
  EXPECT_EQ(w.wait_io().status().code(), absl::StatusCode::kFailedPrecondition);
  close(p->peer);
}

}  // namespace
}  // namespace gaio
