// Per-fd order, try-first, read/read_full/write semantics, EOF and deadlines.
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
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
using ::gaio::testing::TcpPair;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WriteAll;

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }

int BytesQueued(int fd) {
  int n = -1;
  ioctl(fd, FIONREAD, &n);
  return n;
}

class WatcherModes : public ::testing::TestWithParam<int> {
 protected:
  Watcher Make(size_t swap = 64 * 1024) {
    WatcherOptions o = testing::ModeOptions(GetParam());
    o.swap_buffer_size = swap;
    absl::StatusOr<Watcher> w = Watcher::Create(o);
    EXPECT_TRUE(w.ok()) << w.status();
    return *std::move(w);
  }
};

INSTANTIATE_TEST_SUITE_P(Modes, WatcherModes, ::testing::ValuesIn(testing::kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return testing::ModeName(info.param);
                         });

TEST_P(WatcherModes, ReadsCompleteInSubmissionOrder) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  char bufs[3][4];
  for (int i = 0; i < 3; ++i) GAIO_ASSERT_OK(w.read(Ctx(i), p->watched, absl::MakeSpan(bufs[i])));
  GAIO_ASSERT_OK(w.read(Ctx(3), p->watched, nullptr));
  GAIO_ASSERT_OK(WriteAll(p->peer, "aaaabbbbccccdd"));
  std::vector<Completion> c = Collect(w, 4);
  ASSERT_EQ(c.size(), 4u);
  const char* expected[] = {"aaaa", "bbbb", "cccc", "dd"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c[i].ctx, Ctx(i));
    EXPECT_EQ(c[i].data, expected[i]);
  }
  close(p->peer);
}

TEST_P(WatcherModes, LargeWritesCompleteInOrderWithAllBytes) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = TcpPair();
  ASSERT_TRUE(p.ok());
  const size_t kEach = 4 << 20;
  std::vector<std::string> chunks;
  for (unsigned i = 0; i < 3; ++i) chunks.push_back(Pattern(kEach, i + 1));
  for (int i = 0; i < 3; ++i) GAIO_ASSERT_OK(w.write(Ctx(i), p->watched, chunks[i]));
  absl::StatusOr<std::string> got;
  std::thread reader([&] { got = ReadExactly(p->peer, 3 * kEach); });
  std::vector<Completion> c = Collect(w, 3);
  reader.join();
  ASSERT_EQ(c.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].ctx, Ctx(i));
    EXPECT_EQ(c[i].size, kEach);
    GAIO_EXPECT_OK(c[i].status);
  }
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == chunks[0] + chunks[1] + chunks[2]);
  close(p->peer);
}

// With no poller thread and no wait_io() call, only the submitting call can
// have moved the bytes.
TEST(Watcher, RequestsAreTriedInTheSubmittingCall) {
  WatcherOptions o;
  o.num_pollers = 0;
  absl::StatusOr<Watcher> w = Watcher::Create(o);
  ASSERT_TRUE(w.ok());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(WriteAll(p->peer, "ready"));
  ASSERT_EQ(BytesQueued(p->watched), 5);
  GAIO_ASSERT_OK(w->read(Ctx(1), p->watched, nullptr));
  EXPECT_EQ(BytesQueued(p->watched), 0);  // read at once

  GAIO_ASSERT_OK(w->write(Ctx(2), p->watched, absl::string_view("sent")));
  EXPECT_EQ(BytesQueued(p->peer), 4);  // written at once

  // A second read queued behind a pending one is not tried early.
  char a[1], b[1];
  GAIO_ASSERT_OK(w->read(Ctx(3), p->watched, absl::MakeSpan(a)));
  GAIO_ASSERT_OK(w->read(Ctx(4), p->watched, absl::MakeSpan(b)));
  std::vector<Completion> c = Collect(*w, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].data, "ready");
  EXPECT_EQ(c[1].op, OpType::kWrite);
  GAIO_ASSERT_OK(WriteAll(p->peer, "xy"));
  c = Collect(*w, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].ctx, Ctx(3));
  EXPECT_EQ(c[0].data, "x");
  EXPECT_EQ(c[1].data, "y");
  close(p->peer);
}

TEST_P(WatcherModes, EofCompletesEveryQueuedRead) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  char buf[16];
  GAIO_ASSERT_OK(w.read(Ctx(0), p->watched, absl::MakeSpan(buf)));
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));
  GAIO_ASSERT_OK(w.read(Ctx(2), p->watched, nullptr));
  ASSERT_EQ(shutdown(p->peer, SHUT_WR), 0);
  std::vector<Completion> c = Collect(w, 3);
  ASSERT_EQ(c.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].ctx, Ctx(i));
    EXPECT_TRUE(IsEof(c[i].status)) << c[i].status;
    EXPECT_EQ(c[i].size, 0u);
  }
  close(p->peer);
}

