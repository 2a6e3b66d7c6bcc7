// BufferedWriter against a real peer (socketpair / TCP): exact bytes and
// order, many sends coalesced into one request, the cap fails the writer
// cleanly, drain() wakes at the low-water mark, a peer reset is reported,
// close() flushes then half-closes, destruction while a write is in flight
// (run under --config=asan), and an idle writer holds no buffer.
#include "coro/writer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::NewLoop;
using testing::RunBounded;

std::string Pattern(size_t n, size_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + (seed * 7 + i) % 53);
  return s;
}

// Blocking reads until EOF (bounded by SO_RCVTIMEO); what was read.
std::string ReadToEof(int fd) {
  timeval tv{static_cast<time_t>(absl::ToInt64Seconds(testing::kPatience)), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Waits until every writer block (detached ones too) is freed.
Task<absl::Status> BlocksFreed() {
  while (BufferedWriter::live_blocks() > 0) {
    absl::Status s = co_await sleep(absl::ZeroDuration());
    if (!s.ok()) co_return s;
  }
  co_return absl::OkStatus();
}

Task<absl::Status> SendMany(Socket* s, std::string* sent) {
  BufferedWriter w(*s);
  for (size_t i = 0; i < 2000; ++i) {
    std::string chunk = Pattern(i % 997 + 1, i);
    sent->append(chunk);
    absl::Status st = w.send(chunk);
    if (!st.ok()) co_return st;
    if (i % 100 == 99) {
      st = co_await w.drain();
      if (!st.ok()) co_return st;
    }
  }
  absl::Status st = co_await w.drain(0);
  EXPECT_EQ(w.buffered_bytes(), 0u);
  co_return st;
}

TEST(BufferedWriter, BytesArriveExactlyAndInOrder) {
  auto loop = NewLoop();
  testing::FdPair p = testing::UnixPair();
  std::string sent, got;
  std::thread peer([&] { got = ReadToEof(p.peer); });
  {
    Socket s(*loop, p.watched);
    absl::Status st = RunBounded(*loop, SendMany(&s, &sent));
    EXPECT_TRUE(st.ok()) << st;
  }  // closing the socket ends the peer's read
  peer.join();
  ::close(p.peer);
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent) << "bytes differ";
}

Task<absl::Status> Coalesce(Socket* s) {
  BufferedWriter w(*s);
  EXPECT_TRUE(w.send("a").ok());
  EXPECT_EQ(w.write_requests(), 0u) << "the request waits for the loop's next look for I/O";
  for (int i = 0; i < 99; ++i) EXPECT_TRUE(w.send("b").ok());
  EXPECT_EQ(w.buffered_bytes(), 100u);
  co_await yield();  // the loop made the request meanwhile
  EXPECT_EQ(w.write_requests(), 1u) << "the 100 sends went out as one request";
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(w.send("c").ok());
  absl::Status st = co_await w.drain(0);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(w.write_requests(), 2u) << "the 50 later sends went out as one more";
  co_return st;
}

TEST(BufferedWriter, QueuedSendsGoOutAsOneRequest) {
  auto loop = NewLoop();
  testing::FdPair p = testing::UnixPair();
  Socket s(*loop, p.watched);
  EXPECT_TRUE(RunBounded(*loop, Coalesce(&s)).ok());
  absl::StatusOr<std::string> got = testing::ReadExactly(p.peer, 150);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "a" + std::string(99, 'b') + std::string(50, 'c'));
  ::close(p.peer);
}

Task<absl::Status> Cap(Socket* s, std::string* accepted) {
  BufferedWriterOptions o;
  o.high_water = 64 * 1024;
  o.low_water = 16 * 1024;
  BufferedWriter w(*s, o);
  absl::Status st;
  for (size_t i = 0; i < 1000 && st.ok(); ++i) {
    const std::string chunk = Pattern(4096, i);
    st = w.send(chunk);
    EXPECT_LE(w.buffered_bytes(), o.high_water);
    if (st.ok()) accepted->append(chunk);
  }
  EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
  EXPECT_TRUE(absl::IsResourceExhausted(w.send("more"))) << "the writer stays failed";
  absl::Status d = co_await w.drain();
  EXPECT_TRUE(absl::IsResourceExhausted(d)) << d;
  EXPECT_TRUE(absl::IsResourceExhausted(w.status()));
  co_return absl::OkStatus();
}

