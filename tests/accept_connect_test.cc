// accept() and connect() through the Watcher, in every engine mode: order of
// queued accepts, the accepted fd's flags and ownership, accept at the fd
// limit without spinning, connect success, refusal, deadline against a full
// backlog, requests queued behind a connect, and a connect ended by
// cancel/free/close.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
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
using ::gaio::testing::FdIsOpen;
using ::gaio::testing::kAllModes;
using ::gaio::testing::MakeWatcher;
using ::gaio::testing::ModeName;
using ::gaio::testing::ReadExactly;
using ::gaio::testing::WriteAll;

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }

// A listening TCP socket on 127.0.0.1 (blocking) and its address.
struct Listener {
  int fd = -1;
  sockaddr_in addr{};
};

Listener Listen(int backlog = 64) {
  Listener l;
  l.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  l.addr.sin_family = AF_INET;
  l.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(l.addr);
  EXPECT_EQ(bind(l.fd, reinterpret_cast<sockaddr*>(&l.addr), sizeof(l.addr)), 0);
  EXPECT_EQ(listen(l.fd, backlog), 0);
  EXPECT_EQ(getsockname(l.fd, reinterpret_cast<sockaddr*>(&l.addr), &len), 0);
  return l;
}

const sockaddr* Addr(const Listener& l) { return reinterpret_cast<const sockaddr*>(&l.addr); }

// A blocking client connected to `l`.
int Dial(const Listener& l) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(connect(fd, Addr(l), sizeof(l.addr)), 0) << strerror(errno);
  return fd;
}

// Fills the accept queue of `l` (made with backlog 0): a further SYN is
// dropped, so a connect to it stays under way. The fillers, to close.
std::vector<int> FillBacklog(const Listener& l) {
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int f = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    (void)connect(f, Addr(l), sizeof(l.addr));  // EINPROGRESS or done; fills the queue
    fillers.push_back(f);
  }
  absl::SleepFor(absl::Milliseconds(50));
  return fillers;
}

class AcceptConnect : public ::testing::TestWithParam<int> {};

