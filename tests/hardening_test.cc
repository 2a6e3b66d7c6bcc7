// Regression tests for issue 11's defects, in every engine mode: fairness of
// the swap line, durations and deadlines at the edges of their range, option
// bounds, stranded reads at an urgent mark or an AF_UNIX control message,
// and destroying a Watcher under a wait_io() caller.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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
using ::gaio::testing::kAllModes;
using ::gaio::testing::MakeWatcher;
using ::gaio::testing::ModeName;
using ::gaio::testing::ModeOptions;
using ::gaio::testing::TcpPair;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WaitFor;
using ::gaio::testing::WriteAll;

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }

class Hardening : public ::testing::TestWithParam<int> {};

// An fd with several swap reads queued and a peer that never stops writing
// must not keep the swap space to itself: another fd's swap read, waiting in
// the line behind it, completes within a few batches. (Before the line was
// round robin, the busy fd stayed at its head: ~150k reads against none.)
void CheckSwapFairness(int mode, size_t swap) {
  Watcher w = MakeWatcher(mode, swap);
  // The busy fd: a pipe holding 1 MiB, kept full by a writer, so that each
  // of its reads fills a swap half and it never runs dry during the test.
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  const FdPair busy{pipe_fds[0], pipe_fds[1]};
  ASSERT_GE(fcntl(busy.peer, F_SETPIPE_SZ, 1 << 20), 1 << 20);
  ASSERT_EQ(fcntl(busy.peer, F_SETFL, O_NONBLOCK), 0);
  const std::string chunk(4096, 'b');
  while (write(busy.peer, chunk.data(), chunk.size()) > 0) {
  }
  absl::StatusOr<FdPair> quiet = UnixPair();
  ASSERT_TRUE(quiet.ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      if (write(busy.peer, chunk.data(), chunk.size()) < 0) absl::SleepFor(absl::Microseconds(50));
    }
  });
  const FdPair* const busy_fd = &busy;
  for (int i = 0; i < 3; ++i) GAIO_ASSERT_OK(w.read(Ctx(1), busy_fd->watched, nullptr));
  GAIO_ASSERT_OK(WriteAll(quiet->peer, "q"));
  GAIO_ASSERT_OK(w.read(Ctx(2), quiet->watched, nullptr));
  int busy_reads = 0;
  bool quiet_done = false;
  const absl::Time give_up = absl::Now() + testing::kPatience;
  while (!quiet_done && absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Milliseconds(100));
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (const OpResult& r : *batch) {
      ASSERT_TRUE(r.status.ok()) << r.status;
      if (r.ctx == Ctx(2)) {
        EXPECT_EQ(std::string(r.buffer.data(), r.size), "q");
        quiet_done = true;
      } else {
        ++busy_reads;
        GAIO_ASSERT_OK(w.read(Ctx(1), busy_fd->watched, nullptr));  // keep 3 queued
      }
    }
  }
  stop.store(true);
  writer.join();
  close(busy.peer);
  EXPECT_TRUE(quiet_done) << "starved behind " << busy_reads << " reads of the busy fd";
  // One turn per fd per batch: the quiet fd waits at most a few batches.
  EXPECT_LE(busy_reads, 12);
}

TEST_P(Hardening, SwapLineIsFairWithATinySwapBuffer) { CheckSwapFairness(GetParam(), 64); }
TEST_P(Hardening, SwapLineIsFairWith64KiBHalves) { CheckSwapFairness(GetParam(), 64 * 1024); }

// A finite timeout too large for the clock (here 300 years) waits like an
// infinite one instead of returning at once; a completion still ends it.
TEST_P(Hardening, HugeWaitTimeoutBlocksUntilACompletion) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));
  std::atomic<bool> returned{false};
  size_t got = 0;
  std::thread waiter([&] {
    absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Hours(24 * 365 * 300));
    if (batch.ok()) got = batch->size();
    returned.store(true);
  });
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(returned.load()) << "wait_io(300 years) returned at once";
  GAIO_ASSERT_OK(WriteAll(p->peer, "x"));
  EXPECT_TRUE(WaitFor([&] { return returned.load(); }));
  waiter.join();
  EXPECT_EQ(got, 1u);
}

// Deadlines at the ends of absl::Time's range: one in the distant past
// fires at once, one far beyond the clock's range never does, and neither
// upsets the other requests.
TEST_P(Hardening, DeadlinesAtTheEndsOfTheRange) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.read_timeout(Ctx(1), p->watched, nullptr, absl::InfinitePast()));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  GAIO_ASSERT_OK(w.read_timeout(Ctx(2), p->watched, nullptr,
                                absl::Now() + absl::Hours(24 * 365 * 1000)));
  absl::StatusOr<absl::Span<const OpResult>> none = w.wait_io(absl::Milliseconds(50));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  GAIO_ASSERT_OK(WriteAll(p->peer, "y"));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(c[0].status.ok()) << c[0].status;
  EXPECT_EQ(c[0].data, "y");
}

