// Submission checks, registration, ctx passing, free/close and lifecycle.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::Collect;
using ::gaio::testing::Completion;
using ::gaio::testing::FdIsOpen;
using ::gaio::testing::FdPair;
using ::gaio::testing::ReadExactly;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WriteAll;

Watcher MakeWatcher(const WatcherOptions& options = {}) {
  absl::StatusOr<Watcher> w = Watcher::Create(options);
  EXPECT_TRUE(w.ok()) << w.status();
  return *std::move(w);
}

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }

TEST(Watcher, CreateRejectsBadOptions) {
  WatcherOptions negative;
  negative.num_pollers = -1;
  EXPECT_EQ(Watcher::Create(negative).status().code(), absl::StatusCode::kInvalidArgument);
  WatcherOptions tiny_swap;
  tiny_swap.swap_buffer_size = 16;
  EXPECT_EQ(Watcher::Create(tiny_swap).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Watcher, WriteThenReadWithCallerBuffer) {
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  const std::string hello = "hello";
  GAIO_ASSERT_OK(w.write(Ctx(1), p->watched, hello));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, OpType::kWrite);
  EXPECT_EQ(c[0].fd, p->watched);
  EXPECT_EQ(c[0].ctx, Ctx(1));
  EXPECT_EQ(c[0].size, 5u);
  EXPECT_FALSE(c[0].is_swap_buffer);
  GAIO_EXPECT_OK(c[0].status);
  absl::StatusOr<std::string> got = ReadExactly(p->peer, 5);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "hello");

  char buf[64];
  GAIO_ASSERT_OK(w.read(Ctx(2), p->watched, absl::MakeSpan(buf)));
  GAIO_ASSERT_OK(WriteAll(p->peer, "world!"));
  absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io();
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  const OpResult& r = (*batch)[0];
  EXPECT_EQ(r.op, OpType::kRead);
  EXPECT_EQ(r.ctx, Ctx(2));
  EXPECT_EQ(r.buffer.data(), buf);  // the caller's buffer, whole
  EXPECT_EQ(r.buffer.size(), sizeof(buf));
  EXPECT_EQ(r.size, 6u);
  EXPECT_FALSE(r.is_swap_buffer);
  EXPECT_EQ(std::string(buf, r.size), "world!");
  close(p->peer);
}

TEST(Watcher, NullptrAndEmptySpanReadIntoSwapBuffer) {
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> a = UnixPair(), b = UnixPair();
  ASSERT_TRUE(a.ok() && b.ok());
  GAIO_ASSERT_OK(w.read(Ctx(1), a->watched, nullptr));
  GAIO_ASSERT_OK(w.read(Ctx(2), b->watched, absl::Span<char>()));
  GAIO_ASSERT_OK(WriteAll(a->peer, "from-a"));
  GAIO_ASSERT_OK(WriteAll(b->peer, "from-b"));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  for (const Completion& x : c) {
    EXPECT_TRUE(x.is_swap_buffer);
    GAIO_EXPECT_OK(x.status);
    EXPECT_EQ(x.data, x.ctx == Ctx(1) ? "from-a" : "from-b");
  }
  close(a->peer);
  close(b->peer);
}

TEST(Watcher, CtxIsPassedThroughExactly) {
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  std::vector<int> targets(50);
  std::string payload = "x";
  for (int& t : targets) GAIO_ASSERT_OK(w.write(&t, p->watched, payload));
  std::vector<Completion> c = Collect(w, targets.size());
  ASSERT_EQ(c.size(), targets.size());
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(c[i].ctx, &targets[i]);
  close(p->peer);
}

