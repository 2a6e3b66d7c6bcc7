// The coroutine echo server (examples/coro_echo_server/echo.h) makes no heap
// allocation per echoed message in steady state, and its I/O awaitables
// allocate no frame: counted with a counting global operator new (as
// tests/no_alloc_test.cc does for the Watcher) and the frame pool's counters,
// over 20,000 echoed messages from 16 client tasks, in caller-driven and
// threaded mode.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "absl/status/status.h"
#include "coro/coro.h"
#include "coro/internal/frame_allocator.h"
#include "examples/coro_echo_server/echo.h"
#include "gtest/gtest.h"
#include "tests/coro/coro_test_util.h"
#include "tests/counting_new.h"

namespace gaio::coro {
namespace {

constexpr int kClients = 16;
constexpr int kWarmupRounds = 500;
constexpr uint64_t kMeasured = 20000;

struct Shared {
  int warm = 0;
  uint64_t messages = 0;
  bool stop = false;
  int failures = 0;
};

Task<> Client(std::string address, Shared* sh) {
  absl::StatusOr<Socket> c = co_await dial(address);
  if (!c.ok()) {
    ++sh->failures;
    co_return;
  }
  char out[64], in[64];
  for (size_t i = 0; i < sizeof(out); ++i) out[i] = static_cast<char>('a' + i % 26);
  for (int round = 0; !sh->stop; ++round) {
    absl::Status w = co_await c->write(absl::MakeConstSpan(out));
    absl::Status r = co_await c->read_full(absl::MakeSpan(in));
    if (!w.ok() || !r.ok() || std::memcmp(in, out, sizeof(in)) != 0) {
      ++sh->failures;
      break;
    }
    if (round == kWarmupRounds) ++sh->warm;
    if (round > kWarmupRounds) ++sh->messages;
  }
}

// The server's stop: a byte (or the end) on `stop`, the write end of which
// Measure holds.
Task<absl::Status> ByteOn(Socket stop) {
  char byte;
  absl::StatusOr<size_t> n = co_await stop.read(absl::MakeSpan(&byte, 1));
  if (n.ok() || IsEof(n.status())) co_return absl::OkStatus();
  co_return n.status();
}

struct Window {
  uint64_t allocations = 0;
  uint64_t frames = 0;  // frames handed out by the pool
  uint64_t messages = 0;
};

Task<Window> Measure(Shared* sh) {
  absl::StatusOr<Listener> l = listen("127.0.0.1:0");
  int stop_pipe[2];
  if (!l.ok() || pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) co_return Window{};
  const std::string address = l->address();
  Scope server, clients;
  JoinHandle<absl::Status> serve = server.spawn(
      coro_echo::Serve(*std::move(l), ByteOn(Socket(*EventLoop::current(), stop_pipe[0]))));
  for (int i = 0; i < kClients; ++i) clients.spawn(Client(address, sh));
  while (sh->warm < kClients && sh->failures == 0) {
    absl::Status s = co_await sleep(absl::Milliseconds(1));
    if (!s.ok()) co_return Window{};
  }
  const internal::FramePoolStats f0 = internal::ThisThreadFramePoolStats();
  const uint64_t a0 = gaio::testing::AllocationCount();
  const uint64_t m0 = sh->messages;
  while (sh->messages < m0 + kMeasured && sh->failures == 0) {
    absl::Status s = co_await sleep(absl::Milliseconds(1));
    if (!s.ok()) co_return Window{};
  }
  const uint64_t a1 = gaio::testing::AllocationCount();
  const internal::FramePoolStats f1 = internal::ThisThreadFramePoolStats();
  Window w{a1 - a0, (f1.hits + f1.carved + f1.large) - (f0.hits + f0.carved + f0.large),
           sh->messages - m0};
  sh->stop = true;
  co_await clients.join();
  (void)!write(stop_pipe[1], "x", 1);
  absl::Status served = co_await serve;
  EXPECT_TRUE(served.ok()) << served;
  co_await server.join();
  close(stop_pipe[1]);
  co_return w;
}

TEST(EchoAllocation, NoHeapAllocationPerEchoedMessage) {
  for (int pollers : {0, 1}) {
    const uint64_t at_start = gaio::testing::AllocationCount();
    auto loop = testing::NewLoop(pollers);
    ASSERT_GT(gaio::testing::AllocationCount(), at_start)
        << "the counting operator new is not in use";
    Shared sh;
    absl::StatusOr<Window> w = testing::RunBounded(*loop, Measure(&sh), absl::Seconds(60));
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(sh.failures, 0);
    EXPECT_GE(w->messages, kMeasured);
    EXPECT_EQ(w->allocations, 0u) << "heap allocations over " << w->messages
                                  << " echoed messages, pollers=" << pollers;
    EXPECT_EQ(w->frames, 0u) << "coroutine frames allocated in steady state";
    std::printf("pollers=%d: %llu messages, %llu allocations, %llu frames\n", pollers,
                static_cast<unsigned long long>(w->messages),
                static_cast<unsigned long long>(w->allocations),
                static_cast<unsigned long long>(w->frames));
  }
}

// What one connection of the server costs in coroutine memory: its Echo
// frame and the record of its spawn, each a block of the frame pool (16-byte
// classes, no header). Printed for docs/CORO.md; bounded so that it cannot
// grow unnoticed.
TEST(EchoAllocation, FrameSizesPerConnection) {
  size_t echo_frame = 0;
  {
    Task<> t = coro_echo::Echo(Socket());
    echo_frame = internal::ThisThreadFramePoolStats().last_size;
  }
  const size_t block = (echo_frame + 15) / 16 * 16;
  std::printf("Echo frame: %zu bytes (a %zu-byte block); spawn record: %zu bytes\n", echo_frame,
              block, sizeof(internal::SpawnRecord));
  EXPECT_GT(echo_frame, 0u);
  EXPECT_LE(block + sizeof(internal::SpawnRecord), 224u);
}

}  // namespace
}  // namespace gaio::coro
