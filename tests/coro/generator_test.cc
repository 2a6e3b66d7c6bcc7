// AsyncGenerator<T>, lines(), dial_lines(), chain().
#include "coro/generator.h"

#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
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

AsyncGenerator<int> SlowCount(int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status s = co_await sleep(absl::Microseconds(100));
    if (!s.ok()) co_return s;
    co_yield i;
  }
  co_return absl::OkStatus();
}

AsyncGenerator<int> Failing() {
  co_yield 1;
  co_return absl::DataLossError("broken stream");
}

Task<std::vector<int>> Collect(AsyncGenerator<int> g, absl::Status* status) {
  std::vector<int> out;
  while (std::optional<int> v = co_await g.next()) out.push_back(*v);
  *status = g.status();
  std::optional<int> after = co_await g.next();
  EXPECT_FALSE(after.has_value()) << "next() after the end";
  co_return out;
}

TEST(AsyncGenerator, YieldsAroundAwaitsAndReportsItsStatus) {
  auto loop = NewLoop();
  absl::Status status;
  absl::StatusOr<std::vector<int>> v = RunBounded(*loop, Collect(SlowCount(5), &status));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(status.ok());
  v = RunBounded(*loop, Collect(Failing(), &status));
  EXPECT_EQ(*v, (std::vector<int>{1}));
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
}

TEST(AsyncGenerator, ChainsGeneratorsAndStopsAtTheFirstError) {
  auto loop = NewLoop();
  absl::Status status;
  absl::StatusOr<std::vector<int>> v =
      RunBounded(*loop, Collect(chain(SlowCount(2), SlowCount(3)), &status));
  EXPECT_EQ(*v, (std::vector<int>{0, 1, 0, 1, 2}));
  EXPECT_TRUE(status.ok());
  v = RunBounded(*loop, Collect(chain(SlowCount(1), Failing(), SlowCount(3)), &status));
  EXPECT_EQ(*v, (std::vector<int>{0, 1}));
  EXPECT_TRUE(absl::IsDataLoss(status));
}

AsyncGenerator<int> HoldsArgument(std::shared_ptr<int> p) {
  co_yield *p;
  co_yield *p;
  co_return absl::OkStatus();
}

Task<int> TakeOne(std::shared_ptr<int> p) {
  AsyncGenerator<int> g = HoldsArgument(p);
  std::optional<int> v = co_await g.next();
  co_return v.value_or(-1);
}  // g destroyed while suspended at its first yield

TEST(AsyncGenerator, DestroyedMidwayReleasesItsFrame) {
  auto loop = NewLoop();
  auto p = std::make_shared<int>(9);
  absl::StatusOr<int> r = RunBounded(*loop, TakeOne(p));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 9);
  EXPECT_EQ(p.use_count(), 1);
}

Task<std::vector<std::string>> ReadLines(int fd, size_t max_line, absl::Status* status) {
  Socket s(*EventLoop::current(), fd);
  AsyncGenerator<SwapBytes> g = lines(s, max_line);
  std::vector<std::string> out;
  while (std::optional<SwapBytes> line = co_await g.next()) out.push_back(line->ToString());
  *status = g.status();
  co_return out;
}

TEST(Lines, SplitsAcrossReadsAndKeepsALastLineWithoutNewline) {
  auto loop = NewLoop(1);
  FdPair p = UnixPair();
  std::thread writer([&p] {
    for (const char* chunk : {"ab", "c\nde", "f\n\ng", "h\r\n", "tail"}) {
      EXPECT_TRUE(WriteAll(p.peer, chunk).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    shutdown(p.peer, SHUT_WR);
  });
  absl::Status status;
  absl::StatusOr<std::vector<std::string>> r =
      RunBounded(*loop, ReadLines(p.watched, kDefaultMaxLine, &status));
  writer.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"abc", "def", "", "gh\r", "tail"}));
  EXPECT_TRUE(status.ok()) << status;
  close(p.peer);
}

TEST(Lines, ManyLinesInOneRead) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  std::string all;
  for (int i = 0; i < 1000; ++i) all += std::to_string(i) + "\n";
  ASSERT_TRUE(WriteAll(p.peer, all).ok());
  shutdown(p.peer, SHUT_WR);
  absl::Status status;
  absl::StatusOr<std::vector<std::string>> r =
      RunBounded(*loop, ReadLines(p.watched, kDefaultMaxLine, &status));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1000u);
  EXPECT_EQ((*r)[999], "999");
  EXPECT_TRUE(status.ok());
  close(p.peer);
}

TEST(Lines, ALineLongerThanTheLimitEndsTheGenerator) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ASSERT_TRUE(WriteAll(p.peer, "ok\n" + std::string(5000, 'x')).ok());
  absl::Status status;
  absl::StatusOr<std::vector<std::string>> r =
      RunBounded(*loop, ReadLines(p.watched, 1000, &status));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"ok"}));
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  close(p.peer);
}

