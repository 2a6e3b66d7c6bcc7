// sleep_until, every (drift-free ticks, missed ticks skipped and counted),
// when_all_settled (waits for all, cancels none) and first_success (first OK
// wins, the rest cancelled; all errors when none succeeds). Timing checks
// are one-sided bounds (a timer never fires early), or use hour-long periods
// so that the outcome cannot depend on scheduling.
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"

namespace gaio::coro {
namespace {

using testing::NewLoop;
using testing::RunBounded;

// Slack for comparing the wall clock with the loop's monotonic timers.
constexpr absl::Duration kClockSlack = absl::Milliseconds(1);

TEST(Ticker, PlanIsDriftFreeAndSkipsMissedTicks) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  const absl::Duration p = absl::Seconds(10);
  internal::TickPlan plan = internal::PlanTick(t0, p, 0, t0 + absl::Seconds(5));
  EXPECT_FALSE(plan.ready);
  EXPECT_EQ(plan.due, t0 + p);
  plan = internal::PlanTick(t0, p, 0, t0 + p);
  EXPECT_TRUE(plan.ready);
  EXPECT_EQ(plan.tick.index, 1u);
  EXPECT_EQ(plan.tick.missed, 0u);
  plan = internal::PlanTick(t0, p, 1, t0 + absl::Seconds(35));  // ticks 2 and 3 due
  EXPECT_TRUE(plan.ready);
  EXPECT_EQ(plan.tick.index, 3u);
  EXPECT_EQ(plan.tick.missed, 1u);
  // However late tick 1000 was delivered, tick 1001 is due at t0 + 1001 p.
  plan = internal::PlanTick(t0, p, 1000, t0 + p * 1000 + absl::Seconds(9));
  EXPECT_FALSE(plan.ready);
  EXPECT_EQ(plan.due, t0 + p * 1001);
}

Task<absl::Status> LateConsumer() {
  // Tick k is due at start + k hours: ticks 1..10 are due, 11 is 30 minutes
  // away whatever the machine does.
  Ticker tick = every(absl::Hours(1), absl::Now() - absl::Minutes(630));
  absl::StatusOr<Tick> t = co_await tick.next();
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) co_return t.status();
  EXPECT_EQ(t->index, 10u);
  EXPECT_EQ(t->missed, 9u);
  absl::StatusOr<Tick> u = co_await with_timeout(tick.next(), absl::Milliseconds(5));
  EXPECT_TRUE(absl::IsDeadlineExceeded(u.status())) << u.status();
  EXPECT_EQ(tick.last(), 10u) << "a cancelled next() delivers nothing";
  co_return absl::OkStatus();
}

TEST(Ticker, ALateConsumerGetsTheLatestTickAndTheMissedCount) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, LateConsumer()).ok());
}

Task<absl::Status> RealTicks() {
  const absl::Duration period = absl::Milliseconds(2);
  const absl::Time start = absl::Now();
  Ticker tick = every(period, start);
  uint64_t delivered = 0, last = 0;
  while (last < 20) {
    absl::StatusOr<Tick> t = co_await tick.next();
    if (!t.ok()) co_return t.status();
    const absl::Time now = absl::Now();
    EXPECT_GT(t->index, last);
    EXPECT_EQ(t->index, last + t->missed + 1);
    EXPECT_GE(now + kClockSlack, start + period * static_cast<int64_t>(t->index))
        << "tick " << t->index << " delivered early";
    delivered += t->missed + 1;
    last = t->index;
  }
  EXPECT_EQ(delivered, last);
  co_return absl::OkStatus();
}

TEST(Ticker, TicksAreNeverEarlyAndCountEveryPeriod) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, RealTicks()).ok());
}

Task<absl::Status> BadPeriod() {
  Ticker tick = every(absl::ZeroDuration());
  absl::StatusOr<Tick> t = co_await tick.next();
  EXPECT_TRUE(absl::IsInvalidArgument(t.status())) << t.status();
  co_return absl::OkStatus();
}

TEST(Ticker, ANonPositivePeriodIsInvalid) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, BadPeriod()).ok());
}

Task<absl::Status> SleepUntil() {
  absl::Status s = co_await sleep_until(absl::Now() - absl::Seconds(1));
  EXPECT_TRUE(s.ok()) << s;
  const absl::Time t = absl::Now() + absl::Milliseconds(5);
  s = co_await sleep_until(t);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_GE(absl::Now() + kClockSlack, t);
  s = co_await with_timeout(sleep_until(absl::InfiniteFuture()), absl::Milliseconds(1));
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  co_return absl::OkStatus();
}

