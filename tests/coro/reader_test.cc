// Reader and lines(): pieces found however the bytes were split into reads,
// what is left over kept for the next call, maxima with and without the
// delimiter, deadlines and idle timeouts that leave the bytes in place, end
// of file before a piece, and the bad arguments.
#include "coro/reader.h"

#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::FdPair;
using testing::NewLoop;
using testing::RunBounded;
using testing::UnixPair;
using testing::WriteAll;

// Writes each part to the peer, letting the loop read in between, so that
// the parts usually arrive in separate reads (the results do not depend on
// it), then closes the peer when asked.
Task<> Feed(int peer, std::vector<std::string> parts, bool close_after) {
  for (const std::string& part : parts) {
    if (!WriteAll(peer, part).ok()) break;
    absl::Status slept = co_await sleep(absl::Milliseconds(2));
    if (!slept.ok()) break;
  }
  if (close_after) shutdown(peer, SHUT_WR);
}

std::string Show(const absl::StatusOr<SwapBytes>& r) {
  return r.ok() ? r->ToString() : absl::StrCat("<", r.status().ToString(), ">");
}

Task<std::vector<std::string>> UntilThenExactly(int fd, int peer) {
  Socket s(*EventLoop::current(), fd);
  Reader r(s);
  spawn(Feed(peer, {"ab", "c\r", "\nre", "st", "x"}, true));
  std::vector<std::string> out;
  absl::StatusOr<SwapBytes> a = co_await r.read_until("\r\n", 100);
  out.push_back(Show(a));
  absl::StatusOr<SwapBytes> b = co_await r.read_exactly(4);
  out.push_back(Show(b));
  absl::StatusOr<SwapBytes> c = co_await r.read_exactly(0);
  out.push_back(Show(c));
  absl::StatusOr<SwapBytes> d = co_await r.read_until("\n", 100);  // "x", then end of file
  out.push_back(IsEof(d.status()) ? "eof" : Show(d));
  out.push_back(absl::StrCat(r.buffered()));
  co_return out;
}

TEST(Reader, PiecesAcrossReadsAndWhatIsLeftForTheNextCall) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  Result<std::vector<std::string>> got = RunBounded(*loop, UntilThenExactly(p.watched, p.peer));
  close(p.peer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"abc\r\n", "rest", "", "eof", "1"}));
}

Task<std::vector<std::string>> InPlaceThenBuffered(int fd, int peer) {
  Socket s(*EventLoop::current(), fd);
  Reader r(s);
  (void)WriteAll(peer, "one\ntwo\nthree");  // one read: "one\n" in place, the rest kept
  std::vector<std::string> out;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<SwapBytes> line = co_await r.read_until("\n", 100);
    out.push_back(Show(line));
    out.push_back(absl::StrCat(r.buffered()));
  }
  co_return out;
}

TEST(Reader, APieceWholeInOneReadLeavesTheRestBuffered) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  Result<std::vector<std::string>> got = RunBounded(*loop, InPlaceThenBuffered(p.watched, p.peer));
  close(p.peer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"one\n", "9", "two\n", "5"}));
}

Task<std::vector<std::string>> Limits(int fd, int peer) {
  Socket s(*EventLoop::current(), fd);
  Reader r(s);
  std::vector<std::string> out;
  (void)WriteAll(peer, "12345\n");
  absl::StatusOr<SwapBytes> fits = co_await r.read_until("\n", 6);  // max counts the '\n'
  out.push_back(Show(fits));
  spawn(Feed(peer, {"abc", "def", "g\n"}, false));
  absl::StatusOr<SwapBytes> too_long = co_await r.read_until("\n", 6);
  out.push_back(absl::StatusCodeToString(too_long.status().code()));
  absl::StatusOr<SwapBytes> empty = co_await r.read_until("", 6);
  out.push_back(absl::StatusCodeToString(empty.status().code()));
  co_return out;
}

TEST(Reader, MaxCountsTheDelimiterAndALongerPieceIsRefused) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  Result<std::vector<std::string>> got = RunBounded(*loop, Limits(p.watched, p.peer));
  close(p.peer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"12345\n", "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"}));
}

Task<std::vector<std::string>> DeadlineKeepsBytes(int fd, int peer) {
  Socket s(*EventLoop::current(), fd);
  Reader r(s);
  std::vector<std::string> out;
  (void)WriteAll(peer, "hal");
  absl::StatusOr<SwapBytes> late =
      co_await r.read_until("\n", 100, absl::Now() + absl::Milliseconds(20));
  out.push_back(absl::StatusCodeToString(late.status().code()));
  out.push_back(absl::StatusCodeToString(
      (co_await r.read_exactly(10, absl::Now() + absl::Milliseconds(5))).status().code()));
  (void)WriteAll(peer, "f\n");
  absl::StatusOr<SwapBytes> line = co_await r.read_until("\n", 100);
  out.push_back(Show(line));
  co_return out;
}

