// Socket, Listener, dial(), listen(): TCP over loopback (IPv4 and IPv6),
// address parsing, EOF, deadlines, refusals, closing with requests pending,
// and no fd left behind.
#include "coro/socket.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "watcher/op_result.h"

namespace gaio::coro {
namespace {

using testing::CountOpenFds;
using testing::FdPair;
using testing::NewLoop;
using testing::ReadExactly;
using testing::RunBounded;
using testing::UnixPair;
using testing::WriteAll;

TEST(Address, ParsesNumericAddressesOnly) {
  absl::StatusOr<SocketAddress> a = ParseAddress("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->ToString(), "127.0.0.1:8080");
  absl::StatusOr<SocketAddress> b = ParseAddress("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->family(), AF_INET6);
  EXPECT_EQ(b->ToString(), "[::1]:0");
  for (const char* bad : {"localhost:80", "1.2.3.4", "[::1]", "1.2.3.4:65536", "1.2.3.4:-1", "",
                          ":80", "::1:80", "[1.2.3.4]:80", "1.2.3:80"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseAddress(bad).status())) << bad;
  }
}

// Echoes one connection: swap-buffer reads written straight back.
Task<> EchoOne(Socket s) {
  for (;;) {
    absl::StatusOr<SwapBytes> in = co_await s.read();
    if (!in.ok()) break;
    absl::Status w = co_await s.write(*in);
    if (!w.ok()) break;
  }
}

Task<absl::StatusOr<std::string>> EchoRoundTrip(std::string address, std::string message) {
  absl::StatusOr<Listener> l = listen(address);
  if (!l.ok()) co_return l.status();
  Scope scope;
  absl::StatusOr<Socket> c = co_await dial(l->address(), absl::Now() + absl::Seconds(5));
  if (!c.ok()) co_return c.status();
  absl::StatusOr<Socket> s = co_await l->accept();
  if (!s.ok()) co_return s.status();
  EXPECT_EQ(s->peer_address()->port(), c->local_address()->port());
  scope.spawn(EchoOne(*std::move(s)));
  absl::Status w = co_await c->write(message);
  if (!w.ok()) co_return w;
  std::string back(message.size(), '\0');
  absl::Status r = co_await c->read_full(absl::MakeSpan(back));
  if (!r.ok()) co_return r;
  c->close().IgnoreError();  // the echo task sees EOF and ends
  co_await scope.join();
  co_return back;
}

TEST(Socket, ListenDialAcceptEchoIPv4) {
  auto loop = NewLoop();
  const std::string message(100000, 'q');
  absl::StatusOr<std::string> r = RunBounded(*loop, EchoRoundTrip("127.0.0.1:0", message));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, message);
}

TEST(Socket, ListenDialAcceptEchoIPv6) {
  auto loop = NewLoop(1);
  absl::StatusOr<std::string> r = RunBounded(*loop, EchoRoundTrip("[::1]:0", "six"));
  if (!r.ok() && (ErrnoOf(r.status()) == EADDRNOTAVAIL || ErrnoOf(r.status()) == EAFNOSUPPORT)) {
    GTEST_SKIP() << "no IPv6 loopback here: " << r.status();
  }
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "six");
}

Task<absl::Status> DialOnce(std::string address, absl::Time deadline) {
  absl::StatusOr<Socket> c = co_await dial(address, deadline);
  co_return c.status();
}

TEST(Socket, DialRefusedLeavesNoFd) {
  auto loop = NewLoop();
  // A port nobody listens on: bind one, close it.
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len), 0);
  close(probe);
  const int fds = CountOpenFds();
  absl::Status s = RunBounded(
      *loop, DialOnce(absl::StrCat("127.0.0.1:", ntohs(a.sin_port)), absl::InfiniteFuture()));
  EXPECT_EQ(ErrnoOf(s), ECONNREFUSED) << s;
  EXPECT_EQ(CountOpenFds(), fds);
  // No port (a "name:port" is looked up: resolve_test).
  EXPECT_TRUE(
      absl::IsInvalidArgument(RunBounded(*loop, DialOnce("nowhere", absl::InfiniteFuture()))));
}

