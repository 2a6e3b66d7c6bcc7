// Peer faults: resets mid-write and mid-read, half-close with requests
// pending, a peer that never reads (zero window), a peer that trickles
// (slowloris). Every fault must surface as the documented status on exactly
// the requests it affects, with exact progress, and never kill the process.
// Each test runs in the three engine modes.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
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
using ::gaio::testing::InQueue;
using ::gaio::testing::MakePair;
using ::gaio::testing::MakeWatcher;
using ::gaio::testing::OutQueue;
using ::gaio::testing::PairKind;
using ::gaio::testing::Pattern;
using ::gaio::testing::ReadError;
using ::gaio::testing::ReadExactly;
using ::gaio::testing::ResetClose;
using ::gaio::testing::WaitFor;
using ::gaio::testing::WriteAll;
using ::gaio::testing::WriteError;

constexpr size_t k64MiB = 64 << 20;
constexpr size_t kBig = 16 << 20;  // more than any socket buffer here

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }

// Reads `n` bytes from `fd` in another thread, so that the test thread can
// keep calling wait_io() (which does the I/O in caller-driven mode).
std::future<absl::StatusOr<std::string>> ReadAsync(int fd, size_t n) {
  return std::async(std::launch::async, [fd, n] { return ReadExactly(fd, n); });
}

class PeerFaults : public ::testing::TestWithParam<std::tuple<int, PairKind>> {
 protected:
  // The default disposition: a SIGPIPE raised anywhere kills the test.
  void SetUp() override { signal(SIGPIPE, SIG_DFL); }
  int mode() const { return std::get<0>(GetParam()); }
  PairKind kind() const { return std::get<1>(GetParam()); }
  // What the peer does to break the connection: a RST over TCP; over
  // AF_UNIX a close with unread data, which resets the other end too.
  void Break(int peer) {
    if (kind() == PairKind::kTcp) {
      ResetClose(peer);
    } else {
      close(peer);
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Modes, PeerFaults,
                         ::testing::Combine(::testing::ValuesIn(testing::kAllModes),
                                            ::testing::Values(PairKind::kUnix, PairKind::kTcp)),
                         [](const ::testing::TestParamInfo<std::tuple<int, PairKind>>& info) {
                           return testing::ModeName(std::get<0>(info.param)) +
                                  testing::PairKindName(std::get<1>(info.param));
                         });

TEST_P(PeerFaults, ResetMidWriteFailsTheWriteWithItsProgress) {
  Watcher w = MakeWatcher(mode());
  absl::StatusOr<FdPair> p = MakePair(kind());
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string big = Pattern(k64MiB, 3);
  GAIO_ASSERT_OK(w.write(Ctx(1), p->watched, big));
  // Under way (tried in the submitting call) and stuck: the peer never reads.
  ASSERT_TRUE(WaitFor([&] { return InQueue(p->peer) > 0; }));
  absl::StatusOr<absl::Span<const OpResult>> none = w.poll_io();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  Break(p->peer);
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(1));
  // TCP: the RST's ECONNRESET; AF_UNIX: the peer is gone, EPIPE.
  EXPECT_EQ(c[0].status, WriteError(kind() == PairKind::kTcp ? ECONNRESET : EPIPE));
  EXPECT_TRUE(absl::StartsWith(c[0].status.message(), "write")) << c[0].status;
  EXPECT_GT(c[0].size, 0u);
  EXPECT_LT(c[0].size, k64MiB);
  // Later writes fail at once with EPIPE, and SIGPIPE (default: fatal) never came.
  GAIO_ASSERT_OK(w.write(Ctx(2), p->watched, absl::string_view("after")));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_EQ(c[0].status, WriteError(EPIPE));
  EXPECT_EQ(c[0].size, 0u);
}

TEST_P(PeerFaults, ResetMidReadDeliversTheDataThenTheErrorThenEof) {
  Watcher w = MakeWatcher(mode());
  absl::StatusOr<FdPair> p = MakePair(kind());
  ASSERT_TRUE(p.ok()) << p.status();
  // Leave data unread at the peer: its close then resets the connection.
  GAIO_ASSERT_OK(w.write(Ctx(10), p->watched, absl::string_view("unread")));
  ASSERT_EQ(Collect(w, 1).size(), 1u);
  std::string full(1 << 20, '\0');
  GAIO_ASSERT_OK(w.read_full(Ctx(1), p->watched, absl::MakeSpan(full)));
  GAIO_ASSERT_OK(w.read(Ctx(2), p->watched, nullptr));
  const std::string data = Pattern(1000, 5);
  GAIO_ASSERT_OK(WriteAll(p->peer, data));
  Break(p->peer);
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].ctx, Ctx(1));
  EXPECT_EQ(c[0].status, ReadError(ECONNRESET));
  EXPECT_TRUE(absl::StartsWith(c[0].status.message(), "read")) << c[0].status;
  EXPECT_EQ(c[0].size, data.size());  // the progress, exactly
  EXPECT_EQ(c[0].data, data);
  EXPECT_EQ(c[1].ctx, Ctx(2));
  EXPECT_TRUE(IsEof(c[1].status)) << c[1].status;
  EXPECT_EQ(c[1].size, 0u);
}

