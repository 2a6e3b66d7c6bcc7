// Poller conformance: the contract of poller/poller.h, which every backend
// (epoll, kqueue) must meet. Backend-neutral: it uses only the interface.
#include "poller/poller.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace gaio::internal {
namespace {

struct Pair {
  int a, b;
};

Pair NonBlockingPair() {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  return {sv[0], sv[1]};
}

std::unique_ptr<Poller> MakePoller() {
  absl::StatusOr<std::unique_ptr<Poller>> p = Poller::Create();
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

// Waits (bounded) until an event for `fd` with all of `flags` arrives.
bool WaitFor(Poller& poller, int fd, uint32_t flags, absl::Duration patience = absl::Seconds(10)) {
  std::vector<PollEvent> events;
  const absl::Time give_up = absl::Now() + patience;
  while (absl::Now() < give_up) {
    EXPECT_TRUE(poller.Wait(absl::Milliseconds(100), &events).ok());
    for (const PollEvent& e : events) {
      if (e.fd == fd && (e.flags & flags) == flags) return true;
    }
  }
  return false;
}

void Drain(int fd) {
  char buf[4096];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
}

TEST(Poller, ReportsInitialWritability) {
  auto poller = MakePoller();
  Pair p = NonBlockingPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  EXPECT_TRUE(WaitFor(*poller, p.a, kPollWritable));
  close(p.a);
  close(p.b);
}

TEST(Poller, ReportsReadabilityOncePerEdge) {
  auto poller = MakePoller();
  Pair p = NonBlockingPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  ASSERT_TRUE(WaitFor(*poller, p.a, kPollWritable));
  ASSERT_EQ(write(p.b, "x", 1), 1);
  EXPECT_TRUE(WaitFor(*poller, p.a, kPollReadable));
  // Edge-triggered: without new data, no new readable event, even though the
  // byte is still unread.
  std::vector<PollEvent> events;
  ASSERT_TRUE(poller->Wait(absl::Milliseconds(30), &events).ok());
  for (const PollEvent& e : events) EXPECT_FALSE(e.fd == p.a && (e.flags & kPollReadable));
  // New data makes a new edge.
  ASSERT_EQ(write(p.b, "y", 1), 1);
  EXPECT_TRUE(WaitFor(*poller, p.a, kPollReadable));
  Drain(p.a);
  close(p.a);
  close(p.b);
}

TEST(Poller, ReportsPeerCloseAsReadable) {
  auto poller = MakePoller();
  Pair p = NonBlockingPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  close(p.b);
  EXPECT_TRUE(WaitFor(*poller, p.a, kPollReadable));
  char c;
  EXPECT_EQ(read(p.a, &c, 1), 0);
  close(p.a);
}

TEST(Poller, ReportsPeerShutdownOfWritingAsReadable) {
  auto poller = MakePoller();
  Pair p = NonBlockingPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  ASSERT_TRUE(WaitFor(*poller, p.a, kPollWritable));
  shutdown(p.b, SHUT_WR);
  EXPECT_TRUE(WaitFor(*poller, p.a, kPollReadable));
  close(p.a);
  close(p.b);
}

// A peer that closes with data unread resets the connection: an error is
// pending on the socket, and the next read through the poller reports it,
// whether the backend left it pending (epoll) or had to take it to report
// the event (libkqueue), never EOF in its place.
TEST(Poller, ResetErrorReachesTheNextRead) {
  auto poller = MakePoller();
  Pair p = NonBlockingPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  ASSERT_TRUE(WaitFor(*poller, p.a, kPollWritable));
  ASSERT_EQ(write(p.a, "unread", 6), 6);
  close(p.b);
  std::vector<PollEvent> events;
  bool error_seen = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!error_seen && absl::Now() < give_up) {
    ASSERT_TRUE(poller->Wait(absl::Milliseconds(100), &events).ok());
    for (const PollEvent& e : events) {
      if (e.fd == p.a) error_seen |= (e.flags & kPollError) != 0;
    }
  }
  ASSERT_TRUE(error_seen);
  char buf[16];
  const IoResult io = poller->Read(p.a, /*unix_stream=*/false, buf, sizeof(buf));
  EXPECT_EQ(io.n, -1);
  EXPECT_EQ(io.err, ECONNRESET);
  close(p.a);
}

TEST(Poller, TimeoutReturnsNoEventsAndNotEarly) {
  auto poller = MakePoller();
  std::vector<PollEvent> events = {{1, 1}};
  const absl::Time start = absl::Now();
  ASSERT_TRUE(poller->Wait(absl::Milliseconds(30), &events).ok());
  EXPECT_TRUE(events.empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(29));
  ASSERT_TRUE(poller->Wait(absl::ZeroDuration(), &events).ok());
  EXPECT_TRUE(events.empty());
}

TEST(Poller, WakeInterruptsAnInfiniteWaitAndIsNotReported) {
  auto poller = MakePoller();
  std::thread waker([&] {
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_TRUE(poller->Wake().ok());
  });
  std::vector<PollEvent> events;
  ASSERT_TRUE(poller->Wait(absl::Seconds(10), &events).ok());
  waker.join();
  EXPECT_TRUE(events.empty());
}

TEST(Poller, WakeBeforeWaitIsNotLostAndCoalesces) {
  auto poller = MakePoller();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(poller->Wake().ok());
  std::vector<PollEvent> events;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(poller->Wait(absl::Seconds(10), &events).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // All 100 wake-ups were one: the next wait times out.
  ASSERT_TRUE(poller->Wait(absl::Milliseconds(20), &events).ok());
  EXPECT_TRUE(events.empty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(Poller, RemoveStopsEvents) {
  auto poller = MakePoller();
  Pair p = NonBlockingPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  ASSERT_TRUE(WaitFor(*poller, p.a, kPollWritable));
  ASSERT_TRUE(poller->Remove(p.a).ok());
  ASSERT_EQ(write(p.b, "x", 1), 1);
  std::vector<PollEvent> events;
  ASSERT_TRUE(poller->Wait(absl::Milliseconds(30), &events).ok());
  for (const PollEvent& e : events) EXPECT_NE(e.fd, p.a);
  close(p.a);
  close(p.b);
}

TEST(Poller, RefusesRegularFilesAndReportsErrnoStatuses) {
  auto poller = MakePoller();
  char path[] = "/tmp/gaio_poller_XXXXXX";
  int file = mkstemp(path);
  ASSERT_GE(file, 0);
  unlink(path);
  EXPECT_EQ(poller->Add(file).code(), absl::StatusCode::kPermissionDenied);
  close(file);

  Pair p = NonBlockingPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  EXPECT_EQ(poller->Add(p.a).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(poller->Remove(p.b).code(), absl::StatusCode::kNotFound);
  close(p.a);
  close(p.b);
}

TEST(Poller, ListsItsInternalFdsOnly) {
  auto poller = MakePoller();
  Pair p = NonBlockingPair();
  const std::vector<int> own = poller->OwnFds();
  ASSERT_GE(own.size(), 1u);
  for (int fd : own) {
    EXPECT_GE(fcntl(fd, F_GETFD), 0) << "fd " << fd << " is not open";
    EXPECT_NE(fd, p.a);
    EXPECT_NE(fd, p.b);
  }
  close(p.a);
  close(p.b);
}

TEST(Poller, ManyFdsInOneWait) {
  auto poller = MakePoller();
  std::vector<Pair> pairs;
  for (int i = 0; i < 300; ++i) {
    pairs.push_back(NonBlockingPair());
    ASSERT_TRUE(poller->Add(pairs.back().a).ok());
  }
  std::vector<PollEvent> events;
  ASSERT_TRUE(poller->Wait(absl::Seconds(1), &events).ok());  // initial writability
  for (Pair& p : pairs) ASSERT_EQ(write(p.b, "z", 1), 1);
  std::vector<bool> seen(pairs.size(), false);
  size_t count = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (count < pairs.size() && absl::Now() < give_up) {
    ASSERT_TRUE(poller->Wait(absl::Milliseconds(100), &events).ok());
    for (const PollEvent& e : events) {
      for (size_t i = 0; i < pairs.size(); ++i) {
        if (pairs[i].a == e.fd && (e.flags & kPollReadable) && !seen[i]) {
          seen[i] = true;
          ++count;
        }
      }
    }
  }
  EXPECT_EQ(count, pairs.size());
  for (Pair& p : pairs) {
    close(p.a);
    close(p.b);
  }
}

}  // namespace
}  // namespace gaio::internal