TEST_P(AcceptConnect, QueuedAcceptsCompleteInOrderWithUnownedNonBlockingFds) {
  Watcher w = MakeWatcher(GetParam());
  Listener l = Listen();
  for (int i = 1; i <= 3; ++i) GAIO_ASSERT_OK(w.accept(Ctx(i), l.fd));
  std::vector<int> clients;
  for (int i = 1; i <= 3; ++i) {
    clients.push_back(Dial(l));
    GAIO_ASSERT_OK(WriteAll(clients.back(), std::string(1, static_cast<char>('0' + i))));
  }
  std::vector<Completion> c = Collect(w, 3);
  ASSERT_EQ(c.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c[i].op, OpType::kAccept);
    EXPECT_EQ(c[i].ctx, Ctx(i + 1));
    EXPECT_EQ(c[i].fd, l.fd);
    ASSERT_TRUE(c[i].status.ok()) << c[i].status;
  }
  // accepted_fd is not in Completion: take it from a fresh batch instead.
  GAIO_ASSERT_OK(w.accept(Ctx(9), l.fd));
  const int extra = Dial(l);
  absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(testing::kPatience);
  ASSERT_TRUE(batch.ok() && batch->size() == 1u);
  const int accepted = (*batch)[0].accepted_fd;
  ASSERT_GE(accepted, 0);
  EXPECT_NE(fcntl(accepted, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(fcntl(accepted, F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(w.free(accepted).code(), absl::StatusCode::kNotFound) << "must not be owned yet";
  // Usable through the Watcher, which owns it from the first request on.
  GAIO_ASSERT_OK(WriteAll(extra, "x"));
  GAIO_ASSERT_OK(w.read(Ctx(10), accepted, nullptr));
  std::vector<Completion> r = Collect(w, 1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].data, "x");
  GAIO_EXPECT_OK(w.free(accepted));
  for (int fd : clients) close(fd);
  close(extra);
}

TEST_P(AcceptConnect, AcceptedConnectionsMatchTheirClientsInOrder) {
  Watcher w = MakeWatcher(GetParam());
  Listener l = Listen();
  std::vector<int> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(Dial(l));
    GAIO_ASSERT_OK(WriteAll(clients.back(), std::string(1, static_cast<char>('a' + i))));
  }
  for (int i = 0; i < 5; ++i) GAIO_ASSERT_OK(w.accept(Ctx(i), l.fd));
  std::vector<int> accepted;
  while (accepted.size() < 5) {
    absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(testing::kPatience);
    ASSERT_TRUE(batch.ok() && !batch->empty());
    for (const OpResult& r : *batch) {
      ASSERT_EQ(r.ctx, Ctx(static_cast<intptr_t>(accepted.size())));
      ASSERT_TRUE(r.status.ok()) << r.status;
      accepted.push_back(r.accepted_fd);
    }
  }
  char buf[5][1];
  for (int i = 0; i < 5; ++i) GAIO_ASSERT_OK(w.read(Ctx(100 + i), accepted[i], absl::MakeSpan(buf[i])));
  std::vector<Completion> c = Collect(w, 5);
  ASSERT_EQ(c.size(), 5u);
  for (const Completion& x : c) {
    const int i = static_cast<int>(reinterpret_cast<intptr_t>(x.ctx) - 100);
    EXPECT_EQ(x.data, std::string(1, static_cast<char>('a' + i))) << "accept " << i;
  }
  for (int fd : clients) close(fd);
}

TEST_P(AcceptConnect, FreeingTheListenFdCancelsItsAccepts) {
  Watcher w = MakeWatcher(GetParam());
  Listener l = Listen();
  GAIO_ASSERT_OK(w.accept(Ctx(1), l.fd));
  GAIO_ASSERT_OK(w.accept(Ctx(2), l.fd));
  GAIO_ASSERT_OK(w.free(l.fd));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].ctx, Ctx(1));
  EXPECT_EQ(c[1].ctx, Ctx(2));
  EXPECT_TRUE(absl::IsCancelled(c[0].status) && absl::IsCancelled(c[1].status));
  EXPECT_FALSE(FdIsOpen(l.fd));
}

// An accepted fd may go to a second Watcher (one per core).
TEST_P(AcceptConnect, AcceptedFdServesAnotherWatcher) {
  Watcher acceptor = MakeWatcher(GetParam());
  Watcher worker = MakeWatcher(testing::kCallerDriven);
  Listener l = Listen();
  GAIO_ASSERT_OK(acceptor.accept(Ctx(1), l.fd));
  const int client = Dial(l);
  absl::StatusOr<absl::Span<const OpResult>> batch = acceptor.wait_io(testing::kPatience);
  ASSERT_TRUE(batch.ok() && batch->size() == 1u);
  const int fd = (*batch)[0].accepted_fd;
  ASSERT_GE(fd, 0);
  GAIO_ASSERT_OK(WriteAll(client, "hello"));
  GAIO_ASSERT_OK(worker.read(Ctx(2), fd, nullptr));
  std::vector<Completion> c = Collect(worker, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].data, "hello");
  const std::string reply = "world";
  GAIO_ASSERT_OK(worker.write(Ctx(3), fd, reply));
  ASSERT_EQ(Collect(worker, 1).size(), 1u);
  absl::StatusOr<std::string> got = ReadExactly(client, 5);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "world");
  close(client);
}