TEST(BufferedWriter, TheCapFailsTheWriterAndEndsTheStream) {
  auto loop = NewLoop();
  testing::FdPair p = testing::UnixPair();
  std::string accepted;
  {
    Socket s(*loop, p.watched);
    EXPECT_TRUE(RunBounded(*loop, Cap(&s, &accepted)).ok());
    EXPECT_TRUE(RunBounded(*loop, BlocksFreed()).ok());
  }
  // The peer gets a prefix of what was accepted, then EOF (shut down).
  const std::string got = ReadToEof(p.peer);
  EXPECT_LE(got.size(), accepted.size());
  EXPECT_TRUE(accepted.compare(0, got.size(), got) == 0) << "not a prefix";
  ::close(p.peer);
}

Task<absl::Status> LowWater(Socket* s, size_t* total) {
  BufferedWriterOptions o;
  o.high_water = 4 << 20;
  o.low_water = 64 * 1024;
  BufferedWriter w(*s, o);
  for (size_t i = 0; i < 256; ++i) {  // 1 MB: more than the socket buffers hold
    absl::Status st = w.send(Pattern(4096, i));
    if (!st.ok()) co_return st;
    *total += 4096;
  }
  EXPECT_GT(w.buffered_bytes(), o.low_water);
  absl::Status st = co_await w.drain();
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_LE(w.buffered_bytes(), o.low_water) << "drain returns at the low-water mark";
  st = co_await w.drain(0);
  EXPECT_EQ(w.buffered_bytes(), 0u);
  co_return st;
}

TEST(BufferedWriter, DrainWakesAtTheLowWaterMark) {
  auto loop = NewLoop();
  testing::FdPair p = testing::UnixPair();
  size_t total = 0;
  std::string got;
  std::thread peer([&] { got = ReadToEof(p.peer); });
  {
    Socket s(*loop, p.watched);
    EXPECT_TRUE(RunBounded(*loop, LowWater(&s, &total)).ok());
  }
  peer.join();
  ::close(p.peer);
  EXPECT_EQ(got.size(), total);
}

Task<absl::Status> Reset(Socket* s) {
  BufferedWriter w(*s);
  absl::Status st;
  for (int i = 0; i < 1000 && st.ok(); ++i) {
    st = w.send(Pattern(1024, i));
    if (!st.ok()) break;
    st = co_await w.drain(0);
  }
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(absl::IsCancelled(st)) << st;
  EXPECT_EQ(w.send("x"), st) << "the error is sticky";
  EXPECT_EQ(w.status(), st);
  co_return absl::OkStatus();
}