// A listener with a full backlog that never accepts: further SYNs are
// dropped, so a dial can only end by its deadline.
Task<int> DialUntilDeadline(int* deadline_exceeded) {
  absl::StatusOr<Listener> l = listen("127.0.0.1:0", 0);
  if (!l.ok()) co_return -1;
  std::vector<Socket> queued;
  for (int i = 0; i < 64 && *deadline_exceeded == 0; ++i) {
    absl::StatusOr<Socket> c = co_await dial(l->address(), absl::Now() + absl::Milliseconds(100));
    if (c.ok()) {
      queued.push_back(*std::move(c));
    } else if (absl::IsDeadlineExceeded(c.status())) {
      ++*deadline_exceeded;
    } else {
      ADD_FAILURE() << c.status();
    }
  }
  co_return static_cast<int>(queued.size());
}

TEST(Socket, DialEndsAtItsDeadline) {
  auto loop = NewLoop();
  const int fds = CountOpenFds();
  int exceeded = 0;
  absl::StatusOr<int> r = RunBounded(*loop, DialUntilDeadline(&exceeded));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(exceeded, 1) << *r << " dials went through first";
  EXPECT_EQ(CountOpenFds(), fds);
}

Task<> ReadAfterPeerClosed(int fd, absl::Status* read, absl::Status* full, absl::Status* swap) {
  Socket s(*EventLoop::current(), fd);
  char buf[8];
  absl::Status f = co_await s.read_full(absl::MakeSpan(buf));  // 3 bytes then EOF
  *full = f;
  absl::StatusOr<size_t> n = co_await s.read(absl::MakeSpan(buf));
  *read = n.status();
  absl::StatusOr<SwapBytes> b = co_await s.read();
  *swap = b.status();
}

TEST(Socket, EndOfFileIsOutOfRange) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ASSERT_TRUE(WriteAll(p.peer, "abc").ok());
  shutdown(p.peer, SHUT_WR);
  absl::Status read, full, swap;
  ASSERT_TRUE(RunBounded(*loop, ReadAfterPeerClosed(p.watched, &read, &full, &swap)).ok());
  EXPECT_TRUE(IsEof(full)) << full;
  EXPECT_TRUE(IsEof(read)) << read;
  EXPECT_TRUE(IsEof(swap)) << swap;
  close(p.peer);
}

Task<> ReadWithDeadline(int fd, absl::Status* out) {
  Socket s(*EventLoop::current(), fd);
  char buf[8];
  absl::StatusOr<size_t> n =
      co_await s.read(absl::MakeSpan(buf), absl::Now() + absl::Milliseconds(5));
  *out = n.status();
}

TEST(Socket, ReadDeadline) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  absl::Status out;
  ASSERT_TRUE(RunBounded(*loop, ReadWithDeadline(p.watched, &out)).ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(out)) << out;
  close(p.peer);
}

Task<size_t> WriteLots(int fd, size_t total) {
  Socket s(*EventLoop::current(), fd);
  std::string block(64 * 1024, 'w');
  std::string head = "head:";
  size_t sent = 0;
  size_t max_pending = 0;
  while (sent < total) {
    absl::Span<const char> parts[] = {head, block};
    absl::Status w = co_await s.writev(parts);
    if (!w.ok()) break;
    sent += head.size() + block.size();
    max_pending = std::max(max_pending, s.pending_write_bytes());
  }
  co_return sent;
}

TEST(Socket, WritevWithASlowReader) {
  auto loop = NewLoop(1);
  FdPair p = UnixPair();
  const size_t total = 4 << 20;
  size_t got = 0;
  std::thread reader([&] {
    char buf[8192];
    for (;;) {
      ssize_t n = read(p.peer, buf, sizeof(buf));
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
  });
  absl::StatusOr<size_t> sent = RunBounded(*loop, WriteLots(p.watched, total));
  ASSERT_TRUE(sent.ok());
  reader.join();  // the Socket closed: EOF
  EXPECT_EQ(got, *sent);
  EXPECT_GE(*sent, total);
  close(p.peer);
}

Task<> ReadUntilError(Socket* s, absl::Status* out) {
  absl::StatusOr<SwapBytes> b = co_await s->read();
  *out = b.status();
}

Task<> CloseWhileAnotherTaskReads(int fd, absl::Status* out, absl::Status* closed) {
  Socket s(*EventLoop::current(), fd);
  Scope scope;
  scope.spawn(ReadUntilError(&s, out));
  co_await yield();
  *closed = s.close();
  co_await scope.join();
}

TEST(Socket, CloseCancelsARequestOfAnotherTask) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  const int fds = CountOpenFds();
  absl::Status out, closed;
  ASSERT_TRUE(RunBounded(*loop, CloseWhileAnotherTaskReads(p.watched, &out, &closed)).ok());
  EXPECT_TRUE(closed.ok()) << closed;
  EXPECT_TRUE(absl::IsCancelled(out)) << out;
  EXPECT_EQ(CountOpenFds(), fds - 1);  // the watched end is closed
  close(p.peer);
}