TEST(Watcher, RefusesBadArguments) {
  Watcher w = MakeWatcher();
  char buf[8];
  EXPECT_EQ(w.read(nullptr, -1, nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.write(nullptr, -5, absl::string_view("x")).code(), absl::StatusCode::kInvalidArgument);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  close(fds[1]);  // now fds[0] names no open file
  EXPECT_EQ(w.read(nullptr, fds[0], absl::MakeSpan(buf)).code(),
            absl::StatusCode::kInvalidArgument);

  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(w.write(nullptr, p->watched, absl::Span<const char>()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.read_full(nullptr, p->watched, absl::Span<char>(), absl::InfiniteFuture()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.read(nullptr, p->watched, absl::Span<char>(nullptr, 4)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.write(nullptr, p->watched, absl::Span<const char>(nullptr, 4)).code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing was accepted, so nothing completes.
  absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Milliseconds(20));
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(batch->empty());
  close(p->watched);
  close(p->peer);
}

TEST(Watcher, RefusesRegularFileAndDirectoryWithoutTouchingThem) {
  Watcher w = MakeWatcher();
  char path[] = "/tmp/gaio_regular_XXXXXX";
  int file = mkstemp(path);
  ASSERT_GE(file, 0);
  unlink(path);
  absl::Status s = w.read(nullptr, file, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_EQ(fcntl(file, F_GETFL) & O_NONBLOCK, 0);  // untouched
  EXPECT_TRUE(FdIsOpen(file));
  EXPECT_EQ(w.free(file).code(), absl::StatusCode::kNotFound);  // never registered
  close(file);

  int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  EXPECT_EQ(w.read(nullptr, dir, nullptr).code(), absl::StatusCode::kPermissionDenied);
  close(dir);
}

TEST(Watcher, RegistrationSetsNonBlockingAndPipesWork) {
  Watcher w = MakeWatcher();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  GAIO_ASSERT_OK(w.read(Ctx(1), fds[0], nullptr));
  EXPECT_NE(fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
  GAIO_ASSERT_OK(w.write(Ctx(2), fds[1], absl::string_view("through a pipe")));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  for (const Completion& x : c) {
    GAIO_EXPECT_OK(x.status);
    if (x.op == OpType::kRead) {
      EXPECT_EQ(x.data, "through a pipe");
    } else {
      EXPECT_EQ(x.size, 14u);
    }
  }
}

TEST(Watcher, WriteToClosedPeerFailsWithoutSigpipe) {
  // Default SIGPIPE disposition: a raised SIGPIPE would kill the test.
  signal(SIGPIPE, SIG_DFL);
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  close(p->peer);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  GAIO_ASSERT_OK(w.write(Ctx(1), p->watched, absl::string_view("doomed")));
  GAIO_ASSERT_OK(w.write(Ctx(2), fds[1], absl::string_view("doomed too")));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  for (const Completion& x : c) {
    EXPECT_EQ(x.status.code(), absl::ErrnoToStatus(EPIPE, "").code()) << x.status;
    EXPECT_NE(x.status.message().find("write"), absl::string_view::npos);
    EXPECT_EQ(x.size, 0u);
  }
}

TEST(Watcher, FreeCancelsPendingInOrderAndClosesFd) {
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  char bufs[3][8];
  for (int i = 0; i < 3; ++i) GAIO_ASSERT_OK(w.read(Ctx(i), p->watched, absl::MakeSpan(bufs[i])));
  GAIO_ASSERT_OK(w.free(p->watched));
  EXPECT_FALSE(FdIsOpen(p->watched));
  std::vector<Completion> c = Collect(w, 3);
  ASSERT_EQ(c.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].ctx, Ctx(i));
    EXPECT_TRUE(absl::IsCancelled(c[i].status)) << c[i].status;
  }
  // Exactly once: nothing more arrives.
  EXPECT_TRUE(Collect(w, 1, absl::Milliseconds(50)).empty());
  // The fd is gone: free again is NotFound, read is refused (fd not open).
  EXPECT_EQ(w.free(p->watched).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(w.read(nullptr, p->watched, nullptr).code(), absl::StatusCode::kInvalidArgument);
  close(p->peer);
}

TEST(Watcher, FreeOfUnknownFdIsNotFoundAndTouchesNothing) {
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(w.free(p->watched).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(w.free(-1).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(FdIsOpen(p->watched));
  EXPECT_EQ(fcntl(p->watched, F_GETFL) & O_NONBLOCK, 0);
  close(p->watched);
  close(p->peer);
}

TEST(Watcher, CloseDeliversCompletedThenCancelledThenFailedPrecondition) {
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.write(Ctx(100), p->watched, absl::string_view("done before close")));
  // Make sure the write completed before close: the peer has the bytes.
  ASSERT_TRUE(ReadExactly(p->peer, 17).ok());
  for (int i = 0; i < 4; ++i) GAIO_ASSERT_OK(w.read(Ctx(i), p->watched, nullptr));
  GAIO_ASSERT_OK(w.close());
  EXPECT_FALSE(FdIsOpen(p->watched));
  std::vector<Completion> c = Collect(w, 5);
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].ctx, Ctx(100));
  GAIO_EXPECT_OK(c[0].status);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c[i + 1].ctx, Ctx(i));
    EXPECT_TRUE(absl::IsCancelled(c[i + 1].status));
  }
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<absl::Span<const OpResult>> after = w.wait_io();
    EXPECT_EQ(after.status().code(), absl::StatusCode::kFailedPrecondition);
  }
  close(p->peer);
}

TEST(Watcher, CloseIsIdempotentAndRefusesLaterCalls) {
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.close());
  GAIO_ASSERT_OK(w.close());
  EXPECT_EQ(w.read(nullptr, p->watched, nullptr).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.write(nullptr, p->watched, absl::string_view("x")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.free(p->watched).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.wait_io().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.poll_io().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(FdIsOpen(p->watched));  // never registered, so never closed
  close(p->watched);
  close(p->peer);
}

TEST(Watcher, CloseFromAnotherThreadWakesWaitIo) {
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.read(Ctx(7), p->watched, nullptr));
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_TRUE(w.close().ok());
  });
  absl::Status error;
  std::vector<Completion> c = Collect(w, 2, testing::kPatience, &error);
  closer.join();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ctx, Ctx(7));
  EXPECT_TRUE(absl::IsCancelled(c[0].status));
  EXPECT_EQ(error.code(), absl::StatusCode::kFailedPrecondition);
  close(p->peer);
}