TEST_P(AcceptConnect, ConnectThenQueuedWriteAndReadRunInOrder) {
  Watcher w = MakeWatcher(GetParam());
  Listener l = Listen();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // blocking, as users make them
  ASSERT_GE(fd, 0);
  GAIO_ASSERT_OK(w.connect(Ctx(1), fd, Addr(l), sizeof(l.addr)));
  const std::string ping = "ping";
  char in[4];
  GAIO_ASSERT_OK(w.write(Ctx(2), fd, ping));  // queued behind the connect
  GAIO_ASSERT_OK(w.read_full(Ctx(3), fd, absl::MakeSpan(in)));
  // The server side in a thread: in caller-driven mode nothing moves unless
  // this thread is inside wait_io().
  std::string got;
  std::thread server_side([&] {
    const int server = accept(l.fd, nullptr, nullptr);
    absl::StatusOr<std::string> r = ReadExactly(server, 4);
    if (r.ok()) got = *r;
    if (!WriteAll(server, "pong").ok()) got += " (pong failed)";
    close(server);
  });
  std::vector<Completion> c = Collect(w, 3);
  server_side.join();
  EXPECT_EQ(got, "ping");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].op, OpType::kConnect);
  EXPECT_TRUE(c[0].status.ok()) << c[0].status;
  EXPECT_EQ(c[0].ctx, Ctx(1));
  // The write and the read each complete after the connect (their relative
  // order is the peer's doing).
  for (int i = 1; i < 3; ++i) {
    EXPECT_TRUE(c[i].status.ok()) << c[i].status;
    if (c[i].ctx == Ctx(3)) {
      EXPECT_EQ(c[i].data, "pong");
    }
  }
}

// A port nobody listens on.
sockaddr_in DeadAddress() {
  Listener l = Listen();
  sockaddr_in a = l.addr;
  close(l.fd);
  return a;
}

TEST_P(AcceptConnect, RefusedConnectFailsItAndWhatWaitsBehindIt) {
  Watcher w = MakeWatcher(GetParam());
  const sockaddr_in dead = DeadAddress();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  GAIO_ASSERT_OK(w.connect(Ctx(1), fd, reinterpret_cast<const sockaddr*>(&dead), sizeof(dead)));
  const std::string data = "lost";
  GAIO_ASSERT_OK(w.write(Ctx(2), fd, data));
  GAIO_ASSERT_OK(w.read(Ctx(3), fd, nullptr));
  std::vector<Completion> c = Collect(w, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].ctx, Ctx(1));
  EXPECT_EQ(ErrnoOf(c[0].status), ECONNREFUSED) << c[0].status;
  EXPECT_TRUE(absl::StrContains(c[0].status.message(), "connect")) << c[0].status;
  // Both with the connect's status. (Reads before writes if both were queued
  // when it failed; one submitted after the failure completes at once.)
  EXPECT_TRUE((c[1].ctx == Ctx(3) && c[2].ctx == Ctx(2)) ||
              (c[1].ctx == Ctx(2) && c[2].ctx == Ctx(3)));
  EXPECT_EQ(c[1].status, c[0].status);
  EXPECT_EQ(c[2].status, c[0].status);
  GAIO_EXPECT_OK(w.free(fd));
}

// A listener whose backlog is full drops the SYN: the connect hangs until
// its deadline, and what was queued behind it goes with it.
TEST_P(AcceptConnect, ConnectDeadlineAgainstAFullBacklog) {
  Watcher w = MakeWatcher(GetParam());
  Listener l = Listen(/*backlog=*/0);
  const std::vector<int> fillers = FillBacklog(l);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const absl::Time start = absl::Now();
  GAIO_ASSERT_OK(w.connect(Ctx(1), fd, Addr(l), sizeof(l.addr), start + absl::Milliseconds(300)));
  const std::string data = "never";
  GAIO_ASSERT_OK(w.write(Ctx(2), fd, data));
  std::vector<Completion> c = Collect(w, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  EXPECT_EQ(c[0].ctx, Ctx(1));
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[1].status)) << c[1].status;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(290));
  GAIO_EXPECT_OK(w.free(fd));
  for (int f : fillers) close(f);
  close(l.fd);
}