TEST_P(PeerFaults, HalfCloseEndsReadsAndLetsWritesFinish) {
  Watcher w = MakeWatcher(mode());
  absl::StatusOr<FdPair> p = MakePair(kind());
  ASSERT_TRUE(p.ok()) << p.status();
  char small[64];
  std::string full(100, '\0');
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, absl::MakeSpan(small)));
  GAIO_ASSERT_OK(w.read_full(Ctx(2), p->watched, absl::MakeSpan(full)));
  GAIO_ASSERT_OK(w.read(Ctx(3), p->watched, nullptr));
  const std::string big1 = Pattern(kBig, 7), big2 = Pattern(kBig, 8);
  GAIO_ASSERT_OK(w.write(Ctx(4), p->watched, big1));
  GAIO_ASSERT_OK(w.write(Ctx(5), p->watched, big2));
  // One message, then the half-close: the rest of the reads see EOF, the
  // read_full with the bytes it had (none here: the first read took them).
  GAIO_ASSERT_OK(WriteAll(p->peer, "0123456789"));
  ASSERT_EQ(shutdown(p->peer, SHUT_WR), 0);
  std::vector<Completion> reads = Collect(w, 3);
  ASSERT_EQ(reads.size(), 3u);
  EXPECT_EQ(reads[0].ctx, Ctx(1));
  GAIO_EXPECT_OK(reads[0].status);
  EXPECT_EQ(reads[0].data, "0123456789");
  for (int i : {1, 2}) {
    EXPECT_EQ(reads[i].ctx, Ctx(i + 1));
    EXPECT_TRUE(IsEof(reads[i].status)) << reads[i].status;
    EXPECT_EQ(reads[i].size, 0u);
  }
  // The writes were pending all along (more than the socket buffers hold,
  // the peer had not read) and finish once it reads: the connection is
  // still open that way.
  auto peer_got = ReadAsync(p->peer, 2 * kBig);
  std::vector<Completion> writes = Collect(w, 2);
  ASSERT_EQ(writes.size(), 2u);
  for (int i : {0, 1}) {
    EXPECT_EQ(writes[i].ctx, Ctx(i + 4));
    GAIO_EXPECT_OK(writes[i].status);
    EXPECT_EQ(writes[i].size, kBig);
  }
  absl::StatusOr<std::string> got = peer_got.get();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == big1 + big2);
  // After EOF: writes still go through, reads report EOF again at once.
  GAIO_ASSERT_OK(w.write(Ctx(6), p->watched, absl::string_view("after")));
  GAIO_ASSERT_OK(w.read(Ctx(7), p->watched, nullptr));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  for (const Completion& x : c) {
    if (x.ctx == Ctx(6)) {
      GAIO_EXPECT_OK(x.status);
    } else {
      EXPECT_TRUE(IsEof(x.status)) << x.status;
    }
  }
  absl::StatusOr<std::string> after = ReadExactly(p->peer, 5);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, "after");
  close(p->peer);
}

TEST_P(PeerFaults, HalfCloseEndsAReadFullWithItsProgress) {
  Watcher w = MakeWatcher(mode());
  absl::StatusOr<FdPair> p = MakePair(kind());
  ASSERT_TRUE(p.ok()) << p.status();
  std::string full(100, '\0');
  GAIO_ASSERT_OK(w.read_full(Ctx(1), p->watched, absl::MakeSpan(full)));
  GAIO_ASSERT_OK(WriteAll(p->peer, "partial"));
  ASSERT_EQ(shutdown(p->peer, SHUT_WR), 0);
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(IsEof(c[0].status)) << c[0].status;
  EXPECT_EQ(c[0].size, 7u);
  EXPECT_EQ(c[0].data, "partial");
  close(p->peer);
}

class Faults : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { signal(SIGPIPE, SIG_DFL); }
  int mode() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Modes, Faults, ::testing::ValuesIn(testing::kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return testing::ModeName(info.param);
                         });