Task<int> AcceptWithoutUsing(int* accepted) {
  absl::StatusOr<Listener> l = listen("127.0.0.1:0");
  if (!l.ok()) co_return -1;
  absl::StatusOr<Socket> c = co_await dial(l->address());
  if (!c.ok()) co_return -1;
  {
    absl::StatusOr<Socket> s = co_await l->accept();
    if (s.ok()) *accepted = s->fd();
  }  // never registered with the Watcher: ::close()d
  co_return 0;
}

TEST(Socket, AcceptedSocketNeverUsedIsClosed) {
  auto loop = NewLoop();
  const int fds = CountOpenFds();
  int accepted = -1;
  ASSERT_TRUE(RunBounded(*loop, AcceptWithoutUsing(&accepted)).ok());
  EXPECT_GE(accepted, 0);
  EXPECT_EQ(CountOpenFds(), fds);
}

Task<> AcceptInto(const Listener* l, std::vector<Socket>* out, int* accepted) {
  for (;;) {
    absl::StatusOr<Socket> s = co_await l->accept();
    if (!s.ok()) break;
    out->push_back(*std::move(s));
    ++*accepted;
  }
}

Task<int> ManyAcceptors(int conns) {
  absl::StatusOr<Listener> l = listen("127.0.0.1:0");
  if (!l.ok()) co_return -1;
  int accepted = 0;
  Scope acceptors;
  std::vector<Socket> server_side;
  for (int i = 0; i < 16; ++i) acceptors.spawn(AcceptInto(&*l, &server_side, &accepted));
  std::vector<Socket> clients;
  for (int i = 0; i < conns; ++i) {
    absl::StatusOr<Socket> c = co_await dial(l->address());
    if (c.ok()) clients.push_back(*std::move(c));
  }
  while (accepted < conns) co_await yield();  // yield() lets the loop poll for I/O
  acceptors.cancel();                         // the acceptors still waiting get Cancelled
  co_await acceptors.join();
  co_return accepted;
}

TEST(Listener, SeveralTasksAcceptAtOnce) {
  auto loop = NewLoop();
  absl::StatusOr<int> r = RunBounded(*loop, ManyAcceptors(100));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 100);
}

// ---- Lifetimes against the loop (docs/CORO.md, "Sockets and the loop") ----

Task<absl::Status> ReadSome(const Socket* s) {
  char buf[8];
  absl::StatusOr<size_t> n = co_await s->read(absl::MakeSpan(buf));
  co_return n.status();
}

bool FdIsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

void OutliveTheLoop(int pollers) {
  const int fds = CountOpenFds();
  FdPair used = UnixPair();
  FdPair unused = UnixPair();
  std::optional<Socket> registered;
  std::optional<Socket> unregistered;
  std::optional<Listener> listener;
  {
    auto loop = NewLoop(pollers);
    registered.emplace(*loop, used.watched);
    unregistered.emplace(*loop, unused.watched);
    absl::StatusOr<Listener> l = listen(*loop, "127.0.0.1:0");
    ASSERT_TRUE(l.ok()) << l.status();
    listener.emplace(*std::move(l));
    ASSERT_TRUE(WriteAll(used.peer, "x").ok());
    ASSERT_TRUE(RunBounded(*loop, ReadSome(&*registered)).ok());  // the Watcher owns it now
    EXPECT_EQ(registered->loop(), loop.get());
  }
  // The loop is gone: its Watcher closed the fd it owned; the others are the
  // Sockets' own, and no Socket touches the dead loop (ASan would see it).
  EXPECT_EQ(registered->loop(), nullptr);
  EXPECT_EQ(unregistered->loop(), nullptr);
  EXPECT_EQ(listener->loop(), nullptr);
  EXPECT_FALSE(FdIsOpen(used.watched));
  EXPECT_TRUE(FdIsOpen(unused.watched));
  EXPECT_TRUE(registered->close().ok());
  registered.reset();
  unregistered.reset();  // ::close()s its fd
  EXPECT_FALSE(FdIsOpen(unused.watched));
  listener.reset();
  close(used.peer);
  close(unused.peer);
  EXPECT_EQ(CountOpenFds(), fds) << "pollers=" << pollers;
}

