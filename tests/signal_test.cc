// Signals during traffic: a no-op SIGUSR1 handler installed without
// SA_RESTART, so that every blocking syscall it interrupts fails with EINTR,
// is sent over and over to the poller threads ("gaio-poll-N"), the main
// thread and every other thread while an echo of many MiB runs. Nothing may
// change: every byte comes back, no request fails.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/echo_harness.h"
#include "tests/fault_util.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::EchoServer;
using ::gaio::testing::FdPair;
using ::gaio::testing::Pattern;
using ::gaio::testing::ReadExactly;
using ::gaio::testing::ReadMode;
using ::gaio::testing::TcpPair;
using ::gaio::testing::ThreadsNamed;
using ::gaio::testing::WriteAll;

constexpr int kMaxPollers = 4;
std::atomic<int> g_handled{0};
std::atomic<pid_t> g_pollers[kMaxPollers];
std::atomic<int> g_poller_hits[kMaxPollers];

pid_t Tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

void OnSignal(int) {
  g_handled.fetch_add(1, std::memory_order_relaxed);
  const pid_t me = Tid();
  for (int i = 0; i < kMaxPollers; ++i) {
    if (g_pollers[i].load(std::memory_order_relaxed) == me) {
      g_poller_hits[i].fetch_add(1, std::memory_order_relaxed);
    }
  }
}

// Every thread of this process but the caller.
std::vector<pid_t> OtherThreads() {
  std::vector<pid_t> tids = ThreadsNamed("");
  const pid_t me = Tid();
  std::erase(tids, me);
  return tids;
}

class Signals : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Modes, Signals, ::testing::ValuesIn(testing::kAllModes),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return testing::ModeName(info.param);
                         });

TEST_P(Signals, EintrEverywhereDuringAnEchoChangesNothing) {
  signal(SIGPIPE, SIG_DFL);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sa.sa_flags = 0;  // no SA_RESTART: interrupted syscalls return EINTR
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);

  WatcherOptions options = testing::ModeOptions(GetParam());
  absl::StatusOr<std::unique_ptr<EchoServer>> server = EchoServer::Start(options, ReadMode::kMixed);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::vector<pid_t> pollers = ThreadsNamed("gaio-poll-");
  ASSERT_EQ(pollers.size(), static_cast<size_t>(testing::ModePollers(GetParam())));
  for (int i = 0; i < kMaxPollers; ++i) {
    g_pollers[i] = i < static_cast<int>(pollers.size()) ? pollers[i] : -1;
    g_poller_hits[i] = 0;
  }
  g_handled = 0;

  constexpr int kConns = 4;
  constexpr size_t kBytes = 8 << 20;
  constexpr size_t kChunk = 64 << 10;
  std::vector<FdPair> pairs;
  std::vector<std::string> data;
  for (int i = 0; i < kConns; ++i) {
    absl::StatusOr<FdPair> p = TcpPair();
    ASSERT_TRUE(p.ok());
    pairs.push_back(*p);
    data.push_back(Pattern(kBytes, 50 + i));
    GAIO_ASSERT_OK((*server)->Add(p->watched));
  }

  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread signaller([&] {
    while (!stop.load()) {
      for (pid_t tid : OtherThreads()) {
        if (syscall(SYS_tgkill, getpid(), tid, SIGUSR1) == 0) sent.fetch_add(1);
      }
      absl::SleepFor(absl::Microseconds(200));
    }
  });
  std::vector<std::thread> writers;
  for (int i = 0; i < kConns; ++i) {
    writers.emplace_back([&, i] {
      for (size_t off = 0; off < kBytes; off += kChunk) {
        absl::Status s = WriteAll(pairs[i].peer, absl::string_view(data[i]).substr(off, kChunk));
        ASSERT_TRUE(s.ok()) << s;
      }
    });
  }
  // Connection 0 is read by the main thread, the others by threads of their own.
  std::vector<std::string> echoed(kConns);
  auto read_echo = [&](int i) {
    absl::StatusOr<std::string> got = ReadExactly(pairs[i].peer, kBytes, absl::Seconds(60));
    if (got.ok()) {
      echoed[i] = *std::move(got);
    } else {
      ADD_FAILURE() << "connection " << i << ": " << got.status();
    }
  };
  std::vector<std::thread> readers;
  for (int i = 1; i < kConns; ++i) readers.emplace_back(read_echo, i);
  read_echo(0);
  for (std::thread& t : readers) t.join();
  for (std::thread& t : writers) t.join();
  stop = true;
  signaller.join();

  for (int i = 0; i < kConns; ++i) {
    EXPECT_TRUE(echoed[i] == data[i]) << "connection " << i << " echoed different bytes";
  }
  EXPECT_EQ((*server)->WaitEchoed(uint64_t{kConns} * kBytes), uint64_t{kConns} * kBytes);
  EXPECT_EQ((*server)->errors(), 0u);
  EXPECT_GT(g_handled.load(), 0);
  for (size_t i = 0; i < pollers.size(); ++i) {
    EXPECT_GT(g_poller_hits[i].load(), 0) << "poller thread " << i << " never got a signal";
  }
  std::printf("signals sent %d, handled %d\n", sent.load(), g_handled.load());
  (*server)->Stop();
  for (const FdPair& p : pairs) close(p.peer);
}

}  // namespace
}  // namespace gaio
