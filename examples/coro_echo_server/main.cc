// coro_echo_server: examples/echo_server in coroutines (echo.h is the server).
//
//   ./bazelw run //examples:coro_echo_server -- --port=9000 --pollers=1
//
// Runs until SIGINT/SIGTERM (a self-pipe read by the server task), or for
// --seconds when given.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "examples/coro_echo_server/echo.h"

ABSL_FLAG(int, port, 9000, "TCP port on 127.0.0.1 (0 picks a free one)");
ABSL_FLAG(int, pollers, 1, "poller threads (0 = caller-driven)");
ABSL_FLAG(int, seconds, 0, "stop after this many seconds (0 = run until a signal)");

namespace {
int g_stop_fd = -1;
void OnSignal(int) { (void)!write(g_stop_fd, "x", 1); }  // async-signal-safe
}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  gaio::WatcherOptions options;
  options.num_pollers = absl::GetFlag(FLAGS_pollers);
  auto loop = gaio::coro::EventLoop::Create(options);
  if (!loop.ok()) return std::fprintf(stderr, "%s\n", loop.status().ToString().c_str()), 1;
  auto listener =
      gaio::coro::listen(**loop, "127.0.0.1:" + std::to_string(absl::GetFlag(FLAGS_port)));
  int pipe_fds[2];
  if (!listener.ok() || pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::fprintf(stderr, "coro_echo_server: %s\n", listener.status().ToString().c_str());
    return 1;
  }
  g_stop_fd = pipe_fds[1];
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::printf("coro_echo_server listening on %s\n", listener->address().c_str());
  std::fflush(stdout);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  absl::Status status = (*loop)->run(coro_echo::Serve(
      *std::move(listener), gaio::coro::Socket(**loop, pipe_fds[0]),
      seconds > 0 ? absl::Now() + absl::Seconds(seconds) : absl::InfiniteFuture()));
  close(pipe_fds[1]);
  if (!status.ok()) {
    std::fprintf(stderr, "coro_echo_server: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("coro_echo_server: stopped\n");
  return 0;
}
