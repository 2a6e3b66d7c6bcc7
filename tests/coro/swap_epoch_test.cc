// Swap-buffer bytes used after the task's next co_await are caught in debug
// builds: SwapBytes records the await epoch, and reading them later aborts.
#include <unistd.h>

#include <optional>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::FdPair;
using testing::NewLoop;
using testing::ReadExactly;
using testing::UnixPair;
using testing::WriteAll;

Task<std::string> UseBytesThenAwait(int fd, bool use_after_await) {
  Socket s(*EventLoop::current(), fd);
  absl::StatusOr<SwapBytes> in = co_await s.read();
  if (!in.ok()) co_return "";
  std::string copy = in->ToString();  // fine: before the next co_await
  EXPECT_TRUE(in->fresh());
  absl::Status slept = co_await sleep(absl::ZeroDuration());
  (void)slept;
  EXPECT_EQ(in->fresh(), !internal::SwapCheckEnabled());
  EXPECT_EQ(in->size(), copy.size());                   // size() is always fine
  if (use_after_await) copy = std::string(in->view());  // stale: aborts in debug builds
  co_return copy;
}

std::string ReadThenAwait(bool use_after_await) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  if (!WriteAll(p.peer, "swap").ok()) return "write failed";
  absl::StatusOr<std::string> r = loop->run(UseBytesThenAwait(p.watched, use_after_await));
  close(p.peer);
  return r.ok() ? *r : r.status().ToString();
}

TEST(SwapEpoch, BytesAreFineUntilTheNextAwait) { EXPECT_EQ(ReadThenAwait(false), "swap"); }

TEST(SwapEpochDeathTest, BytesUsedAfterTheNextAwaitAbort) {
  if (!internal::SwapCheckEnabled()) GTEST_SKIP() << "the check is compiled out (NDEBUG)";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(ReadThenAwait(true), "SwapBytes used after a co_await");
}

Task<std::string> KeepALineTooLong(int fd) {
  Socket s(*EventLoop::current(), fd);
  AsyncGenerator<SwapBytes> g = lines(s);
  std::optional<SwapBytes> first = co_await g.next();
  std::optional<SwapBytes> second = co_await g.next();
  (void)second;
  co_return first->ToString();  // `first` was valid until the second next()
}

TEST(SwapEpochDeathTest, ALineUsedAfterTheNextAwaitAborts) {
  if (!internal::SwapCheckEnabled()) GTEST_SKIP() << "the check is compiled out (NDEBUG)";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto loop = NewLoop();
        FdPair p = UnixPair();
        (void)WriteAll(p.peer, "a\nb\n");
        (void)loop->run(KeepALineTooLong(p.watched));
      },
      "SwapBytes used after a co_await");
}

// Combinators hand their children's values to the awaiting task: a line a
// child got from next() is valid until the awaiting task's next co_await,
// whatever the combinator awaited internally meanwhile (its timer's cancel,
// the other children). Used at once after the combinator returns: no abort.
enum class Combinator { kWithTimeout, kWhenAll, kWhenAny, kShield };

// Another task awaiting all the time, as a server's other connections do
// (each of its co_awaits moves the thread's await epoch).
Task<> Busy(const bool* stop) {
  while (!*stop) co_await yield();
}

Task<std::string> LineThroughCombinator(int fd, Combinator c) {
  Socket s(*EventLoop::current(), fd);
  AsyncGenerator<SwapBytes> g = lines(s);
  bool stop = false;
  spawn(Busy(&stop)).detach();
  std::string out;
  for (int i = 0; i < 2; ++i) {
    std::optional<SwapBytes> line;
    switch (c) {
      case Combinator::kWithTimeout: {
        absl::StatusOr<std::optional<SwapBytes>> r =
            co_await with_timeout(g.next(), absl::Seconds(30));
        if (r.ok()) line = *r;
        break;
      }
      case Combinator::kWhenAll: {
        std::tuple<std::optional<SwapBytes>, absl::Status> r =
            co_await when_all(g.next(), sleep(absl::Milliseconds(1)));
        line = std::get<0>(r);
        break;
      }
      case Combinator::kWhenAny: {
        AnyResult<std::optional<SwapBytes>, absl::Status> r =
            co_await when_any(g.next(), sleep(absl::Seconds(30)));
        line = std::get<0>(r.results);
        break;
      }
      case Combinator::kShield: {
        line = co_await shield(g.next());
        break;
      }
    }
    if (!line.has_value()) co_return "no line";
    EXPECT_TRUE(line->fresh());
    out += line->ToString() + ";";  // before the task's next co_await: valid
  }
  stop = true;
  co_return out;
}

