// Fds beyond sockets, and fd numbers that come back: an eventfd works (and a
// read the kernel refuses fails with a clear status), and after free(fd) a
// new file that gets the same number is registered afresh, with nothing of
// the old one (requests, deadlines, readiness, hang-up) leaking into it.
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
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
using ::gaio::testing::CountOpenFds;
using ::gaio::testing::FdIsOpen;
using ::gaio::testing::FdPair;
using ::gaio::testing::MakeWatcher;
using ::gaio::testing::ReadError;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WaitFor;
using ::gaio::testing::WriteAll;

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }

class FdKinds : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { signal(SIGPIPE, SIG_DFL); }
  int mode() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Modes, FdKinds, ::testing::ValuesIn(testing::kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return testing::ModeName(info.param);
                         });

TEST_P(FdKinds, EventfdCountsThroughTheWatcher) {
  Watcher w = MakeWatcher(mode());
  int efd = eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  // A read with nothing counted yet waits; a write of 8 bytes adds to the counter.
  uint64_t got = 0;
  GAIO_ASSERT_OK(w.read(Ctx(1), efd, absl::Span<char>(reinterpret_cast<char*>(&got), 8)));
  const uint64_t five = 5;
  GAIO_ASSERT_OK(
      w.write(Ctx(2), efd, absl::Span<const char>(reinterpret_cast<const char*>(&five), 8)));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  for (const Completion& x : c) {
    GAIO_EXPECT_OK(x.status);
    EXPECT_EQ(x.size, 8u);
  }
  EXPECT_EQ(got, 5u);
  // Into the swap buffer.
  const uint64_t seven = 7;
  GAIO_ASSERT_OK(w.read(Ctx(3), efd, nullptr));
  GAIO_ASSERT_OK(
      w.write(Ctx(4), efd, absl::Span<const char>(reinterpret_cast<const char*>(&seven), 8)));
  c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  for (const Completion& x : c) {
    GAIO_EXPECT_OK(x.status);
    if (x.op == OpType::kRead) {
      ASSERT_EQ(x.data.size(), 8u);
      uint64_t value;
      std::memcpy(&value, x.data.data(), 8);
      EXPECT_EQ(value, 7u);
      EXPECT_TRUE(x.is_swap_buffer);
    }
  }
  // The kernel refuses reads of fewer than 8 bytes: EINVAL, as a status.
  GAIO_ASSERT_OK(
      w.write(Ctx(5), efd, absl::Span<const char>(reinterpret_cast<const char*>(&five), 8)));
  char tiny[4];
  GAIO_ASSERT_OK(w.read(Ctx(6), efd, absl::MakeSpan(tiny)));
  c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  for (const Completion& x : c) {
    if (x.op == OpType::kRead) {
      EXPECT_EQ(x.status, ReadError(EINVAL));
      EXPECT_TRUE(absl::StartsWith(x.status.message(), "read")) << x.status;
      EXPECT_EQ(x.size, 0u);
    } else {
      GAIO_EXPECT_OK(x.status);
    }
  }
  GAIO_ASSERT_OK(w.free(efd));
  EXPECT_FALSE(FdIsOpen(efd));
}

// The refusals of watcher_api_test.cc (which runs the default mode only), in
// every mode: a regular file and a directory, a closed fd number, a second
// concurrent wait_io(), and submissions after close().
TEST_P(FdKinds, RefusalsAreTheSameInEveryMode) {
  Watcher w = MakeWatcher(mode());
  char path[] = "/tmp/gaio_fd_kinds_XXXXXX";
  const int file = mkstemp(path);
  ASSERT_GE(file, 0);
  unlink(path);
  absl::Status s = w.read(nullptr, file, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  close(file);
  const int dir = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  s = w.write(nullptr, dir, absl::string_view("x"));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  close(dir);
  EXPECT_EQ(w.read(nullptr, dir, nullptr).code(), absl::StatusCode::kInvalidArgument);  // closed

  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));
  std::string got;
  std::thread waiter([&] {
    const absl::Time give_up = absl::Now() + testing::kPatience;
    while (got.empty() && absl::Now() < give_up) {
      absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(testing::kPatience);
      if (!batch.ok()) continue;  // refused while the main thread polled: try again
      for (const OpResult& r : *batch) got.assign(r.buffer.data(), r.size);
    }
  });
  // Once the waiter is inside wait_io(), a second call is refused.
  const bool refused = WaitFor([&] { return !w.poll_io().ok(); });
  EXPECT_TRUE(refused);
  if (refused) {
    EXPECT_EQ(w.poll_io().status().code(), absl::StatusCode::kFailedPrecondition);
  }
  GAIO_EXPECT_OK(WriteAll(p->peer, "wake"));
  waiter.join();
  EXPECT_EQ(got, "wake");

  GAIO_ASSERT_OK(w.close());
  EXPECT_EQ(w.read(nullptr, p->watched, nullptr).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.write(nullptr, p->peer, absl::string_view("x")).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.free(p->watched).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.wait_io().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(FdIsOpen(p->watched));  // close() closed it
  EXPECT_TRUE(FdIsOpen(p->peer));      // never registered: untouched
  close(p->peer);
}