TEST(Watcher, DestructorClosesOwnedFds) {
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  {
    Watcher w = MakeWatcher();
    GAIO_ASSERT_OK(w.read(nullptr, p->watched, nullptr));
  }
  EXPECT_FALSE(FdIsOpen(p->watched));
  char c;
  EXPECT_EQ(read(p->peer, &c, 1), 0);  // the peer sees EOF
  close(p->peer);
}

TEST(Watcher, ConcurrentWaitIoIsRefused) {
  Watcher w = MakeWatcher();
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.read(Ctx(1), p->watched, nullptr));
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    // Waits for its one completion. The main thread's poll_io() calls below
    // can be inside at the moment this one starts, and then this call is
    // the refused one: that must be FailedPrecondition too, and it retries.
    size_t got = 0;
    const absl::Time give_up = absl::Now() + testing::kPatience;
    while (got == 0 && absl::Now() < give_up) {
      absl::StatusOr<absl::Span<const OpResult>> r = w.wait_io(absl::Milliseconds(100));
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
        absl::SleepFor(absl::Milliseconds(1));
        continue;
      }
      for (const OpResult& op : *r) {
        EXPECT_EQ(op.ctx, Ctx(1));
        EXPECT_EQ(absl::string_view(op.buffer.data(), op.size), "wake");
      }
      got += r->size();
    }
    EXPECT_EQ(got, 1u);
    done = true;
  });
  // Poll (never blocking) until the waiter is seen inside wait_io().
  bool refused = false;
  const absl::Time give_up = absl::Now() + testing::kPatience;
  while (!refused && absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const OpResult>> r = w.poll_io();
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
      refused = true;
    } else {
      ASSERT_TRUE(r->empty());  // nothing can have completed yet
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  EXPECT_TRUE(refused);
  GAIO_ASSERT_OK(WriteAll(p->peer, "wake"));
  waiter.join();
  EXPECT_TRUE(done);
  close(p->peer);
}

TEST(Watcher, MovedFromHandleIsRefused) {
  Watcher a = MakeWatcher();
  Watcher b = std::move(a);
  // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from handle is what is tested
  EXPECT_EQ(a.read(nullptr, 0, nullptr).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.wait_io().status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(b.write(Ctx(3), p->watched, absl::string_view("moved")));
  EXPECT_EQ(Collect(b, 1).size(), 1u);
  close(p->peer);
}

TEST(Watcher, WaitIoWithTimeoutAndPollIoReturnEmptyBatches) {
  Watcher w = MakeWatcher();
  absl::StatusOr<absl::Span<const OpResult>> r = w.poll_io();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  const absl::Time start = absl::Now();
  r = w.wait_io(absl::Milliseconds(30));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
}

}  // namespace
}  // namespace gaio
