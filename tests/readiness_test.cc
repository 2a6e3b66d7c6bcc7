// wait_readable / wait_writable, in every engine mode: completion on an
// edge and at once when the fd is ready already, no completion for a fd the
// caller drained with its own syscalls (the submission looks), end of file
// and errors count as readable, order with the fd's reads and behind a
// connect, listeners, deadlines, cancel/free/close exactly once, refusals.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
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
using ::gaio::testing::kAllModes;
using ::gaio::testing::MakeWatcher;
using ::gaio::testing::ModeName;

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }

// Long enough that a completion that is due would have come (every mode
// delivers within microseconds); short enough to keep the test fast.
constexpr absl::Duration kQuiet = absl::Milliseconds(100);

// A listening TCP socket on 127.0.0.1 and its address; -1 on failure.
int LoopbackListener(sockaddr_in* a) {
  const int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  *a = sockaddr_in{};
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(*a);
  if (bind(l, reinterpret_cast<sockaddr*>(a), sizeof(*a)) != 0 || listen(l, 8) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(a), &len) != 0) {
    close(l);
    return -1;
  }
  return l;
}

class Readiness : public ::testing::TestWithParam<int> {};

TEST_P(Readiness, ReadableOnDataLeavesTheBytesToTheCaller) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<testing::FdPair> p = testing::UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.wait_readable(Ctx(1), p->watched));
  EXPECT_TRUE(Collect(w, 1, kQuiet).empty()) << "readable with nothing to read";
  ASSERT_EQ(send(p->peer, "xy", 2, 0), 2);
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, OpType::kReadable);
  EXPECT_EQ(c[0].ctx, Ctx(1));
  EXPECT_EQ(c[0].fd, p->watched);
  EXPECT_EQ(c[0].size, 0u);
  GAIO_EXPECT_OK(c[0].status);
  char buf[8];
  EXPECT_EQ(recv(p->watched, buf, sizeof(buf), 0), 2);  // still there, for the caller
  GAIO_EXPECT_OK(w.free(p->watched));
  close(p->peer);
}

TEST_P(Readiness, ASubmissionLooksAtTheFdTheCallerDrained) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<testing::FdPair> p = testing::UnixPair();
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(send(p->peer, "a", 1, 0), 1);
  GAIO_ASSERT_OK(w.wait_readable(Ctx(1), p->watched));  // ready already: at once
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  GAIO_EXPECT_OK(c[0].status);
  char buf[8];
  ASSERT_EQ(recv(p->watched, buf, sizeof(buf), 0), 1);  // the caller drains it
  ASSERT_EQ(recv(p->watched, buf, sizeof(buf), MSG_DONTWAIT), -1);
  GAIO_ASSERT_OK(w.wait_readable(Ctx(2), p->watched));
  EXPECT_TRUE(Collect(w, 1, kQuiet).empty()) << "a drained fd reported readable";
  ASSERT_EQ(send(p->peer, "b", 1, 0), 1);
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  GAIO_EXPECT_OK(c[0].status);
  GAIO_EXPECT_OK(w.free(p->watched));
  close(p->peer);
}

TEST_P(Readiness, WritableAtOnceThenAfterTheCallerFilledTheFd) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<testing::FdPair> p = testing::UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.wait_writable(Ctx(1), p->watched));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, OpType::kWritable);
  GAIO_EXPECT_OK(c[0].status);
  const std::string chunk(4096, 'z');
  size_t filled = 0;
  while (send(p->watched, chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) filled += chunk.size();
  ASSERT_EQ(errno, EAGAIN);
  GAIO_ASSERT_OK(w.wait_writable(Ctx(2), p->watched));
  EXPECT_TRUE(Collect(w, 1, kQuiet).empty()) << "a full fd reported writable";
  std::string sink(filled + chunk.size(), '\0');
  size_t drained = 0;
  while (drained < filled) {
    const ssize_t n = recv(p->peer, sink.data(), sink.size(), 0);
    ASSERT_GT(n, 0);
    drained += static_cast<size_t>(n);
  }
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  GAIO_EXPECT_OK(c[0].status);
  GAIO_EXPECT_OK(w.free(p->watched));
  close(p->peer);
}

TEST_P(Readiness, EndOfFileIsReadable) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<testing::FdPair> p = testing::UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.wait_readable(Ctx(1), p->watched));
  shutdown(p->peer, SHUT_WR);
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  GAIO_EXPECT_OK(c[0].status);
  char buf[1];
  EXPECT_EQ(recv(p->watched, buf, 1, 0), 0);
  GAIO_EXPECT_OK(w.free(p->watched));
  close(p->peer);
}

