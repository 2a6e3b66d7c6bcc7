// SignalSet: signals become bytes on a pipe the Watcher reads, in every
// engine mode: delivered before anyone reads, from another thread while
// wait_io() blocks, in order; the previous action comes back; bad lists and a
// second set for a held signal are refused; the reader sees end of file
// when the set goes.
#include "watcher/signal_set.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/fault_util.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::Collect;
using ::gaio::testing::Completion;
using ::gaio::testing::kAllModes;
using ::gaio::testing::MakeWatcher;
using ::gaio::testing::ModeName;

void* Ctx(intptr_t i) { return reinterpret_cast<void*>(i); }

// Reads signal bytes through the Watcher until `n` arrived (or a read fails).
std::string ReadSignals(Watcher& w, int fd, size_t n) {
  std::string got;
  while (got.size() < n) {
    if (!w.read(Ctx(1), fd, nullptr).ok()) break;
    std::vector<Completion> c = Collect(w, 1);
    if (c.size() != 1 || !c[0].status.ok()) {
      ADD_FAILURE() << (c.empty() ? "no completion" : c[0].status.ToString());
      break;
    }
    got += c[0].data;
  }
  return got;
}

class Signals : public ::testing::TestWithParam<int> {};

TEST_P(Signals, SignalsRaisedBeforeAnyReadWaitInOrder) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<std::unique_ptr<SignalSet>> set = SignalSet::Create({SIGUSR1, SIGUSR2});
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(raise(SIGUSR2), 0);
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_EQ(raise(SIGUSR2), 0);
  const int fd = (*set)->TakeReadFd();
  ASSERT_GE(fd, 0);
  EXPECT_EQ((*set)->TakeReadFd(), -1);
  EXPECT_EQ(ReadSignals(w, fd, 3), std::string({SIGUSR2, SIGUSR1, SIGUSR2}));
  GAIO_EXPECT_OK(w.free(fd));
}

TEST_P(Signals, ASignalFromAnotherThreadWakesAWaitingRead) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<std::unique_ptr<SignalSet>> set = SignalSet::Create({SIGUSR1});
  ASSERT_TRUE(set.ok()) << set.status();
  const int fd = (*set)->TakeReadFd();
  GAIO_ASSERT_OK(w.read(Ctx(1), fd, nullptr));
  std::thread sender([] {
    absl::SleepFor(absl::Milliseconds(20));  // most likely inside wait_io() by then
    kill(getpid(), SIGUSR1);
  });
  std::vector<Completion> c = Collect(w, 1);
  sender.join();
  ASSERT_EQ(c.size(), 1u);
  GAIO_EXPECT_OK(c[0].status);
  EXPECT_EQ(c[0].data, std::string(1, SIGUSR1));
  GAIO_EXPECT_OK(w.free(fd));
}

TEST_P(Signals, TheReaderSeesEndOfFileAfterTheSetGoes) {
  Watcher w = MakeWatcher(GetParam());
  absl::StatusOr<std::unique_ptr<SignalSet>> set = SignalSet::Create({SIGUSR1});
  ASSERT_TRUE(set.ok()) << set.status();
  const int fd = (*set)->TakeReadFd();
  ASSERT_EQ(raise(SIGUSR1), 0);
  set->reset();
  EXPECT_EQ(ReadSignals(w, fd, 1), std::string(1, SIGUSR1));  // what came before is kept
  GAIO_ASSERT_OK(w.read(Ctx(2), fd, nullptr));
  std::vector<Completion> c = Collect(w, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(IsEof(c[0].status)) << c[0].status;
  GAIO_EXPECT_OK(w.free(fd));
}

INSTANTIATE_TEST_SUITE_P(AllModes, Signals, ::testing::ValuesIn(kAllModes),
                         [](const auto& info) { return ModeName(info.param); });

std::atomic<int> g_own_handler_calls{0};
void OwnHandler(int) { g_own_handler_calls.fetch_add(1); }

TEST(SignalSet, ThePreviousActionComesBack) {
  struct sigaction mine = {}, before = {};
  mine.sa_handler = OwnHandler;
  sigemptyset(&mine.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &mine, &before), 0);
  {
    absl::StatusOr<std::unique_ptr<SignalSet>> set = SignalSet::Create({SIGUSR2});
    ASSERT_TRUE(set.ok()) << set.status();
    ASSERT_EQ(raise(SIGUSR2), 0);
    EXPECT_EQ(g_own_handler_calls.load(), 0) << "the set's handler runs while it exists";
  }
  ASSERT_EQ(raise(SIGUSR2), 0);
  EXPECT_EQ(g_own_handler_calls.load(), 1);
  ASSERT_EQ(sigaction(SIGUSR2, &before, nullptr), 0);
}

TEST(SignalSet, OneSetPerSignal) {
  absl::StatusOr<std::unique_ptr<SignalSet>> a = SignalSet::Create({SIGUSR1, SIGHUP});
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::unique_ptr<SignalSet>> b = SignalSet::Create({SIGUSR2, SIGHUP});
  EXPECT_EQ(b.status().code(), absl::StatusCode::kAlreadyExists) << b.status();
  // Nothing of the refused set stayed installed: SIGUSR2 is free.
  absl::StatusOr<std::unique_ptr<SignalSet>> c = SignalSet::Create({SIGUSR2});
  EXPECT_TRUE(c.ok()) << c.status();
  a->reset();
  absl::StatusOr<std::unique_ptr<SignalSet>> d = SignalSet::Create({SIGHUP, SIGHUP});
  EXPECT_TRUE(d.ok()) << d.status();
  EXPECT_EQ((*d)->signals(), std::vector<int>{SIGHUP});
}

TEST(SignalSet, RefusesWhatCannotBeCaught) {
  for (const std::vector<int>& list : std::vector<std::vector<int>>{
           {}, {SIGKILL}, {SIGSTOP}, {0}, {-1}, {NSIG}, {SIGUSR1, SIGKILL}}) {
    absl::StatusOr<std::unique_ptr<SignalSet>> set = SignalSet::Create(list);
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument) << list.size();
  }
  // The refused {SIGUSR1, SIGKILL} left SIGUSR1 free.
  EXPECT_TRUE(SignalSet::Create({SIGUSR1}).ok());
}

}  // namespace
}  // namespace gaio