class SwapEpochCombinatorTest : public ::testing::TestWithParam<Combinator> {};

TEST_P(SwapEpochCombinatorTest, ALineFromAChildIsFreshForTheAwaiter) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  ASSERT_TRUE(WriteAll(p.peer, "one\ntwo\n").ok());
  absl::StatusOr<std::string> r = loop->run(LineThroughCombinator(p.watched, GetParam()));
  close(p.peer);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "one;two;");
}

INSTANTIATE_TEST_SUITE_P(EveryCombinator, SwapEpochCombinatorTest,
                         ::testing::Values(Combinator::kWithTimeout, Combinator::kWhenAll,
                                           Combinator::kWhenAny, Combinator::kShield));

// The check stays exact through a combinator: swap-buffer bytes a child read
// are gone once the loop has waited again (with_timeout waits for its
// timer's cancel, when_any for its loser's), and using them aborts.
Task<std::string> SwapReadThroughCombinator(int fd, Combinator c) {
  Socket s(*EventLoop::current(), fd);
  absl::StatusOr<SwapBytes> in = absl::UnknownError("unset");
  if (c == Combinator::kWithTimeout) {
    absl::StatusOr<absl::StatusOr<SwapBytes>> r =
        co_await with_timeout(s.read(), absl::Seconds(30));
    if (r.ok()) in = *r;
  } else {
    AnyResult<absl::StatusOr<SwapBytes>, absl::Status> r =
        co_await when_any(s.read(), sleep(absl::Seconds(30)));
    in = std::get<0>(r.results);
  }
  if (!in.ok()) co_return in.status().ToString();
  co_return in->ToString();  // the swap buffer's half went back at the last wait
}

std::string ReadThroughCombinator(Combinator c) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  if (!WriteAll(p.peer, "swap").ok()) return "write failed";
  absl::StatusOr<std::string> r = loop->run(SwapReadThroughCombinator(p.watched, c));
  close(p.peer);
  return r.ok() ? *r : r.status().ToString();
}

TEST(SwapEpochDeathTest, SwapBytesFromACombinatorAfterALoopWaitAbort) {
  if (!internal::SwapCheckEnabled()) GTEST_SKIP() << "the check is compiled out (NDEBUG)";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(ReadThroughCombinator(Combinator::kWithTimeout), "SwapBytes used after a co_await");
  EXPECT_DEATH(ReadThroughCombinator(Combinator::kWhenAny), "SwapBytes used after a co_await");
}

// A write of swap bytes is checked when it is submitted, not only when it is
// made: a lazy combinator made before another co_await submits it after.
Task<absl::Status> StaleWriteThroughLazyCombinator(int fd, bool await_between) {
  Socket s(*EventLoop::current(), fd);
  absl::StatusOr<SwapBytes> in = co_await s.read();
  if (!in.ok()) co_return in.status();
  Task<absl::Status> echo = with_timeout(s.write(*in), absl::Seconds(30));
  if (await_between) {
    absl::Status slept = co_await sleep(absl::ZeroDuration());  // the swap half goes back
    (void)slept;
  }
  absl::Status out = co_await std::move(echo);
  co_return out;
}

absl::Status EchoThroughLazyCombinator(bool await_between) {
  auto loop = NewLoop();
  FdPair p = UnixPair();
  absl::Status w = WriteAll(p.peer, "swap");
  if (!w.ok()) return w;
  absl::Status r = loop->run(StaleWriteThroughLazyCombinator(p.watched, await_between));
  if (r.ok()) {
    absl::StatusOr<std::string> back = ReadExactly(p.peer, 4);
    if (!back.ok()) {
      r = back.status();
    } else if (*back != "swap") {
      r = absl::DataLossError(*back);
    }
  }
  close(p.peer);
  return r;
}

TEST(SwapEpoch, ALazyCombinatorWritesFreshBytes) {
  EXPECT_TRUE(EchoThroughLazyCombinator(false).ok());
}

TEST(SwapEpochDeathTest, ALazyCombinatorWritingStaleBytesAborts) {
  if (!internal::SwapCheckEnabled()) GTEST_SKIP() << "the check is compiled out (NDEBUG)";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH((void)EchoThroughLazyCombinator(true), "SwapBytes used after a co_await");
}

}  // namespace
}  // namespace gaio::coro