// In order with the fd's reads: the read takes the bytes first; the
// readiness request then waits for more.
TEST_P(Readiness, QueuesInOrderWithReads) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<testing::FdPair> p = testing::UnixPair();
  ASSERT_TRUE(p.ok());
  char buf[8];
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, absl::MakeSpan(buf)));
  GAIO_ASSERT_OK(w.wait_readable(Ctx(2), p->watched));
  ASSERT_EQ(send(p->peer, "ab", 2, 0), 2);
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(1));
  EXPECT_EQ(c[0].data, "ab");
  EXPECT_TRUE(Collect(w, 1, kQuiet).empty()) << "readable after the read drained the fd";
  ASSERT_EQ(send(p->peer, "c", 1, 0), 1);
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_EQ(recv(p->watched, buf, sizeof(buf), 0), 1);
  GAIO_EXPECT_OK(w.free(p->watched));
  close(p->peer);
}

TEST_P(Readiness, ListenerReadableWhenAConnectionWaitsAndWritableBehindAConnect) {
  Watcher w = MakeWatcher(GetParam());
  sockaddr_in a{};
  const int l = LoopbackListener(&a);
  ASSERT_GE(l, 0);
  GAIO_ASSERT_OK(w.wait_readable(Ctx(1), l));
  EXPECT_TRUE(Collect(w, 1, kQuiet).empty());
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  GAIO_ASSERT_OK(w.connect(Ctx(2), fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)));
  GAIO_ASSERT_OK(w.wait_writable(Ctx(3), fd));
  std::vector<Completion> c = Collect(w, 3);
  ASSERT_EQ(c.size(), 3u);
  std::vector<void*> fd_order;
  for (const Completion& x : c) {
    GAIO_EXPECT_OK(x.status);
    if (x.fd == fd) fd_order.push_back(x.ctx);
  }
  EXPECT_EQ(fd_order, (std::vector<void*>{Ctx(2), Ctx(3)})) << "writable before the connect";
  GAIO_EXPECT_OK(w.free(fd));
  GAIO_EXPECT_OK(w.free(l));
}

// Found by the model: a wait_readable queued behind a connect completed
// when the connect did, on the readiness assumed at registration, with
// nothing to read.
TEST_P(Readiness, ReadableBehindAConnectWaitsForData) {
  Watcher w = MakeWatcher(GetParam());
  sockaddr_in a{};
  const int l = LoopbackListener(&a);
  ASSERT_GE(l, 0);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  GAIO_ASSERT_OK(w.connect(Ctx(1), fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)));
  GAIO_ASSERT_OK(w.wait_readable(Ctx(2), fd));
  std::vector<Completion> c = Collect(w, 2, kQuiet);
  ASSERT_EQ(c.size(), 1u) << "readable with nothing to read";
  EXPECT_EQ(c[0].ctx, Ctx(1));
  GAIO_EXPECT_OK(c[0].status);
  const int server = accept(l, nullptr, nullptr);
  ASSERT_GE(server, 0);
  ASSERT_EQ(send(server, "d", 1, 0), 1);
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  GAIO_EXPECT_OK(c[0].status);
  GAIO_EXPECT_OK(w.free(fd));
  close(server);
  close(l);
}

TEST_P(Readiness, DeadlineCancelFreeCloseEachEndItOnce) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<testing::FdPair> p = testing::UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.wait_readable(Ctx(1), p->watched, absl::Now() + absl::Milliseconds(20)));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  GAIO_ASSERT_OK(w.wait_readable(Ctx(2), p->watched));
  GAIO_ASSERT_OK(w.wait_readable(Ctx(3), p->watched));
  GAIO_ASSERT_OK(w.cancel(p->watched, Ctx(2)));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_TRUE(absl::IsCancelled(c[0].status));
  GAIO_ASSERT_OK(w.free(p->watched));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(3));
  EXPECT_TRUE(absl::IsCancelled(c[0].status));
  absl::StatusOr<testing::FdPair> q = testing::UnixPair();
  ASSERT_TRUE(q.ok());
  GAIO_ASSERT_OK(w.wait_writable(Ctx(4), q->watched, absl::Now() + absl::Hours(1)));
  c = Collect(w, 1);  // writable at once
  ASSERT_EQ(c.size(), 1u);
  GAIO_ASSERT_OK(w.wait_readable(Ctx(5), q->watched));
  GAIO_ASSERT_OK(w.close());
  absl::Status end;
  c = Collect(w, 2, testing::kPatience, &end);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(5));
  EXPECT_TRUE(absl::IsCancelled(c[0].status));
  EXPECT_TRUE(absl::IsFailedPrecondition(end)) << end;
  EXPECT_EQ(w.wait_readable(Ctx(6), p->peer).code(), absl::StatusCode::kFailedPrecondition);
  close(p->peer);
  close(q->peer);
}

TEST_P(Readiness, Refusals) {
  Watcher w = MakeWatcher(GetParam());
  EXPECT_EQ(w.wait_readable(Ctx(1), -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.wait_writable(Ctx(1), -5).code(), absl::StatusCode::kInvalidArgument);
  int closed[2];
  ASSERT_EQ(pipe(closed), 0);
  close(closed[0]);
  close(closed[1]);
  EXPECT_EQ(w.wait_readable(Ctx(1), closed[0]).code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(AllModes, Readiness, ::testing::ValuesIn(kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return ModeName(info.param);
                         });

}  // namespace
}  // namespace gaio