// Destroying a Watcher while another thread is inside wait_io(): the
// destructor closes it, that wait_io() returns FailedPrecondition, and the
// destructor returns only after it has left (ASan sees no use after free).
TEST_P(Hardening, DestroyingUnderAWaitIoCallerWaitsForItToLeave) {
  std::optional<Watcher> w(MakeWatcher(GetParam()));
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w->read(Ctx(1), p->watched, nullptr));
  std::atomic<bool> inside{false};
  absl::Status result;
  Watcher* raw = &*w;
  std::thread waiter([&] {
    inside.store(true);
    absl::StatusOr<absl::Span<const OpResult>> batch = raw->wait_io();
    result = batch.status();
  });
  ASSERT_TRUE(WaitFor([&] { return inside.load(); }));
  absl::SleepFor(absl::Milliseconds(50));  // most likely asleep inside wait_io() by now
  w.reset();
  waiter.join();
  EXPECT_EQ(result.code(), absl::StatusCode::kFailedPrecondition) << result;
  EXPECT_FALSE(testing::FdIsOpen(p->watched));
  close(p->peer);
}

// TCP stops a read at the urgent mark: bytes sent after an out-of-band byte
// stay queued behind a short read, and no new edge announces them. The next
// read must still get them.
TEST_P(Hardening, ReadPastTheUrgentMark) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = TcpPair();
  ASSERT_TRUE(p.ok());
  // Register and use up the first edge.
  GAIO_ASSERT_OK(WriteAll(p->peer, "1"));
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));
  ASSERT_EQ(Collect(w, 1).size(), 1u);
  ASSERT_EQ(send(p->peer, "abc", 3, 0), 3);
  ASSERT_EQ(send(p->peer, "X", 1, MSG_OOB), 1);  // the urgent mark
  ASSERT_EQ(send(p->peer, "def", 3, 0), 3);
  // All acknowledged, so all queued on the watched side (FIONREAD counts
  // only up to the mark).
  ASSERT_TRUE(WaitFor([&] { return testing::OutQueue(p->peer) == 0; }));
  // Let the poller take the edge before any read is queued.
  ASSERT_TRUE(w.wait_io(absl::Milliseconds(100)).ok());
  std::string got;
  char buf[64];
  for (int i = 0; got.size() < 6 && i < 4; ++i) {
    GAIO_ASSERT_OK(w.read_timeout(Ctx(2), p->watched, absl::MakeSpan(buf),
                                  absl::Now() + absl::Seconds(5)));
    std::vector<Completion> c = Collect(w, 1);
    ASSERT_EQ(c.size(), 1u);
    ASSERT_TRUE(c[0].status.ok()) << "after \"" << got << "\": " << c[0].status;
    got += c[0].data;
  }
  EXPECT_EQ(got, "abcdef");
}

// An AF_UNIX stream read stops after a message that carries file
// descriptors; the bytes behind it must not be stranded.
TEST_P(Hardening, ReadPastAnSCMRightsMessage) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(WriteAll(p->peer, "1"));
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));
  ASSERT_EQ(Collect(w, 1).size(), 1u);
  // "abc" with an fd attached, then "def" plainly.
  char data[] = "abc";
  iovec iov{data, 3};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  const int passed = dup(p->peer);
  memcpy(CMSG_DATA(cm), &passed, sizeof(int));
  ASSERT_EQ(sendmsg(p->peer, &msg, 0), 3);
  close(passed);
  ASSERT_EQ(send(p->peer, "def", 3, 0), 3);
  ASSERT_TRUE(w.wait_io(absl::Milliseconds(100)).ok());
  std::string got;
  char buf[64];
  for (int i = 0; got.size() < 6 && i < 4; ++i) {
    GAIO_ASSERT_OK(w.read_timeout(Ctx(2), p->watched, absl::MakeSpan(buf),
                                  absl::Now() + absl::Seconds(5)));
    std::vector<Completion> c = Collect(w, 1);
    ASSERT_EQ(c.size(), 1u);
    ASSERT_TRUE(c[0].status.ok()) << "after \"" << got << "\": " << c[0].status;
    got += c[0].data;
  }
  EXPECT_EQ(got, "abcdef");
}

INSTANTIATE_TEST_SUITE_P(AllModes, Hardening, ::testing::ValuesIn(kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return ModeName(info.param);
                         });

// poller_takeover = absl::InfiniteDuration(): the thread never takes the I/O
// over for the caller's absence (it used to take over at once, over and
// over), yet a deadline that falls due while the caller is away still fires.
TEST(HardeningOptions, InfiniteTakeoverNeverTakesOverButFiresDeadlines) {
  WatcherOptions options;
  options.poller_takeover = absl::InfiniteDuration();
  absl::StatusOr<Watcher> w = Watcher::Create(options);
  ASSERT_TRUE(w.ok()) << w.status();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w->read_timeout(Ctx(1), p->watched, nullptr,
                                 absl::Now() + absl::Milliseconds(100)));
  absl::SleepFor(absl::Milliseconds(400));  // the caller stays away
  EXPECT_EQ(w->stats().takeovers, 0u);
  EXPECT_GE(w->stats().deadline_polls, 1u);
  absl::StatusOr<absl::Span<const OpResult>> batch = w->poll_io();
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_TRUE(absl::IsDeadlineExceeded((*batch)[0].status));
}

