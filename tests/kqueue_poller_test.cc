// Cases specific to the kqueue backend (poller/kqueue_poller.cc), beyond the
// backend-neutral contract of poller_test.cc: EV_EOF and its error as hang-up
// and error flags, the socket error libkqueue takes (kept for the next
// Poller::Read/Write, never given to a later registration of the fd number),
// urgent data without EV_OOBAND, the EVFILT_USER wake-up (no wake fd), the
// bookkeeping that gives kqueue epoll's EEXIST/ENOENT/EPERM answers, and
// batches larger than one kevent() call. It runs where the build picks that backend: natively on
// BSD/macOS, and on Linux through libkqueue with --config=kqueue
// (docs/KQUEUE.md). With the epoll backend it is one skipped test.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef GAIO_KQUEUE_BACKEND
#include <dlfcn.h>
#include <sys/event.h>  // defines LIBKQUEUE when that is the kqueue
#include <sys/ioctl.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "poller/poller.h"

#ifdef LIBKQUEUE
// kevent(2) as the backend sees it in this test binary: the real one, plus a
// hook for StaleResetDoesNotReachTheNextRegistration. When armed, the first
// call that collects events (no changelist) and returns one that `match`
// accepts disarms the hook and runs `after_fetch` in the caller's thread
// before returning: between kevent() and Poller::Wait()'s handling of the
// events, where another thread's free() and Add() can fall. (libkqueue
// resolves to this definition: the poller library calls kevent() through
// the dynamic linker, and the executable's symbol comes first.)
namespace kevent_hook {
std::atomic<bool> armed{false};
std::function<bool(const struct kevent&)> match;
std::function<void()> after_fetch;
}  // namespace kevent_hook

extern "C" int kevent(int kq, const struct kevent* changelist, int nchanges,
                      struct kevent* eventlist, int nevents, const struct timespec* timeout) {
  using KeventFn = int (*)(int, const struct kevent*, int, struct kevent*, int,
                           const struct timespec*);
  static const auto real = reinterpret_cast<KeventFn>(dlsym(RTLD_NEXT, "kevent"));
  const int n = real(kq, changelist, nchanges, eventlist, nevents, timeout);
  if (n > 0 && nchanges == 0 && kevent_hook::armed.load()) {
    for (int i = 0; i < n; ++i) {
      if (kevent_hook::match(eventlist[i])) {
        kevent_hook::armed.store(false);
        kevent_hook::after_fetch();
        break;
      }
    }
  }
  return n;
}
#endif  // LIBKQUEUE