TEST(BufferedWriter, APeerResetIsReportedBySendAndDrain) {
  auto loop = NewLoop();
  testing::FdPair p = testing::TcpPair();
  linger l{1, 0};
  ASSERT_EQ(setsockopt(p.peer, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
  ::close(p.peer);  // RST
  Socket s(*loop, p.watched);
  EXPECT_TRUE(RunBounded(*loop, Reset(&s)).ok());
}

Task<absl::Status> Close(Socket* s) {
  BufferedWriter w(*s);
  EXPECT_TRUE(w.send("hello").ok());
  w.close();
  EXPECT_TRUE(absl::IsFailedPrecondition(w.send("late")));
  absl::Status st = co_await w.drain(0);
  EXPECT_TRUE(st.ok()) << st;
  co_return st;
}

TEST(BufferedWriter, CloseFlushesThenHalfCloses) {
  auto loop = NewLoop();
  testing::FdPair p = testing::UnixPair();
  Socket s(*loop, p.watched);
  EXPECT_TRUE(RunBounded(*loop, Close(&s)).ok());
  EXPECT_EQ(ReadToEof(p.peer), "hello") << "then EOF while the socket is still open";
  ::close(p.peer);
}

Task<absl::Status> DestroyBusy(Socket* s) {
  {
    BufferedWriter w(*s);
    for (size_t i = 0; i < 256; ++i) EXPECT_TRUE(w.send(Pattern(4096, i)).ok());
    co_await yield();
    EXPECT_GT(w.buffered_bytes(), 0u);
    EXPECT_EQ(BufferedWriter::live_blocks(), 1u);
  }  // destroyed with a write in flight (the peer does not read)
  EXPECT_EQ(BufferedWriter::live_blocks(), 1u) << "kept until its completion";
  absl::Status st = co_await BlocksFreed();
  // A writer destroyed and its socket closed at once.
  {
    BufferedWriter w(*s);
    EXPECT_TRUE(w.send(Pattern(4096, 1)).ok());
  }
  co_return st;
}

TEST(BufferedWriter, DestroyedWhileAWriteIsInFlight) {
  auto loop = NewLoop();
  testing::FdPair p = testing::UnixPair();
  {
    Socket s(*loop, p.watched);
    EXPECT_TRUE(RunBounded(*loop, DestroyBusy(&s)).ok());
  }
  EXPECT_TRUE(RunBounded(*loop, BlocksFreed()).ok());
  EXPECT_EQ(BufferedWriter::live_blocks(), 0u);
  ::close(p.peer);
}

Task<absl::Status> Idle(Socket* s, size_t* idle, size_t* after) {
  BufferedWriter w(*s);
  *idle = w.memory_bytes();
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(w.send(Pattern(1000, i)).ok());
  EXPECT_GT(w.memory_bytes(), *idle + 1000);
  absl::Status st = co_await w.drain(0);
  *after = w.memory_bytes();
  co_return st;
}

TEST(BufferedWriter, IdleWriterHoldsNothingButItself) {
  auto loop = NewLoop();
  testing::FdPair p = testing::UnixPair();
  std::string got;
  std::thread peer([&] { got = ReadToEof(p.peer); });
  size_t idle = 0, after = 0;
  {
    Socket s(*loop, p.watched);
    EXPECT_TRUE(RunBounded(*loop, Idle(&s, &idle, &after)).ok());
  }
  peer.join();
  ::close(p.peer);
  EXPECT_EQ(idle, sizeof(BufferedWriter)) << "an idle writer has no heap block";
  EXPECT_EQ(after, idle) << "the block and its buffers are released when the queue empties";
  EXPECT_LE(sizeof(BufferedWriter), 40u);
  std::printf("idle BufferedWriter: %zu bytes, no heap\n", idle);
}

// Each burst after idleness starts with a buffer sized for the largest
// request of the burst before (a power of two): no growing and copying up
// from 64 bytes, and back to small after a small burst.
Task<absl::Status> Bursts(Socket* s, std::vector<size_t>* first_send) {
  BufferedWriter w(*s);
  const size_t idle = w.memory_bytes();
  const std::string line(60, 'x');
  for (int sends : {50, 50, 1, 1}) {  // 3,000 bytes twice, then 60 twice
    for (int i = 0; i < sends; ++i) {
      EXPECT_TRUE(w.send(line).ok());
      if (i == 0) first_send->push_back(w.memory_bytes());
    }
    absl::Status st = co_await w.drain(0);
    if (!st.ok()) co_return st;
    EXPECT_EQ(w.memory_bytes(), idle) << "idle again: no heap";
  }
  co_return absl::OkStatus();
}

TEST(BufferedWriter, BurstStartsAtThePreviousBurstsSize) {
  auto loop = NewLoop();
  testing::FdPair p = testing::UnixPair();
  std::string got;
  std::thread peer([&] { got = ReadToEof(p.peer); });
  std::vector<size_t> first_send;
  {
    Socket s(*loop, p.watched);
    EXPECT_TRUE(RunBounded(*loop, Bursts(&s, &first_send)).ok());
  }
  peer.join();
  ::close(p.peer);
  EXPECT_EQ(got.size(), 102u * 60u);
  ASSERT_EQ(first_send.size(), 4u);
  // The first burst starts at 64 bytes; the second at 4 KiB (3,000 bytes
  // went out in one request); the third, after a burst of 3,000, at 4 KiB
  // too; the fourth, after a burst of 60 bytes, at 64 again.
  EXPECT_EQ(first_send[1] - first_send[0], 4096u - 64u);
  EXPECT_EQ(first_send[2], first_send[1]);
  EXPECT_EQ(first_send[3], first_send[0]);
}

}  // namespace
}  // namespace gaio::coro