TEST_P(WatcherModes, ReadFullFillsTheBufferAcrossManyWrites) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = TcpPair();
  ASSERT_TRUE(p.ok());
  const std::string data = Pattern(300000, 7);
  std::string buf(data.size(), '\0');
  GAIO_ASSERT_OK(w.read_full(Ctx(1), p->watched, absl::MakeSpan(buf)));
  std::thread writer([&] {
    for (size_t off = 0; off < data.size(); off += 1000) {
      EXPECT_TRUE(WriteAll(p->peer, absl::string_view(data).substr(off, 1000)).ok());
    }
  });
  std::vector<Completion> c = Collect(w, 1);
  writer.join();
  ASSERT_EQ(c.size(), 1u);
  GAIO_EXPECT_OK(c[0].status);
  EXPECT_EQ(c[0].size, data.size());
  EXPECT_TRUE(buf == data);
  close(p->peer);
}

TEST_P(WatcherModes, ReadFullReportsProgressAtEof) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  char buf[100];
  GAIO_ASSERT_OK(w.read_full(Ctx(1), p->watched, absl::MakeSpan(buf)));
  GAIO_ASSERT_OK(WriteAll(p->peer, "partial"));
  ASSERT_EQ(shutdown(p->peer, SHUT_WR), 0);
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(IsEof(c[0].status));
  EXPECT_EQ(c[0].size, 7u);
  EXPECT_EQ(c[0].data, "partial");
  close(p->peer);
}

TEST_P(WatcherModes, ReadTimeoutExpiresNoEarlierThanItsDeadline) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  const absl::Time deadline = absl::Now() + absl::Milliseconds(50);
  GAIO_ASSERT_OK(w.read_timeout(Ctx(1), p->watched, nullptr, deadline));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_GE(absl::Now(), deadline);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  EXPECT_EQ(c[0].size, 0u);
  // The fd stays usable after a timeout.
  GAIO_ASSERT_OK(w.read(Ctx(2), p->watched, nullptr));
  GAIO_ASSERT_OK(WriteAll(p->peer, "late"));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].data, "late");
  close(p->peer);
}

TEST_P(WatcherModes, DeadlineOvertakesEarlierQueuedRequests) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  char first[8], second[8];
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, absl::MakeSpan(first)));
  GAIO_ASSERT_OK(w.read_timeout(Ctx(2), p->watched, absl::MakeSpan(second),
                                absl::Now() + absl::Milliseconds(30)));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status));
  GAIO_ASSERT_OK(WriteAll(p->peer, "first"));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(1));
  EXPECT_EQ(c[0].data, "first");
  close(p->peer);
}

TEST_P(WatcherModes, ReadFullDeadlineReportsProgress) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  char buf[100];
  GAIO_ASSERT_OK(WriteAll(p->peer, "0123456789"));
  GAIO_ASSERT_OK(
      w.read_full(Ctx(1), p->watched, absl::MakeSpan(buf), absl::Now() + absl::Milliseconds(40)));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status));
  EXPECT_EQ(c[0].size, 10u);
  EXPECT_EQ(c[0].data, "0123456789");
  close(p->peer);
}

TEST_P(WatcherModes, WriteTimeoutOnAPeerThatNeverReads) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = TcpPair();
  ASSERT_TRUE(p.ok());
  const std::string big = Pattern(64 << 20);
  GAIO_ASSERT_OK(
      w.write_timeout(Ctx(1), p->watched, big, absl::Now() + absl::Milliseconds(100)));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  EXPECT_GT(c[0].size, 0u);
  EXPECT_LT(c[0].size, big.size());
  // What was reported written is exactly what the peer can read.
  absl::StatusOr<std::string> got = ReadExactly(p->peer, c[0].size);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == big.substr(0, c[0].size));
  EXPECT_EQ(BytesQueued(p->peer), 0);
  close(p->peer);
}

TEST_P(WatcherModes, SubmissionFromAnotherThreadWakesWaitIo) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(WriteAll(p->peer, "waiting"));
  std::thread submitter([&] {
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_TRUE(w.read(Ctx(9), p->watched, nullptr).ok());
  });
  std::vector<Completion> c = Collect(w, 1);
  submitter.join();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].data, "waiting");
  close(p->peer);
}

TEST_P(WatcherModes, DeadlineSubmittedFromAnotherThreadIsHonoured) {
  Watcher w = Make();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));  // a long-pending read
  std::thread submitter([&] {
    absl::SleepFor(absl::Milliseconds(20));
    absl::StatusOr<FdPair> q = UnixPair();
    ASSERT_TRUE(q.ok());
    EXPECT_TRUE(
        w.read_timeout(Ctx(2), q->watched, nullptr, absl::Now() + absl::Milliseconds(20)).ok());
  });
  std::vector<Completion> c = Collect(w, 1);
  submitter.join();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status));
  close(p->peer);
}

}  // namespace
}  // namespace gaio
