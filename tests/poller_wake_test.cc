// Poller wake-ups under contention: Wake() racing Wait() from another thread
// must never be lost, whatever the interleaving. Backend-neutral.
//
// Regression test: the epoll backend used to clear its "wake-up pending" flag
// before draining the eventfd. A Wake() landing between the two had its write
// drained with the earlier one but left the flag set, with nothing left for
// epoll to report: every later Wake() was coalesced into that phantom one and
// dropped, and a poller thread sleeping in an infinite Wait() was never woken
// again (Watcher::close() then hung joining it).
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "poller/poller.h"

namespace gaio::internal {
namespace {

TEST(PollerWake, WakeRacingWaitIsNeverLost) {
  absl::StatusOr<std::unique_ptr<Poller>> created = Poller::Create();
  ASSERT_TRUE(created.ok()) << created.status();
  Poller& poller = **created;
  std::atomic<bool> stop{false};
  std::thread waker([&] {
    while (!stop.load(std::memory_order_relaxed)) poller.Wake().IgnoreError();
  });
  std::vector<PollEvent> events;
  const absl::Time until = absl::Now() + absl::Seconds(1);
  int rounds = 0;
  while (absl::Now() < until) {
    ASSERT_TRUE(poller.Wait(absl::Milliseconds(1), &events).ok());
    ++rounds;
  }
  stop = true;
  waker.join();
  // Whatever state the race left: consume what is pending, then one more
  // Wake() must end the next Wait() at once and say so.
  bool woken = false;
  ASSERT_TRUE(poller.Wait(absl::ZeroDuration(), &events, &woken).ok());
  ASSERT_TRUE(poller.Wake().ok());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(poller.Wait(absl::Seconds(2), &events, &woken).ok());
  EXPECT_TRUE(woken) << "Wake() was lost after " << rounds << " racing rounds";
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

}  // namespace
}  // namespace gaio::internal
