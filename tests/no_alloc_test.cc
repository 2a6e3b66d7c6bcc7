// Steady state allocates nothing: 100k operations (50k write+read round trips) through a
// Watcher, in each mode, with a counting global operator new.
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/counting_new.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

struct Loop {
  Watcher& w;
  int a, b;
  char out[64];
  char in[64];
  bool swap;

  // One round trip: write 64 bytes on a, read them on b. Returns false on any
  // unexpected status or count (never allocates on the success path).
  bool RoundTrip() {
    if (!w.write(&out, a, absl::MakeConstSpan(out)).ok()) return false;
    absl::Status s = swap ? w.read(&in, b, nullptr) : w.read(&in, b, absl::MakeSpan(in));
    if (!s.ok()) return false;
    size_t done = 0, got = 0;
    while (done < 2) {
      absl::StatusOr<absl::Span<const OpResult>> batch = w.wait_io(absl::Seconds(10));
      if (!batch.ok() || batch->empty()) return false;
      for (const OpResult& r : *batch) {
        if (!r.status.ok()) return false;
        if (r.op == OpType::kRead) {
          got += r.size;
          if (got < sizeof(in)) {  // a short read: ask for the rest
            if (!w.read(&in, b, nullptr).ok()) return false;
            continue;
          }
        }
        ++done;
      }
    }
    return true;
  }
};

void ExpectNoSteadyStateAllocation(int pollers, bool swap) {
  WatcherOptions options;
  options.num_pollers = pollers;
  const uint64_t at_start = testing::AllocationCount();
  absl::StatusOr<Watcher> w = Watcher::Create(options);
  ASSERT_TRUE(w.ok());
  ASSERT_GT(testing::AllocationCount(), at_start) << "the counting operator new is not in use";
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  Loop loop{*w, sv[0], sv[1], {}, {}, swap};
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(loop.RoundTrip()) << "warm-up " << i;
  const uint64_t before = testing::AllocationCount();
  int ok = 0;
  for (int i = 0; i < 50000; ++i) ok += loop.RoundTrip() ? 1 : 0;  // 100k operations
  const uint64_t allocations = testing::AllocationCount() - before;
  EXPECT_EQ(ok, 50000);
  EXPECT_EQ(allocations, 0u) << "allocations in 100k steady-state operations";
}

TEST(NoAllocation, ThreadedWithCallerBuffer) { ExpectNoSteadyStateAllocation(1, false); }
TEST(NoAllocation, ThreadedWithSwapBuffer) { ExpectNoSteadyStateAllocation(1, true); }
TEST(NoAllocation, TwoPollersWithSwapBuffer) { ExpectNoSteadyStateAllocation(2, true); }
TEST(NoAllocation, CallerDrivenWithCallerBuffer) { ExpectNoSteadyStateAllocation(0, false); }
TEST(NoAllocation, CallerDrivenWithSwapBuffer) { ExpectNoSteadyStateAllocation(0, true); }

}  // namespace
}  // namespace gaio
