// Swap-buffer bytes used after the task's next co_await are caught in debug
// builds: SwapBytes records the await epoch, and reading them later aborts.
#include <unistd.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::FdPair;
using testing::NewLoop;
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
  EXPECT_EQ(in->fresh(), !internal::kSwapCheck);
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
  if (!internal::kSwapCheck) GTEST_SKIP() << "the check is compiled out (NDEBUG)";
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
  if (!internal::kSwapCheck) GTEST_SKIP() << "the check is compiled out (NDEBUG)";
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

}  // namespace
}  // namespace gaio::coro