TEST(SleepUntil, ReturnsAtTheDeadlineAndIsCancellable) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, SleepUntil()).ok());
}

Task<absl::Status> Fail(absl::StatusCode code) { co_return absl::Status(code, "failed"); }

Task<absl::StatusOr<int>> ValueAfterYields(int yields, int v) {
  for (int i = 0; i < yields; ++i) co_await yield();
  co_return v;
}

Task<absl::StatusOr<int>> FailAfterYields(int yields) {
  for (int i = 0; i < yields; ++i) co_await yield();
  co_return absl::NotFoundError("no");
}

Task<absl::StatusOr<int>> Forever() {
  absl::Status s = co_await sleep(absl::InfiniteDuration());
  if (!s.ok()) co_return s;
  co_return 0;
}

Task<absl::Status> Settled() {
  auto [a, b, c] = co_await when_all_settled(Fail(absl::StatusCode::kInternal),
                                             ValueAfterYields(3, 7), sleep(absl::Milliseconds(1)));
  EXPECT_TRUE(absl::IsInternal(a)) << a;
  EXPECT_TRUE(b.ok() && *b == 7) << "a failure cancels nobody: " << b.status();
  EXPECT_TRUE(c.ok()) << c;
  std::vector<Task<absl::StatusOr<int>>> tasks;
  tasks.push_back(FailAfterYields(0));
  tasks.push_back(ValueAfterYields(2, 1));
  tasks.push_back(ValueAfterYields(1, 2));
  std::vector<absl::StatusOr<int>> v = co_await when_all_settled(std::move(tasks));
  EXPECT_EQ(v.size(), 3u);
  EXPECT_TRUE(absl::IsNotFound(v[0].status()));
  EXPECT_TRUE(v[1].ok() && *v[1] == 1);
  EXPECT_TRUE(v[2].ok() && *v[2] == 2);
  co_return absl::OkStatus();
}

TEST(WhenAllSettled, WaitsForAllCancelsNoneAndReturnsEveryValue) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, Settled()).ok());
}

Task<absl::Status> FirstSuccess() {
  {
    AnyResult<absl::StatusOr<int>, absl::StatusOr<int>, absl::StatusOr<int>> r =
        co_await first_success(FailAfterYields(0), ValueAfterYields(2, 5), Forever());
    EXPECT_EQ(r.index, 1u);
    EXPECT_TRUE(absl::IsNotFound(std::get<0>(r.results).status()));
    EXPECT_EQ(*std::get<1>(r.results), 5);
    EXPECT_TRUE(absl::IsCancelled(std::get<2>(r.results).status())) << "the rest is cancelled";
  }
  {
    auto r = co_await first_success(FailAfterYields(1), Fail(absl::StatusCode::kUnavailable));
    EXPECT_EQ(r.index, kNone);
    EXPECT_TRUE(absl::IsNotFound(std::get<0>(r.results).status()));
    EXPECT_TRUE(absl::IsUnavailable(std::get<1>(r.results)));
    EXPECT_TRUE(absl::IsNotFound(FirstError(r.results))) << "the first in argument order";
  }
  {
    std::vector<Task<absl::StatusOr<int>>> tasks;
    tasks.push_back(FailAfterYields(0));
    tasks.push_back(Forever());
    tasks.push_back(ValueAfterYields(1, 9));
    AnyResults<absl::StatusOr<int>> r = co_await first_success(std::move(tasks));
    EXPECT_EQ(r.index, 2u);
    EXPECT_EQ(*r.results[2], 9);
    EXPECT_TRUE(absl::IsCancelled(r.results[1].status()));
    AnyResults<absl::StatusOr<int>> none =
        co_await first_success(std::vector<Task<absl::StatusOr<int>>>{});
    EXPECT_EQ(none.index, kNone);
  }
  co_return absl::OkStatus();
}

TEST(FirstSuccess, FirstOkWinsAndTheRestAreCancelledElseEveryError) {
  auto loop = NewLoop();
  EXPECT_TRUE(RunBounded(*loop, FirstSuccess()).ok());
}

}  // namespace
}  // namespace gaio::coro