TEST(Socket, SocketsAndListenersMayOutliveTheirLoop) {
  OutliveTheLoop(0);
  OutliveTheLoop(1);
}

TEST(Socket, ReleaseAfterTheLoopIsGone) {
  FdPair p = UnixPair();
  std::optional<Socket> s;
  {
    auto loop = NewLoop();
    s.emplace(*loop, p.watched);
  }
  EXPECT_EQ(s->release(), p.watched);  // never went to the Watcher: still open, now the caller's
  EXPECT_TRUE(FdIsOpen(p.watched));
  close(p.watched);
  close(p.peer);
}

TEST(Socket, AnAwaitThatSubmittedNothingLeavesTheFdToTheSocket) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  Socket s(*loop, p.watched);
  loop->stop();  // applies to the next run(): the read is never submitted
  absl::StatusOr<absl::Status> r = loop->run(ReadSome(&s));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(absl::IsCancelled(*r)) << *r;
  ASSERT_TRUE(loop->watcher().close().ok());
  // The Watcher never owned the fd, so closing it is the Socket's job.
  EXPECT_TRUE(s.close().ok());
  EXPECT_FALSE(FdIsOpen(p.watched));
  close(p.peer);
}

// ---- An empty caller buffer is never a swap-buffer read ----

Task<> ReadIntoEmptySpans(int fd, absl::Status* plain, absl::Status* timed) {
  Socket s(*EventLoop::current(), fd);
  absl::StatusOr<size_t> a = co_await s.read(absl::Span<char>());
  *plain = a.status();
  absl::StatusOr<size_t> b = co_await s.read(absl::Span<char>(), absl::Now() + absl::Seconds(10));
  *timed = b.status();
  (void)s.release();
}

TEST(Socket, ReadIntoAnEmptyBufferIsInvalidArgumentAndConsumesNothing) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ASSERT_TRUE(WriteAll(p.peer, "abc").ok());
  absl::Status plain, timed;
  ASSERT_TRUE(RunBounded(*loop, ReadIntoEmptySpans(p.watched, &plain, &timed)).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(plain)) << plain;
  EXPECT_TRUE(absl::IsInvalidArgument(timed)) << timed;
  EXPECT_EQ(testing::Readable(p.watched), 3);  // the peer's bytes are still there
  close(p.watched);
  close(p.peer);
}

// ---- Writes say how far they got ----

// Reads fd until EOF; the number of bytes.
size_t DrainToEof(int fd) {
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  static char buf[1 << 16];
  size_t total = 0;
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return total;
    total += static_cast<size_t>(n);
  }
}

constexpr size_t kBig = 8 << 20;  // far more than a socket buffer holds

Task<absl::Status> TimedWrites(int fd, bool vectored) {
  Socket s(*EventLoop::current(), fd);
  std::string big(kBig, 'w');
  const absl::Time deadline = absl::Now() + absl::Milliseconds(50);
  if (vectored) {
    const absl::Span<const char> parts[] = {absl::string_view(big).substr(0, kBig / 2),
                                            absl::string_view(big).substr(kBig / 2)};
    absl::Status st = co_await s.writev(parts, deadline);
    co_return st;
  }
  absl::Status st = co_await s.write(big, deadline);
  co_return st;
}  // the Socket closes: the peer reads what went out, then EOF

Task<absl::Status> WriteBig(int fd) {
  Socket s(*EventLoop::current(), fd);
  std::string big(kBig, 'c');
  absl::Status st = co_await s.write(big);
  co_return st;
}

Task<absl::Status> CancelABigWrite(int fd) {
  Scope scope;
  JoinHandle<absl::Status> h = scope.spawn(WriteBig(fd));
  absl::Status slept = co_await sleep(absl::Milliseconds(20));
  (void)slept;
  h.cancel();
  absl::Status st = co_await h;
  co_await scope.join();
  co_return st;
}

// A write under with_timeout: the DeadlineExceeded it turns the write's
// Cancelled into keeps the write's BytesWritten.
Task<absl::Status> WriteBigWithTimeout(int fd) {
  Socket s(*EventLoop::current(), fd);
  std::string big(kBig, 't');
  absl::Status st = co_await with_timeout(s.write(big), absl::Milliseconds(50));
  co_return st;
}