// A connect that will not finish (full backlog), ended three ways.
TEST_P(AcceptConnect, PendingConnectEndedByCancelFreeOrClose) {
  for (int how = 0; how < 3; ++how) {
    Watcher w = MakeWatcher(GetParam());
    Listener l = Listen(/*backlog=*/0);
    const std::vector<int> fillers = FillBacklog(l);
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    GAIO_ASSERT_OK(w.connect(Ctx(1), fd, Addr(l), sizeof(l.addr)));
    GAIO_ASSERT_OK(w.read(Ctx(2), fd, nullptr));
    if (how == 0) {
      GAIO_ASSERT_OK(w.cancel(fd, Ctx(1)));
    } else if (how == 1) {
      GAIO_ASSERT_OK(w.free(fd));
    } else {
      GAIO_ASSERT_OK(w.close());
    }
    std::vector<Completion> c = Collect(w, 2);
    ASSERT_EQ(c.size(), 2u) << how;
    EXPECT_EQ(c[0].ctx, Ctx(1)) << how;
    EXPECT_EQ(c[1].ctx, Ctx(2)) << how;
    EXPECT_TRUE(absl::IsCancelled(c[0].status) && absl::IsCancelled(c[1].status)) << how;
    if (how == 0) GAIO_EXPECT_OK(w.free(fd));
    for (int f : fillers) close(f);
    close(l.fd);
  }
}

// Issue 24 (a fuzzer report): a request queued behind a connect, whose own
// deadline was expired by the engine before cancel() of the connect took
// effect, keeps its DeadlineExceeded; one still queued when the cancel takes
// effect ends Cancelled with the connect, even if its deadline has passed
// meanwhile. Caller-driven mode, so that nothing expires a deadline unless
// the test makes it: after(0) expires every due deadline at once.
TEST(AcceptConnectOrder, CancelledConnectTakesWhatIsQueuedNotWhatExpiredBefore) {
  Watcher w = MakeWatcher(testing::kCallerDriven);
  Listener l = Listen(/*backlog=*/0);
  const std::vector<int> fillers = FillBacklog(l);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  GAIO_ASSERT_OK(w.connect(Ctx(1), fd, Addr(l), sizeof(l.addr)));
  char b2[8], b4[8], b5[8];
  GAIO_ASSERT_OK(
      w.read_timeout(Ctx(2), fd, absl::MakeSpan(b2), absl::Now() + absl::Milliseconds(1)));
  absl::SleepFor(absl::Milliseconds(5));
  // Expires #2 (due) and fires the timer: their completions are queued.
  GAIO_ASSERT_OK(w.after(Ctx(9), absl::ZeroDuration()));
  // #4's deadline passes too, but nothing expires it before the cancel.
  GAIO_ASSERT_OK(
      w.read_timeout(Ctx(4), fd, absl::MakeSpan(b4), absl::Now() + absl::Milliseconds(1)));
  const std::string data = "x";
  GAIO_ASSERT_OK(w.write_timeout(Ctx(5), fd, data, absl::InfiniteFuture()));
  GAIO_ASSERT_OK(w.read(Ctx(6), fd, absl::MakeSpan(b5)));
  absl::SleepFor(absl::Milliseconds(5));
  GAIO_ASSERT_OK(w.cancel(fd, Ctx(1)));
  std::vector<Completion> c = Collect(w, 6);
  ASSERT_EQ(c.size(), 6u);
  // Completed before the cancel, in the order they completed.
  EXPECT_EQ(c[0].ctx, Ctx(2));
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  EXPECT_EQ(c[1].ctx, Ctx(9));
  GAIO_EXPECT_OK(c[1].status);
  // The connect, then what was queued behind it: reads then writes.
  EXPECT_EQ(c[2].ctx, Ctx(1));
  EXPECT_EQ(c[3].ctx, Ctx(4));
  EXPECT_EQ(c[4].ctx, Ctx(6));
  EXPECT_EQ(c[5].ctx, Ctx(5));
  for (int i = 2; i < 6; ++i) EXPECT_TRUE(absl::IsCancelled(c[i].status)) << i << c[i].status;
  GAIO_EXPECT_OK(w.free(fd));
  for (int f : fillers) close(f);
  close(l.fd);
}