TEST(Reader, ADeadlineLeavesTheBytesReadForTheNextCall) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  Result<std::vector<std::string>> got = RunBounded(*loop, DeadlineKeepsBytes(p.watched, p.peer));
  close(p.peer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED", "half\n"}));
}

Task<std::vector<std::string>> ReadAll(int fd, int peer, size_t max) {
  Socket s(*EventLoop::current(), fd);
  Reader r(s);
  spawn(Feed(peer, {"head\n", std::string(5000, 'x'), "end"}, true));
  std::vector<std::string> out;
  absl::StatusOr<SwapBytes> head = co_await r.read_until("\n", 100);
  out.push_back(Show(head));
  absl::StatusOr<std::string> all = co_await r.read_all(max);
  out.push_back(all.ok() ? absl::StrCat(all->size(), ":", all->substr(all->size() - 4))
                         : absl::StatusCodeToString(all.status().code()));
  co_return out;
}

TEST(Reader, ReadAllTakesTheRestToEndOfFileWithinItsMaximum) {
  for (size_t max : {size_t{5003}, size_t{5002}}) {
    auto loop = NewLoop();
    FdPair p = UnixPair();
    Result<std::vector<std::string>> got = RunBounded(*loop, ReadAll(p.watched, p.peer, max));
    close(p.peer);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, (std::vector<std::string>{"head\n",
                                              max == 5003 ? "5003:xend" : "RESOURCE_EXHAUSTED"}));
  }
}

Task<std::vector<std::string>> Chunks(int fd, int peer, size_t n) {
  Socket s(*EventLoop::current(), fd);
  Reader r(s);
  spawn(Feed(peer, {"abcd", "efg", "h"}, true));
  std::vector<std::string> out;
  AsyncGenerator<SwapBytes> g = r.chunks(n);
  while (std::optional<SwapBytes> c = co_await g.next()) out.push_back(c->ToString());
  out.push_back(absl::StatusCodeToString(g.status().code()));
  co_return out;
}

TEST(Reader, ChunksAreExactlyNBytesButTheLast) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  Result<std::vector<std::string>> got = RunBounded(*loop, Chunks(p.watched, p.peer, 3));
  close(p.peer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"abc", "def", "gh", "OK"}));
  FdPair q = UnixPair();
  got = RunBounded(*loop, Chunks(q.watched, q.peer, 0));
  close(q.peer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"INVALID_ARGUMENT"}));
}

Task<std::vector<std::string>> IdleLines(int fd, int peer, absl::Duration idle, size_t max) {
  Socket s(*EventLoop::current(), fd);
  spawn(Feed(peer, {"a\r\nb", "c\n", "toolong"}, false));
  std::vector<std::string> out;
  AsyncGenerator<SwapBytes> g = lines(s, max, idle);
  while (std::optional<SwapBytes> line = co_await g.next()) out.push_back(line->ToString());
  out.push_back(absl::StatusCodeToString(g.status().code()));
  co_return out;
}

TEST(Lines, AnIdleTimeoutEndsTheLinesWithDeadlineExceeded) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  Result<std::vector<std::string>> got =
      RunBounded(*loop, IdleLines(p.watched, p.peer, absl::Milliseconds(300), 100));
  close(p.peer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"a\r", "bc", "DEADLINE_EXCEEDED"}));
}

TEST(Lines, ALineLongerThanTheMaximumEndsThemAfterTheLinesBefore) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  Result<std::vector<std::string>> got =
      RunBounded(*loop, IdleLines(p.watched, p.peer, absl::InfiniteDuration(), 6));
  close(p.peer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"a\r", "bc", "RESOURCE_EXHAUSTED"}));
}

Task<std::vector<std::string>> BulkLines(int fd, int peer) {
  Socket s(*EventLoop::current(), fd);
  Reader r(s);
  std::vector<std::string> out;
  (void)WriteAll(peer, "a\nbb\ncc");  // one read: two lines and a start
  absl::StatusOr<SwapBytes> first = co_await r.read_lines(4);
  out.push_back(Show(first));
  spawn(Feed(peer, {"c\n", "toolongline\nx\n"}, true));
  absl::StatusOr<SwapBytes> second = co_await r.read_lines(4);
  out.push_back(Show(second));
  absl::StatusOr<SwapBytes> third = co_await r.read_lines(4);
  out.push_back(third.ok() ? third->ToString() : absl::StatusCodeToString(third.status().code()));
  co_return out;
}

TEST(Reader, ReadLinesReturnsEveryCompleteLineAtHandWithinTheMaximum) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  Result<std::vector<std::string>> got = RunBounded(*loop, BulkLines(p.watched, p.peer));
  close(p.peer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"a\nbb\n", "ccc\n", "RESOURCE_EXHAUSTED"}));
}

}  // namespace
}  // namespace gaio::coro