TEST(HardeningOptions, SwapBufferSizeIsBounded) {
  for (size_t size : {size_t{63}, (size_t{1} << 30) + 1, std::numeric_limits<size_t>::max(),
                      std::numeric_limits<size_t>::max() / 2 + 1}) {
    WatcherOptions options;
    options.swap_buffer_size = size;
    EXPECT_EQ(Watcher::Create(options).status().code(), absl::StatusCode::kInvalidArgument)
        << size;
  }
  WatcherOptions largest;
  largest.swap_buffer_size = size_t{1} << 30;
  largest.num_pollers = 0;
  absl::StatusOr<Watcher> w = Watcher::Create(largest);
  EXPECT_TRUE(w.ok()) << w.status();
}

TEST(HardeningOptions, HugeDurationsInOptionsAreSafe) {
  for (int pollers : {0, 1}) {
    WatcherOptions options;
    options.num_pollers = pollers;
    options.busy_poll = absl::Hours(24 * 365 * 300);
    options.poller_takeover = absl::Hours(24 * 365 * 300);
    absl::StatusOr<Watcher> w = Watcher::Create(options);
    ASSERT_TRUE(w.ok()) << w.status();
    absl::StatusOr<FdPair> p = UnixPair();
    ASSERT_TRUE(p.ok());
    GAIO_ASSERT_OK(WriteAll(p->peer, "z"));
    GAIO_ASSERT_OK(w->read(Ctx(1), p->watched, nullptr));
    std::vector<Completion> c = Collect(*w, 1);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].data, "z");
  }
}

// No errno can pass for a request's own outcome (EOF, its deadline, a
// cancellation), and the errno is recoverable from the status.
TEST(HardeningStatus, AnErrnoNeverLooksLikeARequestsOwnOutcome) {
  for (int err = 1; err < 134; ++err) {
    const absl::Status s = testing::ReadError(err);
    EXPECT_FALSE(s.ok());
    EXPECT_FALSE(IsEof(s)) << err << " " << s;
    EXPECT_FALSE(absl::IsDeadlineExceeded(s)) << err << " " << s;
    EXPECT_FALSE(absl::IsCancelled(s)) << err << " " << s;
    EXPECT_EQ(ErrnoOf(s), err) << s;
    EXPECT_TRUE(absl::StartsWith(s.message(), "read: ")) << s;
  }
  EXPECT_TRUE(absl::IsUnavailable(testing::ReadError(ETIMEDOUT)));
  EXPECT_TRUE(absl::IsAborted(testing::ReadError(ECANCELED)));
  EXPECT_TRUE(absl::IsResourceExhausted(testing::WriteError(EFBIG)));
  EXPECT_TRUE(absl::IsInvalidArgument(testing::ReadError(EOVERFLOW)));
  EXPECT_TRUE(absl::IsUnavailable(testing::ReadError(ECONNREFUSED)));  // absl's own code
  EXPECT_EQ(ErrnoOf(absl::OkStatus()), 0);
  EXPECT_EQ(ErrnoOf(absl::DeadlineExceededError("deadline exceeded")), 0);
  EXPECT_EQ(ErrnoOf(absl::OutOfRangeError("EOF")), 0);
}

// A real errno completion carries its errno: an eventfd refuses a read of
// fewer than 8 bytes with EINVAL.
TEST(HardeningStatus, CompletionCarriesItsErrno) {
  Watcher w = MakeWatcher(testing::kCallerDriven);
  const int efd = eventfd(1, EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  char small[4];
  GAIO_ASSERT_OK(w.read(Ctx(1), efd, absl::MakeSpan(small)));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(ErrnoOf(c[0].status), EINVAL) << c[0].status;
  EXPECT_EQ(c[0].status, testing::ReadError(EINVAL));
}

// Move-assigning over a Watcher destroys what it held, as its destructor
// would: its fds are closed and its undelivered completions dropped (drain
// it first to collect them). The target then is the moved-in Watcher.
TEST(HardeningLifecycle, MoveAssignmentDestroysTheTarget) {
  Watcher target = MakeWatcher(testing::kThreads1);
  absl::StatusOr<FdPair> old_pair = UnixPair();
  ASSERT_TRUE(old_pair.ok());
  GAIO_ASSERT_OK(target.read(Ctx(1), old_pair->watched, nullptr));
  Watcher source = MakeWatcher(testing::kCallerDriven);
  target = std::move(source);
  EXPECT_FALSE(testing::FdIsOpen(old_pair->watched));
  // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from handle is what is tested
  EXPECT_EQ(source.read(Ctx(2), old_pair->peer, nullptr).code(),
            absl::StatusCode::kFailedPrecondition);  // moved-from
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(WriteAll(p->peer, "m"));
  GAIO_ASSERT_OK(target.read(Ctx(3), p->watched, nullptr));
  std::vector<Completion> c = Collect(target, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(3));
  EXPECT_EQ(c[0].data, "m");
  close(old_pair->peer);
}

}  // namespace
}  // namespace gaio