// Issue 19: an accept that completed but was never delivered owns its
// connection; dropping it (destruction, with or without close() first)
// closes it: the client sees the end, and no fd is left behind.
TEST_P(AcceptConnect, UndeliveredAcceptIsClosedWhenTheWatcherGoes) {
  for (bool close_first : {false, true}) {
    Listener l = Listen();
    const int baseline = testing::FdBaseline();
    const int client = Dial(l);  // queued before the accept: it completes at once
    {
      Watcher w = MakeWatcher(GetParam());
      GAIO_ASSERT_OK(w.accept(Ctx(1), l.fd));
      // Let a poller thread (if any) finish the accept; nobody calls wait_io().
      const absl::Time give_up = absl::Now() + testing::kPatience;
      while (testing::CountOpenFds() < baseline + 2 + testing::ModePollers(GetParam()) &&
             absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(1));
      }
      if (close_first) GAIO_ASSERT_OK(w.close());
    }
    // The server side of the connection was closed: EOF within patience.
    timeval tv{5, 0};  // far more than a close takes
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char byte;
    EXPECT_EQ(recv(client, &byte, 1, 0), 0) << strerror(errno) << " close_first " << close_first;
    close(client);
    // The listener was the Watcher's too (its first request registered it).
    EXPECT_FALSE(FdIsOpen(l.fd));
    EXPECT_EQ(testing::CountOpenFds(), baseline - 1) << "close_first " << close_first;
  }
}

// Issue 19: cancel(fd, ctx) with a connect pending and requests of the same
// ctx behind it: the connect completes first, then the reads, then the
// writes (as free() and close() do).
TEST_P(AcceptConnect, CancelOfAConnectAndItsFollowersCompletesTheConnectFirst) {
  Watcher w = MakeWatcher(GetParam());
  Listener l = Listen(/*backlog=*/0);
  const std::vector<int> fillers = FillBacklog(l);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  GAIO_ASSERT_OK(w.connect(Ctx(1), fd, Addr(l), sizeof(l.addr)));
  const std::string data = "queued";
  GAIO_ASSERT_OK(w.write(Ctx(1), fd, data));
  GAIO_ASSERT_OK(w.read(Ctx(1), fd, nullptr));
  GAIO_ASSERT_OK(w.read(Ctx(2), fd, nullptr));  // another ctx: goes with the connect
  GAIO_ASSERT_OK(w.cancel(fd, Ctx(1)));
  std::vector<Completion> c = Collect(w, 4);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].op, OpType::kConnect);
  EXPECT_EQ(c[1].op, OpType::kRead);
  EXPECT_EQ(c[1].ctx, Ctx(1));
  EXPECT_EQ(c[2].op, OpType::kRead);
  EXPECT_EQ(c[2].ctx, Ctx(2));
  EXPECT_EQ(c[3].op, OpType::kWrite);
  for (const Completion& x : c) EXPECT_TRUE(absl::IsCancelled(x.status)) << x.status;
  GAIO_EXPECT_OK(w.free(fd));
  for (int f : fillers) close(f);
  close(l.fd);
}

TEST_P(AcceptConnect, ConnectRefusesBadArgumentsAndBusyFds) {
  Watcher w = MakeWatcher(GetParam());
  Listener l = Listen();
  EXPECT_EQ(w.connect(Ctx(1), -1, Addr(l), sizeof(l.addr)).code(),
            absl::StatusCode::kInvalidArgument);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(w.connect(Ctx(1), fd, nullptr, 0).code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<testing::FdPair> p = testing::UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w.read(Ctx(2), p->watched, nullptr));
  EXPECT_EQ(w.connect(Ctx(3), p->watched, Addr(l), sizeof(l.addr)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.accept(Ctx(4), -1).code(), absl::StatusCode::kInvalidArgument);
  close(fd);
}

INSTANTIATE_TEST_SUITE_P(AllModes, AcceptConnect, ::testing::ValuesIn(kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return ModeName(info.param);
                         });

// CPU seconds this process has used.
double ProcessCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// Runs `body(mode)` in a child process for each engine mode (the fd limit
// it lowers stays there) and expects each child to exit 0; a body reports a
// failure by exiting with its own code, and ends with _exit(0) itself, so
// that nothing it made is destroyed at the fd limit (under UBSan the
// poller threads' ends report a false vptr error there).
template <typename Body>
void InChildForEachMode(Body body) {
  for (int mode : kAllModes) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      body(mode);
      _exit(0);  // (bodies exit themselves)
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << ModeName(mode) << ": "
        << (WIFEXITED(status) ? absl::StrCat("exit ", WEXITSTATUS(status))
                              : absl::StrCat("signal ", WTERMSIG(status)));
  }
}

