// The latency options: caller-driven mode, wait_io(timeout)/poll_io(), busy
// polling and poller-thread pinning. Behaviour only; latency itself is
// measured by the benchmarks.
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/fault_util.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::Collect;
using ::gaio::testing::Completion;
using ::gaio::testing::FdPair;
using ::gaio::testing::ReadExactly;
using ::gaio::testing::ThreadsNamed;
using ::gaio::testing::UnixPair;
using ::gaio::testing::WriteAll;

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  return cpus;
}

// The CPUs thread `name` of this process may run on, or empty if not found.
std::vector<int> CpusOfThread(absl::string_view name) {
  std::vector<int> cpus;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return cpus;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string line;
    std::getline(comm, line);
    if (line != name) continue;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(std::stoi(e->d_name), sizeof(set), &set) == 0) {
      for (int i = 0; i < CPU_SETSIZE; ++i) {
        if (CPU_ISSET(i, &set)) cpus.push_back(i);
      }
    }
  }
  closedir(d);
  return cpus;
}

TEST(LatencyModes, RefusesBadOptions) {
  WatcherOptions negative_spin;
  negative_spin.busy_poll = absl::Microseconds(-1);
  EXPECT_EQ(Watcher::Create(negative_spin).status().code(), absl::StatusCode::kInvalidArgument);

  for (int cpu : {-1, CPU_SETSIZE, 100000}) {
    WatcherOptions bad_cpu;
    bad_cpu.poller_cpus = {cpu};
    EXPECT_EQ(Watcher::Create(bad_cpu).status().code(), absl::StatusCode::kInvalidArgument)
        << cpu;
  }
  std::vector<int> allowed = AllowedCpus();
  ASSERT_FALSE(allowed.empty());
  if (allowed.back() + 1 < CPU_SETSIZE) {
    WatcherOptions not_allowed;
    not_allowed.poller_cpus = {allowed.back() + 1};
    absl::StatusOr<Watcher> w = Watcher::Create(not_allowed);
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(w.status().message().find("not available"), absl::string_view::npos);
  }
  WatcherOptions caller_driven_pinned;
  caller_driven_pinned.num_pollers = 0;
  caller_driven_pinned.poller_cpus = {allowed[0]};
  EXPECT_EQ(Watcher::Create(caller_driven_pinned).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LatencyModes, PollerThreadsArePinnedToTheGivenCpus) {
  std::vector<int> allowed = AllowedCpus();
  ASSERT_FALSE(allowed.empty());
  WatcherOptions o;
  o.num_pollers = 2;
  o.poller_cpus = {allowed.back()};
  absl::StatusOr<Watcher> w = Watcher::Create(o);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(CpusOfThread("gaio-poll-0"), std::vector<int>{allowed.back()});
  EXPECT_EQ(CpusOfThread("gaio-poll-1"), std::vector<int>{allowed.back()});
  // And they work.
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  GAIO_ASSERT_OK(w->read(nullptr, p->watched, nullptr));
  GAIO_ASSERT_OK(WriteAll(p->peer, "pinned"));
  std::vector<Completion> c = Collect(*w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].data, "pinned");
  close(p->peer);
}

// poller_cpus is checked against the process's CPUs, not those of the
// thread that calls Create: a caller pinned to one CPU may still start a
// poller on another.
TEST(LatencyModes, PinnedCallerMayPinPollersElsewhere) {
  std::vector<int> allowed = AllowedCpus();
  if (allowed.size() < 2) GTEST_SKIP() << "needs two CPUs, this process has " << allowed.size();
  std::thread creator([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(allowed[0], &one);
    ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(one), &one), 0);
    WatcherOptions o;
    o.poller_cpus = {allowed[1]};
    absl::StatusOr<Watcher> w = Watcher::Create(o);
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_EQ(CpusOfThread("gaio-poll-0"), std::vector<int>{allowed[1]});
  });
  creator.join();
}

// Thread names fit Linux's 15 characters up to the largest poller count, so
// every poller thread can be found by name.
TEST(LatencyModes, EveryPollerThreadIsNamed) {
  WatcherOptions o;
  o.num_pollers = 1024;
  absl::StatusOr<Watcher> w = Watcher::Create(o);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(ThreadsNamed("gaio-poll-").size(), 1024u);
  EXPECT_EQ(ThreadsNamed("gaio-poll-1023").size(), 1u);
}

class BusyPoll : public ::testing::TestWithParam<int> {};

// Ping-pong with busy polling on: every byte arrives, deadlines still fire,
// and close() stops spinning pollers promptly.
TEST_P(BusyPoll, PingPongDeadlinesAndClose) {
  WatcherOptions o = testing::ModeOptions(GetParam());
  o.busy_poll = absl::Microseconds(200);
  absl::StatusOr<Watcher> w = Watcher::Create(o);
  ASSERT_TRUE(w.ok());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  std::thread peer([&] {  // echoes 2000 8-byte messages
    for (int i = 0; i < 2000; ++i) {
      absl::StatusOr<std::string> m = ReadExactly(p->peer, 8);
      if (!m.ok() || !WriteAll(p->peer, *m).ok()) return;
    }
  });
  char in[8];
  for (int i = 0; i < 2000; ++i) {
    std::string msg = std::to_string(10000000 + i);
    GAIO_ASSERT_OK(w->write(nullptr, p->watched, msg));
    GAIO_ASSERT_OK(w->read_full(nullptr, p->watched, absl::MakeSpan(in)));
    std::vector<Completion> c = Collect(*w, 2);
    ASSERT_EQ(c.size(), 2u) << "round trip " << i;
    ASSERT_EQ(std::string(in, 8), msg);
  }
  peer.join();
  // A deadline while spinning.
  GAIO_ASSERT_OK(w->read_timeout(nullptr, p->watched, nullptr, absl::Now() + absl::Milliseconds(5)));
  std::vector<Completion> c = Collect(*w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(c[0].status));
  // close() must wake pollers that are spinning or asleep.
  GAIO_ASSERT_OK(w->read(nullptr, p->watched, nullptr));
  const absl::Time start = absl::Now();
  GAIO_ASSERT_OK(w->close());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  c = Collect(*w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(absl::IsCancelled(c[0].status));
  close(p->peer);
}

INSTANTIATE_TEST_SUITE_P(Modes, BusyPoll, ::testing::ValuesIn(testing::kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return testing::ModeName(info.param);
                         });

TEST(LatencyModes, CallerDrivenPollIoNeverBlocksAndDoesTheIo) {
  WatcherOptions o;
  o.num_pollers = 0;
  absl::StatusOr<Watcher> w = Watcher::Create(o);
  ASSERT_TRUE(w.ok());
  absl::StatusOr<FdPair> p = UnixPair();
  ASSERT_TRUE(p.ok());
  char buf[16];
  GAIO_ASSERT_OK(w->read(nullptr, p->watched, absl::MakeSpan(buf)));  // EAGAIN: queued
  absl::StatusOr<absl::Span<const OpResult>> r = w->poll_io();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  GAIO_ASSERT_OK(WriteAll(p->peer, "polled"));
  // No thread exists to perform the read: only poll_io() can.
  size_t got = 0;
  const absl::Time give_up = absl::Now() + testing::kPatience;
  while (got == 0 && absl::Now() < give_up) {
    r = w->poll_io();
    ASSERT_TRUE(r.ok());
    for (const OpResult& x : *r) {
      got += x.size;
      EXPECT_EQ(std::string(x.buffer.data(), x.size), "polled");
    }
  }
  EXPECT_EQ(got, 6u);
  close(p->peer);
}

}  // namespace
}  // namespace gaio
