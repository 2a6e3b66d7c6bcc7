// A Channel hands items from a producer task to a consumer task with no heap
// allocation per item in steady state (send, recv, the waits on both sides
// and the loop's rounds), counted with a counting global operator new.
#include <cstdint>

#include "absl/status/status.h"
#include "coro/coro.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/counting_new.h"

namespace gaio::coro {
namespace {

constexpr int kWarmup = 1000;
constexpr int kMeasured = 100000;

Task<absl::Status> Producer(Channel<int>* ch, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status s = co_await ch->send(int{i});
    if (!s.ok()) co_return s;
  }
  co_return absl::OkStatus();
}

Task<absl::Status> Consumer(Channel<int>* ch, int n, uint64_t* allocations) {
  uint64_t a0 = 0;
  for (int i = 0; i < n; ++i) {
    if (i == kWarmup) a0 = gaio::testing::AllocationCount();
    absl::StatusOr<int> v = co_await ch->recv();
    if (!v.ok()) co_return v.status();
    if (*v != i) co_return absl::InternalError("out of order");
  }
  *allocations = gaio::testing::AllocationCount() - a0;
  co_return absl::OkStatus();
}

Task<absl::Status> Handoff(size_t capacity, uint64_t* allocations) {
  Channel<int> ch(capacity);
  Scope scope;
  constexpr int n = kWarmup + kMeasured;
  JoinHandle<absl::Status> c = scope.spawn(Consumer(&ch, n, allocations));
  JoinHandle<absl::Status> p = scope.spawn(Producer(&ch, n));
  absl::Status sc = co_await c;
  absl::Status sp = co_await p;
  co_await scope.join();
  if (!sc.ok()) co_return sc;
  co_return sp;
}

TEST(ChannelAlloc, NoHeapAllocationPerItem) {
  auto loop = testing::NewLoop();
  for (size_t capacity : {size_t{1}, size_t{64}}) {
    uint64_t allocations = ~uint64_t{0};
    absl::Status s = testing::RunBounded(*loop, Handoff(capacity, &allocations));
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(allocations, 0u) << "capacity " << capacity << ": over " << kMeasured << " items";
  }
}

}  // namespace
}  // namespace gaio::coro