// Lowers the fd limit to what the process has open plus one and fills that
// last number with dups of `fd`: returns them (the "holes"), each of which
// makes room for one fd when closed. Exits 2 or 9 if that fails.
std::vector<int> FillFdTable(int fd) {
  rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  int highest = 0;
  for (int f = 0; f < 4096; ++f) {
    if (FdIsOpen(f)) highest = f;
  }
  lim.rlim_cur = static_cast<rlim_t>(highest) + 2;  // room for one more, filled below
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) _exit(2);
  std::vector<int> holes;
  for (int f; (f = dup(fd)) >= 0;) holes.push_back(f);
  if (errno != EMFILE || holes.empty()) _exit(9);
  return holes;
}

// At the fd limit an accept completes with ResourceExhausted, the
// connection stays queued, and no thread spins on the still-readable
// listener (the classic accept-EMFILE busy loop). In a child process, whose
// fd limit is lowered to what it has open.
TEST(AcceptAtFdLimit, CompletesWithResourceExhaustedWithoutSpinning) {
  InChildForEachMode([](int mode) {
    Watcher w = MakeWatcher(mode);
    Listener l = Listen();
    std::vector<int> clients;
    for (int i = 0; i < 3; ++i) clients.push_back(Dial(l));  // before the limit
    std::vector<int> holes = FillFdTable(l.fd);              // every fd number used
    if (w.accept(Ctx(1), l.fd).ok() == false) _exit(3);
    std::vector<Completion> c = Collect(w, 1);
    if (c.size() != 1 || !absl::IsResourceExhausted(c[0].status) ||
        ErrnoOf(c[0].status) != EMFILE) {
      std::fprintf(stderr, "accept at the limit: %s\n",
                   c.empty() ? "nothing" : c[0].status.ToString().c_str());
      _exit(4);
    }
    // Nothing pending now; more connections arrive on the readable
    // listener. 300 ms of that must cost next to no CPU.
    const double cpu0 = ProcessCpuSeconds();
    const absl::Time end = absl::Now() + absl::Milliseconds(300);
    while (absl::Now() < end) {
      absl::StatusOr<absl::Span<const OpResult>> b = w.wait_io(absl::Milliseconds(20));
      if (!b.ok() || !b->empty()) _exit(5);
    }
    const double cpu = ProcessCpuSeconds() - cpu0;
    if (cpu > 0.05) {
      std::fprintf(stderr, "%.1f ms of CPU in 300 ms at the fd limit: spinning\n", cpu * 1e3);
      _exit(6);
    }
    // Room again: the queued connection is accepted.
    close(holes.back());
    if (!w.accept(Ctx(2), l.fd).ok()) _exit(7);
    c = Collect(w, 1);
    if (c.size() != 1 || !c[0].status.ok()) _exit(8);
    _exit(0);
  });
}

// Issue 19: at the fd limit one queued accept fails per attempt, not all of
// them at once (a server that resubmits on ResourceExhausted would spin);
// the rest are tried again, in order, when another accept is submitted.
TEST(AcceptAtFdLimit, OneQueuedAcceptFailsPerAttemptTheRestWait) {
  InChildForEachMode([](int mode) {
    Watcher w = MakeWatcher(mode);
    Listener l = Listen();
    // Three accepts wait on an idle listener.
    for (int i = 1; i <= 3; ++i) {
      if (!w.accept(Ctx(i), l.fd).ok()) _exit(3);
    }
    const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    std::vector<int> holes = FillFdTable(l.fd);  // every fd number used
    // One connection arrives: one attempt, one failure; two wait.
    if (connect(client, Addr(l), sizeof(l.addr)) != 0) _exit(10);
    std::vector<Completion> c = Collect(w, 3, absl::Milliseconds(300));
    if (c.size() != 1 || c[0].ctx != Ctx(1) || !absl::IsResourceExhausted(c[0].status)) {
      std::fprintf(stderr, "at the limit: %zu completions\n", c.size());
      _exit(4);
    }
    // Room for one: a new accept tries the queued ones in order. #2 takes
    // the connection and the room; #3 fails (accept(2) wants a free fd
    // before it looks for a connection); #4 waits.
    close(holes.back());
    if (!w.accept(Ctx(4), l.fd).ok()) _exit(5);
    c = Collect(w, 3, absl::Milliseconds(300));
    if (c.size() != 2 || c[0].ctx != Ctx(2) || !c[0].status.ok() || c[1].ctx != Ctx(3) ||
        !absl::IsResourceExhausted(c[1].status)) {
      std::fprintf(stderr, "after room for one: %zu completions\n", c.size());
      _exit(6);
    }
    if (!w.cancel(l.fd, Ctx(4)).ok()) _exit(7);
    c = Collect(w, 1);
    if (c.size() != 1 || c[0].ctx != Ctx(4) || !absl::IsCancelled(c[0].status)) _exit(8);
    _exit(0);
  });
}