// A peer that never reads: its window closes. A plain write waits for as
// long as it takes; write_timeout stops at its deadline and reports exactly
// the bytes that went out.
TEST_P(Faults, ZeroWindowPeerAgainstWriteAndWriteTimeout) {
  Watcher w = MakeWatcher(mode());
  absl::StatusOr<FdPair> a = MakePair(PairKind::kTcp), b = MakePair(PairKind::kTcp);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string big = Pattern(k64MiB, 11);
  GAIO_ASSERT_OK(w.write(Ctx(1), a->watched, big));
  const absl::Time deadline = absl::Now() + absl::Milliseconds(500);
  GAIO_ASSERT_OK(w.write_timeout(Ctx(2), b->watched, big, deadline));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_GE(absl::Now(), deadline);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  const size_t sent = c[0].size;
  EXPECT_GT(sent, 0u);
  EXPECT_LT(sent, k64MiB);
  // The plain write is still pending.
  absl::StatusOr<absl::Span<const OpResult>> none = w.poll_io();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // Exactly `sent` bytes reach the peer: once everything the watched side
  // queued is acknowledged, nothing is left beyond them.
  absl::StatusOr<std::string> got_b = ReadExactly(b->peer, sent);
  ASSERT_TRUE(got_b.ok()) << got_b.status();
  EXPECT_TRUE(*got_b == absl::string_view(big).substr(0, sent));
  ASSERT_TRUE(WaitFor([&] { return OutQueue(b->watched) == 0; }));
  EXPECT_EQ(InQueue(b->peer), 0);
  // Once the other peer reads, the plain write completes with every byte.
  auto got_a = ReadAsync(a->peer, k64MiB);
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(1));
  GAIO_EXPECT_OK(c[0].status);
  EXPECT_EQ(c[0].size, k64MiB);
  absl::StatusOr<std::string> all = got_a.get();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(*all == big);
  close(a->peer);
  close(b->peer);
}

// Slowloris: one byte every 50 ms against read_full with a deadline. The
// deadline holds (the trickle does not extend it) and the progress is exact:
// the bytes it reports, plus those a later read gets, are the bytes sent.
TEST_P(Faults, TricklingPeerAgainstReadFullWithDeadline) {
  Watcher w = MakeWatcher(mode());
  absl::StatusOr<FdPair> p = MakePair(PairKind::kTcp);
  ASSERT_TRUE(p.ok());
  const std::string pattern = Pattern(1000, 13);
  std::atomic<bool> stop{false};
  std::atomic<size_t> sent{0};
  GAIO_ASSERT_OK(WriteAll(p->peer, pattern.substr(0, 1)));  // one before the request
  sent = 1;
  std::thread trickle([&] {
    while (!stop.load() && sent.load() < pattern.size()) {
      absl::SleepFor(absl::Milliseconds(50));
      if (stop.load()) break;
      if (!WriteAll(p->peer, pattern.substr(sent.load(), 1)).ok()) break;
      sent.fetch_add(1);
    }
  });
  std::string buf(pattern.size(), '\0');
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  GAIO_ASSERT_OK(w.read_full(Ctx(1), p->watched, absl::MakeSpan(buf), deadline));
  std::vector<Completion> c = Collect(w, 1);
  const absl::Time done = absl::Now();
  stop = true;
  trickle.join();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  EXPECT_GE(done, deadline);
  EXPECT_LT(done, deadline + absl::Seconds(5));  // a full fill would take 50 s
  const size_t got = c[0].size;
  EXPECT_GE(got, 1u);
  EXPECT_LT(got, pattern.size());
  EXPECT_EQ(c[0].data, pattern.substr(0, got));
  // Whatever arrived after the deadline is still there, in order.
  const size_t total = sent.load();
  ASSERT_GE(total, got);
  if (total > got) {
    std::string rest(total - got, '\0');
    GAIO_ASSERT_OK(w.read_full(Ctx(2), p->watched, absl::MakeSpan(rest)));
    c = Collect(w, 1);
    ASSERT_EQ(c.size(), 1u);
    GAIO_EXPECT_OK(c[0].status);
    EXPECT_EQ(c[0].data, pattern.substr(got, total - got));
  }
  ASSERT_EQ(shutdown(p->peer, SHUT_WR), 0);
  GAIO_ASSERT_OK(w.read(Ctx(3), p->watched, nullptr));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(IsEof(c[0].status)) << c[0].status;
  close(p->peer);
}

}  // namespace
}  // namespace gaio
