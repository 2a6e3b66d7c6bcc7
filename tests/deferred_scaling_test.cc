// Swap reads waiting for swap space ("deferred", see WatcherOptions::
// swap_buffer_size) are retried by every wait_io(). A retry must cost what it
// serves, not the length of the line: one batch only has room for a few of
// them, and with thousands of busy connections waiting the consumer thread
// used to rescan all of them on every call (10k connections echoing through
// swap reads slowed from 20k to 5k echoes/s within a minute, round trips
// stretching past 3 s).
//
// Measured as the CPU time of the thread calling wait_io() in caller-driven
// mode (all the engine's work happens there), per read served, with a short
// and a long line. Linear retries made the long line's cost per read ~10x the
// short one's; the test allows 3x.
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::FdPair;
using ::gaio::testing::UnixPair;

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Submits a swap read on `n` fds that each hold 16 bytes, with room for
// about four such reads per batch, and returns the CPU seconds per read it
// took to get them all back.
double CpuPerRead(int n) {
  WatcherOptions options;
  options.num_pollers = 0;        // every retry runs in this thread
  options.swap_buffer_size = 64;  // reads of 16 bytes: 3 or 4 per batch
  absl::StatusOr<Watcher> w = Watcher::Create(options);
  EXPECT_TRUE(w.ok()) << w.status();
  std::vector<FdPair> pairs;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<FdPair> p = UnixPair();
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) break;
    pairs.push_back(*p);
    EXPECT_EQ(write(p->peer, "0123456789abcdef", 16), 16);
  }
  const double start = ThreadCpuSeconds();
  for (const FdPair& p : pairs) EXPECT_TRUE(w->read(nullptr, p.watched, nullptr).ok());
  size_t done = 0;
  while (done < pairs.size()) {
    absl::StatusOr<absl::Span<const OpResult>> batch = w->wait_io(testing::kPatience);
    if (!batch.ok() || batch->empty()) break;
    for (const OpResult& r : *batch) {
      EXPECT_TRUE(r.status.ok()) << r.status;
      EXPECT_EQ(std::string(r.buffer.data(), r.size), "0123456789abcdef");
      ++done;
    }
  }
  const double cpu = ThreadCpuSeconds() - start;
  EXPECT_EQ(done, pairs.size());
  w->close().IgnoreError();
  for (const FdPair& p : pairs) close(p.peer);
  return cpu / static_cast<double>(pairs.size());
}

TEST(DeferredSwapReads, RetryCostDoesNotGrowWithTheLine) {
  CpuPerRead(500);  // warm up allocations and caches
  const double short_line = CpuPerRead(500);
  const double long_line = CpuPerRead(8000);
  std::printf("CPU per read: %.2f us with 500 waiting, %.2f us with 8000\n", short_line * 1e6,
              long_line * 1e6);
  EXPECT_LT(long_line, 3 * short_line);
}

// free() of an fd whose swap read waits in the line takes it out of the line
// in O(1): freeing thousands of waiting fds costs what freeing as many
// fds without a waiting swap read does (it was a linear search of the line
// per free, O(n * line) under the shard mutex).
double CpuPerFree(int n, bool in_line) {
  WatcherOptions options;
  options.num_pollers = 0;
  options.swap_buffer_size = 64;  // room for 3 or 4 reads: the rest wait
  absl::StatusOr<Watcher> w = Watcher::Create(options);
  EXPECT_TRUE(w.ok()) << w.status();
  std::vector<FdPair> pairs;
  std::vector<char> buf(16 * n);
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<FdPair> p = UnixPair();
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) break;
    pairs.push_back(*p);
    EXPECT_EQ(write(p->peer, "0123456789abcdef", 16), 16);
    absl::Span<char> own(buf.data() + 16 * i, 8);  // one byte short of the data
    EXPECT_TRUE(
        (in_line ? w->read(nullptr, p->watched, nullptr) : w->read(nullptr, p->watched, own)).ok());
  }
  const double start = ThreadCpuSeconds();
  // The end of the line first: a linear search would walk all of it.
  for (auto it = pairs.rbegin(); it != pairs.rend(); ++it) {
    EXPECT_TRUE(w->free(it->watched).ok());
  }
  const double cpu = ThreadCpuSeconds() - start;
  for (const FdPair& p : pairs) close(p.peer);
  return cpu / static_cast<double>(pairs.size());
}

TEST(DeferredSwapReads, FreeCostDoesNotGrowWithTheLine) {
  CpuPerFree(500, true);  // warm up
  const double plain = CpuPerFree(8000, false);
  const double waiting = CpuPerFree(8000, true);
  std::printf("CPU per free of 8000 fds: %.2f us without a waiting swap read, %.2f us with\n",
              plain * 1e6, waiting * 1e6);
  EXPECT_LT(waiting, 2 * plain);
}

}  // namespace
}  // namespace gaio