namespace gaio::internal {
namespace {

#ifndef GAIO_KQUEUE_BACKEND

TEST(KqueuePoller, NotTheBackendOfThisBuild) {
  GTEST_SKIP() << "this build uses the epoll backend; see docs/KQUEUE.md";
}

#else

struct Pair {
  int a, b;
};

Pair UnixPair() {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  for (int fd : sv) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return {sv[0], sv[1]};
}

// A connected loopback TCP pair (a: accepted side, b: client side).
Pair TcpPair() {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(lfd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(listen(lfd, 1), 0);
  EXPECT_EQ(getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int b = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(connect(b, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  int a = accept(lfd, nullptr, nullptr);
  EXPECT_GE(a, 0);
  close(lfd);
  fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
  return {a, b};
}

std::unique_ptr<Poller> MakePoller() {
  absl::StatusOr<std::unique_ptr<Poller>> p = Poller::Create();
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

// The union of the flags reported for `fd` until all of `flags` are seen or
// `patience` runs out.
uint32_t FlagsFor(Poller& poller, int fd, uint32_t flags,
                  absl::Duration patience = absl::Seconds(10)) {
  uint32_t seen = 0;
  std::vector<PollEvent> events;
  const absl::Time give_up = absl::Now() + patience;
  while ((seen & flags) != flags && absl::Now() < give_up) {
    EXPECT_TRUE(poller.Wait(absl::Milliseconds(100), &events).ok());
    for (const PollEvent& e : events) {
      if (e.fd == fd) seen |= e.flags;
    }
  }
  return seen;
}

TEST(KqueuePoller, PeerCloseIsReadableAndAHangUp) {
  auto poller = MakePoller();
  Pair p = UnixPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  close(p.b);
  const uint32_t seen = FlagsFor(*poller, p.a, kPollReadable | kPollHangup);
  EXPECT_EQ(seen & (kPollReadable | kPollHangup), kPollReadable | kPollHangup);
  EXPECT_EQ(seen & kPollError, 0u);  // an orderly close carries no error
  close(p.a);
}

// Data and the peer's shutdown arriving together make one edge. It must say
// hang-up: a reader that stops at a short read waits for no further edge.
// (libkqueue drops EPOLLRDHUP unless the read filter is added last.)
TEST(KqueuePoller, DataAndShutdownInOneEdgeStillSayHangUp) {
  auto poller = MakePoller();
  Pair p = UnixPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  ASSERT_EQ(FlagsFor(*poller, p.a, kPollWritable) & kPollWritable, kPollWritable);
  ASSERT_EQ(write(p.b, "partial", 7), 7);
  ASSERT_EQ(shutdown(p.b, SHUT_WR), 0);
  const uint32_t seen = FlagsFor(*poller, p.a, kPollReadable | kPollHangup);
  EXPECT_EQ(seen & (kPollReadable | kPollHangup), kPollReadable | kPollHangup);
  close(p.a);
  close(p.b);
}

TEST(KqueuePoller, ConnectionResetIsAnError) {
  auto poller = MakePoller();
  Pair p = TcpPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  ASSERT_EQ(FlagsFor(*poller, p.a, kPollWritable) & kPollWritable, kPollWritable);
  linger l{1, 0};  // close with a reset
  ASSERT_EQ(setsockopt(p.b, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
  close(p.b);
  const uint32_t seen = FlagsFor(*poller, p.a, kPollHangup | kPollError);
  EXPECT_EQ(seen & (kPollHangup | kPollError), kPollHangup | kPollError);
#ifdef LIBKQUEUE
  // libkqueue read SO_ERROR to fill the event's fflags, and so cleared it:
  // the socket alone would now say EOF. The backend kept the error.
  int pending = -1;
  socklen_t len = sizeof(pending);
  ASSERT_EQ(getsockopt(p.a, SOL_SOCKET, SO_ERROR, &pending, &len), 0);
  EXPECT_EQ(pending, 0);
#endif
  // Either way the next read through the poller reports the reset, once.
  // (Natively the error is still pending on the socket; reading SO_ERROR
  // above would have cleared it, hence the #ifdef.)
  char buf[16];
  IoResult io = poller->Read(p.a, /*unix_stream=*/false, buf, sizeof(buf));
  EXPECT_EQ(io.n, -1);
  EXPECT_EQ(io.err, ECONNRESET);
  io = poller->Read(p.a, /*unix_stream=*/false, buf, sizeof(buf));
  EXPECT_EQ(io.n, 0) << "errno " << io.err;  // then EOF
  close(p.a);
}

// On TCP the reset is due at the next write too (before EPIPE), and a read
// after it sees plain EOF: the error is reported once.
TEST(KqueuePoller, ConnectionResetReachesTheNextWrite) {
  auto poller = MakePoller();
  Pair p = TcpPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  ASSERT_EQ(FlagsFor(*poller, p.a, kPollWritable) & kPollWritable, kPollWritable);
  linger l{1, 0};
  ASSERT_EQ(setsockopt(p.b, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
  close(p.b);
  ASSERT_EQ(FlagsFor(*poller, p.a, kPollError) & kPollError, kPollError);
  IoResult io = poller->Write(p.a, /*is_socket=*/true, "x", 1);
  EXPECT_EQ(io.n, -1);
  EXPECT_EQ(io.err, ECONNRESET);
  char buf[16];
  io = poller->Read(p.a, /*unix_stream=*/false, buf, sizeof(buf));
  EXPECT_EQ(io.n, 0) << "errno " << io.err;
  close(p.a);
}

// Issue 11: an event fetched by kevent() before the fd was removed, closed,
// and its number reused by a new registration, and handled by Wait() only
// after that, must not leave the old socket's taken error on the new one.
// libkqueue itself delivers nothing for a deleted knote (EV_DELETE removes
// the epoll registration, and an event whose knote went between epoll_wait()
// and the copy-out is dropped), so a Wait() called after the re-add sees no
// stale event; the window is between kevent() returning and Wait() looking
// at the events. The kevent() hook above opens it deterministically: it
// does the free() and the new Add() right there.
TEST(KqueuePoller, StaleResetDoesNotReachTheNextRegistration) {
#ifndef LIBKQUEUE
  GTEST_SKIP() << "a native kqueue takes no socket error: the backend records none";
#else
  auto poller = MakePoller();
  Pair old_pair = TcpPair();
  const int fd = old_pair.a;
  ASSERT_TRUE(poller->Add(fd).ok());
  ASSERT_EQ(FlagsFor(*poller, fd, kPollWritable) & kPollWritable, kPollWritable);
  Pair fresh = TcpPair();  // the connection that will get fd's number

  bool reused = false;
  kevent_hook::match = [fd](const struct kevent& ev) {
    return ev.ident == static_cast<uintptr_t>(fd) && (ev.flags & EV_EOF) &&
           ev.fflags == ECONNRESET;
  };
  kevent_hook::after_fetch = [&] {
    EXPECT_TRUE(poller->Remove(fd).ok());
    close(fd);
    EXPECT_EQ(dup2(fresh.a, fd), fd);  // the lowest free number, as socket() would give
    close(fresh.a);
    EXPECT_TRUE(poller->Add(fd).ok());
    reused = true;
  };
  kevent_hook::armed.store(true);
  linger l{1, 0};  // the old connection is reset
  ASSERT_EQ(setsockopt(old_pair.b, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
  close(old_pair.b);
  std::vector<PollEvent> events;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!reused && absl::Now() < give_up) {
    ASSERT_TRUE(poller->Wait(absl::Milliseconds(100), &events).ok());
  }
  kevent_hook::armed.store(false);
  ASSERT_TRUE(reused) << "no kevent() call returned the reset";

  // The new connection ends cleanly: its data, then EOF, never the old
  // connection's ECONNRESET.
  ASSERT_EQ(send(fresh.b, "new", 3, 0), 3);
  ASSERT_EQ(shutdown(fresh.b, SHUT_WR), 0);
  ASSERT_EQ(FlagsFor(*poller, fd, kPollReadable | kPollHangup) & kPollHangup, kPollHangup);
  char buf[16];
  IoResult io = poller->Read(fd, /*unix_stream=*/false, buf, sizeof(buf));
  ASSERT_EQ(io.n, 3) << "errno " << io.err;
  EXPECT_EQ(std::string(buf, 3), "new");
  io = poller->Read(fd, /*unix_stream=*/false, buf, sizeof(buf));
  EXPECT_EQ(io.n, 0) << "errno " << io.err;
  io = poller->Write(fd, /*is_socket=*/true, "x", 1);
  EXPECT_EQ(io.n, 1) << "errno " << io.err;
  EXPECT_TRUE(poller->Remove(fd).ok());
  close(fd);
  close(fresh.b);
#endif
}

// A TCP read stops short at the urgent mark, with the bytes behind it queued
// and no new edge to announce them. The backend reports urgent data
// (kPollUrgent, as epoll's EPOLLPRI) so that the watcher reads on: from
// EV_OOBAND on macOS, elsewhere once a read stopped at the mark.
TEST(KqueuePoller, ReadStoppedAtTheUrgentMarkIsReportedUrgent) {
  auto poller = MakePoller();
  Pair p = TcpPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  ASSERT_EQ(FlagsFor(*poller, p.a, kPollWritable) & kPollWritable, kPollWritable);
  ASSERT_EQ(send(p.b, "abc", 3, 0), 3);
  ASSERT_EQ(send(p.b, "X", 1, MSG_OOB), 1);  // the mark
  ASSERT_EQ(send(p.b, "def", 3, 0), 3);
#ifdef TIOCOUTQ
  // All acknowledged, so all queued on p.a.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  for (int out = 1; out != 0 && absl::Now() < give_up;) {
    ASSERT_EQ(ioctl(p.b, TIOCOUTQ, &out), 0);
    if (out != 0) absl::SleepFor(absl::Milliseconds(1));
  }
#else
  absl::SleepFor(absl::Milliseconds(100));
#endif
  // Take every edge there is before reading.
  uint32_t seen = FlagsFor(*poller, p.a, kPollReadable | kPollUrgent, absl::Milliseconds(200));
  ASSERT_TRUE(seen & kPollReadable);
  char buf[64];
  IoResult io = poller->Read(p.a, /*unix_stream=*/false, buf, sizeof(buf));
  ASSERT_EQ(io.n, 3) << "errno " << io.err;
  EXPECT_EQ(std::string(buf, 3), "abc");
  seen |= FlagsFor(*poller, p.a, kPollReadable | kPollUrgent);
  EXPECT_EQ(seen & (kPollReadable | kPollUrgent), kPollReadable | kPollUrgent);
  io = poller->Read(p.a, /*unix_stream=*/false, buf, sizeof(buf));
  ASSERT_EQ(io.n, 3) << "errno " << io.err;
  EXPECT_EQ(std::string(buf, 3), "def");
  // Past the mark, a short read is just a short read: no urgent edge.
  ASSERT_EQ(send(p.b, "ghi", 3, 0), 3);
  ASSERT_EQ(FlagsFor(*poller, p.a, kPollReadable) & kPollUrgent, 0u);
  io = poller->Read(p.a, /*unix_stream=*/false, buf, sizeof(buf));
  ASSERT_EQ(io.n, 3) << "errno " << io.err;
  std::vector<PollEvent> events;
  ASSERT_TRUE(poller->Wait(absl::Milliseconds(30), &events).ok());
  for (const PollEvent& e : events) EXPECT_FALSE(e.fd == p.a && (e.flags & kPollUrgent));
  close(p.a);
  close(p.b);
}

// A pipe's read end whose writer is gone still registers (FreeBSD refuses
// EVFILT_WRITE there) and delivers its data and EOF.
TEST(KqueuePoller, PipeWithClosedWriterStillDeliversItsData) {
  auto poller = MakePoller();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  close(fds[1]);
  ASSERT_TRUE(poller->Add(fds[0]).ok());
  EXPECT_EQ(FlagsFor(*poller, fds[0], kPollReadable) & kPollReadable, kPollReadable);
  EXPECT_TRUE(poller->Remove(fds[0]).ok());
  close(fds[0]);
}

// The wake-up is an EVFILT_USER event: the kqueue is the only fd the Poller
// owns, and a Wake() is reported through `woken`, never as an fd event.
TEST(KqueuePoller, WakesThroughAUserEventWithoutAFd) {
  auto poller = MakePoller();
  const std::vector<int> own = poller->OwnFds();
  ASSERT_EQ(own.size(), 1u);
  EXPECT_GE(fcntl(own[0], F_GETFD), 0) << "the kqueue fd " << own[0] << " is not open";
  std::vector<PollEvent> events;
  bool woken = true;
  ASSERT_TRUE(poller->Wait(absl::ZeroDuration(), &events, &woken).ok());
  EXPECT_FALSE(woken);
  std::thread waker([&] {
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_TRUE(poller->Wake().ok());
  });
  const absl::Time start = absl::Now();
  ASSERT_TRUE(poller->Wait(absl::InfiniteDuration(), &events, &woken).ok());
  waker.join();
  EXPECT_TRUE(woken);
  EXPECT_TRUE(events.empty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // EV_CLEAR: consumed, so the next wait times out.
  ASSERT_TRUE(poller->Wait(absl::Milliseconds(10), &events, &woken).ok());
  EXPECT_FALSE(woken);
}

// kqueue's EV_ADD would modify an existing registration and accepts files;
// the backend answers like epoll instead, and forgets an fd on Remove().
TEST(KqueuePoller, RegistrationAnswersLikeEpoll) {
  auto poller = MakePoller();
  int dir = open("/", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  EXPECT_EQ(poller->Add(dir).code(), absl::StatusCode::kPermissionDenied);
  close(dir);
  EXPECT_EQ(poller->Add(dir).code(), absl::ErrnoToStatus(EBADF, "").code());  // closed
  EXPECT_EQ(poller->Remove(-1).code(), absl::StatusCode::kNotFound);

  Pair p = UnixPair();
  ASSERT_TRUE(poller->Add(p.a).ok());
  EXPECT_EQ(poller->Add(p.a).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(poller->Remove(p.a).ok());
  EXPECT_EQ(poller->Remove(p.a).code(), absl::StatusCode::kNotFound);
  // Registered afresh, with a fresh initial edge.
  ASSERT_TRUE(poller->Add(p.a).ok());
  EXPECT_EQ(FlagsFor(*poller, p.a, kPollWritable) & kPollWritable, kPollWritable);
  // A peer that is gone leaves the fd removable.
  close(p.b);
  EXPECT_EQ(FlagsFor(*poller, p.a, kPollHangup) & kPollHangup, kPollHangup);
  EXPECT_TRUE(poller->Remove(p.a).ok());
  close(p.a);
}

// Far more ready fds than one kevent() call returns, each ready both ways:
// every one is reported within a few waits, none is lost between batches.
TEST(KqueuePoller, ManyBatchesLoseNoEdge) {
  auto poller = MakePoller();
  constexpr int kPairs = 900;
  std::vector<Pair> pairs;
  int max_fd = 0;
  for (int i = 0; i < kPairs; ++i) {
    pairs.push_back(UnixPair());
    ASSERT_TRUE(poller->Add(pairs.back().a).ok());
    max_fd = std::max({max_fd, pairs.back().a, pairs.back().b});
  }
  std::vector<int> index(static_cast<size_t>(max_fd) + 1, -1);
  for (int i = 0; i < kPairs; ++i) index[static_cast<size_t>(pairs[i].a)] = i;
  // Every fd reports its initial writability, across several batches.
  std::vector<bool> writable(kPairs, false), readable(kPairs, false);
  int count = 0;
  std::vector<PollEvent> events;
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (count < kPairs && absl::Now() < give_up) {
    ASSERT_TRUE(poller->Wait(absl::Milliseconds(100), &events).ok());
    for (const PollEvent& e : events) {
      const int i = index[static_cast<size_t>(e.fd)];
      ASSERT_GE(i, 0) << "event for an fd never added: " << e.fd;
      if ((e.flags & kPollWritable) && !writable[i]) {
        writable[i] = true;
        ++count;
      }
    }
  }
  EXPECT_EQ(count, kPairs);
  for (Pair& p : pairs) ASSERT_EQ(write(p.b, "z", 1), 1);
  count = 0;
  give_up = absl::Now() + absl::Seconds(10);
  while (count < kPairs && absl::Now() < give_up) {
    ASSERT_TRUE(poller->Wait(absl::Milliseconds(100), &events).ok());
    for (const PollEvent& e : events) {
      const int i = index[static_cast<size_t>(e.fd)];
      if ((e.flags & kPollReadable) && !readable[i]) {
        readable[i] = true;
        ++count;
      }
    }
  }
  EXPECT_EQ(count, kPairs);
  for (Pair& p : pairs) {
    close(p.a);
    close(p.b);
  }
}

// Sub-millisecond timeouts are not rounded down (libkqueue switches to a
// nanosecond wait for them).
TEST(KqueuePoller, ShortTimeoutsAreNotEarly) {
  auto poller = MakePoller();
  std::vector<PollEvent> events;
  for (absl::Duration d : {absl::Microseconds(1500), absl::Microseconds(300)}) {
    const absl::Time start = absl::Now();
    ASSERT_TRUE(poller->Wait(d, &events).ok());
    EXPECT_TRUE(events.empty());
    EXPECT_GE(absl::Now() - start, d);
  }
}

#endif  // GAIO_KQUEUE_BACKEND

}  // namespace
}  // namespace gaio::internal
