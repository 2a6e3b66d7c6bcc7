// gaio's 10k-connection echo, with swap-buffer reads on some connections and
// on all. The open-file limit here is 20000, so the client ends live in a
// child process that drives its own Watcher.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/echo_harness.h"
#include "tests/test_util.h"
#include "watcher/watcher.h"

namespace gaio {
namespace {

using ::gaio::testing::Connect;
using ::gaio::testing::EchoServer;
using ::gaio::testing::Listen;
using ::gaio::testing::Listener;
using ::gaio::testing::Pattern;
using ::gaio::testing::ReadMode;

constexpr int kConns = 10000;
constexpr size_t kMessage = 1024;

// The child: connects kConns times, writes a message on each and read_fulls
// the echo. Exit code 0 only if every byte came back right.
int RunClient(int port) {
  alarm(120);  // never outlive a stuck parent
  absl::StatusOr<Watcher> w = Watcher::Create();
  if (!w.ok()) return 10;
  std::vector<std::string> sent(kConns), echoed(kConns);
  for (int i = 0; i < kConns; ++i) {
    absl::StatusOr<int> fd = Connect(port);
    if (!fd.ok()) {
      std::fprintf(stderr, "child: connect %d: %s\n", i, fd.status().ToString().c_str());
      return 11;
    }
    sent[i] = Pattern(kMessage, i);
    echoed[i].assign(kMessage, '\0');
    if (!w->write(nullptr, *fd, sent[i]).ok()) return 12;
    if (!w->read_full(&echoed[i], *fd, absl::MakeSpan(echoed[i])).ok()) return 13;
  }
  int reads = 0, writes = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(90);
  while (reads + writes < 2 * kConns && absl::Now() < give_up) {
    absl::StatusOr<absl::Span<const OpResult>> batch = w->wait_io(absl::Seconds(1));
    if (!batch.ok()) return 14;
    for (const OpResult& r : *batch) {
      if (!r.status.ok() || r.size != kMessage) {
        std::fprintf(stderr, "child: %s size %zu\n", r.status.ToString().c_str(), r.size);
        return 15;
      }
      (r.op == OpType::kRead ? reads : writes)++;
    }
  }
  if (reads != kConns || writes != kConns) return 16;
  for (int i = 0; i < kConns; ++i) {
    if (echoed[i] != sent[i]) return 17;
  }
  return 0;
}

// Returns the child's exit code, or -1 if it had to be killed.
int WaitChild(pid_t pid, absl::Duration patience) {
  const absl::Time give_up = absl::Now() + patience;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class TenThousand : public ::testing::TestWithParam<ReadMode> {};

TEST_P(TenThousand, EchoesEveryByte) {
  absl::StatusOr<Listener> listener = Listen();
  ASSERT_TRUE(listener.ok());
  // Fork before this process starts any thread.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(listener->fd);
    _exit(RunClient(listener->port));
  }
  absl::StatusOr<std::unique_ptr<EchoServer>> server = EchoServer::Start({}, GetParam());
  ASSERT_TRUE(server.ok());
  int accepted = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(90);
  while (accepted < kConns && absl::Now() < give_up) {
    pollfd p{listener->fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int fd = accept4(listener->fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    GAIO_ASSERT_OK((*server)->Add(fd));
    ++accepted;
  }
  close(listener->fd);
  EXPECT_EQ(accepted, kConns);
  EXPECT_EQ(WaitChild(pid, absl::Seconds(120)), 0);
  EXPECT_EQ((*server)->WaitEchoed(uint64_t{kConns} * kMessage), uint64_t{kConns} * kMessage);
  EXPECT_EQ((*server)->errors(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Gaio, TenThousand,
                         ::testing::Values(ReadMode::kSwap, ReadMode::kMixed),
                         [](const ::testing::TestParamInfo<ReadMode>& info) {
                           return info.param == ReadMode::kSwap ? "SwapForAllReads"
                                                                : "SwapForSomeReads";
                         });

}  // namespace
}  // namespace gaio