TEST(Socket, AFailedWriteSaysHowManyBytesWentOut) {
  for (int kind = 0; kind < 4; ++kind) {
    auto loop = NewLoop();
    FdPair p = UnixPair();
    absl::Status st;
    if (kind < 2) {
      st = RunBounded(*loop, TimedWrites(p.watched, kind == 1));
      EXPECT_TRUE(absl::IsDeadlineExceeded(st)) << st << " kind " << kind;
    } else if (kind == 2) {
      st = RunBounded(*loop, CancelABigWrite(p.watched));
      EXPECT_TRUE(absl::IsCancelled(st)) << st;
    } else {
      st = RunBounded(*loop, WriteBigWithTimeout(p.watched));
      EXPECT_TRUE(absl::IsDeadlineExceeded(st)) << st;
    }
    const size_t drained = DrainToEof(p.peer);
    EXPECT_GT(BytesWritten(st), 0u) << "kind " << kind;
    EXPECT_LT(BytesWritten(st), kBig);
    EXPECT_EQ(BytesWritten(st), drained) << "kind " << kind;
    close(p.peer);
  }
  EXPECT_EQ(BytesWritten(absl::OkStatus()), 0u);
  EXPECT_EQ(BytesWritten(absl::CancelledError("not a write")), 0u);
}

// ---- Accept at the fd limit: back off without spinning ----

struct FdFill {
  std::vector<int> fds;
  void Release() {
    for (int fd : fds) close(fd);
    fds.clear();
  }
};

// Accepts with the backoff Listener::accept() documents (sleep on
// ResourceExhausted); the fd limit is lifted after a few refusals.
Task<absl::Status> AcceptWithBackoff(const Listener* l, FdFill* fill, int* refusals) {
  for (;;) {
    absl::StatusOr<Socket> s = co_await l->accept();
    if (s.ok()) co_return absl::OkStatus();
    if (!absl::IsResourceExhausted(s.status())) co_return s.status();
    if (++*refusals == 3) fill->Release();  // fds free again
    absl::Status slept = co_await sleep(absl::Milliseconds(20));
    if (!slept.ok()) co_return slept;
  }
}

TEST(Listener, AcceptAtTheFdLimitIsResourceExhaustedAndRecovers) {
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  auto loop = NewLoop();
  absl::StatusOr<Listener> l = listen(*loop, "127.0.0.1:0");
  ASSERT_TRUE(l.ok()) << l.status();
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  ASSERT_EQ(connect(client, l->local_address().get(), l->local_address().len), 0);
  // Lower the limit a little above what is open, then take every fd left.
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(CountOpenFds()) + 16;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  FdFill fill;
  for (int fd; (fd = dup(client)) >= 0;) fill.fds.push_back(fd);
  int refusals = 0;
  absl::Status s = RunBounded(*loop, AcceptWithBackoff(&*l, &fill, &refusals));
  fill.Release();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(refusals, 3);  // one refusal per try: the backoff paces them
  close(client);
}

// ---- Readiness: readable() / writable() ----

Task<> WaitForReadiness(int fd, int peer, absl::Status* early, absl::Status* readable,
                        absl::Status* idle) {
  Socket s(*EventLoop::current(), fd);
  *early = co_await s.writable(absl::Now() + absl::Seconds(20));  // an empty socket: at once
  // Nothing to read yet: the deadline ends it.
  *idle = co_await s.readable(absl::Now() + absl::Milliseconds(20));
  (void)::send(peer, "hi", 2, 0);
  *readable = co_await s.readable(absl::Now() + absl::Seconds(20));
  (void)s.release();
}

TEST(Socket, ReadableAndWritableLeaveTheBytesToTheCaller) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  absl::Status early, readable, idle;
  ASSERT_TRUE(
      RunBounded(*loop, WaitForReadiness(p.watched, p.peer, &early, &readable, &idle)).ok());
  EXPECT_TRUE(early.ok()) << early;
  EXPECT_TRUE(absl::IsDeadlineExceeded(idle)) << idle;
  EXPECT_TRUE(readable.ok()) << readable;
  EXPECT_EQ(testing::Readable(p.watched), 2);  // readable() moved no byte
  close(p.watched);
  close(p.peer);
}

}  // namespace
}  // namespace gaio::coro