// Puts a fresh socket of a new pair at fd number `number` (closed now) and
// returns the pair with watched == number.
absl::StatusOr<FdPair> PairAtNumber(int number) {
  absl::StatusOr<FdPair> p = UnixPair();
  if (!p.ok()) return p.status();
  if (p->watched != number) {
    if (dup2(p->watched, number) != number) return absl::ErrnoToStatus(errno, "dup2");
    close(p->watched);
    p->watched = number;
  }
  return p;
}

// Many rounds of: requests (one with a deadline) on an fd, a peer close that
// makes the poller report a hang-up, free() racing that report, then a new
// socket at the same number. The old requests complete exactly once (EOF or
// Cancelled); the new socket behaves like any new socket.
TEST_P(FdKinds, FreedNumberReusedByANewSocketWorksNormally) {
  Watcher w = MakeWatcher(mode());
  const int baseline = CountOpenFds();
  absl::StatusOr<FdPair> first = UnixPair();
  ASSERT_TRUE(first.ok());
  const int number = first->watched;
  FdPair p = *first;
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    const intptr_t base = round * 10;
    GAIO_ASSERT_OK(w.read(Ctx(base + 1), number, nullptr));
    GAIO_ASSERT_OK(
        w.read_timeout(Ctx(base + 2), number, nullptr, absl::Now() + absl::Milliseconds(30)));
    close(p.peer);  // EOF and a hang-up for the poller to report
    GAIO_ASSERT_OK(w.free(number));
    ASSERT_FALSE(FdIsOpen(number));
    absl::StatusOr<FdPair> next = PairAtNumber(number);
    ASSERT_TRUE(next.ok()) << next.status();
    p = *next;
    char buf[64];
    GAIO_ASSERT_OK(w.read(Ctx(base + 3), number, absl::MakeSpan(buf)));
    const std::string hello = absl::StrCat("round ", round);
    GAIO_ASSERT_OK(WriteAll(p.peer, hello));
    std::vector<Completion> c = Collect(w, 3);
    ASSERT_EQ(c.size(), 3u) << "round " << round;
    // Old requests first (they completed before the new one was submitted).
    for (int i : {0, 1}) {
      EXPECT_EQ(c[i].ctx, Ctx(base + 1 + i)) << "round " << round;
      EXPECT_TRUE(IsEof(c[i].status) || absl::IsCancelled(c[i].status))
          << "round " << round << ": " << c[i].status;
    }
    EXPECT_EQ(c[2].ctx, Ctx(base + 3));
    GAIO_EXPECT_OK(c[2].status);
    EXPECT_EQ(c[2].data, hello) << "round " << round;
  }
  // The old deadlines were cancelled with their requests: none fires later.
  absl::SleepFor(absl::Milliseconds(60));
  absl::StatusOr<absl::Span<const OpResult>> late = w.poll_io();
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->empty());
  GAIO_ASSERT_OK(w.free(number));
  close(p.peer);
  EXPECT_EQ(CountOpenFds(), baseline);
}

// The same number handed out again on a different kind of fd: a pipe end
// where a socket was.
TEST_P(FdKinds, FreedNumberReusedByAPipe) {
  Watcher w = MakeWatcher(mode());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  const int number = p->watched;
  GAIO_ASSERT_OK(w.write(Ctx(1), number, absl::string_view("socket")));
  ASSERT_EQ(Collect(w, 1).size(), 1u);
  GAIO_ASSERT_OK(w.free(number));
  close(p->peer);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  if (fds[0] != number) {
    ASSERT_EQ(dup2(fds[0], number), number);
    close(fds[0]);
  }
  GAIO_ASSERT_OK(w.read(Ctx(2), number, nullptr));
  ASSERT_EQ(write(fds[1], "pipe", 4), 4);
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  GAIO_EXPECT_OK(c[0].status);
  EXPECT_EQ(c[0].data, "pipe");
  close(fds[1]);
  GAIO_ASSERT_OK(w.read(Ctx(3), number, nullptr));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(IsEof(c[0].status)) << c[0].status;
  GAIO_ASSERT_OK(w.free(number));
}

}  // namespace
}  // namespace gaio