// Issue 19: a connect that failed (refused) fails the fd's later requests
// only until the next connect: a new connect that succeeds clears it.
TEST_P(AcceptConnect, ANewConnectClearsAnEarlierFailure) {
  Watcher w = MakeWatcher(GetParam());
  Listener l = Listen();
  sockaddr_in closed = l.addr;
  {
    Listener gone = Listen();
    closed = gone.addr;
    close(gone.fd);
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  GAIO_ASSERT_OK(w.connect(Ctx(1), fd, reinterpret_cast<const sockaddr*>(&closed), sizeof(closed)));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  ASSERT_EQ(ErrnoOf(c[0].status), ECONNREFUSED) << c[0].status;
  // Linux answers the first connect after a failed one with ECONNABORTED
  // (and resets the socket): try a few times.
  absl::Status connected = absl::UnknownError("not tried");
  for (int attempt = 0; attempt < 3 && !connected.ok(); ++attempt) {
    GAIO_ASSERT_OK(w.connect(Ctx(2), fd, Addr(l), sizeof(l.addr)));
    c = Collect(w, 1);
    ASSERT_EQ(c.size(), 1u);
    connected = c[0].status;
  }
  ASSERT_TRUE(connected.ok()) << connected;
  const int server = accept(l.fd, nullptr, nullptr);
  ASSERT_GE(server, 0);
  const std::string data = "after";
  GAIO_ASSERT_OK(w.write(Ctx(3), fd, data));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  GAIO_EXPECT_OK(c[0].status);
  absl::StatusOr<std::string> got = ReadExactly(server, data.size());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, data);
  GAIO_EXPECT_OK(w.free(fd));
  close(server);
  close(l.fd);
}

// Issue 19: after a connect ended by its deadline the kernel goes on
// trying; a new connect on that fd completes with EALREADY, and that does
// not doom the fd's later requests as a refusal does.
TEST_P(AcceptConnect, ConnectWhileTheKernelStillTriesIsEalreadyNotAFailedSocket) {
  Watcher w = MakeWatcher(GetParam());
  Listener l = Listen(/*backlog=*/0);
  const std::vector<int> fillers = FillBacklog(l);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  GAIO_ASSERT_OK(
      w.connect(Ctx(1), fd, Addr(l), sizeof(l.addr), absl::Now() + absl::Milliseconds(20)));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  ASSERT_TRUE(absl::IsDeadlineExceeded(c[0].status)) << c[0].status;
  GAIO_ASSERT_OK(w.connect(Ctx(2), fd, Addr(l), sizeof(l.addr)));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(ErrnoOf(c[0].status), EALREADY) << c[0].status;
  // A read now waits (the socket is not failed): it ends by its cancel.
  GAIO_ASSERT_OK(w.read(Ctx(3), fd, nullptr));
  GAIO_ASSERT_OK(w.cancel(fd, Ctx(3)));
  c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsCancelled(c[0].status)) << c[0].status;
  GAIO_EXPECT_OK(w.free(fd));
  for (int f : fillers) close(f);
  close(l.fd);
}

}  // namespace
}  // namespace gaio