// The limit does not depend on how the bytes were split into reads: a line
// of max_line bytes passes, one of max_line + 1 ends the generator, whether
// it came whole with its newline, or in pieces.
TEST(Lines, TheLimitHoldsHoweverTheBytesAreSplit) {
  const size_t kMax = 100;
  const std::string stream =
      "ok\n" + std::string(kMax, 'a') + "\n" + std::string(kMax + 1, 'x') + "\nnever\n";
  for (size_t split : {size_t{0}, size_t{2}, size_t{50}, size_t{104}, size_t{150}, stream.size()}) {
    auto loop = NewLoop(1);
    FdPair p = UnixPair();
    std::thread writer([&p, &stream, split] {
      EXPECT_TRUE(WriteAll(p.peer, stream.substr(0, split)).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      EXPECT_TRUE(WriteAll(p.peer, stream.substr(split)).ok());
      shutdown(p.peer, SHUT_WR);
    });
    absl::Status status;
    absl::StatusOr<std::vector<std::string>> r =
        RunBounded(*loop, ReadLines(p.watched, kMax, &status));
    writer.join();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, (std::vector<std::string>{"ok", std::string(kMax, 'a')})) << "split " << split;
    EXPECT_TRUE(absl::IsResourceExhausted(status)) << status << " split " << split;
    close(p.peer);
  }
}

Task<std::vector<std::string>> LinesUntilCancelled(int fd, absl::Status* status) {
  Scope scope;
  JoinHandle<std::vector<std::string>> h = scope.spawn(ReadLines(fd, kDefaultMaxLine, status));
  absl::Status slept = co_await sleep(absl::Milliseconds(5));
  EXPECT_TRUE(slept.ok());
  h.cancel();  // the generator waits for bytes: its read is cancelled
  std::vector<std::string> v = co_await h;
  co_await scope.join();
  co_return v;
}

TEST(Lines, CancellingTheConsumerCancelsTheGeneratorsRead) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ASSERT_TRUE(WriteAll(p.peer, "one\ntw").ok());
  absl::Status status;
  absl::StatusOr<std::vector<std::string>> r =
      RunBounded(*loop, LinesUntilCancelled(p.watched, &status));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"one"}));
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  close(p.peer);
}

// A server that sends `text` to each connection and closes it.
Task<> ServeText(Listener* l, std::string text) {
  for (;;) {
    absl::StatusOr<Socket> s = co_await l->accept();
    if (!s.ok()) break;
    absl::Status w = co_await s->write(text);
    (void)w;
  }
}

Task<std::vector<std::string>> DialLinesChained(absl::Status* status) {
  absl::StatusOr<Listener> a = listen("127.0.0.1:0");
  absl::StatusOr<Listener> b = listen("127.0.0.1:0");
  if (!a.ok() || !b.ok()) co_return std::vector<std::string>{};
  Scope servers;
  servers.spawn(ServeText(&*a, "a1\na2\n"));
  servers.spawn(ServeText(&*b, "b1\nb2"));
  AsyncGenerator<SwapBytes> all = chain(dial_lines(a->address()), dial_lines(b->address()));
  std::vector<std::string> out;
  while (std::optional<SwapBytes> line = co_await all.next()) out.push_back(line->ToString());
  *status = all.status();
  servers.cancel();
  co_await servers.join();
  co_return out;
}

TEST(Lines, DialLinesChained) {
  auto loop = NewLoop();
  absl::Status status;
  absl::StatusOr<std::vector<std::string>> r = RunBounded(*loop, DialLinesChained(&status));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"a1", "a2", "b1", "b2"}));
  EXPECT_TRUE(status.ok()) << status;
}

Task<absl::Status> DialLinesRefused() {
  AsyncGenerator<SwapBytes> g = dial_lines("127.0.0.1:1");
  std::optional<SwapBytes> line = co_await g.next();
  EXPECT_FALSE(line.has_value());
  co_return g.status();
}

TEST(Lines, DialLinesReportsTheDialError) {
  auto loop = NewLoop();
  absl::Status s = RunBounded(*loop, DialLinesRefused());
  EXPECT_EQ(ErrnoOf(s), ECONNREFUSED) << s;
}

TEST(Generator, AnEmptyGeneratorSaysFailedPrecondition) {
  AsyncGenerator<int> empty;
  EXPECT_TRUE(empty.done());
  EXPECT_TRUE(absl::IsFailedPrecondition(empty.status())) << empty.status();
  AsyncGenerator<int> g = SlowCount(1);
  AsyncGenerator<int> moved = std::move(g);
  // NOLINTNEXTLINE(bugprone-use-after-move): a moved-from generator is empty
  EXPECT_TRUE(absl::IsFailedPrecondition(g.status()));
}

}  // namespace
}  // namespace gaio::coro
